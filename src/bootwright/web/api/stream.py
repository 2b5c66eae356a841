"""``GET /api/events/stream``: events as they happen, as server-sent events (WHATWG HTML §9.2), resumable.

Rule: the stream is the tail of the event log. Each message carries the
event's id in the log (``id:``), so a client that reconnects — a browser's
``EventSource`` does so by itself, sending ``Last-Event-ID`` (§9.2.4) — gets
exactly the events it missed, read back from the log; ``?after=<id>`` does the
same for a client that keeps its own cursor (``Last-Event-ID`` wins when both
are given: a browser reconnects to the URL it started with). A new stream
without either starts at the newest event, and its first block names that id
(an ``id:`` field without data sets the browser's cursor without an event).

A stream never slows the server down: its listener on ``runtime.events``
(:class:`~bootwright.runtime.events.EventSink`) only sets a flag when an event
of the stream's MACs or host arrives; the stream then reads the log after its
cursor, at most :data:`BATCH` events a read and one read per :data:`PACE`
seconds while events keep coming. When more than a batch came in between
(a slow client, a long absence), it gets the newest batch, after an ``event:
dropped`` message saying how many it skipped at most (exactly, for a stream of
every event), and re-reads the history (``/api/events``,
``/api/hosts/{name}/timeline``) to catch up. A resume reaches back as far as
the log keeps events. At most :data:`MAX_STREAMS` clients stream at once (503
beyond). A comment line is sent every :data:`HEARTBEAT` seconds, so proxies
keep the connection and a client that went away is noticed; the listener is
removed when it is.

Messages (``data`` is one JSON object)::

    id: 1234
    event: step
    data: {"id": 1234, "at": …, "kind": "dhcp4.offer", "mac": …, "host": …, "detail": {…},
           "text": "DHCPv4 offer of 192.0.2.100", "stage": "offer", "problem": false}

    event: dropped
    data: {"dropped": 12}

``text``, ``stage`` and ``problem`` are the event's step as ``bootwright
events`` and ``/api/hosts/{name}/timeline`` show it (:func:`bootwright.boot.timeline.step`).
Access is the API's rule for reads (``web/api/auth.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Final

from aiohttp import web

from bootwright.boot.timeline import step
from bootwright.model import Event, EventKind, InvalidMac, normalize_mac
from bootwright.runtime import Runtime
from bootwright.web.api.common import ApiError, reloader_of

log = logging.getLogger("bootwright.api")

BATCH: Final = 500
"""Events read from the log at once; more than this since the last read are skipped (and counted)."""
PACE: Final = 0.25
"""Seconds between two reads of the log by one stream while events keep coming (a burst is read in one go)."""
HEARTBEAT: Final = 15.0
"""Seconds between comment lines when nothing happens."""
MAX_STREAMS: Final = 64
"""Clients streaming at once; one more gets 503."""
RETRY_MS: Final = 3000
"""How long a browser's ``EventSource`` waits before it reconnects (the ``retry:`` field)."""
MAX_EVENT_ID: Final = 2**63 - 1
"""Event ids are SQLite ``INTEGER PRIMARY KEY``s (64-bit); a cursor takes any of them."""

# Live-only notices, never stored (runtime/events.py): not in the log the stream reads.
_NOT_STORED = frozenset({EventKind.HTTP_SCRIPT})


class _Client:
    """One connected stream: what it asked for, and the flag its listener sets."""

    def __init__(self, macs: frozenset[str], host: str | None) -> None:
        self.macs = macs
        self.host = host
        self.wake = asyncio.Event()

    def wants(self, event: Event) -> bool:
        """Events of one of its MACs or of its host (all events when it named neither)."""
        if event.kind in _NOT_STORED:
            return False
        if not self.macs and self.host is None:
            return True
        return (event.mac is not None and event.mac in self.macs) or (self.host is not None and event.host == self.host)

    def listener(self, event: Event) -> None:
        """Called by the event sink inside ``emit``: note that the log has news for this stream, never block."""
        if self.wants(event):
            self.wake.set()


def message(kind: str, data: dict[str, object], event_id: int | None = None) -> bytes:
    """One server-sent event: ``id:`` (when given), ``event:`` and a single ``data:`` line of JSON."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def step_message(event_id: int, event: Event) -> bytes:
    """The ``step`` message of one event of the log, with its id and its readable step."""
    s = step(event)
    return message(
        "step",
        {
            "id": event_id,
            "at": event.at,
            "kind": str(event.kind),
            "mac": event.mac,
            "host": event.host,
            "detail": event.detail,
            "text": s.text,
            "stage": s.stage,
            "problem": s.problem,
        },
        event_id,
    )


def resume_point(request: web.Request) -> int | None:
    """The id after which to start: ``Last-Event-ID``, else ``?after=``; None for "from now"."""
    for where, text in (
        ("the Last-Event-ID header", request.headers.get("Last-Event-ID")),
        ("?after=", request.query.get("after")),
    ):
        if text is None or (not text.strip() and where != "?after="):
            continue  # an empty Last-Event-ID is what a browser sends before it saw an id (§9.2.4)
        if not text.strip().isdigit() or int(text) > MAX_EVENT_ID:
            raise ApiError(400, f"{where} must be an event id (0 to {MAX_EVENT_ID}), not {text[:40]!r}")
        return int(text)
    return None


class EventStream:
    """``/events/stream``: registers the route and ends every stream when the server stops."""

    def __init__(
        self,
        runtime: Runtime,
        heartbeat: float = HEARTBEAT,
        max_streams: int = MAX_STREAMS,
        batch: int = BATCH,
        pace: float = PACE,
    ) -> None:
        self.runtime = runtime
        self.heartbeat = heartbeat
        self.max_streams = max_streams
        self.batch = batch
        self.pace = pace
        self.clients: set[_Client] = set()
        self.closing = False

    def add_routes(self, app: web.Application) -> None:
        """Register the route; the app's shutdown ends the open streams."""
        app.router.add_get("/events/stream", self.stream)

        async def close(_: web.Application) -> None:
            self.closing = True
            for client in self.clients:
                client.wake.set()

        app.on_shutdown.append(close)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Follow ``?mac=`` (repeatable) and ``?host=`` (either matches; neither: every event), from the cursor."""
        try:
            macs = frozenset(normalize_mac(m) for m in request.query.getall("mac", []) if m)
        except InvalidMac as exc:
            raise ApiError(400, f"?mac=: {exc}") from None
        cursor = resume_point(request)
        reloader_of(self.runtime)  # 503 before the log can be read
        if len(self.clients) >= self.max_streams:
            raise ApiError(503, f"{self.max_streams} event streams are open already; try again later")
        client = _Client(macs, request.query.get("host") or None)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # reverse proxies: pass each message on at once
            }
        )
        listeners = self.runtime.events.listeners
        self.clients.add(client)
        listeners.append(client.listener)  # before the newest id is read: nothing falls in between
        try:
            newest = await self._read((), None, 0, 1)
            last = newest[-1][0] if newest else 0
            if cursor is None or cursor > last:  # from now; or an id this log never gave (a new state store)
                cursor = last
            elif cursor < last:
                client.wake.set()  # a resume: what it missed goes out first
            await response.prepare(request)
            await response.write(f"retry: {RETRY_MS}\nid: {cursor}\n: following events\n\n".encode())
            await self._pump(client, response, cursor)
        except (ConnectionResetError, ConnectionError):
            pass  # the client went away: nothing to tell it
        finally:
            with contextlib.suppress(ValueError):
                listeners.remove(client.listener)
            self.clients.discard(client)
        return response

    async def _read(self, macs: tuple[str, ...], host: str | None, after: int, limit: int) -> list[tuple[int, Event]]:
        self.runtime.store.flush_events()  # queued events first: the read sees every event emitted before it
        return await reloader_of(self.runtime).inventory.tables.aread_events(macs, host, after, limit)

    async def _pump(self, client: _Client, response: web.StreamResponse, cursor: int) -> None:
        """Write the log's events after ``cursor`` whenever there are new ones (and heartbeats), until the end."""
        macs = tuple(sorted(client.macs))
        while True:
            try:
                await asyncio.wait_for(client.wake.wait(), self.heartbeat)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            if self.closing:
                return
            client.wake.clear()
            rows = await self._read(macs, client.host, cursor, self.batch)
            if len(rows) == self.batch and rows[0][0] > cursor + 1:
                # The log returns the newest `batch`: those before them were skipped (all of them, for a stream
                # of every event; at most, for a filtered one).
                skipped = rows[0][0] - cursor - 1
                log.debug("event stream: a client skipped up to %d events", skipped)
                await response.write(message("dropped", {"dropped": skipped}))
            for event_id, event in rows:
                await response.write(step_message(event_id, event))
            if rows:
                cursor = rows[-1][0]
                await asyncio.sleep(self.pace)  # let a burst gather into the next read
