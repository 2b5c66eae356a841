"""``GET /api/events/stream``: events as they happen, as server-sent events (WHATWG HTML §9.2).

Rule: a stream never slows the server down. Each client has a listener on
``runtime.events`` (:class:`~bootwright.runtime.events.EventSink`) that only
puts the event into the client's own bounded queue; when the queue is full
the event is dropped and counted, and the client is told how many it missed
(an ``event: dropped`` message) as soon as it reads again — it re-reads the
history (``/api/events``, ``/api/hosts/{name}/timeline``) to catch up. At
most :data:`MAX_STREAMS` clients stream at once (503 beyond). A comment line
is sent every :data:`HEARTBEAT` seconds, so proxies keep the connection and a
client that went away is noticed; the listener is removed when it is.

Messages (``data`` is one JSON object)::

    event: step
    data: {"at": …, "kind": "dhcp4.offer", "mac": …, "host": …, "detail": {…},
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
from bootwright.web.api.common import ApiError

log = logging.getLogger("bootwright.api")

QUEUE_SIZE: Final = 256
"""Events one client may be behind before further ones are dropped for it."""
HEARTBEAT: Final = 15.0
"""Seconds between comment lines when nothing happens."""
MAX_STREAMS: Final = 64
"""Clients streaming at once; one more gets 503."""
RETRY_MS: Final = 3000
"""How long a browser's ``EventSource`` waits before it reconnects (the ``retry:`` field)."""

# Live-only notices, never stored (runtime/events.py): the history a client re-reads does not have them.
_NOT_STORED = frozenset({EventKind.HTTP_SCRIPT})
_CLOSE = None  # put into every queue when the server stops


class _Client:
    """One connected stream: what it asked for, its queue and how many events it missed."""

    def __init__(self, macs: frozenset[str], host: str | None, size: int) -> None:
        self.macs = macs
        self.host = host
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(size)
        self.dropped = 0

    def wants(self, event: Event) -> bool:
        """Events of one of its MACs or of its host (all events when it named neither)."""
        if event.kind in _NOT_STORED:
            return False
        if not self.macs and self.host is None:
            return True
        return (event.mac is not None and event.mac in self.macs) or (self.host is not None and event.host == self.host)

    def listener(self, event: Event) -> None:
        """Called by the event sink inside ``emit``: queue it or count it, never block."""
        if not self.wants(event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1


def message(kind: str, data: dict[str, object]) -> bytes:
    """One server-sent event: ``event:`` and a single ``data:`` line of JSON (it has no newline)."""
    return f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def step_message(event: Event) -> bytes:
    """The ``step`` message of one event, with its readable step."""
    s = step(event)
    return message("step", {"at": event.at, "kind": str(event.kind), "mac": event.mac, "host": event.host,
                            "detail": event.detail, "text": s.text, "stage": s.stage, "problem": s.problem})


class EventStream:
    """``/events/stream``: registers the route and ends every stream when the server stops."""

    def __init__(self, runtime: Runtime, queue_size: int = QUEUE_SIZE, heartbeat: float = HEARTBEAT,
                 max_streams: int = MAX_STREAMS) -> None:
        self.runtime = runtime
        self.queue_size = queue_size
        self.heartbeat = heartbeat
        self.max_streams = max_streams
        self.clients: set[_Client] = set()
        self.closing = False

    def add_routes(self, app: web.Application) -> None:
        """Register the route; the app's shutdown ends the open streams."""
        app.router.add_get("/events/stream", self.stream)

        async def close(_: web.Application) -> None:
            self.closing = True
            for client in self.clients:  # wake the waiting ones; a full queue is read without waiting
                with contextlib.suppress(asyncio.QueueFull):
                    client.queue.put_nowait(_CLOSE)

        app.on_shutdown.append(close)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Follow ``?mac=`` (repeatable) and ``?host=`` (either matches; neither: every event)."""
        try:
            macs = frozenset(normalize_mac(m) for m in request.query.getall("mac", []) if m)
        except InvalidMac as exc:
            raise ApiError(400, f"?mac=: {exc}") from None
        if len(self.clients) >= self.max_streams:
            raise ApiError(503, f"{self.max_streams} event streams are open already; try again later")
        client = _Client(macs, request.query.get("host") or None, self.queue_size)
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # reverse proxies: pass each message on at once
        })
        listeners = self.runtime.events.listeners
        self.clients.add(client)
        listeners.append(client.listener)
        try:
            await response.prepare(request)
            await response.write(f"retry: {RETRY_MS}\n: following events\n\n".encode())
            await self._pump(client, response)
        except (ConnectionResetError, ConnectionError):
            pass  # the client went away: nothing to tell it
        finally:
            with contextlib.suppress(ValueError):
                listeners.remove(client.listener)
            self.clients.discard(client)
        return response

    async def _pump(self, client: _Client, response: web.StreamResponse) -> None:
        """Write queued events (and missed counts, heartbeats) until the server stops."""
        while True:
            try:
                event = await asyncio.wait_for(client.queue.get(), self.heartbeat)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            if event is _CLOSE or self.closing:
                return
            if client.dropped:
                missed, client.dropped = client.dropped, 0
                log.debug("event stream: a slow client missed %d events", missed)
                await response.write(message("dropped", {"dropped": missed}))
            await response.write(step_message(event))
