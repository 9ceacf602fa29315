"""Benchmark: the dashboard's first load and page switches with 1,000,000 incidents in the store.

python benchmarks/dashboard_pages_bench.py [--incidents 1000000] [--store PATH]

Copies the bundled sample store and adds synthetic police-like incidents (as
``benchmarks/scale_bench.py`` makes them), unless ``--store`` names a store to use as is.
Then runs the pages with Streamlit's ``AppTest`` in one process, as one server would (the
caches are shared across pages): Map (first load), Locations of concern, Nearby safe
places, back to Map, and each page again; then filter changes in the same session: on
the Map, the exploitation-related types, then the heat layer (its bandwidth from the
evaluation the Locations of concern page made) and a month range; on Locations of
concern, a 300 m radius. Prints the seconds of each step; nothing is asserted. A page's
first visit computes what it needs; a later visit should only draw.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale_bench import synthetic_incidents  # noqa: E402

from ctxmap.store.geopackage import GeoPackageStore  # noqa: E402

SAMPLE = ROOT / "data" / "ctxmap.gpkg"
STEPS = ["map.py", "concern.py", "nearby.py", "map.py", "concern.py", "nearby.py", "map.py"]


def _radio(at: Any, label: str, value: str) -> None:
    next(r for r in at.radio if r.label == label).set_value(value)


def _months(at: Any) -> None:
    slider = next(s for s in at.select_slider if s.label == "Months")
    options = list(slider.options)
    slider.set_value((options[len(options) // 2], options[-1]))


#: Filter changes after the page switches: (page, what changes, how to change it).
FILTERS: list[tuple[str, str, Callable[[Any], None]]] = [
    ("map.py", "types", lambda at: _radio(at, "Types", "Exploitation-related")),
    ("map.py", "heat", lambda at: _radio(at, "Analysis layer", "Heat (kernel density)")),
    ("map.py", "months", _months),
    ("concern.py", "radius", lambda at: next(
        s for s in at.slider if s.label.startswith("Radius")).set_value(300)),
]


def build_store(folder: Path, n: int) -> Path:
    """A copy of the sample store with ``n`` synthetic incidents in place of its own."""
    path = folder / f"bench-{n}.gpkg"
    shutil.copy(SAMPLE, path)
    t0 = time.perf_counter()
    GeoPackageStore(path).write("incidents", synthetic_incidents(n), file="synthetic.csv")
    print(f"store with {n:,} incidents written in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


def _timed_run(at: Any, step: int, page: str, visit: str) -> None:
    t0 = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - t0
    if at.exception:
        raise SystemExit(f"{page}: {at.exception}")
    print(f"{step:<6} {page:<12} {visit:<14} {seconds:>8.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=1_000_000)
    ap.add_argument("--store", type=Path, default=None)
    args = ap.parse_args()
    import functools

    from streamlit.components.v2 import manifest_scanner
    from streamlit.testing.v1 import AppTest

    # AppTest scans every installed package for components on each run (3.5 s here); a
    # server does it once at start, so scan once
    manifest_scanner.scan_component_manifests = functools.lru_cache(maxsize=1)(
        manifest_scanner.scan_component_manifests)

    tmp = Path(tempfile.mkdtemp(prefix="ctxmap-pages-"))
    try:
        store = args.store or build_store(tmp, args.incidents)
        os.environ["CTXMAP_STORE"] = str(store)
        seen: set[str] = set()
        sessions: dict[str, Any] = {}
        print(f"{'step':<6} {'page':<12} {'visit':<14} {'seconds':>8}")
        k = 0
        for page in STEPS:
            at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=1800)
            visit = "again" if page in seen else "first"
            k += 1
            _timed_run(at, k, page, visit)
            seen.add(page)
            sessions[page] = at
        for page, what, change in FILTERS:
            at = sessions[page]
            change(at)
            k += 1
            _timed_run(at, k, page, f"filter: {what}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(one process, as one server: AppTest runs each page script in turn with the "
          f"Streamlit caches shared; step 1 is the first load; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
