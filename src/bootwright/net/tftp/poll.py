"""One epoll set for every TFTP transfer socket, drained by one asyncio callback.

asyncio costs a ``Handle`` and a trip through its selector for every ready
socket; a TFTP transfer in lock-step (RFC 1350) has one ready socket per
block.  :class:`Dispatcher` keeps the transfer sockets in its own
``epoll`` whose descriptor is the only thing asyncio watches: when it turns
readable, one callback polls it and calls each ready socket's handler, again
and again while events keep coming, up to :data:`CALLBACK_BUDGET` seconds,
then returns so the rest of the process (DHCP, HTTP, timers) runs.

Busy polling: after the last event the callback keeps polling (non-blocking)
for up to ``busy_poll`` seconds before it gives the loop back and sleeps.
A lock-step transfer is bound by round-trip latency, and a client's next ACK
usually arrives within tens of microseconds on a LAN: catching it here skips
the sleep and wake-up of the whole process (the idea of Linux
``SO_BUSY_POLL``).  Each turn of the spin yields the CPU (``sched_yield``),
so a client process woken on this CPU runs at once; after a lone event (a
lock-step block just sent) the callback yields before it polls again, so the
usual block costs one poll, not an empty one and then another.  The spin
adapts: when recent spins mostly came back empty (slow clients, long RTTs),
it stops spinning and only probes now and then, so an idle or distant client
costs no CPU.  It is also off while many sockets are watched
(:data:`SPIN_MAX_WATCHED`): with many transfers the ACKs arrive densely on
their own, the process seldom sleeps, and a spin would only take CPU from
everything else (measured: 200 concurrent lock-step clients finish sooner,
with less server CPU, without it; one client finishes much sooner with it).

Native pump: with :func:`native_pump` available (the C module
``bootwright.net.tftp._tftp_pump``, built at install when a compiler is present), the
epoll set is drained by the pump instead of ``epoll.poll``.  Lock-step
transfers arm it with the run their engine fixed in advance
(:meth:`~bootwright.engine.tftp.transfer.ReadTransfer.lockstep_run`), and the pump
answers those ACKs itself; only what needs a decision reaches Python.  Set
``BOOTWRIGHT_TFTP_PUMP=python`` to use the pure-Python path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from bootwright.net.tftp._tftp_pump import Pump

__all__ = ["CALLBACK_BUDGET", "PUMP_ENV", "SPIN_MAX_WATCHED", "Dispatcher", "native_pump"]

log = logging.getLogger("bootwright.tftp")

CALLBACK_BUDGET: Final = 0.002
"""Seconds one callback may keep the event loop (events and spinning together)."""
SPIN_MAX_WATCHED: Final = 16
"""Busy polling only while at most this many sockets are watched (8 transfers, two sockets each)."""
_MAX_EVENTS: Final = 256
_SPIN_THRESHOLD: Final = 0.25  # spin while more than this share of recent spins caught an event
_PROBE_EVERY: Final = 64  # with spinning off, still try once per this many idle returns

PUMP_ENV: Final = "BOOTWRIGHT_TFTP_PUMP"
"""Environment variable: ``python`` turns the native pump off (tests run both paths)."""

_monotonic = time.monotonic
_yield = getattr(os, "sched_yield", lambda: None)


def native_pump() -> Pump | None:
    """A new native pump, or ``None`` when the module is not built or ``BOOTWRIGHT_TFTP_PUMP=python``."""
    if os.environ.get(PUMP_ENV, "").strip().lower() == "python":
        return None
    try:  # imported here: the native module is optional (built only where a C compiler was found)
        from bootwright.net.tftp._tftp_pump import Pump
    except ImportError as exc:
        log.info("tftp: native lock-step pump not available (%s); using the Python path", exc)
        return None
    return Pump()


class Dispatcher:
    """Routes readiness of many sockets to their handlers through one epoll descriptor."""

    def __init__(self, busy_poll: float = 0.0, pump: Pump | None = None) -> None:
        """``busy_poll``: seconds to keep polling after the last event (0 = never spin).

        ``pump``: a native pump (:func:`native_pump`) that drains the epoll set
        and runs armed lock-step lanes; ``None`` polls from Python.
        """
        self.busy_poll = busy_poll
        self.pump = pump
        self._handlers: dict[int, Callable[[], None]] = {}
        self._epoll: select.epoll | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._score = 1.0  # moving share of spins that caught an event
        self._idle_returns = 0
        self.spins = 0
        """Spins that caught an event."""
        self.misses = 0
        """Spins that ended without one."""

    def open(self) -> None:
        """Create the epoll set and register it with the running loop."""
        self._loop = asyncio.get_running_loop()
        self._epoll = select.epoll()
        self._loop.add_reader(self._epoll.fileno(), self._on_ready)

    def close(self) -> None:
        """Unregister and close the epoll set (the watched sockets stay open)."""
        if self._epoll is not None and self._loop is not None:
            self._loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
        self._epoll = None
        self._handlers.clear()

    def watch(self, fd: int, handler: Callable[[], None]) -> None:
        """Call ``handler()`` whenever ``fd`` is readable (level-triggered)."""
        assert self._epoll is not None, "Dispatcher.open() first"
        self._handlers[fd] = handler
        self._epoll.register(fd, select.EPOLLIN)

    def unwatch(self, fd: int) -> None:
        """Stop watching ``fd`` (before it is closed); unknown descriptors are ignored."""
        if self._handlers.pop(fd, None) is not None and self._epoll is not None:
            with contextlib.suppress(OSError):
                self._epoll.unregister(fd)

    def _poll(self) -> tuple[int, list[int]]:
        """One non-blocking poll: (events seen, descriptors whose handlers must run)."""
        assert self._epoll is not None
        if self.pump is not None:
            return self.pump.poll(self._epoll.fileno(), _MAX_EVENTS)
        events = self._epoll.poll(0, _MAX_EVENTS)
        return len(events), [fd for fd, _mask in events]

    def _on_ready(self) -> None:
        if self._epoll is None:
            return
        poll = self._poll
        handlers = self._handlers
        budget_end = _monotonic() + CALLBACK_BUDGET
        spin = self.busy_poll if len(handlers) <= SPIN_MAX_WATCHED else 0.0
        seen, ready = poll()
        while True:
            if seen:
                for fd in ready:
                    handler = handlers.get(fd)
                    if handler is not None:
                        handler()
                if _monotonic() >= budget_end:
                    return
                if spin and seen == 1:
                    # Lock-step: the send just made woke its client, often onto this CPU.  Let it
                    # run first, so the poll below finds its ACK: one poll per block, not two.
                    # (After a batch, poll at once: more ACKs are likely queued already.)
                    _yield()
                seen, ready = poll()
                if seen:
                    continue
            if not spin or not self._want_spin():
                return
            spin_end = min(_monotonic() + spin, budget_end)
            while not seen and _monotonic() < spin_end:
                _yield()  # a client woken on this CPU runs now instead of waiting for our slice to end
                seen, ready = poll()
            if not seen:
                self.misses += 1
                self._score *= 0.9
                return
            self.spins += 1
            self._score = self._score * 0.9 + 0.1

    def _want_spin(self) -> bool:
        if not self._handlers:
            return False
        if self._score > _SPIN_THRESHOLD:
            return True
        self._idle_returns += 1
        if self._idle_returns >= _PROBE_EVERY:
            self._idle_returns = 0
            self._score = _SPIN_THRESHOLD + 0.05  # probe: one more chance to prove spinning pays
            return True
        return False
