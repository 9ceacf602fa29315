"""The ``migrate-store`` sub-command: move a store between a GeoPackage and PostgreSQL."""

from __future__ import annotations

import argparse
import sys

from ctxmap.store.migrate import migrate_store


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``migrate-store`` sub-command."""
    p = sub.add_parser(
        "migrate-store",
        help="copy every layer and the import log to another store, and verify",
        description="Copy a store (GeoPackage path or postgresql:// URL) to another, in one "
        "transaction on the target; then check row counts, per-layer checksums of ids, "
        "geometries and values, and the import log. A non-empty target is refused unless "
        "--force.",
    )
    p.add_argument("--from", dest="source", required=True, metavar="URL",
                   help="the store to copy: a .gpkg path or postgresql://user@host/db")
    p.add_argument("--to", dest="target", required=True, metavar="URL",
                   help="the store to write (created when missing)")
    p.add_argument("--force", action="store_true",
                   help="replace the target's layers and import log if it holds rows")
    p.set_defaults(func=cmd_migrate_store)


def cmd_migrate_store(args: argparse.Namespace) -> int:
    """Copy the store, print what was copied and verified."""
    report = migrate_store(args.source, args.target, force=args.force,
                           progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    print("layer,rows,checksum")
    for check in report.layers:
        print(f"{check.kind},{check.rows},{check.checksum[:16]}")
    print(f"copied {sum(c.rows for c in report.layers)} rows and {report.imports} imports "
          f"from {report.source} to {report.target}; verified")
    return 0
