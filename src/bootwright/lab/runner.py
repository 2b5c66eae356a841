"""``bootwright lab``: boot the scenarios' VMs against bootwright (or the reference stack).

A run is one :class:`~bootwright.lab.session.LabSession`: check the environment
and the config (a bad config is refused before anything starts), prepare or
load the cached payload, create the namespace, fill a boot root, start the
servers and wait (bounded) until they answer; then boot every chosen
scenario's VM once (``parallel`` at a time) with the live view, and print the
final table. Everything started is stopped and the namespace deleted on the
way out, also on Ctrl-C or SIGTERM; ``keep`` holds the namespace and servers up
until Ctrl-C. The work directory (logs, serial consoles, configs) is removed
after a run where every VM booted, kept otherwise (and with ``keep``).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from bootwright.lab.bmcvm import BmcScenario
from bootwright.lab.netns import Namespace
from bootwright.lab.options import DEFAULT_CONFIG, ConfigRefused, LabOptions, check_environment, config_problems
from bootwright.lab.power import reprovision
from bootwright.lab.servers import Service
from bootwright.lab.session import LabSession
from bootwright.lab.timeline import PROXY_EVENTS, Timeline
from bootwright.lab.vm import VM
from bootwright.model import EventKind

__all__ = [
    "DEFAULT_CONFIG", "EXIT_ENV", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "ConfigRefused", "LabOptions", "LabReport",
    "check_environment", "config_problems", "run_lab",
]  # fmt: skip

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ENV = 0, 1, 2, 3


@dataclass
class LabReport:
    """The outcome of a run."""

    stack: str
    accel: str
    timelines: list[Timeline]
    work: Path
    missing: list[Service] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # scenario → why it was not booted
    failures: list[str] = field(default_factory=list)  # checks beyond the marker that failed (BMC scenarios)
    foreign: str | None = None  # proxy runs: the link's own DHCP server, e.g. "dnsmasq in its own namespace …"
    leases: dict[str, str] = field(default_factory=dict)  # proxy runs: MAC → address in its lease file
    ready: dict[str, str] = field(default_factory=dict)  # service → the server's "<service> ready: …" message

    @property
    def ok(self) -> bool:
        """True when every VM reached the marker (and every further check passed)."""
        return bool(self.timelines) and all(t.ok for t in self.timelines) and not self.failures

    def by_name(self) -> dict[str, Timeline]:
        """Timelines keyed by scenario name."""
        return {t.name: t for t in self.timelines}


def run_lab(options: LabOptions, console: Console | None = None) -> LabReport:
    """Run the lab synchronously (handles SIGTERM like Ctrl-C); raises LabError on set-up problems."""
    console = console or Console(stderr=False, highlight=False)
    return asyncio.run(_main(options, console))


async def _main(options: LabOptions, console: Console) -> LabReport:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await _run(options, console)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGTERM)


async def _run(options: LabOptions, console: Console) -> LabReport:
    session = LabSession(options, console)
    await session.start()  # cleans up after itself when it fails
    assert session.work is not None and session.ns is not None
    report = LabReport(session.label, session.accel, [], session.work, list(session.missing))
    try:
        bmc = [s for s in session.chosen if isinstance(s, BmcScenario)]
        if bmc:
            await _bmc_runs(session, bmc, report, console)
            if options.keep:
                await _hold(session.ns, session.work, console)
            return report
        vms = [session.vm(s) for s in session.chosen]
        report.timelines = [vm.timeline for vm in vms]
        if report.missing and options.skip_unserved:
            vms = _drop_unserved(vms, report)
        await session.boot(vms)
        if session.stack is not None:
            report.ready = dict(session.stack.ready_messages)
        if session.foreign is not None:
            report.foreign, report.leases = session.foreign.title, session.foreign.leases()
            _print_addresses(report, console)
        if options.keep:
            await _hold(session.ns, session.work, console)
    finally:
        session.keep_work = options.keep or bool(report.timelines and not report.ok)
        await session.close()
    return report


async def _bmc_runs(session: LabSession, chosen: list[BmcScenario], report: LabReport, console: Console) -> None:
    """Each BMC scenario in turn: the one command's output, then whether the machine booted locally after."""
    for scenario in chosen:
        run = await reprovision(session, scenario)
        if run.first is not None:
            report.timelines.append(run.first)
        console.print(f"[bold]{scenario.title}[/bold]: what the commands printed", highlight=False)
        console.print(run.output.rstrip(), markup=False, highlight=False, soft_wrap=True)
        if run.second is not None:
            verdict = "booted the local disk (no DHCP)" if not run.problems else "did NOT boot the local disk"
            console.print(f"{scenario.name}: the next power-on {verdict}: {run.second.outcome}", highlight=False)
        report.failures += [f"{scenario.name}: {p}" for p in run.problems]
    for failure in report.failures:
        console.print(f"[red]lab: {failure}[/red]", highlight=False)


def _print_addresses(report: LabReport, console: Console) -> None:
    """Proxy runs: where each VM's address came from, and whether bootwright gave one too."""
    for t in report.timelines:
        lease = report.leases.get(t.mac)
        got = f"{lease} in the lease file of {report.foreign}" if lease else f"no lease from {report.foreign}"
        own = [k for k in t.events if k in (EventKind.DHCP4_OFFER, EventKind.DHCP4_ACK)]
        told = f"bootwright sent {', '.join(sorted(set(own)))} (it must not)" if own else "bootwright gave no address"
        proxy = sum(k in PROXY_EVENTS for k in t.events)
        console.print(f"lab: {t.name}: {got}; {told}; {proxy} proxy answer(s)", highlight=False)


def _drop_unserved(vms: list[VM], report: LabReport) -> list[VM]:
    """Keep the VMs whose boot path is served; record why the others were skipped."""
    absent = {s.name: s for s in report.missing}
    kept: list[VM] = []
    for vm in vms:
        lacking = [absent[n] for n in vm.scenario.needs if n in absent]
        if lacking:
            what = ", ".join(f"{s.title} (nothing on {s.proto}/{s.port})" for s in lacking)
            report.skipped[vm.scenario.name] = f"{report.stack} does not serve {what} yet"
        else:
            kept.append(vm)
    report.timelines = [vm.timeline for vm in kept]
    return kept


async def _hold(ns: Namespace, work: Path, console: Console) -> None:
    console.print(
        f"lab: --keep: namespace {ns.name} and the servers stay up until Ctrl-C; "
        f"try: ip netns exec {ns.name} bash; logs and serial consoles in {work}"
    )
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            await asyncio.sleep(3600)
