"""A lab session: namespace, boot root and servers up until it is closed; VMs booted on demand.

:func:`~bootwright.lab.runner.run_lab` boots each chosen scenario once through
a session. A test that needs more uses one directly: act on the running server
between boots (the ``bootwright`` CLI against its state directory, HTTP from
inside the namespace) and boot the same machine again — same MAC, bridge port
and SMBIOS UUID, a fresh timeline and serial log::

    async with LabSession(LabOptions(config=path, live=False), console) as lab:
        lab.cli("boot", "web1", "--target", "rescue", "--once", *lab.cli_args)
        vm = lab.vm(scenarios.by_name("bios4"))
        await lab.boot([vm])                  # vm.timeline: the first boot
        script = lab.http_get("/boot/52-54-00-b0-00-04.ipxe")
        vm.next_boot()
        await lab.boot([vm])                  # vm.timeline: the second boot

:meth:`LabSession.start` checks the config (:class:`ConfigRefused`), root and
the programs the scenarios need, loads (or prepares) the payload, picks the
accelerator, makes a work directory, the namespace and the boot root, starts
the servers and waits (bounded) until they answer — :class:`ServeUnavailable`
when none does (or any does not, with ``require_services``). With
``foreign_dhcp`` a foreign DHCP server (:mod:`bootwright.lab.foreign`) is
started first and holds UDP 67 before bootwright starts. A failed start
cleans up after itself. :meth:`LabSession.close` stops every VM and server,
deletes the namespace, and removes the work directory unless
:attr:`LabSession.keep_work` is set.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from rich.console import Console

from bootwright.lab import arm64, chains, nfsroot, qemu, scenarios
from bootwright.lab import payload as payload_mod
from bootwright.lab.bmcvm import BmcScenario, BmcVM
from bootwright.lab.foreign import ForeignDhcp, check_choice
from bootwright.lab.netns import ADDRESS4, Namespace
from bootwright.lab.options import (
    DEFAULT_CONFIG,
    PROXY_CONFIG,
    ConfigRefused,
    LabOptions,
    check_environment,
    config_problems,
)
from bootwright.lab.proc import LabError, run
from bootwright.lab.reference import BOOT_SCRIPT
from bootwright.lab.scenarios import Scenario
from bootwright.lab.servers import BootwrightStack, ReferenceStack, ServeUnavailable, Service, Stack
from bootwright.lab.tracker import Tracker
from bootwright.lab.view import LiveView
from bootwright.lab.vm import VM

# Run inside the namespace by http_get(): fetch one URL (no proxy), the body to stdout;
# an HTTP error or a timeout exits non-zero with the reason on stderr.
_FETCH = """
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(sys.argv[1], timeout=float(sys.argv[2])) as response:
    sys.stdout.buffer.write(response.read())
"""


class LabSession:
    """One lab's namespace, boot root and servers, and the VMs booted in it."""

    def __init__(self, options: LabOptions, console: Console | None = None):
        self.options = options
        self.console = console or Console(stderr=False, highlight=False)
        proxy = bool(options.foreign_dhcp)
        self.chosen: list[Scenario] = options.scenarios or scenarios.select(options.firmware, options.family, proxy)
        self.config = options.config or (PROXY_CONFIG if proxy else DEFAULT_CONFIG)
        self.label = "reference" if options.reference else "bootwright"
        self.keep_work = options.keep  # keep the work directory (logs, serial consoles) on close
        self.accel = ""
        self.work: Path | None = None
        self.ns: Namespace | None = None
        self.stack: Stack | None = None
        self.foreign: ForeignDhcp | None = None  # the link's own DHCP server in a proxy run
        self.tracker: Tracker | None = None
        self.payload: payload_mod.Payload | None = None
        self.vms: list[VM] = []
        self.missing: list[Service] = []  # services that never answered

    # -- life cycle ------------------------------------------------------------
    async def __aenter__(self) -> LabSession:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Checks, payload, namespace, boot root, servers up and answering (see the module docstring)."""
        options = self.options
        if options.reference and options.config is not None:
            raise LabError("--reference runs dnsmasq with the lab's own reference configuration; drop --config")
        if options.foreign_dhcp:
            if options.reference:
                raise LabError("--foreign-dhcp runs bootwright in proxy mode beside another server; drop --reference")
            try:
                check_choice(options.foreign_dhcp, options.placement)
            except ValueError as exc:
                raise LabError(str(exc)) from None
        if not self.config.is_file():
            example = PROXY_CONFIG if options.foreign_dhcp else DEFAULT_CONFIG
            default = f"the default is a checkout's examples/{example.name}"
            raise ConfigRefused([f"{self.config} does not exist ({default})"])
        if not options.reference and (problems := config_problems(self.config, options.foreign_dhcp)):
            raise ConfigRefused(problems)
        check_environment(self.chosen, options.reference, options.foreign_dhcp)
        self.payload = payload_mod.prepare(options.cache, say=lambda s: self.console.print(s, highlight=False))
        self.accel = qemu.choose_accel(options.accel, self.payload, options.cache)
        self.work = Path(tempfile.mkdtemp(prefix="bwlab-"))
        self.ns = Namespace()
        self.tracker = Tracker([], self.ns)
        try:
            self.ns.create()
            extra = BOOT_SCRIPT if options.reference else None
            root = payload_mod.build_root(self.payload, self.work / "root", extra_script=extra)
            if any(isinstance(s, nfsroot.NfsScenario) for s in self.chosen):
                self.config = self._nfs_config(root)
            chains.install(self.chosen, options.cache, root, say=lambda s: self.console.print(s, highlight=False))
            arm64.install(self.chosen, options.cache, self.payload.marker, root, say=lambda s: self.console.print(s))
            if options.reference:
                self.stack = ReferenceStack(self.ns, self.work, self.tracker.observe, root)
                what = "dnsmasq + plain HTTP (reference)"
            else:
                self.stack = BootwrightStack(
                    self.ns, self.work, self.tracker.observe, self.config, root, options.serve_log_level
                )
                what = f"bootwright serve --config {self.config}"
            if options.foreign_dhcp:
                # First: in the "together" placement it must hold UDP 67 before bootwright starts.
                self.foreign = ForeignDhcp(
                    options.foreign_dhcp, options.placement, self.ns, self.work, self.tracker.observe
                )
                what += f" in proxy mode, addresses from {self.foreign.title}"
            self.console.print(
                f"lab: namespace {self.ns.name}, {what}, {len(self.chosen)} VM(s), accel {self.accel}, work {self.work}"
            )
            if self.foreign is not None:
                await self.foreign.start()
            await self.stack.start()
            self.missing = await self.stack.wait_ready()
            if self.missing:
                names = ", ".join(f"{s.title} ({s.proto}/{s.port})" for s in self.missing)
                if options.require_services or len(self.missing) == len(self.stack.services):
                    raise ServeUnavailable(f"{self.label} does not answer on: {names}")
                self.console.print(f"[yellow]lab: warning:[/yellow] nothing answers for {names}")
        except BaseException:
            self.keep_work = True  # the server log says why
            await self.close()
            raise

    def _nfs_config(self, root: Path) -> Path:
        """--firmware nfs: the NFS initrd and root tree in the boot root, and the config written for them."""
        assert self.payload is not None and self.work is not None
        parts = nfsroot.prepare(self.payload, self.options.cache, say=lambda s: self.console.print(s, highlight=False))
        nfsroot.build_root(parts, root, self.payload.marker)
        config = nfsroot.write_config(self.work, root)
        if problems := config_problems(config):
            raise ConfigRefused(problems)
        return config

    async def close(self) -> None:
        """Stop the VMs and servers, delete the namespace; remove or keep the work directory."""
        for vm in self.vms:
            await vm.close()
        if self.stack is not None:
            await self.stack.stop()
            self.stack = None
        if self.foreign is not None:
            await self.foreign.stop()  # its peer namespace (apart) goes with it
            self.foreign = None
        if self.ns is not None:
            self.ns.delete()
            self.ns = None
        if self.work is not None:
            if self.keep_work:
                self.console.print(f"lab: logs, serial consoles and configs kept in {self.work}", highlight=False)
            else:
                shutil.rmtree(self.work, ignore_errors=True)
            self.work = None

    # -- machines --------------------------------------------------------------
    def vm(self, scenario: Scenario) -> VM:
        """A VM for ``scenario`` on its own new bridge port (booted by :meth:`boot`)."""
        if self.ns is None or self.work is None or self.payload is None:
            raise LabError("the lab session is not started")
        if isinstance(scenario, BmcScenario):
            vm: VM = BmcVM(scenario, self.ns, self.work, self.payload.marker, self.accel)
        else:
            vm = VM(scenario, self.ns, self.work, self.payload.marker, self.accel)
        self.vms.append(vm)
        return vm

    async def boot(
        self, vms: list[VM], title: str | None = None, timeout: float | None = None, stall: float | None = None
    ) -> None:
        """Boot ``vms`` (``parallel`` at a time) with the live view until each one is done.

        A VM is done at the marker, when QEMU exits, when its firmware gives up,
        after ``timeout`` seconds or ``stall`` seconds without a new stage (default:
        the options'). Each VM's current timeline (see :meth:`VM.next_boot`) receives
        the servers' observations. Raises :class:`LabError` when a server exits meanwhile.
        """
        if self.stack is None or self.tracker is None:
            raise LabError("the lab session is not started")
        for vm in vms:
            self.tracker.follow(vm.timeline)
        options, stack, tracker = self.options, self.stack, self.tracker
        gate = asyncio.Semaphore(options.parallel or max(1, os.cpu_count() or 1))
        limit = options.timeout if timeout is None else timeout
        quiet = options.stall if stall is None else stall

        async def one(vm: VM) -> None:
            async with gate:
                await vm.boot(limit, quiet)

        view = LiveView([vm.timeline for vm in vms], self.console, title or self.title, options.live)
        server_died: LabError | None = None
        with view:
            boots = [asyncio.create_task(one(vm)) for vm in vms]
            try:
                while not all(b.done() for b in boots):
                    tracker.retry_pending()
                    view.refresh()
                    try:
                        stack.check_alive()
                        if self.foreign is not None:
                            self.foreign.check_alive()
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

    @property
    def title(self) -> str:
        """The live view's title."""
        return f"bootwright lab — {self.label}, {self.accel}"

    # -- acting on the servers between boots ----------------------------------
    @property
    def state_dir(self) -> Path:
        """``bootwright serve``'s state directory (its ``state.db``: leases, inventory, events)."""
        if self.work is None:
            raise LabError("the lab session is not started")
        return self.work / "state"

    @property
    def cli_args(self) -> tuple[str, ...]:
        """``--config`` and ``--state-dir`` for a ``bootwright`` command about the running server."""
        return ("--config", str(self.config), "--state-dir", str(self.state_dir))

    def cli(self, *args: str, timeout: float = 60.0) -> str:
        """Run ``bootwright ARGS`` (outside the namespace: it only reads and writes the store); its stdout."""
        result = run([sys.executable, "-m", "bootwright.cli", *args], timeout=timeout, check=False)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).decode(errors="replace").strip()
            raise LabError(f"bootwright {' '.join(args)} exited with code {result.returncode}: {detail}")
        return result.stdout.decode(errors="replace")

    def sh(self, cmd: list[str], timeout: float = 10.0) -> str:
        """Run a short command inside the namespace; its stdout (LabError when it fails)."""
        if self.ns is None:
            raise LabError("the lab session is not started")
        return self.ns.sh(cmd, timeout=timeout)

    def http_get(self, url: str, timeout: float = 10.0) -> str:
        """GET ``url`` from inside the namespace (a path: from the server at 192.0.2.1); the body."""
        if url.startswith("/"):
            url = f"http://{ADDRESS4}{url}"
        return self.sh([sys.executable, "-c", _FETCH, url, str(timeout)], timeout=timeout + 5)
