"""``bootwright boot``: what a host boots next — and, with a BMC, make it happen and watch it.

``bootwright boot HOST --target T --once`` sets a one-shot boot; ``--reboot``
then tells the host's BMC to boot the network once and power-cycles it (soft
off, hard off after ``--grace`` seconds, on); ``--wait [SECONDS]`` follows the
host's timeline until the one-shot is ``done`` (exit 0) or failed, stalled or
out of time (exit 1, with the timeline's diagnosis). ``--group G`` does the
same for every host of a group, ``--concurrency`` at a time, and ends with a
summary table. Works on the state store directly, like ``hosts``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.markup import escape

from bootwright.bmc.base import BmcError, NextBoot
from bootwright.bmc.control import DEFAULT_GRACE, DEFAULT_TIMEOUT, BmcControl, bmc_of
from bootwright.boot.reprovision import judge
from bootwright.boot.timeline import step
from bootwright.cli.common import err
from bootwright.cli.hosts import ConfigOpt, StateOpt, _call, _fail, _say, _table, open_inventory
from bootwright.cli.power import TimeoutOpt, bmc_session
from bootwright.inventory.service import Inventory
from bootwright.model import Event, Host

DEFAULT_WAIT = 600.0  # seconds --wait gives a machine from the power-on to its one-shot done
POLL = 1.0  # seconds between reads of the event history while waiting


@dataclass
class Outcome:
    """How one host's boot went, for the exit code and the summary table."""

    host: str
    ok: bool
    message: str
    seconds: float = 0.0


def _wait_value(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a number of seconds", param_hint="--wait") from None
    if value <= 0:
        raise typer.BadParameter("give a positive number of seconds", param_hint="--wait")
    return value


def boot(
    config: ConfigOpt,
    host: Annotated[str | None, typer.Argument(help="Host name (or --group).")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Target or menu to boot.")] = None,
    once: Annotated[bool, typer.Option("--once", help="Only the next boot; then the host's own target again.")] = False,
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel a pending one-shot boot.")] = False,
    reboot: Annotated[bool, typer.Option(
        "--reboot", help="Through the host's BMC: boot the network once, then power-cycle (soft, hard, on).")] = False,
    uefi: Annotated[bool | None, typer.Option(
        "--uefi/--legacy", help="With --reboot: ask the BMC for a UEFI or a legacy BIOS network boot.")] = None,
    http: Annotated[bool, typer.Option(
        "--http", help="With --reboot: UEFI HTTP boot instead of PXE (Redfish).")] = False,
    wait: Annotated[str | None, typer.Option(
        "--wait", metavar="[SECONDS]",
        help=f"Follow the boot until the one-shot is done (exit 0) or not in SECONDS (default {DEFAULT_WAIT:.0f}; "
             "exit 1 with the diagnosis).")] = None,
    group: Annotated[str | None, typer.Option("--group", "-g", help="Every host of this group.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256,
                                             help="With --group: hosts handled at once.")] = 8,
    grace: Annotated[float, typer.Option(
        "--grace", min=0.0, help="Seconds a soft power-off may take before the hard one.")] = DEFAULT_GRACE,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    state_dir: StateOpt = None,
) -> None:
    """Choose what a host boots next (--once: the next boot only); --reboot makes it boot now, --wait watches."""
    wait_for = _wait_value(wait)
    if (host is None) == (group is None):
        raise typer.BadParameter("give a host name or --group (not both)", param_hint="HOST")
    if (uefi is not None or http) and not reboot:
        raise typer.BadParameter("--uefi, --legacy and --http tell the BMC how to boot: add --reboot",
                                 param_hint="--reboot")
    if wait_for is not None and not (once and target):
        raise typer.BadParameter("--wait follows a one-shot boot: give --target T --once", param_hint="--wait")
    if not reboot:
        with open_inventory(config, state_dir) as inventory:
            for name in _names(inventory, host, group):
                _choose(inventory, name, target, once, cancel)
        return
    if cancel:
        raise typer.BadParameter("--cancel does not go with --reboot", param_hint="--cancel")
    with bmc_session(config, state_dir, timeout, concurrency) as (inventory, control):
        names = _names(inventory, host, group)
        hosts = [_call(inventory.view, name).host for name in names]
        for h in hosts:
            try:
                bmc = bmc_of(h)
            except BmcError as exc:
                raise _fail(str(exc)) from None
            if http and bmc.driver == "ipmi":  # known before a one-shot is set or a BMC is asked
                raise _fail(f"host {h.name}: its BMC speaks IPMI, which has no HTTP boot device: drop --http "
                            "(PXE) or give it a Redfish BMC")
        flow = _Flow(inventory, control, target, once, NextBoot(uefi, http), grace, wait_for, prefix=group is not None)
        outcomes = asyncio.run(flow.all(hosts, concurrency))
    if group is not None:
        _table(["host", "result", "seconds", "detail"],
               [[o.host, "ok" if o.ok else "FAILED", f"{o.seconds:.0f}", o.message] for o in outcomes])
        _say(f"{sum(o.ok for o in outcomes)} of {len(outcomes)} host(s) ok")
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


def _names(inventory: Inventory, host: str | None, group: str | None) -> list[str]:
    if host is not None:
        return [host]
    names = [v.host.name for v in inventory.views() if group in v.host.groups and not v.skipped]
    if not names:
        raise _fail(f"no host is in group {group!r}")
    return names


def _choose(inventory: Inventory, host: str, target: str | None, once: bool, cancel: bool) -> None:
    """The one-shot or the lasting target of one host (no BMC involved)."""
    if cancel:
        found = _call(inventory.cancel_oneshot, host)
        _say(f"{host}: one-shot boot cancelled" if found else f"{host}: no one-shot boot to cancel")
        return
    if target is None:
        raise typer.BadParameter("give --target (or --cancel, or --reboot)", param_hint="--target")
    if once:
        shot = _call(inventory.request_oneshot, host, target)
        _say(f"{host}: next boot is {shot.target} (once; state {shot.state}), then its own target again")
        return
    if target not in inventory.config.script_names():
        raise _fail(f"no target or menu named {target!r}")
    _call(inventory.update, host, {"target": target})
    _say(f"{host}: boots {target} from now on")


class _Flow:
    """One reprovisioning per host: one-shot, BMC next boot and power cycle, then (with --wait) the timeline."""

    def __init__(self, inventory: Inventory, control: BmcControl, target: str | None, once: bool, boot: NextBoot,
                 grace: float, wait: float | None, prefix: bool) -> None:
        self.inventory = inventory
        self.control = control
        self.target = target
        self.once = once
        self.boot = boot
        self.grace = grace
        self.wait = wait
        self.prefix = prefix

    def say(self, host: str, text: str) -> None:
        _say(f"{host}: {text}" if self.prefix or not text.startswith(host) else text)

    async def all(self, hosts: list[Host], concurrency: int) -> list[Outcome]:
        limit = asyncio.Semaphore(concurrency)

        async def one(host: Host) -> Outcome:
            async with limit:
                return await self.one(host)

        return list(await asyncio.gather(*(one(h) for h in hosts)))

    async def one(self, host: Host) -> Outcome:
        started = time.time()
        name = host.name
        try:
            if self.target is not None:
                _choose(self.inventory, name, self.target, self.once, False)
            cycle = await self.control.reboot_to_network(host, self.boot, self.grace)
        except (BmcError, typer.Exit) as exc:
            message = str(exc) if isinstance(exc, BmcError) else "refused (see above)"
            if isinstance(exc, BmcError):
                err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
                if self.target is not None and self.once:
                    self.say(name, f"{name}: the one-shot boot of {self.target} stays pending: the next boot gets it "
                                   f"(bootwright boot {name} --cancel forgets it)")
            return Outcome(name, False, message, time.time() - started)
        # A refused UEFI flag or mode was dropped: the device set is the one without it.
        device = (NextBoot(None, self.boot.http) if cycle.note else self.boot).describe()
        if cycle.note:
            self.say(name, f"note: {cycle.note}")
        self.say(name, f"{name}: BMC set the next boot to {device} once; power was {cycle.found}; "
                       f"{', '.join(cycle.steps)}")
        if self.wait is None:
            return Outcome(name, True, f"power-cycled ({', '.join(cycle.steps)})", time.time() - started)
        outcome = await self.follow(host, started, time.time(), self.wait, device)
        self.say(name, f"{name}: {'done' if outcome.ok else 'FAILED'}: {outcome.message}")
        return outcome

    async def follow(self, host: Host, started: float, pressed: float, wait: float, device: str) -> Outcome:
        """Print the host's new timeline steps until the one-shot ends or ``wait`` seconds pass."""
        tables = self.inventory.tables
        last_id = 0
        seen: list[Event] = []

        def read() -> None:
            nonlocal last_id
            for event_id, event in tables.read_events(host.macs, host.name, last_id, 1000):
                last_id = event_id
                if event.at >= started:
                    seen.append(event)
                    self.say(host.name, f"  +{event.at - started:6.1f}s  {step(event).text}")

        while True:
            read()
            shot = self.inventory.view(host.name).oneshot
            now = time.time()
            verdict = judge(seen, shot, host.macs, started, pressed, now, wait, device)
            if verdict.finished:
                # The server stores events in batches: the steps that ended the boot may be a moment behind.
                await asyncio.sleep(POLL)
                read()
                return Outcome(host.name, verdict.ok, verdict.message, now - started)
            await asyncio.sleep(POLL)


def register(app: typer.Typer) -> None:
    """Add ``boot`` to the main command."""
    app.command("boot")(boot)


def optional_wait_value(argv: list[str]) -> list[str]:
    """``--wait`` with no number after it means ``--wait=600`` (click options cannot take an optional value)."""
    out = []
    for i, arg in enumerate(argv):
        if arg == "--wait":
            following = argv[i + 1] if i + 1 < len(argv) else ""
            try:
                float(following)
            except ValueError:
                out.append(f"--wait={DEFAULT_WAIT:.0f}")
                continue
        out.append(arg)
    return out

