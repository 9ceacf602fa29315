"""Benchmark: read and validate a 1,000,000-row police.uk street-level CSV; prints the time.

The file is built from the real Norfolk force files in ``data/source/`` (police.uk,
Oct 2018 - Feb 2019), resampled with replacement up to the row count. Rows keep their
real text and snapped coordinates; each resampled row with a Crime ID gets a fresh one
(police.uk ids are unique), rows without one (anti-social behaviour) keep it blank, so
their ids are generated from content as for a real file.

Each read runs in this process; the first is the one a user waits for (nothing warmed
up), later ones (``--repeat``) show the spread.

Run: python benchmarks/read_bench.py [--rows N] [--file PATH] [--keep] [--repeat K]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ctxmap.layers.readers import read_layer

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "data" / "source" / "crime" / "norfolk_force_monthly",
           Path("/work/shared/data/real/crime/norfolk_force_monthly"),
           ROOT / "data" / "source" / "crime"]


def source_rows() -> pd.DataFrame:
    """Every row of the real monthly Norfolk force files, as text."""
    folder = next(p for p in SOURCES if p.is_dir() and any(p.glob("*street*.csv")))
    files = sorted(folder.glob("*street*.csv"))
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files],
                     ignore_index=True)


def build(path: Path, rows: int, seed: int = 0) -> None:
    """Write a ``rows``-row police.uk CSV resampled from the real Norfolk rows."""
    real = source_rows()
    rng = np.random.default_rng(seed)
    out = real.iloc[rng.integers(0, len(real), rows)].reset_index(drop=True)
    has_id = (out["Crime ID"] != "").to_numpy()
    out.loc[has_id, "Crime ID"] = [
        hashlib.sha256(f"bench-{i}".encode()).hexdigest() for i in np.flatnonzero(has_id)
    ]
    out.to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, help="where to write the file (default: a temp file)")
    parser.add_argument("--keep", action="store_true", help="keep the file afterwards")
    parser.add_argument("--repeat", type=int, default=1, help="read the file this many times")
    args = parser.parse_args()
    path = args.file or Path(tempfile.gettempdir()) / f"ctxmap-read-bench-{args.rows}.csv"
    if not path.exists():
        t0 = time.perf_counter()
        build(path, args.rows)
        print(f"built {path} ({args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t0:.1f} s")
    for _ in range(max(args.repeat, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        result = read_layer(path, "incidents")
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        gdf = result.gdf
        located = int(gdf.geometry.notna().sum())
        print(f"read_layer: {len(gdf):,} incidents ({located:,} located, {len(result.errors)} "
              f"errors, {len(result.warnings)} warnings) in {took:.2f} s "
              f"(CPU {cpu:.2f} s, load average {os.getloadavg()[0]:.1f}); pandas "
              f"{pd.__version__}, maxrss "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
              f"{os.cpu_count()} cores")
        del result, gdf
    if not args.keep and args.file is None:
        path.unlink()


if __name__ == "__main__":
    main()
