"""sd_notify(3) notifications and the journal's native protocol, against sockets bound here."""

from __future__ import annotations

import logging
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from bootwright.model import Event
from bootwright.net.journal import JournalHandler, encode_entry, journal_wanted
from bootwright.net.sdnotify import SdNotify


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2.0)
    try:
        yield path, sock
    finally:
        sock.close()


def test_notifications_are_key_value_datagrams(listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    notifier = SdNotify.from_environ({"NOTIFY_SOCKET": path})
    assert notifier.enabled and notifier.watchdog_interval is None
    assert notifier.ready("serving http: 127.0.0.1:80")
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving http: 127.0.0.1:80"
    assert notifier.reloading()
    fields = dict(line.split("=", 1) for line in sock.recv(4096).decode().splitlines())
    assert fields["RELOADING"] == "1" and int(fields["MONOTONIC_USEC"]) > 0
    assert notifier.watchdog() and sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping() and sock.recv(4096).startswith(b"STOPPING=1\n")
    notifier.close()


def test_an_abstract_socket_name() -> None:
    name = f"bootwright-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2.0)
    try:
        assert SdNotify.from_environ({"NOTIFY_SOCKET": "@" + name}).ready("x")
        assert sock.recv(4096) == b"READY=1\nSTATUS=x"
    finally:
        sock.close()


def test_without_a_manager_nothing_is_sent_and_nothing_fails() -> None:
    notifier = SdNotify.from_environ({})
    assert not notifier.enabled and not notifier.ready("x") and not notifier.watchdog()


def test_a_missing_socket_is_reported_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = SdNotify.from_environ({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    with caplog.at_level(logging.WARNING):
        assert not notifier.ready("x") and not notifier.watchdog()
    assert len([r for r in caplog.records if "cannot notify" in r.getMessage()]) == 1


@pytest.mark.parametrize(("env", "interval"), [
    ({"WATCHDOG_USEC": "30000000"}, 15.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "soon"}, None),
])
def test_the_watchdog_interval_is_half_the_timeout(env: dict[str, str], interval: float | None) -> None:
    assert SdNotify.from_environ({"NOTIFY_SOCKET": "/x", **env}, pid=4242).watchdog_interval == interval


def _fields(data: bytes) -> dict[str, str]:
    """Decode one native-protocol entry."""
    out: dict[str, str] = {}
    while data:
        line, _, rest = data.partition(b"\n")
        if b"=" in line:
            key, _, value = line.partition(b"=")
            out[key.decode()] = value.decode()
            data = rest
        else:
            (size,) = struct.unpack("<Q", rest[:8])
            out[line.decode()] = rest[8 : 8 + size].decode()
            data = rest[8 + size + 1 :]
    return out


def test_entries_encode_newlines_with_a_length() -> None:
    entry = encode_entry({"MESSAGE": "two\nlines", "PRIORITY": 6, "SKIPPED": None})
    assert entry.startswith(b"MESSAGE\n" + struct.pack("<Q", 9) + b"two\nlines\n")
    assert _fields(entry) == {"MESSAGE": "two\nlines", "PRIORITY": "6"}


def test_the_journal_gets_log_records_and_events_with_their_fields(listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    handler = JournalHandler(path)
    logger = logging.getLogger("bootwright.test.journal")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("pool %s is full", "lab")
        record = _fields(sock.recv(65536))
        assert record["MESSAGE"] == "pool lab is full" and record["PRIORITY"] == "4"
        assert record["SYSLOG_IDENTIFIER"] == "bootwright" and record["BOOTWRIGHT_LOGGER"] == logger.name
        handler.event(Event(1.0, "dhcp4.offer", "52:54:00:12:34:56", "web1", {"yiaddr": "192.0.2.10"}),
                      "dhcp4.offer mac=52:54:00:12:34:56 host=web1 yiaddr=192.0.2.10")
        event = _fields(sock.recv(65536))
        assert event["BOOTWRIGHT_EVENT"] == "dhcp4.offer" and event["BOOTWRIGHT_MAC"] == "52:54:00:12:34:56"
        assert event["BOOTWRIGHT_HOST"] == "web1" and event["PRIORITY"] == "6"
        assert "\n" not in event["MESSAGE"] and not event["MESSAGE"][:4].isdigit()  # no time: the journal stamps
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_journal_stream_names_stderr_by_device_and_inode(tmp_path: Path) -> None:
    with (tmp_path / "stream").open("w") as fh:
        st = os.fstat(fh.fileno())
        assert journal_wanted({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, fh.fileno())
        assert not journal_wanted({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"}, fh.fileno())
        assert not journal_wanted({}, fh.fileno()) and not journal_wanted({"JOURNAL_STREAM": "x"}, fh.fileno())
