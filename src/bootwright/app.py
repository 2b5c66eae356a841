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
from bootwright.net import dhcp4, dhcp6, ra
from bootwright.net.host import KernelHost
from bootwright.net.tftp import service as tftp
from bootwright.runtime import Runtime, ServiceError, ServiceFactory
from bootwright.runtime.reload import HotReload
from bootwright.runtime.status import Status, StatusFile
from bootwright.web import service as http

log = logging.getLogger("bootwright")

# Every service, in start order: HTTP first (iPXE asks it last but it is cheapest to
# fail early on a bad port), the DHCP servers last (once they answer, clients come).
SERVICE_FACTORIES: tuple[ServiceFactory, ...] = (
    http.create_service,
    dhcp6.create_service,
    ra.create_service,
    tftp.create_service,
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
    reloader = _start_hot_reload(runtime)
    services = [s for f in SERVICE_FACTORIES if (s := f(runtime)) is not None]
    if not services:
        await reloader.aclose()
        raise ServiceError("no service is enabled or implemented for this configuration")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    flusher = asyncio.create_task(_flush_events(runtime))
    watcher = asyncio.create_task(reloader.run(), name="reload")
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(s.run(), name=s.name) for s in services]
            waiter = group.create_task(stop.wait(), name="stop")
            await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            waiter.cancel()
    finally:
        flusher.cancel()
        watcher.cancel()
        await reloader.aclose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        runtime.store.flush_events()
        await runtime.store.aclose()


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
