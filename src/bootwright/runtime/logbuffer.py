"""Log output for ``bootwright serve``: lines written in batches, one write per loop turn.

A server that logs every DHCP exchange and every HTTP request at the default
level spends more on its log than on the protocol when each line is a
``LogRecord``, a ``strftime``, a ``write`` and a ``flush`` of its own. Here the
lines of one event-loop turn (a burst of packets handled together) are joined
and written once, at the end of that turn (``loop.call_soon``), so their order
is kept and nothing waits longer than the burst that produced it. Lines logged
from another thread, or before the loop runs, are written at once.

:meth:`LineBufferHandler.event_line` is the fast path :class:`~bootwright.runtime.events.EventSink`
uses for its INFO lines: the same text the formatter would produce
(``%(asctime)s %(name)s %(levelname)s %(message)s``), without a ``LogRecord``.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import threading
import time
from typing import TextIO

LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
"""The one line format of ``bootwright serve`` (the lab and ``bootwright events`` read it)."""
JOURNAL_FORMAT = "%(name)s %(levelname)s %(message)s"
"""The same without the time, for stderr read by journald (which stamps each line itself)."""


class JsonLineFormatter(logging.Formatter):
    """``--log-json``: each record as one JSON object — ``ts`` (ISO 8601, local offset), ``level``, ``logger``,
    ``msg``, and ``exc`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        out: dict[str, object] = {"ts": iso_time(record.created), "level": record.levelname.lower(),
                                  "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


_iso_second: list[object] = [-1, "", ""]  # the second last formatted, its date-time text, its UTC offset


def iso_time(at: float) -> str:
    """``2026-12-03T08:41:07.123+00:00``: local time with its offset, to the millisecond.

    The date, time and offset are formatted once per second (every event line asks).
    """
    second = int(at)
    if second != _iso_second[0]:
        local = datetime.datetime.fromtimestamp(second).astimezone()
        offset = local.strftime("%z")
        _iso_second[:] = [second, local.strftime("%Y-%m-%dT%H:%M:%S"), f"{offset[:3]}:{offset[3:]}"]
    return f"{_iso_second[1]}.{int((at - second) * 1000):03d}{_iso_second[2]}"

MAX_PENDING = 512
"""Lines held before a write even inside one loop turn (bounds memory during long bursts)."""


class LineBufferHandler(logging.Handler):
    """A stream handler that batches lines per event-loop turn (see the module docstring)."""

    def __init__(self, stream: TextIO, fmt: str = LOG_FORMAT, json_lines: bool = False) -> None:
        """``json_lines``: every line one JSON object (events included); else ``fmt``, whose
        ``%(asctime)s`` decides whether event lines carry a time too."""
        super().__init__()
        self.stream = stream
        self.json_lines = json_lines
        self.stamped = "%(asctime)s" in fmt
        self.setFormatter(JsonLineFormatter() if json_lines else logging.Formatter(fmt))
        self._pending: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._scheduled = False
        self._stamp_second = -1
        self._stamp_text = ""

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Batch lines logged on ``loop``'s thread from now on (call from that thread)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def detach(self) -> None:
        """Write what is pending and go back to writing every line at once."""
        self._loop = None
        self._loop_thread = None
        self.flush()

    def emit(self, record: logging.LogRecord) -> None:
        """Format ``record`` and queue its line."""
        try:
            self._add(self.format(record))
        except Exception:
            self.handleError(record)

    def event_line(self, name: str, message: str) -> None:
        """Queue an INFO line of logger ``name`` as the formatter would have written it."""
        if self.json_lines:
            # The event is a JSON object already (EventSink's json format): put the line's keys in front.
            head = f'{{"ts": "{iso_time(time.time())}", "level": "info", "logger": "{name}"'
            if message.startswith("{") and message.endswith("}"):
                self._add(head + (", " + message[1:] if len(message) > 2 else "}"))
            else:
                self._add(head + f', "msg": {json.dumps(message)}}}')
            return
        if not self.stamped:
            self._add(f"{name} INFO {message}")
            return
        now = time.time()
        second = int(now)
        if second != self._stamp_second:  # one strftime per second, not per line
            self._stamp_text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._stamp_second = second
        millis = int((now - second) * 1000)
        self._add(f"{self._stamp_text},{millis:03d} {name} INFO {message}")

    def _add(self, line: str) -> None:
        loop = self._loop
        with self.lock:  # type: ignore[union-attr]  # Handler.createLock() made it
            self._pending.append(line)
            if loop is None or threading.get_ident() != self._loop_thread or loop.is_closed():
                self._write()  # another thread, or no loop: at once
                return
            if len(self._pending) >= MAX_PENDING:
                self._write()
                return
            if self._scheduled:
                return
            self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write every pending line (also called by :func:`logging.shutdown`)."""
        with self.lock:  # type: ignore[union-attr]
            self._scheduled = False
            self._write()

    def _write(self) -> None:
        lines, self._pending = self._pending, []
        if not lines:
            return
        try:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not stop the server
            pass
