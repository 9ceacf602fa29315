"""Read a population table (area code, population) and put it on the areas layer.

The table is a CSV with a header: one column of area codes (``area code``, ``code``,
``id``, ``lsoa code``, ``lsoa11cd``, ``msoa11cd``, ``geography code``) and one of resident
counts (``population``, ``pop``, ``residents``, ``all ages``, ``usual residents``).
Other columns are ignored. Codes are matched to the areas' ``id`` exactly (after trimming).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from ctxmap.errors import InputError

CODE_NAMES: Final = ("area code", "area_code", "code", "id", "lsoa code", "lsoa11cd",
                     "lsoa21cd", "msoa11cd", "msoa21cd", "geography code", "geography_code")
POPULATION_NAMES: Final = ("population", "pop", "residents", "all ages", "all_ages",
                           "usual residents", "total population")


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", str(name).strip().lower())


def read_population(path: str | os.PathLike[str]) -> pd.Series:
    """Read the table as a Series of population (float) indexed by area code.

    Raises
    ------
    InputError
        If the file cannot be read, lacks a code or population column, or a row has a
        population that is not a number >= 0 or a code given twice (the message names the
        file, the row, counted from 1 after the header, and the column).
    """
    name = Path(path).name
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{name}: cannot read the population table ({exc}); expected a "
                         "UTF-8 CSV with a header row") from None
    columns = {_norm(c): c for c in table.columns}
    code_col = next((columns[n] for n in CODE_NAMES if n in columns), None)
    pop_col = next((columns[n] for n in POPULATION_NAMES if n in columns), None)
    if code_col is None or pop_col is None:
        raise InputError(
            f"{name}: columns {', '.join(map(repr, table.columns))}; expected an area code "
            f"column (one of {', '.join(CODE_NAMES)}) and a population column (one of "
            f"{', '.join(POPULATION_NAMES)})"
        )
    codes = table[code_col].str.strip()
    values = pd.to_numeric(table[pop_col].str.replace(",", "").str.strip(), errors="coerce")
    bad = values.isna() | (values < 0) | ~np.isfinite(values.fillna(0))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{name}: row {row + 1}, column {pop_col!r}: "
                         f"{table[pop_col].iloc[row]!r}; expected a number of residents >= 0")
    dup = codes.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"{name}: row {row + 1}, column {code_col!r}: {codes.iloc[row]!r} "
                         "appears twice; expected one row per area")
    return pd.Series(values.to_numpy(dtype=float), index=codes.to_numpy(), name="population")


def with_population(areas: gpd.GeoDataFrame, population: pd.Series) -> gpd.GeoDataFrame:
    """Copy of ``areas`` whose ``population`` is taken from the table where the code matches.

    Raises
    ------
    InputError
        If no area's ``id`` is in the table.
    """
    ids = areas["id"].astype(str).str.strip()
    matched = ids.isin(population.index)
    if not matched.any():
        sample = ", ".join(population.index[:3].tolist())
        raise InputError(f"no area code of the population table (e.g. {sample}) matches an "
                         "area's id; expected codes like the areas layer's (e.g. "
                         f"{', '.join(ids.head(3).tolist())})")
    out = areas.copy()
    out["population"] = ids.map(population).astype(float)
    return out
