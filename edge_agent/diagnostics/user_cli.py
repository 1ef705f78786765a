"""`edge-agent user add | passwd | list | remove`: manage the page's local accounts."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from edge_agent.diagnostics.users import ROLES, UserStore
from edge_agent.errors import UserError


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]  # argparse's private generic
    """Register `user` and its subcommands on the main parser."""
    user = commands.add_parser("user", help="manage accounts of the diagnostics page")
    user.add_argument("--config", "-c", type=Path, help="cabinet configuration (to find users_file)")
    user.add_argument("--users-file", type=Path, help="users file (overrides the configuration)")
    actions = user.add_subparsers(metavar="ACTION", required=True)
    for name, text in (("add", "create an account"), ("passwd", "set a new password (and role)")):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("name", help="account name (what the technician types at the login)")
        sub.add_argument(
            "--role",
            choices=ROLES,
            default="viewer" if name == "add" else None,
            help="viewer sees, technician also runs actions"
            + ("" if name == "add" else " (default: unchanged)"),
        )
        sub.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        sub.set_defaults(handler=_add if name == "add" else _passwd)
    listing = actions.add_parser("list", help="list accounts and roles (never hashes)")
    listing.set_defaults(handler=_list)
    remove = actions.add_parser("remove", help="delete an account")
    remove.add_argument("name", help="account name")
    remove.set_defaults(handler=_remove)


def _store(args: argparse.Namespace) -> UserStore:
    if args.users_file is not None:
        return UserStore(args.users_file)
    if args.config is None:
        raise UserError("give --config or --users-file")
    from edge_agent.config import load_config

    return UserStore(load_config(args.config).diagnostics.users_file)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        # getpass would fall back to reading a visible line, or end in EOFError: say what to do.
        raise UserError("no terminal to ask for the password; pipe it in with --password-stdin")
    try:
        first = getpass.getpass("password: ")
        again = getpass.getpass("again: ")
    except (EOFError, KeyboardInterrupt):
        raise UserError("no password given") from None
    if first != again:
        raise UserError("the passwords differ")
    return first


def run(args: argparse.Namespace, action: str) -> int:
    """Run one action; user mistakes print one line and return 1."""
    try:
        store = _store(args)
        if action == "add":
            store.add(args.name, _password(args), args.role)
        elif action == "passwd":
            store.passwd(args.name, _password(args), args.role)
        elif action == "remove":
            store.remove(args.name)
        else:
            for user in sorted(store.load().values(), key=lambda u: u.name):
                print(f"{user.name}\t{user.role}")
    except UserError as exc:
        print(f"edge-agent user: {exc}", file=sys.stderr)
        return 1
    return 0


def _add(args: argparse.Namespace) -> int:
    return run(args, "add")


def _passwd(args: argparse.Namespace) -> int:
    return run(args, "passwd")


def _list(args: argparse.Namespace) -> int:
    return run(args, "list")


def _remove(args: argparse.Namespace) -> int:
    return run(args, "remove")
