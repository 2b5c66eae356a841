"""The ``bootwright`` command line.

Every user error (bad config, bad flag, malformed MAC) ends with a message
naming what and where and exit code 2; nothing prints a traceback unless
``BOOTWRIGHT_DEBUG=1`` is set.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from bootwright import __version__
from bootwright.cli import (
    boot,
    check,
    events,
    explain,
    exportcmd,
    hashpw,
    hosts,
    importcmd,
    lab,
    leases,
    power,
    probe,
    serve,
    status,
    systemd,
)
from bootwright.cli.boot import optional_wait_value
from bootwright.cli.common import err

app = typer.Typer(
    name="bootwright",
    help="Network-boot machines: DHCPv4, DHCPv6, router advertisements, TFTP, HTTP and iPXE, in one process.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"bootwright {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """bootwright answers every step of a network boot."""


# One module per command group, each adding its commands to the main one.
for _group in (
    check,
    explain,
    serve,
    status,
    systemd,
    hashpw,
    hosts,
    leases,
    boot,
    power,
    events,
    probe,
    lab,
    exportcmd,
    importcmd,
):
    _group.register(app)


def main() -> None:
    """Console-script entry point: runs the app, turning crashes into one clear line."""
    try:
        app(args=optional_wait_value(sys.argv[1:]))
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for debugging
        if os.environ.get("BOOTWRIGHT_DEBUG"):
            raise
        err.print(f"[red]bootwright: internal error:[/red] {type(exc).__name__}: {exc}", highlight=False)
        err.print("Run again with BOOTWRIGHT_DEBUG=1 for the traceback, and please report it.")
        sys.exit(1)


if __name__ == "__main__":
    main()
