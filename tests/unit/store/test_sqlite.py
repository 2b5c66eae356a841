"""The SQLite store: durable group commits, bad rows skipped, events kept."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest

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


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_files_are_private_in_a_private_directory(tmp_path: Path) -> None:
    """A new state directory is 0700 and state.db, -wal and -shm 0600, whatever the umask."""
    old = os.umask(0o022)
    try:
        store = SqliteStore(tmp_path / "var" / "state" / "state.db")
        store.open()
        asyncio.run(store.put_leases([lease(1)]))
        db = tmp_path / "var" / "state" / "state.db"
        assert _mode(db.parent) == 0o700
        for path in (db, db.with_name("state.db-wal"), db.with_name("state.db-shm")):
            assert path.exists() and _mode(path) == 0o600, path
        store.close()
    finally:
        os.umask(old)


def test_existing_loose_files_are_tightened_but_an_existing_directory_only_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Files bootwright owns (an older version made them 0644) become 0600; the admin's directory is not chmodded."""
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o755)
    db = state / "state.db"
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (state / name).touch()
        (state / name).chmod(0o644)
    store = SqliteStore(db)
    with caplog.at_level(logging.WARNING, logger="bootwright.store"):
        store.open()
    store.close()
    assert _mode(state) == 0o755
    assert any("chmod 700" in r.getMessage() and str(state) in r.getMessage() for r in caplog.records)
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        if (state / name).exists():
            assert _mode(state / name) == 0o600, name


def test_a_private_existing_directory_gives_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "state").mkdir(mode=0o700)
    store = SqliteStore(tmp_path / "state" / "state.db")
    with caplog.at_level(logging.WARNING, logger="bootwright.store"):
        store.open()
    store.close()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
