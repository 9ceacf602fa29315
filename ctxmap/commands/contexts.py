"""The ``contexts`` and ``pack`` sub-commands: list contexts of concern, export a meeting pack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ctxmap.commands.exporting import add_audit_options, audit_export
from ctxmap.commands.stores import add_store_argument, command_store
from ctxmap.errors import InputError
from ctxmap.store.protocol import Store
from ctxmap.text import to_safe_csv


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``contexts`` and ``pack`` sub-commands."""
    p = subparsers.add_parser("contexts", help="list contexts of concern as CSV",
                              description="List contexts of concern (id, name, kind, status, "
                              "open actions) as CSV on standard output.")
    add_store_argument(p)
    add_audit_options(p)
    p.set_defaults(func=run_contexts)
    q = subparsers.add_parser("pack", help="export a context's meeting pack as one HTML file",
                              description="Export one context as a self-contained HTML meeting "
                              "pack (map, assessment, plan, review). With --for-partner only "
                              "what consent allows is included and a home is masked.")
    q.add_argument("--context", required=True, metavar="ID", help="context id, e.g. ctx-0001")
    add_store_argument(q)
    q.add_argument("--for-partner", metavar="NAME", default=None,
                   help="make the pack for this partner (exact name from the partner list)")
    q.add_argument("--out", required=True, metavar="FILE.html", help="where to write the pack")
    q.add_argument("--no-map", action="store_true", help="leave the map out")
    add_audit_options(q)
    q.set_defaults(func=run_pack)


def _store(args: argparse.Namespace) -> Store:
    store = command_store(args)
    assert store is not None  # no input files: a named store or the sample
    return store


def run_contexts(args: argparse.Namespace) -> int:
    """Print the contexts as CSV (id, name, kind, status, open_actions, ...)."""
    from ctxmap.cases.repository import list_contexts

    store = _store(args)
    frame = list_contexts(store)
    cols = ["id", "name", "kind", "status", "open_actions", "overdue_actions", "referral_date",
            "lead_agency"]
    audit_export(args, store, "contexts", "list of contexts of concern (CSV)", unmasked=True,
                 rows=len(frame))
    to_safe_csv(frame[cols], sys.stdout, lineterminator="\n")
    return 0


def run_pack(args: argparse.Namespace) -> int:
    """Write the meeting pack of one context."""
    from ctxmap.reports.pack import make_pack, write_pack

    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--out {args.out!r}; expected a file name ending in .html")
    store = _store(args)
    page = make_pack(store, args.context, for_partner=args.for_partner,
                     include_map=not args.no_map)
    who = f"for {args.for_partner}" if args.for_partner else "full record (lead agency)"
    what = ("meeting pack (HTML), consent-filtered, home masked" if args.for_partner
            else "meeting pack (HTML), full record for the lead agency, unmasked")
    audit_export(args, store, "pack", what + ("" if args.no_map else ", with map"),
                 unmasked=args.for_partner is None, rows=None,
                 context=args.context, partner=args.for_partner)
    write_pack(out, page)
    print(f"wrote {out} ({len(page.encode()):,} bytes, {who})", file=sys.stderr)
    return 0
