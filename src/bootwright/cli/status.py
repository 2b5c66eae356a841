"""``bootwright status`` and ``bootwright reload``: the server running from a state directory.

Both find the server through ``status.json`` in its state directory
(runtime/status.py), the one ``serve`` would use for the same ``--config``
and ``--state-dir``. Exit codes: 0 running (status) or reload sent, 1 no
server running, 2 bad input.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bootwright.cli.common import StateConfigOpt, StateDirOpt, err, out, state_dir_of
from bootwright.runtime.status import Status, StatusError, is_running, read_status, request_reload


def _find(config: Path | None, state_dir: Path | None) -> Status:
    state = state_dir_of(config, state_dir)
    try:
        return read_status(state)
    except StatusError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def status(
    config: StateConfigOpt = None,
    state_dir: StateDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Whether a server runs from this state directory, since when, and what each service listens on."""
    found = _find(config, state_dir)
    running = is_running(found)
    if as_json:
        print(json.dumps({"running": running, **asdict(found)}, indent=2, sort_keys=True))
    else:
        started = datetime.datetime.fromtimestamp(found.started).isoformat(sep=" ", timespec="seconds")
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_row("[bold]state[/bold]", "[green]running[/green]" if running else "[red]not running[/red] "
                      "(stopped without removing its status file: killed?)")  # fmt: skip
        table.add_row("[bold]pid[/bold]", str(found.pid))
        table.add_row("[bold]version[/bold]", found.version)
        table.add_row("[bold]started[/bold]", started)
        table.add_row("[bold]config[/bold]", found.config)
        table.add_row("[bold]root[/bold]", found.root)
        table.add_row("[bold]state dir[/bold]", found.state_dir)
        for service, detail in sorted(found.ready.items()):
            table.add_row(f"[bold]{service}[/bold]", detail)
        out.print(table)
    if not running:
        raise typer.Exit(1)


def reload(config: StateConfigOpt = None, state_dir: StateDirOpt = None) -> None:
    """Make the running server re-read its config and inventory now (SIGHUP); the log says what it applied."""
    found = _find(config, state_dir)
    try:
        request_reload(found)
    except StatusError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    out.print(f"reload requested from pid {found.pid} ({found.config})")


def register(app: typer.Typer) -> None:
    """Add ``status`` and ``reload`` to the main command."""
    app.command("status")(status)
    app.command("reload")(reload)
