"""``bootwright lab``: boot the scenarios' VMs against bootwright (or the reference stack).

Order of a run: check the environment and the config (a bad config is refused
before anything starts), prepare or load the cached payload, create the
namespace, fill a boot root, start the servers and wait (bounded) until they
answer, boot the VMs (``parallel`` at a time), show the live view, print the
final table. Everything started is stopped and the namespace deleted on the way
out, also on Ctrl-C or SIGTERM; ``keep`` holds the namespace and servers up
until Ctrl-C. The work directory (logs, serial consoles, configs) is removed
after a run where every VM booted, kept otherwise (and with ``keep``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from . import payload as payload_mod
from . import qemu, scenarios, tools
from .netns import ADDRESS4, ADDRESS6, BRIDGE, Namespace
from .proc import LabError
from .reference import BOOT_SCRIPT
from .scenarios import Scenario
from .servers import BootwrightStack, Observer, ReferenceStack, ServeUnavailable, Service, Stack
from .timeline import Timeline
from .tracker import Tracker
from .view import LiveView
from .vm import VM

DEFAULT_CONFIG = Path(__file__).resolve().parents[3] / "examples" / "quickstart.toml"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ENV = 0, 1, 2, 3


@dataclass
class LabOptions:
    """Everything a lab run can be told (the CLI flags)."""

    firmware: str = "all"
    family: str = "all"
    config: Path | None = None
    reference: bool = False
    keep: bool = False
    cache: Path = payload_mod.DEFAULT_CACHE
    accel: str = "auto"  # auto, kvm or tcg
    timeout: float = 240.0  # per VM, seconds
    stall: float = 120.0  # stop a VM after this long without reaching a new stage
    parallel: int = 0  # VMs booting at once; 0: one per CPU
    live: bool | None = None  # None: redraw in place only on a terminal
    scenarios: list[Scenario] | None = None  # overrides firmware/family
    require_services: bool = False  # raise ServeUnavailable if a service never answers
    skip_unserved: bool = False  # do not boot scenarios needing a service that never answered
    serve_log_level: str = "info"  # bootwright serve --log-level (debug shows dropped datagrams)


@dataclass
class LabReport:
    """The outcome of a run."""

    stack: str
    accel: str
    timelines: list[Timeline]
    work: Path
    missing: list[Service] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # scenario → why it was not booted

    @property
    def ok(self) -> bool:
        """True when every VM reached the marker."""
        return bool(self.timelines) and all(t.ok for t in self.timelines)

    def by_name(self) -> dict[str, Timeline]:
        """Timelines keyed by scenario name."""
        return {t.name: t for t in self.timelines}


def config_problems(path: Path) -> list[str]:
    """What ``bootwright check`` would refuse, plus what the lab's network cannot serve."""
    from ..config import ConfigError, load_config
    from ..ipxe import check_templates
    from ..policy import hosts_from_config

    try:
        cfg = load_config(path)
    except ConfigError as exc:
        return exc.render().splitlines()
    problems = [f"{path}: {p}" for p in check_templates(cfg, hosts_from_config(cfg))]
    if cfg.server.interfaces and BRIDGE not in cfg.server.interfaces:
        problems.append(f"{path}: server.interfaces must include {BRIDGE!r}: the lab's link is called {BRIDGE}")
    for i, s4 in enumerate(cfg.subnet4):
        if ipaddress.ip_address(ADDRESS4) not in ipaddress.ip_network(str(s4.subnet)):
            problems.append(f"{path}: subnet4[{i}] {s4.subnet} does not hold the lab's address {ADDRESS4}")
    for i, s6 in enumerate(cfg.subnet6):
        if ipaddress.ip_address(ADDRESS6) not in ipaddress.ip_network(str(s6.prefix)):
            problems.append(f"{path}: subnet6[{i}] {s6.prefix} does not hold the lab's address {ADDRESS6}")
    return problems


def check_environment(chosen: list[Scenario], reference: bool) -> None:
    """Root, and every program and firmware file the chosen scenarios need."""
    if os.geteuid() != 0:
        raise LabError("bootwright lab needs root: it creates a network namespace and taps (run it with sudo)")
    needed = [*tools.FOR_NETWORK, *tools.FOR_ROOT]
    if any(s.firmware == "bios" for s in chosen):
        needed += tools.FOR_BIOS
    if any(s.firmware != "bios" for s in chosen):
        needed += tools.FOR_EFI
    if reference:
        needed += tools.FOR_REFERENCE
    tools.require(*needed)


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
    chosen = options.scenarios or scenarios.select(options.firmware, options.family)
    if options.reference and options.config is not None:
        raise LabError("--reference runs dnsmasq with the lab's own reference configuration; drop --config")
    config = options.config or DEFAULT_CONFIG
    if not config.is_file():
        raise ConfigRefused([f"{config} does not exist (the default is a checkout's examples/quickstart.toml)"])
    if not options.reference:
        problems = config_problems(config)
        if problems:
            raise ConfigRefused(problems)
    check_environment(chosen, options.reference)
    payload = payload_mod.prepare(options.cache, say=lambda s: console.print(s, highlight=False))
    accel = qemu.choose_accel(options.accel, payload, options.cache)
    work = Path(tempfile.mkdtemp(prefix="bwlab-"))
    ns = Namespace()
    stack: Stack | None = None
    vms: list[VM] = []
    report = LabReport("reference" if options.reference else "bootwright", accel, [], work)
    try:
        ns.create()
        root = payload_mod.build_root(payload, work / "root", extra_script=BOOT_SCRIPT if options.reference else None)
        vms = [VM(s, ns, work, payload.marker, accel) for s in chosen]
        report.timelines = [vm.timeline for vm in vms]
        tracker = Tracker(report.timelines, ns)
        stack = _make_stack(options, ns, work, tracker.observe, config, root)
        what = "dnsmasq + plain HTTP (reference)" if options.reference else f"bootwright serve --config {config}"
        console.print(f"lab: namespace {ns.name}, {what}, {len(vms)} VM(s), accel {accel}, work {work}")
        await stack.start()
        report.missing = await stack.wait_ready()
        if report.missing:
            names = ", ".join(f"{s.title} ({s.proto}/{s.port})" for s in report.missing)
            if options.require_services or len(report.missing) == len(stack.services):
                raise ServeUnavailable(f"{report.stack} does not answer on: {names}")
            console.print(f"[yellow]lab: warning:[/yellow] nothing answers for {names}")
            if options.skip_unserved:
                vms = _drop_unserved(vms, report)
        await _boot_all(vms, stack, tracker, options, console, f"bootwright lab — {report.stack}, {accel}")
        if options.keep:
            await _hold(ns, work, console)
    finally:
        for vm in vms:
            await vm.stop()
        if stack is not None:
            await stack.stop()
        ns.delete()
        if options.keep or (report.timelines and not report.ok):
            console.print(f"lab: logs, serial consoles and configs kept in {work}", highlight=False)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return report


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


class ConfigRefused(LabError):
    """The config fails ``bootwright check`` (or cannot run in the lab); nothing was started."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _make_stack(options: LabOptions, ns: Namespace, work: Path, observe: Observer, config: Path, root: Path) -> Stack:
    if options.reference:
        return ReferenceStack(ns, work, observe, root)
    return BootwrightStack(ns, work, observe, config, root, options.serve_log_level)


async def _boot_all(
    vms: list[VM], stack: Stack, tracker: Tracker, options: LabOptions, console: Console, title: str
) -> None:
    parallel = options.parallel or max(1, os.cpu_count() or 1)
    gate = asyncio.Semaphore(parallel)

    async def one(vm: VM) -> None:
        async with gate:
            await vm.boot(options.timeout, options.stall)

    view = LiveView([vm.timeline for vm in vms], console, title, options.live)
    server_died: LabError | None = None
    with view:
        boots = [asyncio.create_task(one(vm)) for vm in vms]
        try:
            while not all(b.done() for b in boots):
                tracker.retry_pending()
                view.refresh()
                try:
                    stack.check_alive()
                except LabError as exc:
                    server_died = exc
                    break
                await asyncio.wait(boots, timeout=0.5)
            await asyncio.sleep(0.6)  # last server lines (the marker often beats the HTTP log line)
            tracker.retry_pending()
        finally:
            for b in boots:
                b.cancel()
            await asyncio.gather(*boots, return_exceptions=True)
    if server_died is not None:
        for vm in vms:
            if not vm.timeline.ok and vm.timeline.outcome is None:
                vm.timeline.outcome = "stopped: the server exited"
    view.final()
    if server_died is not None:
        raise server_died


async def _hold(ns: Namespace, work: Path, console: Console) -> None:
    console.print(
        f"lab: --keep: namespace {ns.name} and the servers stay up until Ctrl-C; "
        f"try: ip netns exec {ns.name} bash; logs and serial consoles in {work}"
    )
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            await asyncio.sleep(3600)
