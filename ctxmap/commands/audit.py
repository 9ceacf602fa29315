"""The ``audit`` sub-commands: check that the audit log and the history were not rewritten."""

from __future__ import annotations

import argparse
import sys

from ctxmap.commands.stores import add_store_argument, command_store


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
    add_store_argument(verify)
    verify.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    """Verify the chains; print the result and each chain's head hash."""
    from ctxmap.privacy.audit import chain_details, verify

    store = command_store(args)
    assert store is not None  # no input files: a named store or the sample
    intact, message, checks = verify(store)
    print(message, file=sys.stdout if intact else sys.stderr)
    for line in chain_details(checks):
        print(line)
    return 0 if intact else 1
