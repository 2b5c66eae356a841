"""Protocol events: one line per step, keyed by MAC, logged and stored.

Every service reports what it does through :class:`EventSink.emit` — "offer
sent", "file served", "script rendered" — so a machine's boot can be followed
in the log, in ``bootwright events`` and in the lab's live view.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from bootwright.model import Event

log = logging.getLogger("bootwright.events")

Listener = Callable[[Event], None]
LineWriter = Callable[[str, str], None]
"""``(logger name, message)`` → one INFO line written (``LineBufferHandler.event_line``)."""
EventWriter = Callable[[Event, str], None]
"""``(event, its log line)`` → written with the event's fields kept apart (``net.journal.JournalHandler.event``)."""


class EventSink:
    """Fan-out of events to the log, the store and live listeners."""

    def __init__(
        self,
        store: Any | None = None,
        log_format: str = "text",
        clock: Callable[[], float] = time.time,
        line_writer: LineWriter | None = None,
        event_writer: EventWriter | None = None,
    ):
        """``line_writer``: write INFO lines straight to the serve log (no ``LogRecord``);
        ``event_writer`` (instead): a log that keeps the event's fields (the journal).
        The ``bootwright.events`` logger's level still decides whether a line is written."""
        self.store = store
        self.line_writer = line_writer
        self.event_writer = event_writer
        self.log_format = log_format
        self.clock = clock
        self.listeners: list[Listener] = []
        self.counts: dict[str, int] = {}

    def emit(self, kind: str, mac: str | None = None, host: str | None = None, **detail: Any) -> Event:
        """Record one protocol step; ``detail`` values should be short scalars.

        ``kind`` is an :class:`~bootwright.model.EventKind` member (a plain string equal to one is
        accepted alike: it is stored, logged and counted as that string).
        """
        event = Event(self.clock(), kind, mac, host, detail)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if log.isEnabledFor(logging.INFO):
            if self.event_writer is not None:
                self.event_writer(event, self.format(event))
            elif self.line_writer is not None:
                self.line_writer(log.name, self.format(event))
            else:
                log.info("%s", self.format(event))
        if self.store is not None:
            self.store.add_event(event)
        for listener in self.listeners:
            listener(event)
        return event

    def format(self, event: Event) -> str:
        """One log line: ``kind mac=… host=… key=value …`` or a JSON object."""
        if self.log_format == "json":
            return json.dumps(
                {"at": round(event.at, 6), "event": event.kind, "mac": event.mac, "host": event.host, **event.detail},
                default=str,
            )
        parts = [event.kind]
        if event.mac:
            parts.append(f"mac={event.mac}")
        if event.host:
            parts.append(f"host={event.host}")
        parts += [f"{k}={_fmt(v)}" for k, v in event.detail.items() if v is not None]
        return " ".join(parts)


def _fmt(value: Any) -> str:
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return json.dumps(text) if (" " in text or not text) else text
