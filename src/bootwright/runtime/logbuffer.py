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
import logging
import threading
import time
from typing import TextIO

LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
"""The one line format of ``bootwright serve`` (the lab and ``bootwright events`` read it)."""

MAX_PENDING = 512
"""Lines held before a write even inside one loop turn (bounds memory during long bursts)."""


class LineBufferHandler(logging.Handler):
    """A stream handler that batches lines per event-loop turn (see the module docstring)."""

    def __init__(self, stream: TextIO, fmt: str = LOG_FORMAT) -> None:
        super().__init__()
        self.stream = stream
        self.setFormatter(logging.Formatter(fmt))
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
