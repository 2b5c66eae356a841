"""What many tests need, once (h11's ``tests/helpers.py``): a runtime as ``serve`` builds it, its events,
and one driver for every sans-I/O engine (bytes in, :class:`~bootwright.engine.Outcome` out, a clock).

Import as ``from tests.helpers import …``. Nothing here opens a socket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from bootwright.boot.policy import BootPolicy
from bootwright.config import Config, load_config, parse_config
from bootwright.engine import Engine, EventRecord, Outcome
from bootwright.model import Event, Lease
from bootwright.runtime import Runtime
from bootwright.runtime.events import EventSink
from bootwright.store.sqlite import SqliteStore

__all__ = ["Driver", "datagrams", "make_runtime", "recorded", "sent_octets"]

M = TypeVar("M")
T = TypeVar("T")


def make_runtime(
    tmp_path: Path,
    config: str | Config,
    *,
    root: Path | None = None,
    state_dir: Path | None = None,
    config_name: str = "site.toml",
    with_store: bool = False,
) -> Runtime:
    """A :class:`Runtime` for ``config`` (TOML text, written to ``tmp_path/config_name``, or a parsed Config).

    ``root`` and ``state_dir`` default to ``tmp_path``. ``with_store`` opens a real
    SQLite store in the state directory (close it with ``runtime.store.close()`` or
    ``await runtime.store.aclose()``); without it ``runtime.store`` is None, for
    services that never touch the store.
    """
    path = tmp_path / config_name
    if isinstance(config, str):
        path.write_text(config)
        cfg = load_config(path) if with_store else parse_config(config)
    else:
        cfg = config
    state = state_dir or tmp_path
    store = None
    if with_store:
        store = SqliteStore(state / "state.db")
        store.open()
    return Runtime(
        config=cfg,
        config_path=path,
        root=root or tmp_path,
        state_dir=state,
        store=store,  # type: ignore[arg-type]
        events=EventSink(store),
        policy=BootPolicy.from_config(cfg),
    )


def recorded(runtime: Runtime) -> list[Event]:
    """Every event the runtime emits from now on, appended as it happens."""
    events: list[Event] = []
    runtime.events.listeners.append(events.append)
    return events


def datagrams(out: Outcome[Any] | None) -> list[bytes | memoryview]:
    """The octets of an Outcome's replies (none for ``None``), as a transport sends them."""
    return [] if out is None else [r.data for r in out.replies]


# A TFTP transfer driven by hand, one step at a time (engine and transport tests).


def transfer_start(engine: Any, now: float) -> list[bytes | memoryview]:
    """The first datagrams of a TFTP transfer."""
    return datagrams(engine.start(now))


def transfer_receive(engine: Any, datagram: bytes | memoryview, now: float) -> list[bytes | memoryview]:
    """One datagram from the client's TID (the Engine contract's ``handle``), as a list of datagrams."""
    return datagrams(engine.handle(datagram, None, now))


def transfer_timer(engine: Any, now: float) -> list[bytes | memoryview]:
    """The transfer's timer fired."""
    return datagrams(engine.on_timer(now))


@dataclass
class Driver(Generic[M, T]):
    """A transport without sockets for any :class:`~bootwright.engine.Engine` (h11's ``ConnectionPair`` idea).

    It does what every transport in ``net/`` does and nothing more: hand over
    octets with their ``meta``, apply the :class:`~bootwright.engine.Outcome`
    in the contract's order (store ``writes``/``forget``, then send ``replies``,
    then report ``events``), and keep one timer on ``next_deadline()``. What it
    "sent" is copied (a TFTP reply is a view of the engine's buffer).
    """

    engine: Engine[M, T]
    now: float = 0.0
    sent: list[tuple[bytes, T]] = field(default_factory=list)
    stored: list[Lease] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # "store", "send", "report": as applied

    def feed(self, datagram: bytes, meta: M) -> Outcome[T] | None:
        """One datagram in; the Outcome applied and returned."""
        out = self.engine.handle(datagram, meta, self.now)
        if out is not None:
            self.apply(out)
        return out

    def apply(self, out: Outcome[T]) -> list[tuple[bytes, T]]:
        """Store, then send, then report (``Outcome``'s rule); returns what was sent now."""
        if out.writes or out.forget:
            self.stored += out.writes
            self.forgotten += out.forget
            self.order.append("store")
        now_sent = [(bytes(r.data), r.to) for r in out.replies]
        if now_sent:
            self.sent += now_sent
            self.order.append("send")
        if out.events:
            self.events += out.events
            self.order.append("report")
        return now_sent

    def advance(self, seconds: float, limit: int = 10_000) -> int:
        """Move the clock ``seconds`` on, calling ``on_timer`` at every deadline on the way; returns the calls."""
        end = self.now + seconds
        fired = 0
        while (due := self.engine.next_deadline()) is not None and due <= end and fired < limit:
            self.now = max(self.now, due)
            self.apply(self.engine.on_timer(self.now))
            fired += 1
        self.now = end
        return fired

    def take(self) -> list[tuple[bytes, T]]:
        """What was sent since the last ``take``, oldest first."""
        out, self.sent = self.sent, []
        return out


def sent_octets(sent: Sequence[tuple[bytes, Any]]) -> list[bytes]:
    """The payloads of :meth:`Driver.take`."""
    return [data for data, _ in sent]
