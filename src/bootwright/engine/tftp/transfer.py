"""Sans-I/O TFTP read transfers (RFC 1350, 2347, 2348, 2349, 7440).

Rule: a transfer is one :class:`~bootwright.engine.Engine` instance per
transfer, over the transfer's own TID (its socket is connected to the client,
so a reply's destination is ``None``). The I/O layer decodes an RRQ, checks it
with :func:`refusal`, maps and opens the file
(:mod:`~bootwright.engine.tftp.paths`, :mod:`~bootwright.net.tftp.files`), then
drives a :class:`ReadTransfer`::

    xfer = ReadTransfer(request, source, settings)
    send(xfer.start(now).replies)
    on datagram from the client TID:  out = xfer.handle(datagram, None, now); send(out.replies) unless None
    at xfer.next_deadline():          send(xfer.on_timer(now).replies)
    until xfer.done; log xfer.outcome and xfer.stats

Replies carry ``bytes`` or ``memoryview`` slices of the transfer's reused
send buffer (header and file bytes side by side, no copies).  They are valid
until the next call into the same transfer: send them (or copy them) before
calling again.  The returned :class:`~bootwright.engine.Outcome` is the
transfer's own too (the lock-step path hands out one prepared Outcome per
buffer slot, so a lock-step ACK allocates nothing): read it, never modify it.
asyncio's ``DatagramTransport.sendto`` copies what it has to queue, so passing
the octets straight to it is safe.  Transfers report no events: the
service reports the end of a transfer (:attr:`ReadTransfer.outcome`).

Negotiation follows tftp-hpa: ``blksize`` below 8 or non-numeric is ignored
(left out of the OACK, not refused with error 8), above the maximum it is
clamped; ``timeout`` outside 1-255 is ignored; ``windowsize`` is clamped to
the configured maximum; ``tsize`` is answered with the file size, and left
out for netascii where the size is unknown; unknown options are ignored
(RFC 2347).  Timeouts end the transfer silently, as tftp-hpa does.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, NamedTuple

from bootwright.engine import Outcome, Reply
from bootwright.engine.tftp.paths import PathRefused, is_within
from bootwright.engine.tftp.source import BlockSource, NetasciiSource
from bootwright.wire import DecodeError
from bootwright.wire.tftp import (
    DATA_HEADER,
    DEFAULT_BLKSIZE,
    MAX_BLKSIZE,
    MIN_BLKSIZE,
    ErrorCode,
    ErrorPacket,
    Oack,
    Opcode,
    Request,
    TransferMode,
    decode,
    encode,
    encode_error,
)

__all__ = [
    "MAX_WINDOWSIZE",
    "Datagram",
    "LockstepRun",
    "Negotiated",
    "OutcomeKind",
    "OutcomeTftp",
    "ReadTransfer",
    "TftpSettings",
    "TransferOutcome",
    "TransferStats",
    "error_for_exception",
    "max_blksize_for_mtu",
    "negotiate",
    "refusal",
    "unknown_tid_error",
]

Datagram = bytes | memoryview
"""One UDP payload to send."""

OutcomeTftp = Outcome[None]
"""What a transfer returns: datagrams for its connected TID socket (no destination), nothing else."""
NOTHING: Final[OutcomeTftp] = Outcome()
"""The empty result of :meth:`ReadTransfer.on_timer` (shared: never modify an Outcome)."""

MAX_WINDOWSIZE: Final = 32768
"""Hard cap on ``windowsize``: with 16-bit block numbers a larger window makes
a stale ACK indistinguishable from a new one (tftp-hpa caps here too)."""
READAHEAD_BYTES: Final = 64 * 1024
"""A transfer reads up to this much ahead of its window (fewer reads in lock-step: one per
7 blocks of 8192 octets, one per 44 of 1468)."""
READAHEAD_SLOTS: Final = 64
"""...and at most this many blocks (small blksizes)."""
_TIMEOUT_RANGE: Final = range(1, 256)  # RFC 2349: 1-255 seconds
_DATA: Final = int(Opcode.DATA)
_ACK: Final = int(Opcode.ACK)


@dataclass(frozen=True, slots=True)
class TftpSettings:
    """Server-side limits and policy for TFTP transfers."""

    max_blksize: int = MAX_BLKSIZE
    """Largest ``blksize`` granted (RFC 2348); the I/O layer lowers it to the path MTU."""
    max_windowsize: int = 64
    """Largest ``windowsize`` granted (RFC 7440); at most :data:`MAX_WINDOWSIZE`."""
    timeout: float = 1.0
    """Retransmission interval in seconds unless the client negotiates ``timeout`` (RFC 2349)."""
    max_retries: int = 5
    """Retransmissions of one window (or OACK) before giving up with outcome "timeout"."""
    backoff: float = 1.0
    """Interval multiplier per retry (1.0 = fixed interval; 2.0 = exponential like tftp-hpa)."""
    max_interval: float = 60.0
    """Ceiling for the backed-off interval, seconds."""
    allow_options: bool = True
    """False ignores all options (tftp-hpa ``--reject-all``) for clients that mishandle OACK."""
    writable_dirs: tuple[str, ...] = ()
    """Directories (relative to the root) where WRQ is allowed; empty refuses every WRQ."""
    max_window_bytes: int = 1 << 20
    """Cap on ``windowsize × blksize``: the send buffer one transfer may hold (RFC 7440 lets the
    server answer a smaller windowsize).  Keeps 64 × 65464-octet windows from costing 4 MiB each."""

    def __post_init__(self) -> None:
        if not MIN_BLKSIZE <= self.max_blksize <= MAX_BLKSIZE:
            raise ValueError(f"max_blksize must be {MIN_BLKSIZE}-{MAX_BLKSIZE}, not {self.max_blksize}")
        if not 1 <= self.max_windowsize <= MAX_WINDOWSIZE:
            raise ValueError(f"max_windowsize must be 1-{MAX_WINDOWSIZE}, not {self.max_windowsize}")
        if self.timeout <= 0 or self.max_interval < self.timeout or self.backoff < 1.0:
            raise ValueError("need timeout > 0, max_interval >= timeout, backoff >= 1")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.max_window_bytes < MAX_BLKSIZE:
            raise ValueError(f"max_window_bytes must be >= {MAX_BLKSIZE}, not {self.max_window_bytes}")


def max_blksize_for_mtu(mtu: int, *, ipv6: bool) -> int:
    """Largest ``blksize`` whose DATA fits one ``mtu`` packet (IP + 8 UDP + 4 TFTP header).

    Never below 512, the RFC 1350 block size every client accepts.
    """
    return max(DEFAULT_BLKSIZE, min(MAX_BLKSIZE, mtu - (40 if ipv6 else 20) - 8 - 4))


@dataclass(frozen=True, slots=True)
class Negotiated:
    """Outcome of option negotiation; ``oack`` empty means no OACK is sent."""

    blksize: int = DEFAULT_BLKSIZE
    windowsize: int = 1
    timeout: float = 1.0
    tsize: int | None = None
    oack: Mapping[str, str] = field(default_factory=dict)


def _number(value: str) -> int | None:
    """An RFC 2347 option value as a non-negative decimal, or None."""
    if 0 < len(value) <= 20 and value.isascii() and value.isdigit():
        return int(value)
    return None


def negotiate(request: Request, settings: TftpSettings, size: int | None) -> Negotiated:
    """Choose transfer parameters from the request's options (see module docstring).

    ``size`` is the file size for an RRQ (``None`` when unknown).  The OACK
    lists accepted options in the client's order.
    """
    blksize, windowsize, timeout, tsize = DEFAULT_BLKSIZE, 1, settings.timeout, None
    oack: dict[str, str] = {}
    if settings.allow_options:
        for name, value in request.options.items():
            number = _number(value)
            if number is None:
                continue  # non-numeric: ignore the option (tftp-hpa do_opt)
            if name == "blksize":  # RFC 2348
                if number < MIN_BLKSIZE:
                    continue  # tftp-hpa ignores it rather than sending error 8
                blksize = min(number, settings.max_blksize)
                oack[name] = str(blksize)
            elif name == "tsize":  # RFC 2349: RRQ sends 0, server answers the size
                if request.is_write:
                    tsize = number  # WRQ: the client announces the size; echo it
                elif size is None:
                    continue
                else:
                    tsize = size
                oack[name] = str(tsize)
            elif name == "timeout":  # RFC 2349: 1-255 s, echoed unchanged
                if number not in _TIMEOUT_RANGE:
                    continue
                timeout = float(number)
                oack[name] = str(number)
            elif name == "windowsize":  # RFC 7440: 1-65535
                if not 1 <= number <= 65535:
                    continue
                windowsize = min(number, settings.max_windowsize)
                oack[name] = str(windowsize)
            # anything else: RFC 2347 says unknown options are ignored
    if windowsize * blksize > settings.max_window_bytes:  # RFC 7440 §3: the server may answer less
        windowsize = max(1, settings.max_window_bytes // blksize)
        oack["windowsize"] = str(windowsize)
    return Negotiated(blksize, windowsize, timeout, tsize, oack)


def refusal(request: Request, settings: TftpSettings, relative: str | None = None) -> ErrorPacket | None:
    """The ERROR to answer a request with before opening any file, or ``None`` to go on.

    Mail mode is refused with error 4 (RFC 1350 calls it obsolete; tftp-hpa
    rejects it).  A WRQ is refused with error 2 unless ``writable_dirs`` is
    set and, once known, ``relative`` lies inside one of them.
    """
    if request.mode is TransferMode.MAIL:
        return ErrorPacket(ErrorCode.ILLEGAL_OPERATION, "Mail mode not supported")
    if request.is_write:
        if not settings.writable_dirs:
            return ErrorPacket(ErrorCode.ACCESS_VIOLATION, "Uploads are disabled")
        if relative is not None and not is_within(relative, settings.writable_dirs):
            return ErrorPacket(ErrorCode.ACCESS_VIOLATION, "Access violation")
    return None


def error_for_exception(exc: BaseException) -> ErrorPacket:
    """The ERROR for a failure to map or open a file; never leaks paths or OS text."""
    if isinstance(exc, PathRefused):
        return ErrorPacket(ErrorCode.ACCESS_VIOLATION, exc.client_message or "Access violation")
    if isinstance(exc, FileNotFoundError | NotADirectoryError | IsADirectoryError):
        return ErrorPacket(ErrorCode.FILE_NOT_FOUND, "File not found")
    if isinstance(exc, PermissionError):
        return ErrorPacket(ErrorCode.ACCESS_VIOLATION, "Access violation")
    if isinstance(exc, FileExistsError):
        return ErrorPacket(ErrorCode.FILE_EXISTS, "File already exists")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return ErrorPacket(ErrorCode.DISK_FULL, "Disk full or allocation exceeded")
    return ErrorPacket(ErrorCode.NOT_DEFINED, "Internal error")


_UNKNOWN_TID: Final = encode_error(ErrorCode.UNKNOWN_TID, "Unknown transfer ID")


def unknown_tid_error() -> bytes:
    """ERROR 5 for a datagram from a stranger's port (RFC 1350 §4); the transfer goes on."""
    return _UNKNOWN_TID


class OutcomeKind(StrEnum):
    """How a transfer ended."""

    COMPLETE = "complete"
    """The last block was acknowledged."""
    UNCONFIRMED = "unconfirmed"
    """Every block was sent but the final window's ACK never came: RFC 1350 §6 lets the client
    stop once it has sent the last ACK, which may be lost, and GRUB often moves on before its
    final ACK leaves the card. Counted as delivered, as dnsmasq does ("sent"), not as a failure."""
    TIMEOUT = "timeout"
    """No progress after ``max_retries`` retransmissions."""
    CLIENT_ERROR = "client error"
    """The client sent an ERROR packet."""
    SERVER_ERROR = "server error"
    """Reading the file failed; an ERROR was sent."""


# The outcomes that count as the file delivered (the service reports them as ``tftp.done``).
DELIVERED = frozenset({OutcomeKind.COMPLETE, OutcomeKind.UNCONFIRMED})


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    """The end of a transfer; ``str()`` gives e.g. ``"client error: disk full"``."""

    kind: OutcomeKind
    message: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}" if self.message else str(self.kind)


@dataclass(slots=True)
class TransferStats:
    """Counters for logs and metrics (times are the ``now`` values passed in)."""

    blksize: int = DEFAULT_BLKSIZE
    windowsize: int = 1
    timeout: float = 1.0
    tsize: int | None = None
    started: float | None = None
    finished: float | None = None
    datagrams_sent: int = 0
    """All datagrams returned, retransmissions included."""
    blocks_sent: int = 0
    """DATA datagrams, retransmissions included."""
    bytes_sent: int = 0
    """DATA payload octets, retransmissions included."""
    retransmits: int = 0
    """Datagrams resent because the timer expired."""
    timer_expiries: int = 0
    duplicate_acks: int = 0
    """ACKs for the already-acknowledged block (ignored: RFC 1123 §4.2.3.1)."""
    ignored: int = 0
    """Datagrams ignored: ACKs outside the window, malformed or unexpected packets."""
    file_bytes: int | None = None
    """Octets delivered (for netascii: translated octets), set on completion."""


class LockstepRun(NamedTuple):
    """A run of lock-step answers fixed in advance (:meth:`ReadTransfer.lockstep_run`).

    On an ACK for block number ``ack`` (16 bits, RFC 1350 §6) send
    ``buffer[offset : offset + slot]``; on an ACK for ``ack + 1`` the next
    ``slot`` octets, and so on, ``blocks`` datagrams in all.  Anything else ends
    the run and goes to the engine.
    """

    buffer: memoryview
    offset: int
    slot: int
    blocks: int
    ack: int


class ReadTransfer:
    """Sends one file to one client (an RRQ), sans-I/O.

    Blocks are tracked by absolute index (a Python int), their 16-bit wire
    numbers roll over from 65535 to 0 as tftp-hpa, dnsmasq, iPXE and EDK2
    expect.  Windows follow RFC 7440: send ``windowsize`` blocks, on an ACK
    for block k in the window send a new window from k + 1.  Only the timer
    retransmits; a repeated ACK never does (RFC 1123 §4.2.3.1, the Sorcerer's
    Apprentice bug).
    """

    __slots__ = (
        "_base",
        "_blksize",
        "_buffer",
        "_deadline",
        "_fast",
        "_first",
        "_interval",
        "_last",
        "_last_len",
        "_last_out",
        "_last_view",
        "_loaded",
        "_mv",
        "_nslots",
        "_oack",
        "_oack_out",
        "_payloads",
        "_replies",
        "_retries",
        "_sent_end",
        "_settings",
        "_singles",
        "_slot",
        "_source",
        "_stats",
        "_views",
        "_window",
        "_window_out",
        "done",
        "negotiated",
        "outcome",
    )

    def __init__(self, request: Request, source: BlockSource, settings: TftpSettings | None = None) -> None:
        """Prepare the transfer; ``source`` holds raw file bytes (netascii is translated here)."""
        if request.is_write:
            raise ValueError("ReadTransfer needs an RRQ")
        if request.mode is TransferMode.MAIL:
            raise ValueError("mail mode is refused; check refusal() first")
        self._settings = settings = settings if settings is not None else TftpSettings()
        if request.mode is TransferMode.NETASCII:
            source = NetasciiSource(source)  # RFC 1350 §1 / RFC 764 translation
        self._source = source
        self.negotiated = neg = negotiate(request, settings, source.size)
        self._blksize = bs = neg.blksize
        self._slot = bs + 4
        size = source.size
        self._window = neg.windowsize
        slots = max(neg.windowsize, min(READAHEAD_SLOTS, READAHEAD_BYTES // self._slot))  # read ahead
        self._nslots = slots if size is None else min(slots, size // bs + 1)
        self._buffer = bytearray(self._nslots * self._slot)
        self._mv = mv = memoryview(self._buffer)
        self._views: list[Datagram] = [mv[i * self._slot : (i + 1) * self._slot] for i in range(self._nslots)]
        self._payloads = [mv[i * self._slot + 4 : (i + 1) * self._slot] for i in range(self._nslots)]
        self._replies = [Reply(view, None) for view in self._views]
        self._singles = [Outcome((r,)) for r in self._replies]  # lock-step answers, built once
        self._window_out: OutcomeTftp = Outcome()  # the answer of the windowed path, reused
        self._oack: bytes | None = encode(Oack(neg.oack)) if neg.oack else None
        self._oack_out: OutcomeTftp = Outcome((Reply(self._oack, None),)) if self._oack is not None else NOTHING
        self._base = 0  # absolute index of the last acknowledged block
        self._sent_end = 0  # absolute index of the last block sent
        self._first = 1  # absolute index of the block in slot 0
        self._loaded = 0  # slots holding blocks (headers packed), from slot 0
        self._last: int | None = None  # absolute index of the final (short) block, once read
        self._last_len = 0
        self._last_view: Datagram = mv[:0]
        self._last_out: OutcomeTftp = NOTHING  # the final block's answer, built when it is read
        self._fast = 0  # full blocks sent by the lock-step fast path, not yet counted in _stats
        self._retries = 0
        self._interval = neg.timeout
        self._deadline: float | None = None
        self.done = False
        """True once the transfer ended; see :attr:`outcome`."""
        self.outcome: TransferOutcome | None = None
        """How the transfer ended, ``None`` while it runs."""
        self._stats = TransferStats(bs, neg.windowsize, neg.timeout, neg.tsize)

    @property
    def stats(self) -> TransferStats:
        """Counters and negotiated parameters (the lock-step path counts lazily; read here)."""
        n = self._fast
        if n:
            self._fast = 0
            s = self._stats
            s.datagrams_sent += n
            s.blocks_sent += n
            s.bytes_sent += n * self._blksize
        return self._stats

    @property
    def burst(self) -> memoryview:
        """The DATA datagrams of the last window as one buffer, back to back.

        Each is :attr:`segment_size` octets but the last, so one ``send`` with
        UDP GSO (``UDP_SEGMENT``) puts them all on the wire.  Same validity as
        the datagrams: until the next call into the transfer.  Empty while no
        DATA is outstanding (before the OACK is acknowledged).
        """
        sent_end, slot = self._sent_end, self._slot
        if sent_end <= self._base:
            return self._mv[:0]
        k1 = sent_end - self._first  # the window is blocks base+1 .. sent_end, all in the buffer
        end = k1 * slot + (4 + self._last_len if sent_end == self._last else slot)
        return self._mv[(self._base + 1 - self._first) * slot : end]

    @property
    def segment_size(self) -> int:
        """Octets of one full DATA datagram (``blksize`` + 4), the GSO segment size."""
        return self._slot

    # -- public API ---------------------------------------------------------

    def start(self, now: float) -> OutcomeTftp:
        """First datagrams: the OACK (RFC 2347) if options were accepted, else DATA from block 1."""
        self._stats.started = now
        if self._oack is not None:
            self._arm(now)
            self._stats.datagrams_sent += 1
            return self._oack_out
        return self._send_window(now)

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` must be called, or ``None`` when done."""
        return self._deadline

    def handle(self, datagram: bytes | bytearray | memoryview, meta: None, now: float) -> OutcomeTftp | None:
        """Handle one datagram from the client's TID (``meta``: nothing, the socket is connected).

        Never raises on bad input (undecodable datagrams are counted as ``ignored``).
        ``None``: nothing to send.
        """
        # Fast path, lock-step (RFC 1350 §6: one block per ACK): an ACK for the block just sent
        # whose successor is a full block already in the read-ahead buffer.  A few comparisons,
        # no allocation: the answer is the slot's prepared list, the counters are folded into
        # ``stats`` when read.  Everything else (windows, duplicates, the final block, retries,
        # the OACK phase, errors) takes the general path below.
        if len(datagram) >= 4 and datagram[1] == _ACK and datagram[0] == 0 and self._oack is None and not self.done:
            base = self._base
            delta = (((datagram[2] << 8) | datagram[3]) - base) & 0xFFFF
            if delta == 1 and self._sent_end == base + 1 and self._window == 1 and not self._retries:
                k = base + 2 - self._first  # slot of the next block (>= 1: the acked block is in the buffer)
                if k < self._loaded and base + 2 != self._last:
                    self._base = base + 1
                    self._sent_end = base + 2
                    self._deadline = now + self._interval
                    self._fast += 1
                    return self._singles[k]
        return self._receive(datagram, now)

    def lockstep_run(self) -> LockstepRun | None:
        """The lock-step blocks a transport may send on its own, or ``None``.

        In lock-step (RFC 1350 §6, windowsize 1) with block ``b`` outstanding
        and no retry under way, the answers to the next ACKs are fixed in
        advance: ACK ``b`` → DATA ``b + 1``, ACK ``b + 1`` → DATA ``b + 2`` … as
        far as the read-ahead buffer holds full blocks (the final block, a
        reload, a duplicate or any other datagram needs the engine).  The run
        describes exactly that sequence; a transport that executes it (a
        native pump: no Python per block) reports how many blocks it sent with
        :meth:`lockstep_advance` *before* the engine is called again.  The
        buffer must not be written meanwhile: the engine only writes it from
        :meth:`handle` and :meth:`on_timer`, which the transport calls only
        after that report.
        """
        if self._window != 1 or self._oack is not None or self.done or self._retries:
            return None
        base = self._base
        if self._sent_end != base + 1:
            return None
        nxt = base + 2
        k = nxt - self._first  # slot of the first block the run may send
        end = self._first + self._loaded  # one past the last block in the buffer
        if self._last is not None and self._last < end:
            end = self._last  # the final block goes through the engine (it ends the transfer)
        count = end - nxt
        if k < 0 or count <= 0:
            return None
        return LockstepRun(self._mv, k * self._slot, self._slot, count, (base + 1) & 0xFFFF)

    def lockstep_advance(self, count: int, now: float) -> None:
        """Account for ``count`` blocks a transport sent from :meth:`lockstep_run`, the last at ``now``.

        Exactly the state ``count`` calls of :meth:`handle` with the expected
        ACKs would have left (RFC 1350 §6: each ACK acknowledges one block
        and releases the next).
        """
        if count <= 0:
            return
        self._base += count
        self._sent_end += count
        self._fast += count
        self._deadline = now + self._interval

    def _receive(self, datagram: bytes | bytearray | memoryview, now: float) -> OutcomeTftp | None:
        """The general path of :meth:`handle`."""
        if self.done:
            self._stats.ignored += 1
            return None
        if len(datagram) >= 4 and datagram[1] == _ACK and datagram[0] == 0:
            block = (datagram[2] << 8) | datagram[3]
            if self._oack is not None:  # RFC 2347: the OACK is acknowledged with ACK 0
                if block != 0:
                    self._stats.ignored += 1
                    return None
                self._oack = None
                self._retries = 0
                self._interval = self.negotiated.timeout
                return self._send_window(now)
            base = self._base
            delta = (block - base) & 0xFFFF
            if delta == 0:
                self._stats.duplicate_acks += 1  # RFC 1123 §4.2.3.1: never retransmit on it
                return None
            if delta > self._sent_end - base:
                self._stats.ignored += 1  # a block never sent, or stale from before the window
                return None
            acked = base + delta
            if acked == self._last:
                self._stats.file_bytes = (acked - 1) * self._blksize + self._last_len
                self._finish(now, TransferOutcome(OutcomeKind.COMPLETE))
                return None
            self._base = acked  # RFC 7440: the next window starts after the acked block
            if self._retries:
                self._retries = 0
                self._interval = self.negotiated.timeout
            return self._send_window(now)
        return self._other(datagram, now)

    def on_timer(self, now: float) -> OutcomeTftp:
        """Retransmit the OACK or the current window if the deadline passed."""
        if self._deadline is None or now < self._deadline:
            return NOTHING
        self._stats.timer_expiries += 1
        self._retries += 1
        if self._retries > self._settings.max_retries:
            self._finish(now, self.unconfirmed_end() or TransferOutcome(OutcomeKind.TIMEOUT))
            return NOTHING
        s = self._settings
        self._interval = min(self.negotiated.timeout * s.backoff**self._retries, s.max_interval)
        if self._oack is not None:
            self._arm(now)
            self._stats.datagrams_sent += 1
            self._stats.retransmits += 1
            return self._oack_out
        out = self._send_window(now)
        self._stats.retransmits += len(out.replies)
        return out

    def unconfirmed_end(self, why: str = "final ACK not received") -> TransferOutcome | None:
        """The outcome of ending now if only the final window is owed to a client heard from, else None.

        Retries running out, or an ICMP port unreachable for a retransmission, right after the
        last block went out is RFC 1350 §6's lost final ACK, not a failed download. A client
        never heard during the transfer (no ACK of a block or of the OACK) may have gone before
        the file began, so that stays a failure.
        """
        last = self._last
        heard = self._base > 0 or (self._oack is None and self._oack_out is not NOTHING)
        if not heard or last is None or self._sent_end < last or last - self._base > self._window:
            return None
        self._stats.file_bytes = (last - 1) * self._blksize + self._last_len
        return TransferOutcome(OutcomeKind.UNCONFIRMED, why)

    # -- internals ------------------------------------------------------------

    def _arm(self, now: float) -> None:
        self._deadline = now + self._interval

    def _finish(self, now: float, outcome: TransferOutcome) -> None:
        self.done = True
        self.outcome = outcome
        self._deadline = None
        self._stats.finished = now

    def _other(self, datagram: bytes | bytearray | memoryview, now: float) -> OutcomeTftp | None:
        try:
            packet = decode(datagram)
        except DecodeError:
            self._stats.ignored += 1
            return None
        if isinstance(packet, ErrorPacket):  # RFC 1350 §7: an ERROR ends the transfer, unacknowledged
            self._finish(now, TransferOutcome(OutcomeKind.CLIENT_ERROR, packet.message or f"code {packet.code}"))
            return None
        self._stats.ignored += 1  # DATA, OACK or a request on a read transfer: ignore like tftp-hpa
        return None

    def _load(self, start: int) -> None:
        """Read the buffer full from block ``start`` on (one positioned scatter read) and pack headers.

        Reading ahead of the window saves a read per block in lock-step; a
        read short of the buffer ends the file unless the known size says
        more is to come (a source's short read: the full blocks are kept, the
        rest is read again later).
        """
        bs = self._blksize
        offset = (start - 1) * bs
        n = self._source.read_into(offset, self._payloads)
        full = n // bs
        size = self._source.size
        if n < self._nslots * bs and (size is None or offset + n >= size or full == 0):
            rem = n - full * bs
            self._last, self._last_len = start + full, rem
            self._last_view = self._views[full][: 4 + rem]  # the short (maybe empty) final block
            self._last_out = Outcome((Reply(self._last_view, None),))
            loaded = full + 1
        else:
            self._last = None
            loaded = full
        pack = DATA_HEADER.pack_into
        buf, slot = self._buffer, self._slot
        for i in range(loaded):
            pack(buf, i * slot, _DATA, (start + i) & 0xFFFF)
        self._first, self._loaded = start, loaded

    def _send_window(self, now: float) -> OutcomeTftp:
        """(Re)send the window that starts after the last acknowledged block."""
        start = self._base + 1
        k = start - self._first
        if self._window == 1 and 0 <= k < self._loaded:  # lock-step from the read-ahead: the hot path
            self._sent_end = start
            self._deadline = now + self._interval
            stats = self._stats
            stats.datagrams_sent += 1
            stats.blocks_sent += 1
            if start == self._last:
                stats.bytes_sent += self._last_len
                return self._last_out
            stats.bytes_sent += self._blksize
            return self._singles[k]
        start = self._base + 1
        end = start + self._window - 1
        last = self._last
        if last is not None and end > last:
            end = last
        first = self._first
        if start < first or end >= first + self._loaded:
            try:
                self._load(start)
            except OSError as exc:
                self._finish(now, TransferOutcome(OutcomeKind.SERVER_ERROR, f"read failed: {exc}"))
                return Outcome((Reply(encode_error(ErrorCode.NOT_DEFINED, "Read error"), None),))
            first = start
            end = min(start + self._window, start + self._loaded) - 1
            last = self._last
            if last is not None and end > last:
                end = last
        k = start - first
        count = end - start + 1
        if end == last:
            out = self._replies[k : k + count - 1]
            out.append(self._last_out.replies[0])
            payload = (count - 1) * self._blksize + self._last_len
        else:
            out = self._replies[k : k + count]
            payload = count * self._blksize
        self._sent_end = end
        stats = self._stats
        stats.datagrams_sent += count
        stats.blocks_sent += count
        stats.bytes_sent += payload
        self._deadline = now + self._interval
        answer = self._window_out
        answer.replies = out  # reused: valid until the next call, like the datagrams
        return answer
