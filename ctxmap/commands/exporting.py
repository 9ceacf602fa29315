"""The audit entry every export command writes before its output exists.

Each exporting command takes ``--as NAME`` (who is exporting; default the operating-system
user) and ``--legal-basis TEXT`` (one of :data:`ctxmap.privacy.audit.LEGAL_BASES`;
required when the output is unmasked: homes as points, case records, or walks from a
home). :func:`audit_export` writes the entry into the store the data came from, before a
single byte of the output is written; if the entry cannot be written the command stops
with nothing written.

The bundled sample (marked inside the store, never by its path) is not audited, as in the
dashboard. A command given only files and no store has no audit log to write to: it says
so on standard error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Final

from ctxmap.commands import add_as_option
from ctxmap.errors import CtxmapError, InputError
from ctxmap.privacy.audit import LEGAL_BASES, check_legal_basis, describe, record
from ctxmap.privacy.roles import read_users, users_file_path
from ctxmap.store.opening import is_bundled_sample
from ctxmap.store.protocol import Store, os_user

#: The basis recorded for a masked output when none is given.
MASKED_DEFAULT_BASIS: Final = "public task"


def add_audit_options(p: argparse.ArgumentParser, *, places: bool = False) -> None:
    """Add ``--as NAME`` and ``--legal-basis TEXT`` to an exporting command.

    With ``places`` (a command reading place files), ``--as`` also takes
    ``safe_places|youth_centres`` (:func:`ctxmap.commands.add_as_option`).
    """
    add_as_option(p, places=places, users=True)
    p.add_argument("--legal-basis", metavar="TEXT", default=None,
                   help=f"lawful basis for the export, one of: {', '.join(LEGAL_BASES)}; "
                   "required when the output is unmasked")


def export_user(args: argparse.Namespace) -> tuple[str, str]:
    """``(name, role)`` of who exports: ``--as NAME`` or the OS user; role from the users file.

    A name not in the users file (or no users file) is recorded as ``analyst``: whoever
    runs commands on the store can read all of it.
    """
    name = (getattr(args, "as_user", None) or os_user()).strip()
    if not name:
        raise InputError("--as: expected a name, got an empty string")
    try:
        users = read_users(users_file_path())
    except CtxmapError:
        users = {}
    found = users.get(name)
    return name, (found.role if found else "analyst")


def require_basis(args: argparse.Namespace, *, unmasked: bool, command: str) -> str:
    """The legal basis for this export; refuse an unmasked one without ``--legal-basis``."""
    given = getattr(args, "legal_basis", None)
    if given is None:
        if unmasked:
            raise InputError(
                f"{command}: this output is unmasked (it holds homes, case records or walks "
                f"from a stored place), so it is audited with a legal basis: add --legal-basis "
                f"\"{MASKED_DEFAULT_BASIS}\" (one of: {', '.join(LEGAL_BASES)}); nothing "
                "was written")
        return MASKED_DEFAULT_BASIS
    return check_legal_basis(given)


def audit_export(
    args: argparse.Namespace,
    store: Store | None,
    command: str,
    what: str,
    *,
    unmasked: bool,
    rows: int | None,
    **details: str | None,
) -> int | None:
    """Write the export's audit entry (before the output); return its id, or ``None``.

    ``store`` is the store the command opened (:func:`ctxmap.commands.stores.command_store`:
    named by ``--store``, ``$CTXMAP_STORE`` or the secrets file, or the bundled sample), so
    the entry goes where the data came from whichever way the store was named. ``None``
    when nothing is logged (and no legal basis is asked for): the store is the bundled
    sample, or there is no store (``store`` is ``None``: a command given only files). The
    output file is ``args.out`` (none: standard output). Raises
    :class:`~ctxmap.errors.InputError` for an unmasked export without ``--legal-basis``.
    ``details`` are :func:`ctxmap.privacy.audit.describe`'s ``context``, ``partner`` and
    ``filters``.
    """
    if store is None:
        print(f"note: not audited: no store holds this {command} output's data",
              file=sys.stderr)
        return None
    if is_bundled_sample(store):
        return None
    basis = require_basis(args, unmasked=unmasked, command=command)
    user, role = export_user(args)
    out = getattr(args, "out", None)
    dest = f" to {Path(out).name}" if out is not None else " to standard output"
    text = describe(f"command {command}", what + dest, rows=rows, **details)
    return record(store, user, "export" if unmasked else "export masked", text, basis,
                  role=role)
