"""``bootwright hash-password``: the ``password_hash`` of a ``[[api.user]]``, without echoing the password.

The password is read from the terminal twice (no echo, as ``passwd`` does)
or, with ``--stdin``, as the first line of standard input (for scripts:
``printf '%s\\n' "$PW" | bootwright hash-password --stdin``). The hash
(scrypt with a random 16-octet salt, format in ``wire/passhash.py``) goes to
standard output; nothing else does, so ``$(bootwright hash-password)`` works.
The password itself is never printed or logged.
"""

from __future__ import annotations

import getpass
import secrets
import sys
from typing import Annotated

import typer

from bootwright.cli.common import EXIT_USAGE, err
from bootwright.wire.passhash import SALT_BYTES, PasswordHash

MIN_LENGTH = 8
"""Shortest password taken: a UI login is reachable from every admin network."""


def _read_password(stdin: bool) -> str:
    if stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        err.print(
            "[red]error:[/red] standard input is not a terminal: type the password at one, "
            "or pass --stdin to read it from standard input"
        )
        raise typer.Exit(EXIT_USAGE)
    try:
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Again: ")
    except EOFError:
        raise typer.Exit(EXIT_USAGE) from None
    if first != second:
        err.print("[red]error:[/red] the two passwords differ; nothing was made")
        raise typer.Exit(EXIT_USAGE)
    return first


def hash_password(
    stdin: Annotated[
        bool,
        typer.Option(
            "--stdin", help="Read the password from the first line of standard input instead of asking twice."
        ),
    ] = False,
) -> None:
    """Print the password_hash for an [[api.user]] (docs/ui.md); the password is not echoed."""
    password = _read_password(stdin)
    if len(password) < MIN_LENGTH:
        err.print(f"[red]error:[/red] the password has {len(password)} characters; use at least {MIN_LENGTH}")
        raise typer.Exit(EXIT_USAGE)
    sys.stdout.write(PasswordHash.make(password, secrets.token_bytes(SALT_BYTES)).encode() + "\n")


def register(app: typer.Typer) -> None:
    """Add ``hash-password`` to the main command."""
    app.command("hash-password")(hash_password)
