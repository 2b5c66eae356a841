"""The syslog receiver: the lines booting machines log over UDP, in their boot timelines (off by default).

iPXE logs its console to a syslog server once its ``syslog`` setting names
one (``set syslog 192.0.2.1`` in a script, or DHCP option 7), and Linux logs
its console with ``netconsole=…,514@192.0.2.1/``; docs/syslog.md shows both.
This service receives those datagrams on ``[syslog] port`` and reports each
line as one ``syslog.message`` event keyed by the MAC of its source address
(:meth:`Runtime.client_mac <bootwright.runtime.Runtime.client_mac>`: the
lease tables, then the neighbour table), as smee does — so ``bootwright
events HOST`` shows what the machine itself said between its DHCP and HTTP
steps. The forms (RFC 5424, RFC 3164, netconsole) are decoded by
:mod:`bootwright.wire.syslog`; this module only moves datagrams.

Per datagram, in order:

1. longer than ``[syslog] max_message`` octets: dropped (``oversized``);
2. over its source address's token bucket (``[syslog] rate`` lines per
   second, bursts of ``burst``; at most :data:`MAX_SOURCES` sources are
   remembered, the least recently heard one is forgotten first): dropped
   (``rate_limited``), and at most one warning per :data:`WARN_INTERVAL`
   seconds for all sources together says who and how many;
3. undecodable: dropped (``malformed``);
4. the event: ``source``, ``severity``, ``facility``, ``app``, ``text``.

Drops are counted in :attr:`SyslogService.counters` (read by ``/metrics``) and
logged at debug level only: a datagram from the network never costs more than
a counter increment. Listening is ``[syslog] listen`` (default ``0.0.0.0`` and
``::`` with ``IPV6_V6ONLY``; the default ``::`` may be missing on a host
without IPv6), as the HTTP service binds ``[http] listen``.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from collections import OrderedDict
from typing import Final

from bootwright.boot.policy import BootPolicy
from bootwright.model import EventKind
from bootwright.runtime import Runtime, ServiceError
from bootwright.runtime.metrics import Reading
from bootwright.wire import DecodeError
from bootwright.wire.syslog import decode

__all__ = ["MAX_SOURCES", "WARN_INTERVAL", "SourceLimiter", "SyslogService", "bind_udp", "create_service"]

log = logging.getLogger("bootwright.syslog")

READS_PER_WAKEUP: Final = 64
"""Datagrams read from one socket per loop wakeup (bounded work per callback)."""
MAX_SOURCES: Final = 4096
"""Source addresses whose token bucket is remembered at once."""
WARN_INTERVAL: Final = 60.0
"""Seconds between warnings about rate-limited sources (all sources together)."""
COUNTERS: Final = ("received", "oversized", "rate_limited", "malformed", "recv_error", "internal_error",
                   "rfc5424", "rfc3164", "netconsole")  # fmt: skip
"""What :attr:`SyslogService.counters` counts: datagrams, drops by reason, errors, lines by form."""


class SourceLimiter:
    """A token bucket per source address (pure: time is an argument), at most ``max_sources`` of them."""

    def __init__(self, rate: float, burst: int, max_sources: int = MAX_SOURCES) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_sources = max_sources
        self.buckets: OrderedDict[str, list[float]] = OrderedDict()  # source -> [tokens, last]; oldest first

    def allow(self, source: str, now: float) -> bool:
        """Take one token of ``source``'s bucket; ``False``: the line is over the limit."""
        bucket = self.buckets.get(source)
        if bucket is None:
            if len(self.buckets) >= self.max_sources:
                self.buckets.popitem(last=False)
            self.buckets[source] = [self.burst - 1.0, now]
            return True
        self.buckets.move_to_end(source)
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return True
        bucket[0] = tokens
        return False


def bind_udp(addresses: list[str], port: int) -> list[socket.socket]:
    """Non-blocking UDP sockets on ``addresses`` (default ``0.0.0.0`` and ``::``) and ``port``.

    With ``port`` 0 the first socket's ephemeral port is used for the others. Raises
    :class:`ServiceError` naming the address that cannot be bound; only the default
    ``::`` may be missing (IPv6 disabled). The HTTP service's ``bind_sockets`` does the
    same for TCP (``net`` and ``web`` do not import each other).
    """
    optional_v6 = not addresses
    out: list[socket.socket] = []
    try:
        for address in addresses or ["0.0.0.0", "::"]:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            shown = f"[{address}]" if family == socket.AF_INET6 else address
            try:
                sock = socket.socket(family, socket.SOCK_DGRAM)
            except OSError as exc:
                if optional_v6 and family == socket.AF_INET6:
                    log.warning("syslog: no IPv6 socket (%s); receiving IPv4 only", exc.strerror)
                    continue
                raise ServiceError(f"syslog: cannot open a socket for {shown}: {exc.strerror}") from None
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((address, port))
                sock.setblocking(False)
            except OSError as exc:
                sock.close()
                if optional_v6 and family == socket.AF_INET6 and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    log.warning("syslog: cannot listen on [::] (%s); receiving IPv4 only", exc.strerror)
                    continue
                hint = (
                    " (another syslog daemon? rsyslog and syslog-ng listen on 514; change [syslog] port)"
                    if exc.errno == errno.EADDRINUSE
                    else " (a port below 1024 needs root or CAP_NET_BIND_SERVICE)"
                    if exc.errno == errno.EACCES
                    else ""
                )
                raise ServiceError(f"syslog: cannot listen on {shown}:{port}: {exc.strerror}{hint}") from None
            if port == 0:
                port = sock.getsockname()[1]
            out.append(sock)
    except BaseException:
        for sock in out:
            sock.close()
        raise
    return out


class SyslogService:
    """The ``syslog`` service of :mod:`bootwright.app`."""

    name = "syslog"

    def __init__(self, runtime: Runtime, port: int | None = None) -> None:
        """Prepare from ``runtime.config.syslog``; ``port`` overrides it (0: an ephemeral port, for tests)."""
        cfg = runtime.config.syslog
        self.runtime = runtime
        self.port = cfg.port if port is None else port
        self.listen = [str(a) for a in cfg.listen]
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        """Datagrams, drops by reason, receive errors and lines by form (read by ``/metrics``)."""
        self.bound: list[str] = []
        """``address:port`` of every listening socket, once running."""
        self.limiter = SourceLimiter(cfg.rate, cfg.burst)
        self.max_message = cfg.max_message
        self._policy: BootPolicy = runtime.policy
        self._sockets: list[socket.socket] = []
        self._warned_at = -WARN_INTERVAL
        self._unwarned = 0  # lines dropped by the rate limit since the last warning

    # -- life cycle ---------------------------------------------------------

    async def run(self) -> None:
        """Bind, report ready, receive until cancelled; close the sockets on the way out."""
        loop = asyncio.get_running_loop()
        try:
            self._sockets = bind_udp(self.listen, self.port)
            for sock in self._sockets:
                address, port = sock.getsockname()[:2]
                self.bound.append(f"[{address}]:{port}" if sock.family == socket.AF_INET6 else f"{address}:{port}")
                loop.add_reader(sock.fileno(), self._on_readable, sock)
            if self._sockets:
                self.port = self._sockets[0].getsockname()[1]
            self.runtime.mark_ready(self.name, ", ".join(self.bound))
            self.runtime.metrics.add_source(self.name, self.reading)
            await asyncio.Event().wait()
        finally:
            self.runtime.metrics.remove_source(self.name, self.reading)
            for sock in self._sockets:
                if sock.fileno() >= 0:
                    loop.remove_reader(sock.fileno())
                sock.close()
            self._sockets = []

    def reading(self, now: float) -> Reading:
        """:attr:`counters` for ``/metrics`` (read at scrape time)."""
        return Reading(counters=dict(self.counters))

    def _current(self) -> None:
        """Follow a hot reload: limits and the size cap apply at once; addresses and port need a restart."""
        policy = self.runtime.policy
        if policy is self._policy:
            return
        old, cfg = self._policy.config.syslog, policy.config.syslog
        self._policy = policy
        if (cfg.enabled, cfg.port, cfg.listen) != (old.enabled, old.port, old.listen):
            log.warning("syslog: [syslog] enabled, port or listen changed; restart bootwright serve to apply it")
        self.limiter.rate, self.limiter.burst, self.max_message = cfg.rate, float(cfg.burst), cfg.max_message

    # -- datagrams ------------------------------------------------------------

    def _on_readable(self, sock: socket.socket) -> None:
        self._current()
        counters = self.counters
        for _ in range(READS_PER_WAKEUP):
            try:
                data, peer = sock.recvfrom(self.max_message + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error queued on the socket: nothing to read, go on
                counters["recv_error"] += 1
                log.debug("syslog: receive failed: %s", exc)
                return
            counters["received"] += 1
            try:
                self._datagram(data, str(peer[0]))
            except Exception:  # a bug must not stop the receiver
                counters["internal_error"] += 1
                log.exception("syslog: a datagram from %s could not be handled", peer[0])

    def _datagram(self, data: bytes, source: str) -> None:
        """One datagram from ``source`` (see the module docstring for the order of the checks)."""
        counters = self.counters
        if len(data) > self.max_message:
            counters["oversized"] += 1
            log.debug("syslog: %s: datagram over %d octets dropped ([syslog] max_message)", source, self.max_message)
            return
        now = time.monotonic()
        if not self.limiter.allow(source, now):
            counters["rate_limited"] += 1
            self._unwarned += 1
            if now - self._warned_at >= WARN_INTERVAL:
                log.warning(
                    "syslog: %s sends more than %g lines/s (bursts of %d; [syslog] rate, burst); "
                    "%d line(s) over the limit dropped since %s, from every source",
                    source,
                    self.limiter.rate,
                    self.limiter.burst,
                    self._unwarned,
                    "the last warning" if self._warned_at >= 0 else "the start",
                )
                self._warned_at, self._unwarned = now, 0
            return
        try:
            message = decode(data)
        except DecodeError as exc:
            counters["malformed"] += 1
            log.debug("syslog: %s: undecodable datagram dropped: %s", source, exc)
            return
        counters[message.format] += 1
        runtime = self.runtime
        mac = runtime.client_mac(source)
        host = runtime.policy.hosts.by_mac.get(mac) if mac else None
        runtime.events.emit(
            EventKind.SYSLOG_MESSAGE, mac, host.name if host is not None else None,
            source=source.split("%", 1)[0],
            severity=message.severity.label if message.severity is not None else None,
            facility=message.facility.label,
            app=message.app,
            text=message.text,
        )  # fmt: skip


def create_service(runtime: Runtime) -> SyslogService | None:
    """Service factory for :mod:`bootwright.app`: ``None`` unless ``[syslog] enabled = true``."""
    if not runtime.config.syslog.enabled:
        return None
    return SyslogService(runtime)
