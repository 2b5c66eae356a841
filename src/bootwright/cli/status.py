"""``bootwright status`` and ``bootwright reload``: the server running from a state directory.

Both find the server through ``status.json`` in its state directory
(runtime/status.py), the one ``serve`` would use for the same ``--config``
and ``--state-dir``. Exit codes: 0 running (status) or reload sent, 1 no
server running, 2 bad input.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
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
    counts = _counts(Path(found.state_dir))
    if as_json:
        print(json.dumps({"running": running, **asdict(found), "counts": counts}, indent=2, sort_keys=True))
    else:
        started = datetime.datetime.fromtimestamp(found.started).isoformat(sep=" ", timespec="seconds")
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")  # paths and errors whole, folded, never cut
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
        if counts:
            table.add_row("[bold]counts[/bold]", ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()))
        table.add_row("[bold]last reload[/bold]", escape(_reload_text(found.last_reload)))
        out.print(table)
    if not running:
        raise typer.Exit(1)


def _reload_text(last: dict[str, Any] | None) -> str:
    if not last:
        return "none since the start"
    at = datetime.datetime.fromtimestamp(float(last.get("at", 0))).isoformat(sep=" ", timespec="seconds")
    if last.get("ok"):
        return f"applied at {at} ({last.get('reason')})"
    return f"REFUSED at {at} ({last.get('reason')}): {last.get('error')}; the previous configuration runs on"


def _counts(state: Path) -> dict[str, int]:
    """Hosts, active one-shot boots and bound leases in the store (empty when it cannot be read)."""
    from bootwright.model import LeaseState
    from bootwright.store.base import StoreError
    from bootwright.store.sqlite import SqliteStore

    path = state / "state.db"
    if not path.exists():
        return {}
    store = SqliteStore(path)
    try:
        store.open()
        now = time.time()
        hosts = store.host_store().transact(lambda tx: (len(tx.hosts()), len(tx.oneshots())))
        leases = {family: sum(1 for lease in store.load_leases(family).leases
                              if lease.state == LeaseState.BOUND and lease.expires > now) for family in (4, 6)}
    except (StoreError, OSError):
        return {}
    finally:
        store.close()
    return {"hosts": hosts[0], "one_shot_boots": hosts[1], "leases_v4": leases[4], "leases_v6": leases[6]}


RELOAD_WAIT = 15.0  # seconds `bootwright reload` waits for the server's answer


def reload(
    config: StateConfigOpt = None,
    state_dir: StateDirOpt = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Send SIGHUP and return at once.")] = False,
) -> None:
    """Make the running server re-read its config and inventory now (SIGHUP) and say whether it applied them."""
    found = _find(config, state_dir)
    before = (found.last_reload or {}).get("at")
    try:
        request_reload(found)
    except StatusError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if no_wait:
        out.print(f"reload requested from pid {found.pid} ({found.config})")
        return
    deadline = time.monotonic() + RELOAD_WAIT
    while time.monotonic() < deadline:
        time.sleep(0.1)
        with contextlib.suppress(StatusError):
            last = read_status(Path(found.state_dir)).last_reload
            if last and last.get("at") != before:
                if last.get("ok"):
                    out.print(f"reload applied by pid {found.pid} ({found.config})")
                    return
                err.print(f"[red]error:[/red] {escape(_reload_text(last))}", highlight=False, soft_wrap=True)
                raise typer.Exit(1)
    err.print(f"[red]error:[/red] pid {found.pid} did not report a reload within {RELOAD_WAIT:.0f} s (see its log)",
              highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``status`` and ``reload`` to the main command."""
    app.command("status")(status)
    app.command("reload")(reload)
