"""The SQLite store: durable group commits, bad rows skipped, events kept."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bootwright.model import Event, Lease
from bootwright.store.sqlite import SqliteStore


def lease(i: int, state: str = "bound") -> Lease:
    return Lease(family=4, address=f"192.0.2.{i}", client_key=bytes([1, i]), mac=f"52:54:00:00:00:{i:02x}",
                 expires=1000.0 + i, hostname=f"h{i}", state=state)  # type: ignore[arg-type]


def test_concurrent_writes_are_group_committed(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.open()

    async def main() -> None:
        await asyncio.gather(*(store.put_leases([lease(i)]) for i in range(1, 200)))
        await store.aclose()

    asyncio.run(main())
    assert store.commits < 199  # many requests shared one transaction
    again = SqliteStore(tmp_path / "state.db")
    again.open()
    report = again.load_leases(4)
    assert sorted(x.address for x in report.leases) == sorted(f"192.0.2.{i}" for i in range(1, 200))
    assert report.skipped == []
    again.close()


def test_bad_rows_are_skipped_and_reported(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    asyncio.run(store.put_leases([lease(5)]))
    store.close()
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("INSERT INTO leases VALUES (4, 'not-an-ip', x'01', NULL, NULL, 1.0, 'bound')")
    conn.execute("INSERT INTO leases VALUES (4, '2001:db8::1', x'01', NULL, NULL, 1.0, 'bound')")
    conn.execute("INSERT INTO leases VALUES (4, '192.0.2.9', x'01', NULL, NULL, 1.0, 'weird')")
    conn.commit()
    conn.close()
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    report = store.load_leases(4)
    store.close()
    assert [x.address for x in report.leases] == ["192.0.2.5"]
    assert len(report.skipped) == 3
    assert all("row skipped" in s for s in report.skipped)


def test_meta_and_events(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    store.set_meta("server_duid", b"\x00\x01")
    assert store.get_meta("server_duid") == b"\x00\x01"
    assert store.get_meta("absent") is None
    store.add_event(Event(1.0, "dhcp4.offer", "52:54:00:00:00:01", None, {"yiaddr": "192.0.2.10"}))
    store.add_event(Event(2.0, "tftp.done", "52:54:00:00:00:02", None, {}))
    store.flush_events()
    assert [e.kind for e in store.events("52:54:00:00:00:01")] == ["dhcp4.offer"]
    assert store.events()[0].detail == {"yiaddr": "192.0.2.10"}
    store.close()
