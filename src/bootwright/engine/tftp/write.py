"""Sans-I/O TFTP write transfers (WRQ, uploads) — minimal receiver.

Only used when :attr:`~bootwright.engine.tftp.transfer.TftpSettings.writable_dirs`
allows the target (check :func:`~bootwright.engine.tftp.transfer.refusal` first).
Same driving API as :class:`~bootwright.engine.tftp.transfer.ReadTransfer` (the
:class:`~bootwright.engine.Engine` shape, plus ``start``).

Receiver rules: an OACK stands in for ACK 0 (RFC 2347); with ``windowsize``
(RFC 7440) the receiver ACKs every ``windowsize`` in-order blocks, and on the
first out-of-order block it ACKs the last in-order one (once per gap, so a
retransmitted window does not cause an ACK per block).  In lockstep every
duplicate DATA is re-acknowledged (RFC 1350).  With no new data for the
interval, the last ACK (or OACK) is resent, up to ``max_retries`` times.
After the final block the transfer is done; the transport should keep
routing to it for one more interval ("dally", RFC 1350 §6) so that a
retransmitted final DATA gets its ACK again.
"""

from __future__ import annotations

from typing import Protocol

from bootwright.engine import Outcome, Reply
from bootwright.engine.tftp.transfer import (
    NOTHING,
    OutcomeKind,
    OutcomeTftp,
    TftpSettings,
    TransferOutcome,
    TransferStats,
    error_for_exception,
    negotiate,
)
from bootwright.wire import DecodeError
from bootwright.wire.tftp import (
    Data,
    ErrorPacket,
    Oack,
    Opcode,
    Request,
    TransferMode,
    decode,
    encode,
    encode_ack,
    encode_error,
)

__all__ = ["BlockSink", "InMemorySink", "WriteTransfer", "netascii_decode"]


class BlockSink(Protocol):
    """Sequential positioned writes of one uploaded file."""

    def write_at(self, offset: int, data: bytes | memoryview) -> None:
        """Write ``data`` at ``offset``; may raise ``OSError`` (e.g. ENOSPC)."""
        ...


class InMemorySink:
    """A :class:`BlockSink` collecting the upload in memory (tests)."""

    def __init__(self) -> None:
        """Start empty."""
        self.data = bytearray()

    def write_at(self, offset: int, data: bytes | memoryview) -> None:
        """Store ``data`` at ``offset``."""
        self.data[offset : offset + len(data)] = data


def netascii_decode(data: bytes, *, final: bool) -> tuple[bytes, bytes]:
    """Undo netascii (CR LF → LF, CR NUL → CR; RFC 764); returns (decoded, held back).

    A trailing CR is held back (its partner is in the next block) unless
    ``final``.  A CR followed by anything else is kept as is.
    """
    hold = b""
    if data.endswith(b"\r") and not final:
        data, hold = data[:-1], b"\r"
    return data.replace(b"\r\n", b"\n").replace(b"\r\0", b"\r"), hold


class WriteTransfer:
    """Receives one file from one client (a WRQ), sans-I/O."""

    def __init__(self, request: Request, sink: BlockSink, settings: TftpSettings | None = None) -> None:
        """Prepare to receive into ``sink`` (netascii is decoded here)."""
        if not request.is_write:
            raise ValueError("WriteTransfer needs a WRQ")
        if request.mode is TransferMode.MAIL:
            raise ValueError("mail mode is refused; check refusal() first")
        self._settings = settings = settings if settings is not None else TftpSettings()
        self._sink = sink
        self._netascii = request.mode is TransferMode.NETASCII
        self._held = b""
        self._offset = 0  # octets written to the sink
        self.negotiated = neg = negotiate(request, settings, None)
        self._reply: bytes = encode(Oack(neg.oack)) if neg.oack else encode_ack(0)
        self._expected = 1  # absolute index of the next block wanted
        self._since_ack = 0
        self._gap_acked = False
        self._final: int | None = None
        self._retries = 0
        self._interval = neg.timeout
        self._deadline: float | None = None
        self.done = False
        """True once the transfer ended; see :attr:`outcome`."""
        self.outcome: TransferOutcome | None = None
        """How the transfer ended, ``None`` while it runs."""
        self.stats = TransferStats(neg.blksize, neg.windowsize, neg.timeout, neg.tsize)
        """Counters; ``bytes_sent`` counts payload octets received."""

    def start(self, now: float) -> OutcomeTftp:
        """ACK 0, or the OACK when options were accepted (RFC 2347)."""
        self.stats.started = now
        return self._send(self._reply, now)

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` must be called, or ``None`` when done."""
        return self._deadline

    def handle(self, datagram: bytes | bytearray | memoryview, meta: None, now: float) -> OutcomeTftp | None:
        """Handle one datagram from the client's TID (``meta``: nothing); never raises on bad input."""
        try:
            packet = decode(datagram)
        except DecodeError:
            self.stats.ignored += 1
            return None
        if isinstance(packet, ErrorPacket):
            if not self.done:
                message = packet.message or f"code {packet.code}"
                self._finish(now, TransferOutcome(OutcomeKind.CLIENT_ERROR, message))
            return None
        if not isinstance(packet, Data):
            self.stats.ignored += 1
            return None
        block, payload = packet.block, packet.payload
        bs = self.negotiated.blksize
        if len(payload) > bs:
            self.stats.ignored += 1
            return None
        if self.done:  # dally: re-acknowledge a retransmitted final block
            if self._final is not None and block == self._final & 0xFFFF:
                return Outcome((Reply(self._reply, None),))
            self.stats.ignored += 1
            return None
        if (block - self._expected) & 0xFFFF:
            return self._out_of_order(now)
        final = len(payload) < bs
        try:
            self._write(payload, final)
        except OSError as exc:
            error = error_for_exception(exc)
            self._finish(now, TransferOutcome(OutcomeKind.SERVER_ERROR, f"write failed: {exc}"))
            return Outcome((Reply(encode_error(error.code, error.message), None),))
        self.stats.blocks_sent += 1
        self.stats.bytes_sent += len(payload)
        self._expected += 1
        self._since_ack += 1
        self._gap_acked = False
        self._retries = 0
        self._interval = self.negotiated.timeout
        if final:
            self._final = self._expected - 1
            self.stats.file_bytes = self._offset
            out = self._send(encode_ack(self._final), now)
            self._finish(now, TransferOutcome(OutcomeKind.COMPLETE))
            return out
        if self._since_ack >= self.negotiated.windowsize:
            return self._send(encode_ack(self._expected - 1), now)
        self._deadline = now + self._interval
        return None

    def on_timer(self, now: float) -> OutcomeTftp:
        """Resend the last ACK/OACK after a silent interval; give up after ``max_retries``."""
        if self._deadline is None or now < self._deadline:
            return NOTHING
        self.stats.timer_expiries += 1
        self._retries += 1
        s = self._settings
        if self._retries > s.max_retries:
            self._finish(now, TransferOutcome(OutcomeKind.TIMEOUT))
            return NOTHING
        self._interval = min(self.negotiated.timeout * s.backoff**self._retries, s.max_interval)
        self.stats.retransmits += 1
        return self._send(self._reply, now)

    def _out_of_order(self, now: float) -> OutcomeTftp | None:
        if self.negotiated.windowsize > 1 and self._gap_acked:
            self.stats.duplicate_acks += 1  # counted: datagrams we chose not to answer
            return None
        self._gap_acked = True
        if self._expected == 1 and self._reply[1] == Opcode.OACK:
            return self._send(self._reply, now)  # DATA 1 lost after our OACK: repeat the OACK
        return self._send(encode_ack(self._expected - 1), now)

    def _write(self, payload: bytes, final: bool) -> None:
        if self._netascii:
            data, self._held = netascii_decode(self._held + payload, final=final)
        else:
            data = payload
        if data:
            self._sink.write_at(self._offset, data)
            self._offset += len(data)

    def _send(self, reply: bytes, now: float) -> OutcomeTftp:
        self._reply = reply
        self._since_ack = 0
        self._deadline = now + self._interval
        self.stats.datagrams_sent += 1
        return Outcome((Reply(reply, None),))

    def _finish(self, now: float, outcome: TransferOutcome) -> None:
        self.done = True
        self.outcome = outcome
        self._deadline = None
        self.stats.finished = now
