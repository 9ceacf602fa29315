"""The ``audit`` sub-commands: check that the audit log and the history were not rewritten."""

from __future__ import annotations

import argparse
import sys

from ctxmap.analysis.inputs import open_existing_store
from ctxmap.errors import InputError
from ctxmap.store.opening import describe_target


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit verify``."""
    audit = subparsers.add_parser("audit", help="check the audit log's tamper evidence")
    sub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    sub.required = True
    verify = sub.add_parser(
        "verify", help="check the hash chains of the audit log and the history",
        description="Check that every audit entry and history row still matches its hash "
        "and links to the one before it, and that the chains reach their recorded heads. "
        "Prints 'chain intact: N rows' and exits 0, or names the first broken row and "
        "exits 1.")
    verify.add_argument("--store", metavar="PATH", default=None,
                        help="the ctxmap store: a GeoPackage path or a postgresql:// URL")
    verify.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    """Verify the chains; print the result and each chain's head hash."""
    from ctxmap.privacy.audit import chain_details, verify

    store = open_existing_store(args.store)
    if store is None:
        raise InputError(f"no store at {describe_target(args.store)}; expected a ctxmap store")
    intact, message, checks = verify(store)
    print(message, file=sys.stdout if intact else sys.stderr)
    for line in chain_details(checks):
        print(line)
    return 0 if intact else 1
