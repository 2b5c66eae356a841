"""``bootwright events``: the boot timeline of machines, from the store's event history.

Without ``--follow`` it prints each boot attempt with its steps and the
verdict (complete, in progress, or the likely stop point of a stalled or
failed boot). With ``--follow`` it then prints new steps as the running
server records them, and names the stop point once a boot goes quiet.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.console import Console

from bootwright.boot.timeline import STALL_AFTER, Attempt, attempts, render, step
from bootwright.cli.common import StateConfigOpt, StateDirOpt, require_store, state_dir_of
from bootwright.config import Config
from bootwright.inventory.service import Inventory
from bootwright.model import Event, InvalidMac, normalize_mac
from bootwright.store.base import HostStore

# soft_wrap: a step is one line however long (the terminal folds it; grep and files get it whole).
out = Console(emoji=False, highlight=False, soft_wrap=True)
err = Console(stderr=True, emoji=False, highlight=False)


def events(
    name: Annotated[str | None, typer.Argument(metavar="[HOST]", help="Only this host (same as --host).")] = None,
    config: StateConfigOpt = None,
    state_dir: StateDirOpt = None,
    host: Annotated[str | None, typer.Option("--host", help="Only this host (all its MACs).")] = None,
    mac: Annotated[str | None, typer.Option("--mac", help="Only this MAC.")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new steps (Ctrl-C stops).")] = False,
    limit: Annotated[int, typer.Option("--limit", help="Newest events to read.")] = 2000,
    stall: Annotated[float, typer.Option("--stall", help="Quiet seconds that make a boot 'stalled'.")] = STALL_AFTER,
    as_json: Annotated[bool, typer.Option("--json", help="Print the attempts as JSON.")] = False,
    follow_seconds: Annotated[float | None, typer.Option(
        "--follow-seconds", hidden=True, help="With --follow: stop after this many seconds.")] = None,
) -> None:
    """Show the boot timeline per machine and where a stalled boot stopped."""
    from bootwright.store.base import StoreError

    if name is not None:
        if host is not None and host != name:
            raise typer.BadParameter(f"give the host once (HOST {name!r} or --host {host!r})", param_hint="HOST")
        host = name
    from bootwright.store.sqlite import SqliteStore

    macs: tuple[str, ...] = ()
    if mac is not None:
        try:
            macs = (normalize_mac(mac),)
        except InvalidMac as exc:
            raise typer.BadParameter(str(exc), param_hint="--mac") from None
    path = state_dir_of(config, state_dir) / "state.db"
    require_store(path, f"no state store at {path} (give --state-dir or --config)")
    store = SqliteStore(path)
    try:
        store.open()
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    try:
        tables = store.host_store()
        if host is not None:
            views = {v.host.name: v for v in Inventory(tables, Config()).views()}
            if host not in views:
                err.print(f"[red]error:[/red] no host named {host!r}")
                raise typer.Exit(2)
            macs += views[host].host.macs
        rows = tables.read_events(macs, host, 0, limit)
        now = time.time()
        found = attempts(e for _, e in rows)
        if as_json:
            print(json.dumps([a.to_dict(now, stall) for a in found], indent=2, default=str))
            return
        if not found and not follow:
            out.print("no events" + (f" for {host or mac}" if host or mac else ""))
        for attempt in found:
            for line in render(attempt, now, stall):
                out.print(line, markup=False)
            out.print("")
        if follow:
            last_id = rows[-1][0] if rows else 0
            _follow(tables, macs, host, last_id, [e for _, e in rows], stall, follow_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        store.close()


def _follow(tables: HostStore, macs: tuple[str, ...], host: str | None, last_id: int, seen: list[Event],
            stall: float, seconds: float | None) -> None:
    """Print new steps as they are stored; name the stop point when a boot goes quiet."""
    reported: set[tuple[str | None, float]] = set()
    for attempt in attempts(seen):
        if attempt.status(time.time(), stall) != "in progress":
            reported.add((attempt.mac, attempt.last))
    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        rows = tables.read_events(macs, host, last_id, 1000)
        for event_id, event in rows:
            last_id = event_id
            seen.append(event)
            who = event.host or event.mac or "-"
            out.print(f"{time.strftime('%H:%M:%S', time.localtime(event.at))} {who}: {step(event).text}", markup=False)
        del seen[:-5000]
        now = time.time()
        for attempt in _latest(attempts(seen)):
            key = (attempt.mac, attempt.last)
            status = attempt.status(now, stall)
            if status != "in progress" and key not in reported:
                reported.add(key)
                who = attempt.host or attempt.mac or "-"
                verdict = "result" if status == "complete" else f"likely stop point ({status})"
                out.print(f"{time.strftime('%H:%M:%S')} {who}: {verdict}: {attempt.stop}", markup=False)
        time.sleep(1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic())))


def _latest(found: list[Attempt]) -> list[Attempt]:
    latest: dict[str | None, Attempt] = {}
    for attempt in found:
        latest[attempt.mac] = attempt
    return list(latest.values())


def register(app: typer.Typer) -> None:
    """Add ``events`` to the main command."""
    app.command("events")(events)
