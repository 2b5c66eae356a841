"""``bootwright power HOST status|on|off|soft|cycle|reset``: a host's power, through its BMC.

Like ``hosts``, this works on the state store directly (with or without a
running server): the host and its BMC come from the inventory, the BMC is
driven from this process, and each step is recorded in the host's timeline
(``bmc.power``, ``bmc.error``) where ``bootwright events`` and the API see it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from bootwright.bmc.base import BmcError, PowerAction
from bootwright.bmc.control import DEFAULT_TIMEOUT, BmcControl, bmc_of, describe
from bootwright.cli.hosts import ConfigOpt, StateOpt, _call, _fail, _say, open_state
from bootwright.inventory.service import Inventory
from bootwright.model import Host
from bootwright.runtime.events import EventSink

T = TypeVar("T")
ACTIONS = ("status", *(a.value for a in PowerAction))
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=1.0,
                                           help="Seconds one BMC operation may take, login included.")]


@contextmanager
def bmc_session(config: Path, state_dir: Path | None, timeout: float,
                concurrency: int = 8) -> Iterator[tuple[Inventory, BmcControl]]:
    """The inventory and a :class:`BmcControl` whose events go to the state store's history."""
    with open_state(config, state_dir) as (inventory, store):
        yield inventory, BmcControl(EventSink(store=store), concurrency=concurrency, timeout=timeout)


def run_bmc(step: Callable[[], Awaitable[T]]) -> T:
    """Run one BMC coroutine; a BMC error is one clear line and exit 1."""
    try:
        return asyncio.run(step())  # type: ignore[arg-type]
    except BmcError as exc:
        raise _fail(str(exc), 1) from None


def host_with_bmc(inventory: Inventory, name: str) -> Host:
    """The host, which must have a BMC (exit 2 naming what to do otherwise)."""
    host: Host = _call(inventory.view, name).host
    try:
        bmc_of(host)
    except BmcError as exc:
        raise _fail(str(exc)) from None
    return host


def power(
    host: Annotated[str, typer.Argument(help="Host name.")],
    action: Annotated[str, typer.Argument(help=f"One of {', '.join(ACTIONS)}.")],
    config: ConfigOpt,
    state_dir: StateOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Read or change a host's power through its BMC (IPMI or Redfish; docs/power.md)."""
    if action not in ACTIONS:
        raise typer.BadParameter(f"{action!r} is not one of {', '.join(ACTIONS)}", param_hint="ACTION")
    with bmc_session(config, state_dir, timeout) as (inventory, control):
        target = host_with_bmc(inventory, host)
        where = describe(bmc_of(target))
        if action == "status":
            state = run_bmc(lambda: control.power_state(target))
            if as_json:
                print(json.dumps({"host": host, "bmc": where, "power": str(state)}))
            else:
                _say(f"{host}: power {state} (BMC {where})")
            return
        run_bmc(lambda: control.power(target, PowerAction(action)))
    if as_json:
        print(json.dumps({"host": host, "bmc": where, "action": action, "accepted": True}))
    else:
        _say(f"{host}: power {action} accepted by BMC {where}")


def register(app: typer.Typer) -> None:
    """Add ``power`` to the main command."""
    app.command("power")(power)
