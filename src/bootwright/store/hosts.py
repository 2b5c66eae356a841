"""Hosts, one-shot boot state and per-host event queries in the state store.

Tables (created on first use, next to the lease tables of ``sqlite.py``):

- ``hosts``: one row per host; ``source`` is ``config`` (from the config
  file, refreshed on every load) or ``local`` (added by CLI, API or import);
  ``record`` is the host in config key names; ``overrides`` holds changes
  made through CLI/API to a config host, applied on top of its record;
  ``origin`` names the file a ``local`` host was imported from ("" when added
  by hand; the column is added to a ``state.db`` written before it existed).
- ``oneshots``: the latest one-shot boot per host and its state.
- ``meta.hosts_generation``: bumped by every change, so a running server
  notices changes made by another process (``bootwright hosts add``).

Every change runs as one job on the store's writer thread inside a
savepoint: it reads, checks and writes in one transaction, so two writers
(server and CLI) cannot both pass a uniqueness check, and a refused change
leaves nothing behind.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from bootwright.model import Event, HostRow, OneShotRow
from bootwright.store.base import HostTransaction, NotFound

SCHEMA = """
CREATE TABLE IF NOT EXISTS hosts (
    name TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    record TEXT NOT NULL,
    overrides TEXT NOT NULL DEFAULT '{}',
    updated REAL NOT NULL,
    origin TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS oneshots (
    host TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    requested REAL NOT NULL,
    updated REAL NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
"""
GENERATION_KEY = "hosts_generation"

T = TypeVar("T")


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the tables if they do not exist yet; add the ``origin`` column to an older ``hosts`` table."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(hosts)")}
    if "origin" not in columns:
        # Older versions name their columns in every statement, so they keep working on the wider table.
        conn.execute("ALTER TABLE hosts ADD COLUMN origin TEXT NOT NULL DEFAULT ''")


def read_hosts(conn: sqlite3.Connection) -> list[HostRow]:
    """Every stored host, by name."""
    rows = conn.execute("SELECT name, source, record, overrides, updated, origin FROM hosts ORDER BY name").fetchall()
    return [HostRow(n, s, json.loads(r), json.loads(o), u, g) for n, s, r, o, u, g in rows]


def write_host(conn: sqlite3.Connection, row: HostRow) -> None:
    """Insert or replace one host."""
    conn.execute(
        "INSERT OR REPLACE INTO hosts (name, source, record, overrides, updated, origin) VALUES (?, ?, ?, ?, ?, ?)",
        (
            row.name,
            row.source,
            json.dumps(row.record, sort_keys=True),
            json.dumps(row.overrides, sort_keys=True),
            row.updated,
            row.origin,
        ),
    )


def delete_host(conn: sqlite3.Connection, name: str) -> None:
    """Remove a host and its one-shot state."""
    conn.execute("DELETE FROM hosts WHERE name = ?", (name,))
    conn.execute("DELETE FROM oneshots WHERE host = ?", (name,))


def read_oneshots(conn: sqlite3.Connection) -> list[OneShotRow]:
    """Every stored one-shot boot."""
    rows = conn.execute("SELECT host, target, state, requested, updated, detail FROM oneshots ORDER BY host")
    return [OneShotRow(h, t, s, r, u, json.loads(d)) for h, t, s, r, u, d in rows.fetchall()]


def write_oneshot(conn: sqlite3.Connection, row: OneShotRow) -> None:
    """Insert or replace the one-shot boot of a host."""
    conn.execute(
        "INSERT OR REPLACE INTO oneshots (host, target, state, requested, updated, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (row.host, row.target, row.state, row.requested, row.updated, json.dumps(row.detail, sort_keys=True)),
    )


def delete_oneshot(conn: sqlite3.Connection, host: str) -> None:
    """Forget the one-shot boot of a host."""
    conn.execute("DELETE FROM oneshots WHERE host = ?", (host,))


def read_generation(conn: sqlite3.Connection) -> int:
    """The current change counter of hosts and one-shots."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (GENERATION_KEY,)).fetchone()
    if row is None:
        return 0
    value = row[0].decode() if isinstance(row[0], bytes) else str(row[0])
    return int(value) if value.isdigit() else 0


def bump_generation(conn: sqlite3.Connection) -> int:
    """Increase the change counter; returns the new value."""
    value = read_generation(conn) + 1
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (GENERATION_KEY, str(value).encode()))
    return value


def read_events(
    conn: sqlite3.Connection,
    macs: tuple[str, ...] = (),
    host: str | None = None,
    after_id: int = 0,
    limit: int = 1000,
) -> list[tuple[int, Event]]:
    """Events with id > ``after_id`` for any of ``macs`` or named ``host`` (all when neither), oldest first."""
    where = ["id > ?"]
    args: list[Any] = [after_id]
    who = []
    if macs:
        who.append(f"mac IN ({','.join('?' * len(macs))})")
        args += list(macs)
    if host is not None:
        who.append("host = ?")
        args.append(host)
    if who:
        where.append("(" + " OR ".join(who) + ")")
    sql = f"SELECT id, at, kind, mac, host, detail FROM events WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
    rows = conn.execute(sql, [*args, limit]).fetchall()
    return [(i, Event(at, kind, m, h, json.loads(d))) for i, at, kind, m, h, d in reversed(rows)]


class _Failed:
    """An exception raised inside a job, carried back to the caller's thread."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _guarded(fn: Callable[[HostTransaction], T]) -> Callable[[sqlite3.Connection], Any]:
    """Run ``fn`` in a savepoint; on any exception undo its writes and hand the exception back."""

    def job(conn: sqlite3.Connection) -> Any:
        conn.execute("SAVEPOINT bw_hosts")
        try:
            value = fn(_Transaction(conn))
        except Exception as exc:  # never let the writer thread die on a check
            conn.execute("ROLLBACK TO bw_hosts")
            conn.execute("RELEASE bw_hosts")
            return _Failed(exc)
        conn.execute("RELEASE bw_hosts")
        return value

    return job


def _unwrap(value: Any) -> Any:
    if isinstance(value, _Failed):
        raise value.exc
    return value


class Runner(Protocol):
    """What :class:`SqliteHostStore` needs of the store: jobs run on its writer thread."""

    def run_sync(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn(conn)`` on the writer thread and wait (blocking)."""
        ...

    async def run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn(conn)`` on the writer thread and await it."""
        ...


class _Transaction:
    """:class:`~bootwright.store.base.HostTransaction` on one connection, inside a savepoint."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def hosts(self) -> list[HostRow]:
        """Every stored host, by name."""
        return read_hosts(self.conn)

    def host(self, name: str) -> HostRow:
        """One host; :class:`NotFound` when there is none of that name."""
        found = self.conn.execute(
            "SELECT name, source, record, overrides, updated, origin FROM hosts WHERE name = ?", (name,)
        ).fetchone()
        if found is None:
            raise NotFound(f"no host named {name!r}")
        n, s, r, o, u, g = found
        return HostRow(n, s, json.loads(r), json.loads(o), u, g)

    def put_host(self, row: HostRow) -> None:
        """Insert or replace one host."""
        write_host(self.conn, row)

    def delete_host(self, name: str) -> None:
        """Remove a host and its one-shot state."""
        delete_host(self.conn, name)

    def oneshots(self) -> list[OneShotRow]:
        """Every stored one-shot boot, by host."""
        return read_oneshots(self.conn)

    def put_oneshot(self, row: OneShotRow) -> None:
        """Insert or replace the one-shot boot of a host."""
        write_oneshot(self.conn, row)

    def delete_oneshot(self, host: str) -> None:
        """Forget the one-shot boot of a host."""
        delete_oneshot(self.conn, host)

    def generation(self) -> int:
        """The change counter of hosts and one-shots."""
        return read_generation(self.conn)

    def bump_generation(self) -> int:
        """Increase the change counter; returns the new value."""
        return bump_generation(self.conn)


class SqliteHostStore:
    """:class:`~bootwright.store.base.HostStore` on the tables of one SQLite store."""

    def __init__(self, store: Runner) -> None:
        self.store = store
        store.run_sync(ensure_schema)

    def transact(self, fn: Callable[[HostTransaction], T]) -> T:
        """Run ``fn`` atomically on the writer thread (blocking); its exceptions are re-raised here."""
        return _unwrap(self.store.run_sync(_guarded(fn)))  # type: ignore[no-any-return]

    async def atransact(self, fn: Callable[[HostTransaction], T]) -> T:
        """:meth:`transact` awaited from the event loop."""
        return _unwrap(await self.store.run(_guarded(fn)))  # type: ignore[no-any-return]

    def read_events(
        self, macs: tuple[str, ...] = (), host: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[tuple[int, Event]]:
        """Events with id > ``after_id`` of any of ``macs`` or of ``host`` (all when neither), oldest first."""
        return self.store.run_sync(lambda conn: read_events(conn, macs, host, after_id, limit))  # type: ignore[no-any-return]

    async def aread_events(
        self, macs: tuple[str, ...] = (), host: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[tuple[int, Event]]:
        """:meth:`read_events` awaited from the event loop."""
        return await self.store.run(lambda conn: read_events(conn, macs, host, after_id, limit))  # type: ignore[no-any-return]
