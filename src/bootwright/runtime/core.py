"""What every service shares: :class:`Runtime`, the :class:`Service` shape and :class:`ServiceError`.

Services (``net/``, ``web/``) import this module; nothing here imports a
service. ``app.py`` builds a :class:`Runtime` and runs the services on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bootwright.boot.policy import BootPolicy
from bootwright.config import Config
from bootwright.model import Lease
from bootwright.runtime.events import EventSink
from bootwright.runtime.hostfacts import HostFacts, LeaseLookup, resolve_mac
from bootwright.runtime.metrics import Metrics
from bootwright.runtime.status import StatusFile
from bootwright.store.base import StateStore

if TYPE_CHECKING:  # runtime.reload builds on this module
    from bootwright.runtime.reload import HotReload

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


class Notifier(Protocol):
    """What the service manager is told (sd_notify(3); ``net.sdnotify.SdNotify``)."""

    def ready(self, status: str) -> object:
        """Startup or a reload finished."""
        ...

    def reloading(self) -> object:
        """A reload starts."""
        ...


@dataclass
class Runtime:
    """What every service shares: the config, paths, the store, events and the policy."""

    config: Config
    config_path: Path
    root: Path
    state_dir: Path
    store: StateStore
    events: EventSink
    policy: BootPolicy
    ready: dict[str, str] = field(default_factory=dict)
    # Hot reload, inventory and one-shot boots (runtime/reload.py); the only writer of
    # config/policy after start. Services read runtime.policy (and runtime.policy.config) per request.
    reloader: HotReload | None = None
    # Client IP address -> MAC from the DHCP lease tables, for HTTP/TFTP events keyed by MAC.
    # Set by the DHCP services when they start (each chains to the lookup set before it).
    mac_for_address: LeaseLookup | None = None
    # Interfaces' and neighbours' facts (net/host.py, set by app.py); None: leases only (tests).
    host: HostFacts | None = None
    # The status file of this server (runtime/status.py, written by app.py); None in tests.
    status: StatusFile | None = None
    # The service manager's notifications (net/sdnotify.py, set by app.py); None: nobody to tell.
    notifier: Notifier | None = None
    # What /metrics reads (runtime/metrics.py): the services' sources (Metrics.add_source) and the
    # tallies of the event stream, which it follows from construction on.
    metrics: Metrics = field(default_factory=Metrics)
    # Told of every lease row once it is durable (bound, released, declined, expired): the DHCP services
    # call leases_stored() after put_leases. A listener must not block or raise (net/ddns.py queues).
    lease_listeners: list[Callable[[Sequence[Lease]], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Tally every event from the first one (``Metrics.observe``)."""
        self.events.listeners.append(self.metrics.observe)

    def client_mac(self, address: str | None, since: float | None = None) -> str | None:
        """Client IP → MAC: leases, then the neighbour table (:func:`~bootwright.runtime.hostfacts.resolve_mac`)."""
        return resolve_mac(address, self.mac_for_address, self.host, since)

    def leases_stored(self, leases: Sequence[Lease]) -> None:
        """Hand stored leases to the :attr:`lease_listeners` (a listener's bug is logged, never raised)."""
        for listener in self.lease_listeners:
            try:
                listener(leases)
            except Exception:  # the DHCP path must not fail on a listener
                log.exception("lease listener %r failed", listener)

    def serving_status(self) -> str:
        """One line for the service manager's STATUS: what answers where."""
        if not self.ready:
            return "starting"
        return "serving " + "; ".join(f"{name}: {detail}" for name, detail in sorted(self.ready.items()))

    def mark_ready(self, service: str, detail: str) -> None:
        """A service reports that it is bound and answering (logged, and in ``status.json``)."""
        self.ready[service] = detail
        log.info("%s ready: %s", service, detail)
        if self.status is not None:
            try:
                self.status.set_ready(service, detail)
            except OSError as exc:  # the status file is for `bootwright status`: never a reason to stop
                log.warning("cannot update %s: %s", self.status.path, exc)


ServiceFactory = Callable[[Runtime], "Service | None"]
"""Every service module exposes one: ``create_service(runtime) -> Service | None``."""


def resolve_paths(config: Config, root: Path | None, state_dir: Path | None) -> tuple[Path, Path]:
    """The file root and state directory: command line, else config, else defaults."""
    return (
        (root or config.root or DEFAULT_ROOT).resolve(),
        (state_dir or config.state_dir or DEFAULT_STATE_DIR).resolve(),
    )
