"""Build the services from a config and run them in one asyncio loop.

A service is anything with a ``name`` and an ``async run()`` that binds its
sockets, reports ready, and serves until cancelled (cleaning up in its own
``finally``). :data:`SERVICE_FACTORIES` lists the constructors; each returns
``None`` when the config does not enable its service. All services run in one
``asyncio.TaskGroup``: if one fails, the others are stopped and the process
exits with the failing service's message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .config import Config
from .events import EventSink
from .policy import BootPolicy
from .store.sqlite import SqliteStore

if TYPE_CHECKING:
    from .reload import HotReload

log = logging.getLogger("bootwright")

DEFAULT_ROOT = Path("/srv/bootwright")
DEFAULT_STATE_DIR = Path("/var/lib/bootwright")


class ServiceError(Exception):
    """A service cannot start (address in use, missing interface, …); the message says what to do."""


class Service(Protocol):
    """One protocol service running inside the shared loop."""

    name: str

    async def run(self) -> None:
        """Bind, serve until cancelled, release everything on the way out."""
        ...


@dataclass
class Runtime:
    """What every service shares: the config, paths, the store, events and the policy."""

    config: Config
    config_path: Path
    root: Path
    state_dir: Path
    store: SqliteStore
    events: EventSink
    policy: BootPolicy
    ready: dict[str, str] = field(default_factory=dict)
    # Hot reload, inventory and one-shot boots (reload.py); the only writer of config/policy
    # after start. Services read runtime.policy (and runtime.policy.config) per request.
    reloader: HotReload | None = None
    # Client IP address -> MAC from the DHCP lease tables, for HTTP/TFTP events keyed by MAC.
    # Set by the DHCP services when they start (each chains to the lookup set before it).
    mac_for_address: Callable[[str], str | None] | None = None

    def mark_ready(self, service: str, detail: str) -> None:
        """A service reports that it is bound and answering."""
        self.ready[service] = detail
        log.info("%s ready: %s", service, detail)


ServiceFactory = Callable[[Runtime], "Service | None"]

# Constructors of every service, in start order. Each service module adds itself
# here with one line; keep the list sorted by protocol.
SERVICE_FACTORIES: list[ServiceFactory] = []


def _load_factories() -> list[ServiceFactory]:
    """Import service modules lazily so `check`/`explain` never pay for them."""
    factories = list(SERVICE_FACTORIES)
    # --- service registry: one import + append per service -------------------
    from .web.service import create_http_service

    factories.append(create_http_service)
    from .net.dhcp6 import create_dhcp6_service

    factories.append(create_dhcp6_service)
    from .net.ra import create_ra_service

    factories.append(create_ra_service)
    from .net.tftp import create_tftp_service

    factories.append(create_tftp_service)
    from .net.dhcp4 import create as create_dhcp4_service

    factories.append(create_dhcp4_service)
    # --- end of service registry ----------------------------------------------
    return factories


def resolve_paths(config: Config, root: Path | None, state_dir: Path | None) -> tuple[Path, Path]:
    """The file root and state directory: command line, else config, else defaults."""
    return (
        (root or config.root or DEFAULT_ROOT).resolve(),
        (state_dir or config.state_dir or DEFAULT_STATE_DIR).resolve(),
    )


async def run_services(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """Run every enabled service until ``stop`` is set or a signal arrives."""
    reloader = _start_hot_reload(runtime)
    services = [s for f in _load_factories() if (s := f(runtime)) is not None]
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
    """Stored hosts and one-shots into the policy, SIGHUP and file watching (reload.py)."""
    from .inventory.service import InventoryError
    from .reload import HotReload

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
