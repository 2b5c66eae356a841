"""The composition root: build the services from a config and run them in one asyncio loop.

A service is anything with a ``name`` and an ``async run()`` that binds its
sockets, reports ready, and serves until cancelled (cleaning up in its own
``finally``). :data:`SERVICE_FACTORIES` lists every service module's
``create_service(runtime)``; each returns ``None`` when the config does not
enable its service. All services run in one ``asyncio.TaskGroup``: if one
fails, the others are stopped and the process exits with the failing
service's message. Nothing imports this module but ``cli/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time

from bootwright import __version__
from bootwright.inventory.service import InventoryError
from bootwright.net import ddns, dhcp4, dhcp6, hooks, nfs, ra, syslog
from bootwright.net.host import KernelHost
from bootwright.net.sdnotify import SdNotify
from bootwright.net.tftp import service as tftp
from bootwright.runtime import Runtime, ServiceError, ServiceFactory
from bootwright.runtime.core import Service
from bootwright.runtime.reload import HotReload
from bootwright.runtime.status import Status, StatusFile
from bootwright.web import service as http

log = logging.getLogger("bootwright")

# Every service, in start order: HTTP first (iPXE asks it last but it is cheapest to
# fail early on a bad port), the DHCP servers last (once they answer, clients come).
SERVICE_FACTORIES: tuple[ServiceFactory, ...] = (
    http.create_service,
    hooks.create_service,  # before the services that emit: its listener takes their first events
    ddns.create_service,  # before DHCP too: it reads the stored leases, then follows the new ones
    nfs.create_service,  # NFS roots (a supervised NFS server), up before DHCP sends clients to their kernels
    dhcp6.create_service,
    ra.create_service,
    tftp.create_service,
    syslog.create_service,
    dhcp4.create_service,
)


async def run_services(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """Run every enabled service until ``stop`` is set or a signal arrives."""
    status = _write_status(runtime)
    try:
        await _run(runtime, stop)
    finally:
        if status is not None:
            status.remove()


def _write_status(runtime: Runtime) -> StatusFile | None:
    """``status.json`` in the state directory, for ``bootwright status`` and ``reload`` (runtime/status.py)."""
    status = StatusFile(
        runtime.state_dir,
        Status(os.getpid(), __version__, str(runtime.config_path), str(runtime.root), str(runtime.state_dir),
               time.time()),
    )  # fmt: skip
    try:
        status.write()
    except OSError as exc:
        log.warning("cannot write %s (bootwright status and reload will not find this server): %s", status.path, exc)
        return None
    runtime.status = status
    return status


async def _run(runtime: Runtime, stop: asyncio.Event | None) -> None:
    if runtime.host is None:  # host facts (neighbours) for HTTP and TFTP: the kernel's, unless a caller set its own
        runtime.host = KernelHost()
    notifier = SdNotify.from_environ()
    if notifier.enabled and runtime.notifier is None:
        runtime.notifier = notifier
    log.info("bootwright %s starting: config %s, root %s, state %s%s", __version__, runtime.config_path,
             runtime.root, runtime.state_dir, " (systemd notify)" if notifier.enabled else "")
    reloader = _start_hot_reload(runtime)
    services = [s for f in SERVICE_FACTORIES if (s := f(runtime)) is not None]
    if not services:
        await reloader.aclose()
        raise ServiceError("no service is enabled or implemented for this configuration")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    why = ["stopped"]

    def on_signal(sig: signal.Signals) -> None:
        why[0] = f"{sig.name} received"
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)
    helpers = [
        asyncio.create_task(_flush_events(runtime)),
        asyncio.create_task(reloader.run(), name="reload"),
        asyncio.create_task(_announce_ready(runtime, services, notifier), name="ready"),
    ]
    if notifier.watchdog_interval is not None:
        helpers.append(asyncio.create_task(_watchdog(notifier, notifier.watchdog_interval), name="watchdog"))
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(s.run(), name=s.name) for s in services]
            waiter = group.create_task(stop.wait(), name="stop")
            await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                log.info("bootwright stopping: %s", why[0])
            for task in tasks:
                task.cancel()
            waiter.cancel()
    finally:
        notifier.stopping()
        for helper in helpers:
            helper.cancel()
        await reloader.aclose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        runtime.store.flush_events()
        await runtime.store.aclose()
        notifier.close()
        log.info("bootwright stopped")


READY_WAIT = 0.05  # seconds between looks at which services reported ready
READY_LATEST = 30.0  # seconds after which READY=1 goes out anyway (systemd would time the start out)


async def _announce_ready(runtime: Runtime, services: list[Service], notifier: SdNotify) -> None:
    """Once every service reported ready: one banner line, and READY=1 to the service manager."""
    deadline = time.monotonic() + READY_LATEST
    while len(runtime.ready) < len(services):
        if time.monotonic() > deadline:
            waiting = sorted({s.name for s in services} - set(runtime.ready))
            log.warning("not ready after %.0f s: %s; telling the service manager ready anyway", READY_LATEST,
                        ", ".join(waiting))
            break
        await asyncio.sleep(READY_WAIT)
    log.info("bootwright %s ready: %s", __version__, runtime.serving_status().removeprefix("serving "))
    notifier.ready(runtime.serving_status())


async def _watchdog(notifier: SdNotify, interval: float) -> None:
    """WATCHDOG=1 every ``interval`` seconds while the event loop turns (a stuck loop stops the pings)."""
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval)


def _start_hot_reload(runtime: Runtime) -> HotReload:
    """Stored hosts and one-shots into the policy, SIGHUP and file watching (runtime/reload.py)."""
    reloader = runtime.reloader or HotReload(runtime)
    try:
        reloader.start()
    except InventoryError as exc:
        raise ServiceError(f"{runtime.config_path}: {exc.render()}") from None
    return reloader


async def _flush_events(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(0.5)
        runtime.store.flush_events()
