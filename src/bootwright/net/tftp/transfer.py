"""One running TFTP transfer: its TID sockets, its engine, its one timer.

The transport moves datagrams and nothing else (the protocol lives in
:mod:`bootwright.engine.tftp.transfer`):

* A readable connected socket → ``engine.handle(datagram, None, now)`` → send
  the replies of the :class:`~bootwright.engine.Outcome` it returns at once,
  with ``socket.send`` in a loop, or for a window of DATA (RFC 7440) in one GSO
  ``send`` per 64 datagrams.  The engine's datagrams are
  views of its reused buffer, so they are sent (or copied) before the engine
  is called again.
* One ``TimerHandle`` per transfer follows ``engine.next_deadline()`` lazily:
  a deadline moving later (every ACK) costs nothing; the timer, when it
  fires early, re-arms itself for the current deadline.  Only a deadline
  moving earlier reschedules it.
* A datagram on the stranger socket (another address or port, RFC 1350 §4)
  is answered with ERROR 5 and does not touch the transfer.
* Readiness comes from the service's :class:`~.tftp_poll.Dispatcher` (one
  epoll set for all transfers, with adaptive busy polling), not from one
  asyncio reader per socket.
* With the dispatcher's native pump, a lock-step read transfer hands the pump
  the run its engine fixed in advance (``engine.lockstep_run()``) and the pump
  answers those ACKs without Python.  Before the engine is called again the
  run is reported to it (``engine.lockstep_advance``): on the datagram that
  ended the run, on the timer, on abort.
* A full send buffer (``EAGAIN``) parks the rest as copies until the socket is
  writable; a newer window replaces them.  ICMP port unreachable from the
  client (``ECONNREFUSED``) ends the transfer at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from bootwright.engine import Engine, Reply
from bootwright.engine.tftp.transfer import (
    LockstepRun,
    Negotiated,
    OutcomeKind,
    OutcomeTftp,
    ReadTransfer,
    TransferOutcome,
    TransferStats,
    unknown_tid_error,
)
from bootwright.net.tftp.poll import Dispatcher
from bootwright.net.tftp.sockets import Arrival, gso_batch, gso_control, path_mtu
from bootwright.net.tftp.upload import FileSink

__all__ = ["Transfer", "TransferEngine"]

log = logging.getLogger("bootwright.tftp")

STRANGER_REPLIES = 64
"""ERROR 5 answers per transfer at most; later strangers are only counted."""

_monotonic = time.monotonic
_UNKNOWN_TID = unknown_tid_error()


class TransferEngine(Engine[None, None], Protocol):
    """The :class:`~bootwright.engine.Engine` shape plus what a transfer adds: ``ReadTransfer``, ``WriteTransfer``."""

    done: bool
    outcome: TransferOutcome | None
    negotiated: Negotiated

    @property
    def stats(self) -> TransferStats:
        """Counters and negotiated parameters."""
        ...

    def start(self, now: float) -> OutcomeTftp:
        """The first datagrams (OACK, DATA 1 or ACK 0)."""
        ...


class Transfer:
    """Drives one engine over one TID socket pair until it is done."""

    __slots__ = (
        "_batch",
        "_closed",
        "_dispatcher",
        "_fd",
        "_finished",
        "_gso",
        "_lockstep",
        "_loop",
        "_on_close",
        "_on_finish",
        "_pending",
        "_pump",
        "_recv",
        "_rsize",
        "_sendto_client",
        "_stranger_replies",
        "_timer",
        "_timer_when",
        "arrival",
        "conn",
        "counters",
        "engine",
        "info",
        "resource",
        "sink",
        "stranger",
    )

    def __init__(
        self,
        engine: TransferEngine,
        conn: socket.socket,
        stranger: socket.socket,
        arrival: Arrival,
        *,
        on_finish: Callable[[Transfer, TransferOutcome], None],
        on_close: Callable[[Transfer], None],
        counters: dict[str, int],
        dispatcher: Dispatcher,
        resource: Any = None,
        sink: FileSink | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        """Wrap a not yet started engine.

        ``dispatcher`` delivers readiness of the two sockets (see
        :mod:`.tftp_poll`).  ``on_finish(transfer, outcome)`` is called once when the transfer ends,
        ``on_close(transfer)`` once its sockets are closed (later for an upload,
        which dallies); ``resource.close()`` (an open file) and ``sink.abort()``
        run at close.
        """
        self.engine = engine
        self.conn = conn
        self.stranger = stranger
        self.arrival = arrival
        self.resource = resource
        self.sink = sink
        self.info: dict[str, Any] = info or {}
        """Event fields (client, file, size, mac, …) kept by the service."""
        self.counters = counters
        self._on_finish = on_finish
        self._on_close = on_close
        self._dispatcher = dispatcher
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = float("inf")
        self._pending: list[tuple[bytes, bool]] = []  # (datagram or GSO burst, is a burst)
        self._closed = False
        self._finished = False
        self._stranger_replies = 0
        neg = engine.negotiated
        # Read transfers only receive ACK/ERROR (a longer ERROR text is cut): a small buffer is
        # cheaper to allocate per datagram; writes need blksize + 4, +1 to spot an oversized DATA.
        self._rsize = 256 if isinstance(engine, ReadTransfer) else max(1024, neg.blksize + 5)
        self._recv = conn.recv  # bound once: the per-block path looks up nothing it can keep
        self._sendto_client = conn.send
        self._gso: list[tuple[int, int, bytes]] | None = None
        self._batch = 1
        self._fd = conn.fileno()
        self._pump = dispatcher.pump
        # Lock-step runs for the pump: read transfers only (windows go out as GSO bursts).
        self._lockstep: Callable[[], LockstepRun | None] | None = None
        if self._pump is not None and isinstance(engine, ReadTransfer) and neg.windowsize == 1:
            self._lockstep = engine.lockstep_run
        if isinstance(engine, ReadTransfer) and neg.windowsize > 1:
            self._gso = gso_control(conn, engine.segment_size, path_mtu(conn))
            self._batch = gso_batch(engine.segment_size)

    # -- life cycle ---------------------------------------------------------

    def start(self) -> None:
        """Register the sockets and send the first datagrams."""
        self._dispatcher.watch(self.conn.fileno(), self._on_readable)
        self._dispatcher.watch(self.stranger.fileno(), self._on_stranger)
        engine = self.engine
        self._send(engine.start(_monotonic()).replies)
        self._settle()
        self._run_ahead()

    @property
    def closed(self) -> bool:
        """True once the sockets are closed."""
        return self._closed

    def abort(self, outcome: TransferOutcome) -> None:
        """End the transfer now (shutdown, client unreachable); ``outcome`` is reported."""
        if self._closed:
            return
        self._report_run(end=True)
        engine = self.engine
        if not engine.done:
            engine.done = True
            engine.outcome = outcome
            engine.stats.finished = _monotonic()
            self._finish(outcome)
        self.close()

    def close(self) -> None:
        """Release sockets, timer and file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pump is not None:
            self._pump.forget(self._fd)  # releases the engine's buffer
        if self._pending:  # parked datagrams: the writer callback is registered (_park) until drained
            self._pending.clear()
            self._loop.remove_writer(self._fd)
        for sock in (self.conn, self.stranger):
            fd = sock.fileno()
            if fd >= 0:
                self._dispatcher.unwatch(fd)
            sock.close()
        if self.sink is not None:
            self.sink.abort()  # no-op after commit
        if self.resource is not None:
            self.resource.close()
        self._on_close(self)

    # -- events from the loop -------------------------------------------------

    def _on_readable(self) -> None:
        try:
            data = self._take() if self._lockstep is not None else self._recv(self._rsize)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # ECONNREFUSED: ICMP port unreachable, the client is gone
            self.abort(self._unreachable(f"client unreachable ({exc.strerror})"))
            return
        engine = self.engine
        out = engine.handle(data, None, _monotonic())
        if out is not None:
            replies = out.replies
            if len(replies) == 1 and not self._pending:  # lock-step: one DATA, straight out
                datagram = replies[0].data
                try:
                    self._sendto_client(datagram)
                except (BlockingIOError, InterruptedError):
                    self._park([(bytes(datagram), False)])
                except OSError as exc:
                    self._send_failed(exc)
            elif replies:
                self._send(replies)
        if engine.done:
            self._settle()
            return
        deadline = engine.next_deadline()
        if deadline is not None and deadline < self._timer_when:
            self._arm(deadline)
        if self._lockstep is not None:
            self._run_ahead()

    def _take(self) -> bytes:
        """With runs: report the pump's run to the engine, then the datagram that ended it (or a fresh one)."""
        self._report_run(end=True)
        data = self._pump.take(self._fd)  # type: ignore[union-attr]  # only called with a pump
        return self._recv(self._rsize) if data is None else data

    def _report_run(self, *, end: bool) -> None:
        """Tell the engine what the pump sent since the last report (``end``: and stop the run).

        Only lock-step reads are ever armed (``_lockstep``): uploads and windows skip the pump's calls.
        """
        pump = self._pump
        if pump is None or self._lockstep is None:
            return
        sent, last = pump.disarm(self._fd) if end else pump.collect(self._fd)
        if sent:
            self.engine.lockstep_advance(sent, last)  # type: ignore[attr-defined]  # ReadTransfer only

    def _run_ahead(self) -> None:
        """Arm the pump with the engine's next lock-step run, if there is one (nothing parked)."""
        lockstep = self._lockstep
        if lockstep is None or self._pending or self._closed:
            return
        run = lockstep()
        if run is not None:
            self._pump.arm(self._fd, *run)  # type: ignore[union-attr]  # _lockstep implies a pump

    def _on_stranger(self) -> None:
        try:
            _data, peer = self.stranger.recvfrom(16)
        except OSError:
            return
        self.counters["stranger_tid"] = self.counters.get("stranger_tid", 0) + 1
        log.debug("tftp: datagram from stranger %s on the TID of %s", peer, self.arrival.peer)
        if self._stranger_replies < STRANGER_REPLIES:
            self._stranger_replies += 1
            with contextlib.suppress(OSError):
                self.stranger.sendto(_UNKNOWN_TID, peer)  # RFC 1350 §4: ERROR 5, the transfer goes on

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_when = float("inf")
        engine = self.engine
        if self._closed:
            return
        if engine.done:  # end of a write transfer's dally period
            self.close()
            return
        now = _monotonic()
        self._report_run(end=False)  # progress made by the pump moves the deadline
        deadline = engine.next_deadline()
        if deadline is not None and now < deadline:
            self._arm(deadline)
            return
        self._report_run(end=True)  # the engine retransmits: the run is over
        replies = engine.on_timer(now).replies
        if replies:
            self.counters["retransmit"] = self.counters.get("retransmit", 0) + len(replies)
            self._send(replies)
        self._settle()

    def _on_writable(self) -> None:
        pending = self._pending
        try:
            while pending:
                data, segmented = pending[0]
                if not segmented:
                    self.conn.send(data)
                elif self._gso is not None:
                    self.conn.sendmsg([data], self._gso)
                else:  # GSO was switched off meanwhile: split the burst by hand
                    seg = self.engine.segment_size  # type: ignore[attr-defined]
                    pending[0:1] = [(data[i : i + seg], False) for i in range(0, len(data), seg)]
                    continue
                pending.pop(0)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._send_failed(exc)
            pending.clear()
        self._loop.remove_writer(self.conn.fileno())

    # -- internals ------------------------------------------------------------

    def _settle(self) -> None:
        """After any call into the engine: finish, or make sure the timer covers the deadline."""
        engine = self.engine
        if engine.done:
            if engine.outcome is not None:
                self._finish(engine.outcome)
            return
        deadline = engine.next_deadline()
        if deadline is not None and deadline < self._timer_when:
            self._arm(deadline)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_when = when
        self._timer = self._loop.call_at(when, self._on_timer)

    def _finish(self, outcome: TransferOutcome) -> None:
        if self._closed or self._finished:
            return
        self._finished = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_when = float("inf")
        dally = False
        if self.sink is not None and outcome.kind is OutcomeKind.COMPLETE:
            try:
                self.sink.commit()
            except OSError as exc:
                outcome = TransferOutcome(OutcomeKind.SERVER_ERROR, f"could not store the upload ({exc.strerror})")
            else:
                dally = True
        self._on_finish(self, outcome)
        if dally:
            # RFC 1350 §6: stay a while to re-acknowledge a retransmitted final DATA.
            self._timer_when = _monotonic() + self.engine.negotiated.timeout
            self._timer = self._loop.call_at(self._timer_when, self._on_timer)
        else:
            self.close()

    def _send(self, out: Sequence[Reply[None]]) -> None:
        if self._pending:  # still blocked: the newer datagrams replace the parked ones
            self._pending[:] = [(bytes(r.data), False) for r in out]
            return
        conn = self.conn
        gso = self._gso
        if gso is None or len(out) < 2:
            i = 0
            try:
                for reply in out:
                    conn.send(reply.data)
                    i += 1
            except (BlockingIOError, InterruptedError):
                self._park([(bytes(r.data), False) for r in out[i:]])
            except OSError as exc:
                self._send_failed(exc)
            return
        # One window, back to back in the engine's buffer: GSO sends of up to _batch datagrams.
        burst = self.engine.burst  # type: ignore[attr-defined]  # ReadTransfer only (gso)
        step = self._batch * self.engine.segment_size  # type: ignore[attr-defined]
        sent = 0
        try:
            while sent < len(burst):
                conn.sendmsg([burst[sent : sent + step]], gso)
                sent += step
        except (BlockingIOError, InterruptedError):
            self._park([(bytes(burst[i : i + step]), True) for i in range(sent, len(burst), step)])
        except OSError as exc:
            if exc.errno in (errno.EMSGSIZE, errno.EINVAL, errno.EIO):
                self._gso = None  # the path MTU shrank, or the device refuses GSO: plain datagrams from now on
                self.counters["gso_off"] = self.counters.get("gso_off", 0) + 1
                self._send(out)
                return
            self._send_failed(exc)

    def _unreachable(self, why: str) -> TransferOutcome:
        """The client's port is closed: a client error, unless it closed it after the final ACK."""
        engine = self.engine
        if isinstance(engine, ReadTransfer):
            ended = engine.unconfirmed_end(f"final ACK not received, then {why}")
            if ended is not None:
                return ended
        return TransferOutcome(OutcomeKind.CLIENT_ERROR, why)

    def _park(self, rest: list[tuple[bytes, bool]]) -> None:
        """Keep unsent datagrams (copies, never none) until the socket is writable; the writer is
        registered exactly while datagrams are parked (``close`` relies on it)."""
        self._pending = rest
        self._loop.add_writer(self.conn.fileno(), self._on_writable)

    def _send_failed(self, exc: OSError) -> None:
        self.counters["send_error"] = self.counters.get("send_error", 0) + 1
        log.debug("tftp: send to %s failed: %s", self.arrival.peer, exc)
        if exc.errno == errno.ECONNREFUSED:
            self.abort(self._unreachable("client unreachable (port unreachable)"))
        # anything else (ENOBUFS, EPERM from a firewall): the datagram is lost, the timer resends
