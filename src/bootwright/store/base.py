"""What the rest of bootwright may ask of a state store: Protocols over plain records.

Rule: nothing outside ``store/`` names ``sqlite3`` or a connection (the import
contracts check it). Services, the inventory, the CLI and the API use these
Protocols; ``store/sqlite.py`` + ``store/hosts.py`` implement them on SQLite
today, and a PostgreSQL store plugs in behind the same names. Records are the
plain dataclasses of :mod:`bootwright.model` (``Lease``, ``Event``,
``HostRow``, ``OneShotRow``). "Not there" is :class:`NotFound`, never ``None``
from a getter that should have found something, and never a ``StoreError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bootwright.model import Event, HostRow, Lease, OneShotRow

__all__ = [
    "EventLog",
    "HostStore",
    "HostTransaction",
    "LeaseStore",
    "LoadReport",
    "NotFound",
    "StateStore",
    "StoreError",
]

T = TypeVar("T")


class StoreError(Exception):
    """The state store cannot be opened or written; the message says which file and why."""


class NotFound(LookupError):
    """A record that was asked for by its key is not in the store."""


@dataclass(frozen=True, slots=True)
class LoadReport:
    """Leases read at start-up, and the rows that were skipped with the reason."""

    leases: list[Lease]
    skipped: list[str]


class LeaseStore(Protocol):
    """Leases of both families and the server's small facts (its DUID, …)."""

    async def put_leases(self, leases: Iterable[Lease]) -> None:
        """Write leases; returns once they are durable (an ACK leaves only after this)."""
        ...

    async def delete_leases(self, family: int, addresses: Iterable[str]) -> None:
        """Forget the leases of ``family`` at ``addresses``."""
        ...

    def load_leases(self, family: int) -> LoadReport:
        """Every stored lease of ``family`` (start-up), with the rows that could not be read."""
        ...

    def get_meta(self, key: str) -> bytes | None:
        """A server fact by key, or None when never set."""
        ...

    def set_meta(self, key: str, value: bytes) -> None:
        """Store a server fact."""
        ...


class EventLog(Protocol):
    """The boot timeline's storage: events appended, read back by MAC or host."""

    def add_event(self, event: Event) -> None:
        """Queue one event (written in batches)."""
        ...

    def flush_events(self) -> None:
        """Write the queued events now."""
        ...

    def events(self, mac: str | None = None, limit: int = 1000) -> list[Event]:
        """The newest ``limit`` events (of ``mac``), oldest first."""
        ...


class HostTransaction(Protocol):
    """Reads and writes of hosts and one-shots inside one atomic transaction."""

    def hosts(self) -> list[HostRow]:
        """Every stored host, by name."""
        ...

    def host(self, name: str) -> HostRow:
        """One host; :class:`NotFound` when there is none of that name."""
        ...

    def put_host(self, row: HostRow) -> None:
        """Insert or replace one host."""
        ...

    def delete_host(self, name: str) -> None:
        """Remove a host and its one-shot state."""
        ...

    def oneshots(self) -> list[OneShotRow]:
        """Every stored one-shot boot, by host."""
        ...

    def put_oneshot(self, row: OneShotRow) -> None:
        """Insert or replace the one-shot boot of a host."""
        ...

    def delete_oneshot(self, host: str) -> None:
        """Forget the one-shot boot of a host."""
        ...

    def generation(self) -> int:
        """The change counter of hosts and one-shots (another process's change shows here)."""
        ...

    def bump_generation(self) -> int:
        """Increase the change counter; returns the new value."""
        ...


class HostStore(Protocol):
    """The inventory's tables: every change is one atomic transaction, all or nothing."""

    def transact(self, fn: Callable[[HostTransaction], T]) -> T:
        """Run ``fn`` atomically (blocking); an exception it raises undoes its writes and is re-raised."""
        ...

    async def atransact(self, fn: Callable[[HostTransaction], T]) -> T:
        """:meth:`transact` awaited from the event loop."""
        ...

    def read_events(
        self, macs: tuple[str, ...] = (), host: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[tuple[int, Event]]:
        """Events with id > ``after_id`` of any of ``macs`` or of ``host`` (all when neither), oldest first."""
        ...

    async def aread_events(
        self, macs: tuple[str, ...] = (), host: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[tuple[int, Event]]:
        """:meth:`read_events` awaited from the event loop."""
        ...


class StateStore(LeaseStore, EventLog, Protocol):
    """The whole state store a server runs on: leases, events and the host tables."""

    def open(self) -> None:
        """Open (creating if needed); :class:`StoreError` naming the place when it cannot."""
        ...

    def close(self) -> None:
        """Close from synchronous code."""
        ...

    async def aclose(self) -> None:
        """Flush and close from the event loop."""
        ...

    def host_store(self) -> HostStore:
        """The inventory's tables in this store."""
        ...
