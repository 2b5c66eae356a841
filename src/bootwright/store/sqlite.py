"""SQLite state store: leases, server identity and the event history.

One writer thread owns the connection; the asyncio side submits work and
awaits a future. Lease writes are *group-committed*: every write queued while
the previous transaction was committing goes into the next transaction, so a
burst of DHCP requests costs one fsync per batch, not one per lease, and each
caller's future resolves only after its row is durable (WAL, synchronous=FULL).
That is how an ACK can leave only after its lease is on disk without giving up
throughput (see the DHCPv4 issue).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Final

from bootwright.model import Event, Lease, LeaseState
from bootwright.store.base import LoadReport, StoreError
from bootwright.store.files import private_dir, private_file, tighten
from bootwright.store.hosts import SqliteHostStore

log = logging.getLogger("bootwright.store")

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS leases (
    family INTEGER NOT NULL,
    address TEXT NOT NULL,
    client_key BLOB NOT NULL,
    mac TEXT,
    hostname TEXT,
    expires REAL NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (family, address)
);
CREATE INDEX IF NOT EXISTS leases_client ON leases (family, client_key);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    mac TEXT,
    host TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_mac ON events (mac, at);
"""

# One encoder for every event's details (json.dumps builds a new one per call with default=).
_DETAIL_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))

_LEASE_STATES: Final = frozenset(LeaseState)  # the stored strings are the enum values


_STOP = object()

_SIDE_FILES = ("-wal", "-shm")  # SQLite's write-ahead log and its shared-memory index (WAL mode)


class SqliteStore:
    """The embedded default store (``state.db`` in the state directory)."""

    def __init__(self, path: Path, events_keep: int = 200_000) -> None:
        self.path = path
        self.events_keep = events_keep
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: sqlite3.Connection | None = None
        self._pending_events: list[Event] = []
        self.commits = 0  # transactions committed (for tests and metrics)
        self._hosts: SqliteHostStore | None = None

    # ------------------------------------------------------------------ life cycle

    def open(self) -> None:
        """Open (creating if needed) the database and start the writer thread."""
        try:
            private_dir(self.path.parent)
            private_file(self.path)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # SQLite creates -wal and -shm with the database file's mode (unix VFS,
            # findCreateFileMode); files left looser by an older version are tightened.
            for suffix in _SIDE_FILES:
                tighten(self.path.with_name(self.path.name + suffix))
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the state store {self.path}: {exc}") from None
        self._conn = conn
        self._thread = threading.Thread(target=self._writer, name="bootwright-store", daemon=True)
        self._thread.start()

    async def aclose(self) -> None:
        """Flush pending events, stop the writer and close the database."""
        if self._thread is None:
            return
        self._flush_events_later()
        self._queue.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        self._thread = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Synchronous close for tools that never started an event loop."""
        if self._thread is not None:
            self._flush_events_later()
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def host_store(self) -> SqliteHostStore:
        """The inventory's tables in this store (created on first use)."""
        if self._hosts is None:
            self._hosts = SqliteHostStore(self)
        return self._hosts

    # ------------------------------------------------------------------ writer thread

    def _writer(self) -> None:
        assert self._conn is not None
        conn = self._conn
        stop = False
        while not stop:
            batch = [self._queue.get()]
            while True:  # group commit: take everything queued meanwhile
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            jobs = []
            for item in batch:
                if item is _STOP:
                    stop = True
                else:
                    jobs.append(item)
            if not jobs:
                continue
            results: list[tuple[Callable[[Any, BaseException | None], None], Any, BaseException | None]] = []
            try:
                conn.execute("BEGIN IMMEDIATE")
                for fn, done in jobs:
                    try:
                        results.append((done, fn(conn), None))
                    except sqlite3.Error as exc:
                        results.append((done, None, exc))
                conn.execute("COMMIT")
                self.commits += 1
            except sqlite3.Error as exc:
                log.error("state store %s: commit failed: %s", self.path, exc)
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                results = [(done, None, exc) for _, done in jobs]
            for done, value, error in results:
                done(value, error)

    def _submit(self, fn: Callable[[sqlite3.Connection], Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def done(value: Any, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_resolve, future, value, error)

        self._queue.put((fn, done))
        return future

    def _run_sync(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        box: dict[str, Any] = {}
        event = threading.Event()

        def done(value: Any, error: BaseException | None) -> None:
            box["value"], box["error"] = value, error
            event.set()

        self._queue.put((fn, done))
        event.wait()
        if box["error"] is not None:
            raise StoreError(f"state store {self.path}: {box['error']}")
        return box["value"]

    # ------------------------------------------------------------------ extensions

    def run_sync(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn(conn)`` in the writer thread inside a committed transaction; block for its result.

        For tables kept by other modules (``store/hosts.py``). ``fn`` must raise
        only :class:`sqlite3.Error`; it is re-raised here as :class:`StoreError`.
        """
        return self._run_sync(fn)

    async def run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Like :meth:`run_sync`, awaited from the event loop; durable on return."""
        return await self._submit(fn)

    # ------------------------------------------------------------------ leases

    async def put_leases(self, leases: Iterable[Lease]) -> None:
        """Write leases; returns once they are durably committed."""
        rows = [
            (lease.family, lease.address, lease.client_key, lease.mac, lease.hostname, lease.expires, lease.state)
            for lease in leases
        ]

        def write(conn: sqlite3.Connection) -> None:
            _insert_rows(
                conn, "INSERT OR REPLACE INTO leases (family, address, client_key, mac, hostname, expires, state)", rows
            )

        await self._submit(write)

    async def delete_leases(self, family: int, addresses: Iterable[str]) -> None:
        """Remove leases (e.g. reclaimed after expiry); durable on return."""
        rows = [(family, a) for a in addresses]

        def write(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM leases WHERE family = ? AND address = ?", rows)

        await self._submit(write)

    def load_leases(self, family: int) -> LoadReport:
        """All stored leases of a family; malformed rows are skipped and reported.

        A bad row never stops the server (Kea CVE-2019-6474: one bad lease
        file entry kept the server from starting).
        """

        def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(
                "SELECT rowid, family, address, client_key, mac, hostname, expires, state FROM leases"
                " WHERE family = ?",
                (family,),
            ).fetchall()

        leases: list[Lease] = []
        skipped: list[str] = []
        for rowid, fam, address, key, mac, hostname, expires, state in self._run_sync(read):
            try:
                addr = ip_address(address)
                if addr.version != fam:
                    raise ValueError(f"address {address} is not IPv{fam}")
                if not isinstance(key, bytes) or not key:
                    raise ValueError("empty client key")
                if state not in _LEASE_STATES:
                    raise ValueError(f"unknown state {state!r}")
                leases.append(
                    Lease(
                        family=fam, address=str(addr), client_key=key, mac=mac, expires=float(expires),
                        hostname=hostname, state=LeaseState(state),
                    )
                )
            except (ValueError, TypeError) as exc:
                skipped.append(f"{self.path}: leases row {rowid}: {exc}; row skipped")
        for message in skipped:
            log.warning("%s", message)
        return LoadReport(leases, skipped)

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> bytes | None:
        """A value from the meta table (e.g. the DHCPv6 server DUID)."""

        def read(conn: sqlite3.Connection) -> Any:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return row[0] if row else None

        value = self._run_sync(read)
        if isinstance(value, str):
            return value.encode()
        return value  # type: ignore[no-any-return]

    def set_meta(self, key: str, value: bytes) -> None:
        """Store a value in the meta table, durably."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

        self._run_sync(write)

    # ------------------------------------------------------------------ events

    def add_event(self, event: Event) -> None:
        """Queue an event for the history; written in batches, not awaited."""
        self._pending_events.append(event)
        if len(self._pending_events) >= 256:
            self._flush_events_later()

    def flush_events(self) -> None:
        """Hand queued events to the writer (called periodically by the app)."""
        self._flush_events_later()

    def _flush_events_later(self) -> None:
        if not self._pending_events or self._thread is None:
            return
        events, self._pending_events = self._pending_events, []
        encode = _DETAIL_ENCODER.encode
        rows = [(e.at, e.kind, e.mac, e.host, encode(e.detail)) for e in events]
        keep = self.events_keep

        def write(conn: sqlite3.Connection) -> None:
            _insert_rows(conn, "INSERT INTO events (at, kind, mac, host, detail)", rows)
            conn.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?", (keep,))

        self._queue.put((write, lambda value, error: None))

    def events(self, mac: str | None = None, limit: int = 1000) -> list[Event]:
        """The newest events, optionally for one MAC, oldest first."""

        def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            if mac is None:
                sql = "SELECT at, kind, mac, host, detail FROM events ORDER BY id DESC LIMIT ?"
                return conn.execute(sql, (limit,)).fetchall()
            sql = "SELECT at, kind, mac, host, detail FROM events WHERE mac = ? ORDER BY id DESC LIMIT ?"
            return conn.execute(sql, (mac, limit)).fetchall()

        rows = self._run_sync(read)
        return [Event(at, kind, m, h, json.loads(detail)) for at, kind, m, h, detail in reversed(rows)]


_MAX_VARIABLES = 999  # SQLITE_MAX_VARIABLE_NUMBER of SQLite before 3.32, the lowest a build may have


def _insert_rows(conn: sqlite3.Connection, head: str, rows: list[tuple[Any, ...]]) -> None:
    """``head VALUES (...), (...), ...``: many rows per statement, in order.

    ``executemany`` steps the statement once per row and releases and re-takes the GIL
    each time; while the event loop is busy every re-take can wait a whole switch
    interval (5 ms), so a batch of hundreds of rows could hold a group commit back for seconds.
    One statement per chunk costs one GIL hand-over per chunk instead.
    """
    if not rows:
        return
    width = len(rows[0])
    one = "(" + ", ".join("?" * width) + ")"
    per = max(1, _MAX_VARIABLES // width)
    for i in range(0, len(rows), per):
        chunk = rows[i : i + per]
        conn.execute(f"{head} VALUES " + ", ".join([one] * len(chunk)), [v for row in chunk for v in row])


def _resolve(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(StoreError(str(error)))
    else:
        future.set_result(value)
