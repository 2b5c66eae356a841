"""aiohttp's own reports of malformed requests: one debug line per source and minute, never a traceback.

aiohttp logs a request its parser refuses (a bad header, a line over the
limit, a bad Content-Length) at ERROR with the parser's traceback, on the
``aiohttp.server`` logger. Anyone on the network can send those, so at the
default level they would let a stranger fill the log. The client got its
400, and the request is an ``http.request`` event (status 400) already; here
the report becomes one DEBUG line ("malformed HTTP request from …: …"),
at most once per source address per :data:`EVERY` seconds, saying how many
were left out. Real errors of aiohttp (not a parser refusal) pass unchanged.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from aiohttp.http_exceptions import HttpProcessingError

EVERY = 60.0  # seconds between two lines about the same source
SOURCES = 1024  # sources remembered (least recently reported forgotten first)
AIOHTTP_SERVER = "aiohttp.server"


class MalformedRequests(logging.Filter):
    """Turns aiohttp parser errors into rate-limited debug lines (see the module docstring)."""

    def __init__(self, shown_in: logging.Logger, every: float = EVERY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.shown_in = shown_in  # the logger whose DEBUG level decides whether the line is written
        self.every = every
        self.clock = clock
        self._last: OrderedDict[str, tuple[float, int]] = OrderedDict()  # source → (last line, left out since)

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep other records; rewrite (or drop) a parser refusal."""
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        if not self.shown_in.isEnabledFor(logging.DEBUG):
            return False
        source = str(record.args[0]) if isinstance(record.args, tuple) and record.args else "?"
        now = self.clock()
        last, left_out = self._last.get(source, (None, 0))
        if last is not None and now - last < self.every:
            self._last[source] = (last, left_out + 1)
            return False
        self._last[source] = (now, 0)
        self._last.move_to_end(source)
        while len(self._last) > SOURCES:
            self._last.popitem(last=False)
        reason = " ".join(str(exc.message).split())[:200] if exc.message else type(exc).__name__
        more = f" ({left_out} more from it in the last {self.every:.0f} s not shown)" if left_out else ""
        record.name = self.shown_in.name
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.msg, record.args = "malformed HTTP request from %s: %s (answered 400)%s", (source, reason, more)
        record.exc_info, record.exc_text = None, None
        return True


def quiet_malformed_requests(shown_in: logging.Logger) -> MalformedRequests:
    """Install the filter on aiohttp's server logger once (later calls return the installed one)."""
    target = logging.getLogger(AIOHTTP_SERVER)
    for existing in target.filters:
        if isinstance(existing, MalformedRequests):
            return existing
    found = MalformedRequests(shown_in)
    target.addFilter(found)
    return found
