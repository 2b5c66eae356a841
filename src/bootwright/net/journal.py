"""Log lines to the systemd journal through its native protocol, with structured fields.

systemd-journald(8) reads datagrams on ``/run/systemd/journal/socket``: one
entry each, ``FIELD=value`` lines, or ``FIELD\\n`` + a 64-bit little-endian
length + the value + ``\\n`` for a value with a newline in it
(https://systemd.io/JOURNAL_NATIVE_PROTOCOL/). Every line carries
``MESSAGE``, ``PRIORITY``, ``SYSLOG_IDENTIFIER=bootwright`` and
``BOOTWRIGHT_LOGGER``; event lines add ``BOOTWRIGHT_EVENT``,
``BOOTWRIGHT_MAC`` and ``BOOTWRIGHT_HOST``, so ``journalctl -u bootwright
BOOTWRIGHT_MAC=52:54:00:12:34:56`` is one machine's story. The journal stamps
each entry itself: no time in the message.

:func:`journal_wanted` is the ``--log-target auto`` rule: stderr is connected
to the journal when ``JOURNAL_STREAM`` names its device and inode
(systemd.exec(5)).
"""

from __future__ import annotations

import logging
import os
import socket
import struct
from collections.abc import Mapping

from bootwright.model import Event

JOURNAL_SOCKET = "/run/systemd/journal/socket"
IDENTIFIER = "bootwright"
MAX_MESSAGE = 48 * 1024  # a datagram must fit the socket's buffer; longer messages are cut, and say so
# logging levels → syslog priorities (RFC 5424 §6.2.1), as journald reads PRIORITY
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


def journal_wanted(environ: Mapping[str, str] = os.environ, fd: int = 2) -> bool:
    """Whether ``fd`` (stderr) is the journal's stream, per ``JOURNAL_STREAM`` (``device:inode``)."""
    text = environ.get("JOURNAL_STREAM", "")
    device, _, inode = text.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


def encode_entry(fields: Mapping[str, object]) -> bytes:
    """One journal entry in the native protocol's encoding."""
    out = bytearray()
    for key, value in fields.items():
        if value is None:
            continue
        data = str(value).encode("utf-8", "replace")
        if b"\n" in data:
            out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out)


def _priority(level: int) -> int:
    for threshold in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if level >= threshold:
            return _PRIORITY[threshold]
    return _PRIORITY[logging.DEBUG]


def _cut(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " … (cut)"


class JournalHandler(logging.Handler):
    """A logging handler writing native journal entries; also the structured writer of events."""

    def __init__(self, address: str = JOURNAL_SOCKET, identifier: str = IDENTIFIER) -> None:
        super().__init__()
        self.address = address
        self.identifier = identifier
        self.setFormatter(logging.Formatter("%(message)s"))
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._failed = False

    def _send(self, fields: Mapping[str, object]) -> None:
        try:
            self._sock.sendto(encode_entry(fields), self.address)
            self._failed = False
        except OSError as exc:
            if not self._failed:  # once per outage, on stderr: the journal is gone, say so where it can be seen
                self._failed = True
                os.write(2, f"bootwright: cannot write to the journal at {self.address}: {exc}\n".encode())

    def emit(self, record: logging.LogRecord) -> None:
        """One log record as one entry (a traceback goes into the message, after the line)."""
        try:
            message = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._send({
            "MESSAGE": _cut(message), "PRIORITY": _priority(record.levelno), "SYSLOG_IDENTIFIER": self.identifier,
            "SYSLOG_PID": os.getpid(), "BOOTWRIGHT_LOGGER": record.name,
        })

    def event(self, event: Event, text: str) -> None:
        """One protocol event (``text`` is its log line) with its MAC, host and kind as fields."""
        self._send({
            "MESSAGE": _cut(text), "PRIORITY": _PRIORITY[logging.INFO], "SYSLOG_IDENTIFIER": self.identifier,
            "SYSLOG_PID": os.getpid(), "BOOTWRIGHT_LOGGER": "bootwright.events",
            "BOOTWRIGHT_EVENT": event.kind, "BOOTWRIGHT_MAC": event.mac, "BOOTWRIGHT_HOST": event.host,
        })

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()
        super().close()
