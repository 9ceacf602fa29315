"""The ``users`` sub-commands: manage the local users file (roles and password hashes)."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from pathlib import Path

from ctxmap.errors import InputError
from ctxmap.privacy.roles import add_user, check_role, read_users, users_file_path, write_users

#: Reads a password without echo (tests replace it).
PasswordPrompt = Callable[[str], str]
prompt_password: PasswordPrompt = getpass.getpass


def _role(text: str) -> str:
    """An argparse ``type``: any spelling of a role, as its canonical name."""
    try:
        return check_role(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``users add`` and ``users list``."""
    users = subparsers.add_parser("users", help="manage local sign-in users (users.toml)")
    sub = users.add_subparsers(dest="users_command", metavar="ACTION")
    sub.required = True
    add = sub.add_parser("add", help="add a user or change their role/password "
                         "(prompts for the password)")
    add.add_argument("name", help="username (letters, digits, . _ @ + -)")
    add.add_argument("--role", required=True, type=_role, metavar="ROLE",
                     help="the user's role: analyst, coordinator or meeting_viewer "
                     "(also written 'meeting viewer')")
    add.add_argument("--users-file", type=Path, default=None,
                     help="users file (default $CTXMAP_USERS_FILE or data/users.toml)")
    add.add_argument("--no-password", action="store_true",
                     help="no local password: for users who sign in with the identity "
                     "provider (NAME is then their e-mail)")
    add.set_defaults(func=add_handler)
    lst = sub.add_parser("list", help="list users and roles (never passwords)")
    lst.add_argument("--users-file", type=Path, default=None)
    lst.set_defaults(func=list_handler)


def add_handler(args: argparse.Namespace) -> int:
    """Add or update one user; the password is asked twice and never echoed."""
    path = args.users_file or users_file_path()
    users = read_users(path)
    password: str | None = None
    if not args.no_password:
        password = prompt_password(f"Password for {args.name}: ")
        again = prompt_password("Same password again: ")
        if password != again:
            raise InputError("the two passwords differ; nothing was changed")
    updated = add_user(users, args.name, args.role, password)
    write_users(path, updated)
    verb = "updated" if args.name in users else "added"
    print(f"{verb} {args.name} ({args.role}) in {path}")
    return 0


def list_handler(args: argparse.Namespace) -> int:
    """Print each user's name, role and sign-in method."""
    path = args.users_file or users_file_path()
    users = read_users(path)
    if not users:
        print(f"no users in {path}: " + ("the app refuses to start until one is added"
                                          if path.exists() else
                                          "the app runs as a local analyst"))
        return 0
    for name in sorted(users):
        rec = users[name]
        method = "password" if rec.password_hash else "identity provider"
        print(f"{name}\t{rec.role}\t{method}")
    return 0
