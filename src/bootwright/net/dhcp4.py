"""The DHCPv4 service: sockets on each interface, the engine, durable leases, events.

One UDP socket per served interface, bound to ``0.0.0.0:67`` with
``SO_BINDTODEVICE`` (so the interface a request arrived on is known without
ancillary data, and nothing is heard on other interfaces), plus one send-only
``AF_PACKET`` socket per interface for replies that must reach a client's
hardware address before it has an IP address (RFC 2131 §4.1).

Each datagram is read with ``recvmsg`` and its ``IP_PKTINFO`` ancillary data
(ip(7): ``ipi_addr`` is the destination address of the IP header), so the
engine learns whether the client broadcast the request (255.255.255.255 or
the link's directed broadcast) or unicast it to us: RFC 2131 §4.3.2 tells a
REBINDING client (broadcast) from a RENEWING one (unicast) exactly so.

Each readable event drains up to :data:`BURST` datagrams: hand the octets to the
engine (which decodes them), send OFFERs/NAKs at once, and collect the ACKs whose
leases must be stored first. Those leases go to the store in one ``put_leases`` call (the
store group-commits concurrent calls into one fsync), and the ACKs leave when
it resolves: an ACK is never sent for a lease that is not on disk.

A proxy subnet (``mode = "proxy"``) adds a socket on the PXE boot server port
(``dhcp4.proxy_port``, 4011) per interface; its replies go back to each
request's source. On an interface that only carries proxy subnets, port 67 is
heard through a packet socket when another process holds it (or always, with
``dhcp4.proxy_listen = "packet"``) and replies leave through a raw IP socket
(:mod:`bootwright.net.dhcp4_nobind`); the ready line says which.

Undecodable datagrams are dropped and counted by the engine
(``engine.stats["undecodable"]``); an unexpected error while handling one packet
is logged and the loop goes on. The one timer is the sweep every
:data:`EXPIRE_EVERY` seconds: ``engine.on_timer(now)``, its writes stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from ipaddress import IPv4Address
from typing import Final

from bootwright.boot.foreign import subnets_on
from bootwright.boot.subnets import on_link4
from bootwright.config import Config
from bootwright.engine import Reply
from bootwright.engine.dhcp4.server import Dhcp4Engine, Outcome4, RxContext
from bootwright.model import Lease
from bootwright.net.dhcp4_nobind import IpSender
from bootwright.net.host import InterfaceInfo, discover_interfaces
from bootwright.net.linklayer import PacketReceiver, RawSender, udp_datagram
from bootwright.net.probe import check_link
from bootwright.runtime import Runtime, ServiceError
from bootwright.runtime.metrics import Reading
from bootwright.wire.dhcp4 import Destination

__all__ = [
    "BURST",
    "Dhcp4Service",
    "OptionNames",
    "broadcast_addresses",
    "create_service",
    "destination_was_broadcast",
    "getaddrinfo4",
    "option_names",
]

log = logging.getLogger("bootwright.dhcp4")

BURST: Final = 256  # datagrams read per readable event before yielding to the loop
RCVBUF: Final = 4 << 20  # socket receive buffer: absorbs bursts while a commit is pending
EXPIRE_EVERY: Final = 1.0  # seconds between expiry sweeps
# Group commit (PostgreSQL's commit_delay): once a lease is queued, wait this long for more
# before committing, unless FULL_BATCH are already waiting. Each commit is an fsync (~0.3 ms
# of CPU, 1-10 ms of wall time) and two thread hand-offs; a client waits seconds for its ACK,
# so 5 ms are free, and they cap commits at ~150/s however high the rate.
COMMIT_WINDOW: Final = 0.005
FULL_BATCH: Final = 64
_ERROR_LOG_INTERVAL: Final = 10.0
# ip(7) IP_PKTINFO (include/uapi/linux/in.h: 8; Python 3.11's socket module lacks it) and
# struct in_pktinfo {int ipi_ifindex; struct in_addr ipi_spec_dst; struct in_addr ipi_addr;}.
IP_PKTINFO: Final = getattr(socket, "IP_PKTINFO", 8)
_IN_PKTINFO: Final = struct.Struct("=i4s4s")
_CMSG_SPACE: Final = socket.CMSG_SPACE(_IN_PKTINFO.size)
_LIMITED_BROADCAST: Final = b"\xff\xff\xff\xff"  # RFC 919 limited broadcast; RFC 2131 §4.3.2 "0xffffffff"


@lru_cache(maxsize=65536)
def _text(addr: int) -> str:
    """Dotted quad of an address given as an integer (``IPv4Address`` hashes slowly)."""
    return f"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}"


def broadcast_addresses(info: InterfaceInfo) -> frozenset[bytes]:
    """Destinations that mean "broadcast" on this interface: 255.255.255.255 and each directed broadcast.

    (RFC 919 limited broadcast, RFC 922 directed broadcast on a subnet; /31
    and /32 networks have no broadcast address, RFC 3021.)
    """
    out = {_LIMITED_BROADCAST}
    for a in info.addresses:
        if a.network.prefixlen < 31:
            out.add(a.network.broadcast_address.packed)
    return frozenset(out)


def destination_was_broadcast(ancdata: list[tuple[int, int, bytes]], broadcasts: frozenset[bytes]) -> bool | None:
    """From ``recvmsg`` ancillary data: was the datagram's IP destination a broadcast address?

    ``None`` when no ``IP_PKTINFO`` came with it.
    """
    for level, kind, cdata in ancdata:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(cdata) >= _IN_PKTINFO.size:
            return cdata[8:12] in broadcasts  # ipi_addr: "the destination address in the packet header"
    return None


@dataclass(slots=True)
class _Port:
    """One served interface: its info, receive socket and link-layer sender.

    ``sock`` is the bound port-67 socket, or ``None`` when the interface is
    heard through ``packet`` and answered through ``ipsend`` (no bind; proxy
    only). ``pxe`` is the boot server socket (port 4011) of a proxy link.
    """

    info: InterfaceInfo
    sock: socket.socket | None
    raw: RawSender | None
    rx: RxContext
    broadcasts: frozenset[bytes] = frozenset((_LIMITED_BROADCAST,))  # see broadcast_addresses()
    by_destination: dict[bool | None, RxContext] = field(default_factory=dict)  # rx per IP destination kind
    packet: PacketReceiver | None = None
    ipsend: IpSender | None = None
    pxe: socket.socket | None = None

    def __post_init__(self) -> None:
        """One :class:`RxContext` per destination kind (broadcast, ours, unknown), built once."""
        self.by_destination = {b: replace(self.rx, broadcast=b) for b in (True, False, None)}


def _open_socket(name: str, port: int, pktinfo: bool = True, share: bool = True) -> socket.socket:
    """A UDP socket on ``port`` heard only on interface ``name``.

    ``share`` sets ``SO_REUSEADDR``. A proxy link's port 67 is bound without
    it, so the bind fails whenever any other process holds the port (even one
    that set ``SO_REUSEADDR`` itself, as ISC dhcpd's fallback socket does) and
    the link is heard through the packet socket instead: sharing the port
    would let the kernel hand that server's unicast renewals to us.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if share:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)  # RFC 2131 §4.1 broadcast replies
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, name.encode())
        if pktinfo:
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)  # destination address per datagram (ip(7))
        for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if opt is None:
                continue
            try:
                sock.setsockopt(socket.SOL_SOCKET, opt, RCVBUF)
                break
            except OSError:
                continue
        sock.bind(("0.0.0.0", port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


NAMES_REFRESH: Final = 300.0
"""Seconds between re-resolutions of host names used in options (a DNS TTL floor: names move rarely)."""
RESOLVE_TIMEOUT: Final = 5.0  # seconds one look-up may take before it counts as failed

Resolver = Callable[[str], Awaitable[tuple[IPv4Address, ...]]]
"""Looks one host name up; raises ``OSError``/``TimeoutError`` or returns no address when it cannot."""


async def getaddrinfo4(name: str) -> tuple[IPv4Address, ...]:
    """The IPv4 addresses of ``name`` from the system resolver (``getaddrinfo``), in its order."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(name, None, family=socket.AF_INET), RESOLVE_TIMEOUT)
    return tuple(dict.fromkeys(IPv4Address(i[4][0]) for i in infos))


def option_names(config: Config) -> list[str]:
    """Host names (values that are not IPv4 addresses) in the options that accept them: ``ntp_servers`` (42)."""
    values = [str(n) for s in config.subnet4 for n in (s.ntp_servers or ())]
    values += [str(n) for n in (config.dhcp4.ntp_servers or ())]
    return [v for v in dict.fromkeys(values) if not _is_address(v)]


class OptionNames:
    """The addresses of host names used in option values, kept current.

    Rule: names are looked up at start, after every reload and every
    :data:`NAMES_REFRESH` seconds, not once for the life of the process. A
    failed look-up keeps the last good addresses (a DNS outage must not take
    option 42 away from clients) and warns once, until the name resolves again.
    A name that never resolved is left out of the option.
    """

    def __init__(self, resolve: Resolver = getaddrinfo4) -> None:
        """``resolve``: the look-up (the system resolver; tests pass a fake)."""
        self.resolve = resolve
        self.addresses: dict[str, tuple[IPv4Address, ...]] = {}
        self.failing: set[str] = set()

    async def refresh(self, names: Iterable[str]) -> dict[str, tuple[IPv4Address, ...]]:
        """Look every name up again; returns the name → addresses map to use (a new dict)."""
        wanted = list(dict.fromkeys(names))
        for name in wanted:
            try:
                found = await self.resolve(name)
                if not found:
                    raise OSError("no IPv4 address")
            except (OSError, TimeoutError, ValueError) as e:  # ValueError: not encodable (IDNA)
                if name not in self.failing:
                    self.failing.add(name)
                    kept = self.addresses.get(name)
                    log.warning(
                        "dhcp4: cannot resolve %s (used in an option): %s; %s", name, e or type(e).__name__,
                        f"keeping {', '.join(map(str, kept))}" if kept else "it is left out until it resolves",
                    )
                continue
            if name in self.failing:
                self.failing.discard(name)
                log.info("dhcp4: %s resolves again: %s", name, ", ".join(map(str, found)))
            elif name in self.addresses and self.addresses[name] != found:
                log.info("dhcp4: %s now resolves to %s", name, ", ".join(map(str, found)))
            self.addresses[name] = found
        keep = set(wanted)
        self.addresses = {n: a for n, a in self.addresses.items() if n in keep}
        self.failing &= keep
        return dict(self.addresses)


def _is_address(value: str) -> bool:
    try:
        IPv4Address(value)
    except ValueError:
        return False
    return True


class Dhcp4Service:
    """The DHCPv4 server of one runtime (see the module docstring)."""

    name = "dhcp4"

    def __init__(self, runtime: Runtime, resolve: Resolver = getaddrinfo4) -> None:
        """Prepare; nothing is bound until :meth:`run`. ``resolve`` looks up host names in options."""
        self.runtime = runtime
        self.config = runtime.config
        self.engine: Dhcp4Engine | None = None
        self.ports: list[_Port] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # ACKs waiting for their leases to be durable, and the rows to commit (see _committer)
        self._waiting: list[tuple[_Port, Outcome4]] = []
        self._rows: list[Lease] = []
        self._wake: asyncio.Event | None = None
        self._error_logged_at = -1e18
        self._bug_logged_at = -1e18
        self.names = OptionNames(resolve)  # host names in options, re-resolved (see OptionNames)

    # ------------------------------------------------------------------ set-up

    def _wanted_interfaces(self, found: list[InterfaceInfo]) -> list[InterfaceInfo]:
        cfg = self.config
        by_name = {i.name: i for i in found}
        names = list(cfg.server.interfaces)
        if not names:
            names = [s.interface for s in cfg.subnet4 if s.interface]
        if not names:  # every interface with an address inside a subnet4
            names = [
                i.name for i in found if any(a.ip in s.subnet for a in i.addresses for s in cfg.subnet4)
            ]
        missing = [n for n in names if n not in by_name]
        if missing:

            raise ServiceError(
                f"dhcp4: interface {', '.join(missing)} does not exist here "
                f"(known: {', '.join(sorted(by_name)) or 'none'}); fix server.interfaces / subnet4.interface"
            )
        if not names:

            raise ServiceError("dhcp4: no interface carries a configured subnet4; set server.interfaces")
        return [by_name[n] for n in dict.fromkeys(names)]

    async def run(self) -> None:
        """Bind on every served interface, load leases and serve until cancelled."""
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, discover_interfaces, None)
        infos = self._wanted_interfaces(found)
        names = await self.names.refresh(option_names(self.config))
        own = [a.ip for i in infos for a in i.addresses]
        engine = self.engine = Dhcp4Engine(self.runtime.policy, names=names, own_addresses=own)
        report = await loop.run_in_executor(None, self.runtime.store.load_leases, 4)
        skipped = engine.load(report.leases, time.time())
        port = self.config.dhcp4.port
        proxy_port = self.config.dhcp4.proxy_port
        notes: list[str] = []
        try:
            for info in infos:
                proxy_only, any_proxy = self._proxy_link(engine, info)
                if proxy_only and self.config.dhcp4.proxy_listen == "packet":
                    sock = None
                else:
                    try:
                        sock = _open_socket(info.name, port, share=not proxy_only)
                    except OSError as e:
                        if e.errno != errno.EADDRINUSE or not proxy_only:
                            raise
                        sock = None
                raw: RawSender | None = None
                try:
                    raw = RawSender(info.name)
                except OSError as e:
                    log.warning("dhcp4: %s: no link-layer replies (%s); clients without the broadcast flag "
                                "may not hear us", info.name, e)
                rx = RxContext(info.name, tuple(a.ip for a in info.addresses), info.mtu)
                entry = _Port(info, sock, raw, rx, broadcast_addresses(info))
                self.ports.append(entry)
                if sock is not None:
                    loop.add_reader(sock.fileno(), self._readable, entry)
                else:
                    entry.packet = PacketReceiver(info.name, port, rcvbuf=RCVBUF)
                    entry.ipsend = IpSender(info.name)
                    loop.add_reader(entry.packet.fileno(), self._readable_packet, entry)
                    why = ("dhcp4.proxy_listen = packet" if self.config.dhcp4.proxy_listen == "packet"
                           else f"UDP {port} is held by another process")
                    notes.append(f"proxy on {info.name} through a packet socket ({why})")
                if any_proxy:
                    try:
                        entry.pxe = _open_socket(info.name, proxy_port, pktinfo=False)
                    except OSError as e:
                        self._close()
                        hint = " (another proxyDHCP server running?)" if e.errno == errno.EADDRINUSE else ""
                        raise ServiceError(f"dhcp4: cannot listen on the boot server port {proxy_port} "
                                           f"on {info.name}: {e.strerror or e}{hint}") from None
                    loop.add_reader(entry.pxe.fileno(), self._readable_pxe, entry)
                    if sock is not None:
                        notes.append(f"proxy on {info.name} (port {port} bound)")
            if any(p.pxe is not None for p in self.ports):
                notes.append(f"boot server port {proxy_port}")
        except OSError as e:
            self._close()

            hint = " (another DHCP server running?)" if e.errno == errno.EADDRINUSE else ""
            if e.errno in (errno.EPERM, errno.EACCES):
                hint = " (raw and packet sockets need CAP_NET_RAW)"
            raise ServiceError(f"dhcp4: cannot listen on port {port}: {e.strerror or e}{hint}") from None
        previous = self.runtime.mac_for_address
        self.runtime.mac_for_address = (
            self.mac_for_ip if previous is None else lambda a: self.mac_for_ip(a) or previous(a)
        )
        where = ", ".join(
            f"{p.info.name} ({', '.join(str(a) for a in p.info.addresses) or 'no address'})" for p in self.ports
        )
        self.runtime.mark_ready(
            "dhcp4",
            f"port {port} on {where}; " + "".join(n + "; " for n in notes)
            + f"{len(report.leases) - len(skipped)} leases loaded"
            + (f", {len(report.skipped) + len(skipped)} skipped" if report.skipped or skipped else ""),
        )
        committer = asyncio.create_task(self._committer(), name="dhcp4-commit")
        refresher = asyncio.create_task(self._keep_names(), name="dhcp4-names")
        prober = asyncio.create_task(self._check_links(), name="dhcp4-probe") if \
            self.config.dhcp4.probe_at_start else None
        self.runtime.metrics.add_source(self.name, self.reading)
        try:
            while True:
                await asyncio.sleep(EXPIRE_EVERY)
                self._expire()
        finally:
            self.runtime.metrics.remove_source(self.name, self.reading)
            self._close()
            committer.cancel()
            refresher.cancel()
            if prober is not None:
                prober.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    @staticmethod
    def _proxy_link(engine: Dhcp4Engine, info: InterfaceInfo) -> tuple[bool, bool]:
        """(every subnet served on the interface is a proxy one, any is)."""
        served = on_link4(engine.subnets, info.name, [int(a.ip) for a in info.addresses])
        return bool(served) and all(s.proxy for s in served), any(s.proxy for s in served)

    async def _check_links(self) -> None:
        """Look for other DHCP servers on each served link, in the background (docs/probe.md)."""
        try:
            for port in list(self.ports):
                info = port.info
                subnets = subnets_on(self.config, info.name, [a.ip for a in info.addresses])
                # Not holding UDP 67 here (a DHCP server on this host does): the probe also sends its
                # DISCOVER through the IP stack so that server hears it; where we hold the port we
                # would answer that copy ourselves.
                for warning in await check_link(info.name, subnets, local=port.sock is None):
                    log.warning("dhcp4: %s", warning)
        except Exception:  # a bug in the probe must not stop the service
            log.exception("dhcp4: the check for other DHCP servers failed")

    def _close(self) -> None:
        loop = asyncio.get_running_loop()
        for p in self.ports:
            for sock in (p.sock, p.pxe, p.packet):
                if sock is None:
                    continue
                with contextlib.suppress(Exception):
                    loop.remove_reader(sock.fileno())
                with contextlib.suppress(OSError):
                    sock.close()
            if p.raw is not None:
                p.raw.close()
            if p.ipsend is not None:
                p.ipsend.close()
        self.ports = []

    def mac_for_ip(self, address: str) -> str | None:
        """The MAC holding an IPv4 lease on ``address`` (``Runtime.mac_for_address``, for HTTP/TFTP events)."""
        engine = self.engine
        return engine.mac_for_ip(address, time.time()) if engine is not None else None

    def reading(self, now: float) -> Reading:
        """The engine's counters (``Dhcp4Engine.stats``) and pool usage, for ``/metrics`` (read at scrape time)."""
        engine = self.engine
        if engine is None:
            return Reading()
        return Reading(counters=dict(engine.stats), pools=engine.pool_usage(now))

    # ------------------------------------------------------------------ the hot path

    def _readable(self, port: _Port) -> None:
        engine = self.engine
        assert engine is not None and port.sock is not None
        now = time.time()
        if self.runtime.policy is not engine.policy:
            self._follow_reload(now)
        sock, stats, broadcasts, by_destination = port.sock, engine.stats, port.broadcasts, port.by_destination
        queued = False
        for _ in range(BURST):
            try:
                data, ancdata, _flags, peer = sock.recvmsg(65536, _CMSG_SPACE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                self._error(f"dhcp4: receive on {port.info.name} failed: {e}")
                break
            try:
                out = engine.handle(data, by_destination[destination_was_broadcast(ancdata, broadcasts)], now)
            except Exception:  # a bug: report it, keep serving
                stats["errors"] += 1
                if now - self._bug_logged_at >= _ERROR_LOG_INTERVAL:
                    self._bug_logged_at = now
                    log.exception("dhcp4: internal error handling a request from %s", peer[0])
                continue
            if out is None:
                continue
            if out.writes:  # durable first: the reply waits for the next group commit
                self._rows += out.writes
                self._waiting.append((port, out))
                queued = True
                continue
            for reply in out.replies:
                self._send(port, reply)
            self._emit(out)
        if queued:
            if self._wake is None:  # not running under run() (tests): commit this burst alone
                self._background(self._commit_once())
            else:
                self._wake.set()

    def _readable_packet(self, port: _Port) -> None:
        """Port 67 heard through the packet socket (no bind; proxy links only): answer at once."""
        engine = self.engine
        assert engine is not None and port.packet is not None
        now = time.time()
        if self.runtime.policy is not engine.policy:
            self._follow_reload(now)
        for _ in range(BURST):
            try:
                got = port.packet.receive()
            except OSError as e:
                self._error(f"dhcp4: receive on {port.info.name} (packet socket) failed: {e}")
                break
            if got is None:
                break
            rx = port.by_destination[got.destination.packed in port.broadcasts]
            self._answer_now(port, got.payload, rx, now, str(got.source))

    def _readable_pxe(self, port: _Port) -> None:
        """A datagram on the boot server port (PXE 2.1 §2.2.3): the reply goes to its source."""
        engine = self.engine
        assert engine is not None and port.pxe is not None
        now = time.time()
        if self.runtime.policy is not engine.policy:
            self._follow_reload(now)
        for _ in range(BURST):
            try:
                data, peer = port.pxe.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                self._error(f"dhcp4: receive on {port.info.name} port {self.config.dhcp4.proxy_port} failed: {e}")
                break
            rx = replace(port.rx, boot_server=True, source=(IPv4Address(peer[0]), peer[1]))
            self._answer_now(port, data, rx, now, peer[0], pxe=True)

    def _answer_now(self, port: _Port, data: bytes, rx: RxContext, now: float, peer: str, pxe: bool = False) -> None:
        """Handle one datagram whose replies need no stored lease first (proxy replies); leases are queued."""
        engine = self.engine
        assert engine is not None
        try:
            out = engine.handle(data, rx, now)
        except Exception:  # a bug: report it, keep serving
            engine.stats["errors"] += 1
            if now - self._bug_logged_at >= _ERROR_LOG_INTERVAL:
                self._bug_logged_at = now
                log.exception("dhcp4: internal error handling a request from %s", peer)
            return
        if out is None:
            return
        if out.writes:
            self._rows += out.writes
            self._waiting.append((port, out))
            if self._wake is not None:
                self._wake.set()
            else:
                self._background(self._commit_once())
            return
        for reply in out.replies:
            self._send(port, reply, pxe)
        self._emit(out)

    async def _committer(self) -> None:
        """Group commit: store every lease queued since the last commit in one transaction, then reply.

        The first queued lease opens a :data:`COMMIT_WINDOW`; everything queued
        by its end (or while a commit is in flight) goes in one transaction, so
        the batch grows with the load and fsyncs per second stay bounded.
        """
        self._wake = wake = asyncio.Event()
        try:
            while True:
                await wake.wait()
                if len(self._rows) < FULL_BATCH:
                    await asyncio.sleep(COMMIT_WINDOW)
                wake.clear()
                await self._commit_once()
        finally:
            self._wake = None

    async def _commit_once(self) -> None:
        rows, waiting = self._rows, self._waiting
        if not rows:
            return
        self._rows, self._waiting = [], []
        try:
            await self.runtime.store.put_leases(rows)
        except Exception as e:
            if self.engine is not None:
                self.engine.stats["store_errors"] += 1
            withheld = sum(len(out.replies) for _, out in waiting)
            self._error(f"dhcp4: leases not stored ({e}); {withheld} ACK(s) withheld")
            return
        self.runtime.leases_stored(rows)
        for port, out in waiting:
            if port in self.ports:
                for reply in out.replies:
                    self._send(port, reply)
            self._emit(out)

    def _send(self, port: _Port, reply: Reply[Destination], pxe: bool = False) -> None:
        data, dest = reply
        try:
            if pxe and port.pxe is not None:  # the boot server port: back to the request's source
                port.pxe.sendto(data, (_text(int(dest.address)), dest.port))
            elif port.sock is None:  # no bind: from port 67 through the raw IP socket
                self._send_unbound(port, bytes(data), dest)
            elif dest.link_layer and port.raw is not None:
                src = port.info.address_for(dest.address)
                if src is None:
                    raise OSError("the interface has no IPv4 address to send from")
                sport, dport = self.engine.ports if self.engine else (67, 68)
                port.raw.send(udp_datagram(bytes(data), src, dest.address, sport, dport), dest.chaddr)
            elif dest.link_layer:  # no AF_PACKET: broadcast instead (RFC 2131 §4.1 allows it)
                port.sock.sendto(data, ("255.255.255.255", dest.port))
            else:
                port.sock.sendto(data, (_text(int(dest.address)), dest.port))
        except OSError as e:
            if self.engine is not None:
                self.engine.stats["send_errors"] += 1
            self._error(f"dhcp4: sending to {dest.address}:{dest.port} ({dest.reason}) failed: {e}")

    def _send_unbound(self, port: _Port, data: bytes, dest: Destination) -> None:
        assert port.ipsend is not None
        src = port.info.address_for(dest.address)
        if src is None:
            raise OSError("the interface has no IPv4 address to send from")
        sport, dport = self.engine.ports if self.engine else (67, 68)
        if dest.link_layer and port.raw is not None:
            port.raw.send(udp_datagram(data, src, dest.address, sport, dport), dest.chaddr)
        else:
            port.ipsend.send(udp_datagram(data, src, dest.address, sport, dest.port), dest.address)

    def _emit(self, out: Outcome4) -> None:
        emit = self.runtime.events.emit
        for kind, mac, host, detail in out.events:
            emit(kind, mac=mac, host=host, **detail)

    def _error(self, text: str) -> None:
        now = time.monotonic()
        if now - self._error_logged_at >= _ERROR_LOG_INTERVAL:
            self._error_logged_at = now
            log.error("%s", text)

    # ------------------------------------------------------------------ expiry

    def _follow_reload(self, now: float) -> None:
        """The configuration or the hosts changed (``runtime.policy`` swapped): re-derive, keep leases."""
        assert self.engine is not None
        dropped = self.engine.set_policy(self.runtime.policy, now)
        log.info("dhcp4: configuration applied%s", f"; {len(dropped)} lease(s) dropped" if dropped else "")
        task = asyncio.ensure_future(self.refresh_names())  # the reload may have named new hosts in options
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def refresh_names(self) -> None:
        """Look the host names in options up again and give the engine any change."""
        names = await self.names.refresh(option_names(self.runtime.policy.config))
        engine = self.engine
        if engine is not None and names != engine.names:
            engine.set_names(names)

    async def _keep_names(self) -> None:
        """Re-resolve every :data:`NAMES_REFRESH` seconds while serving."""
        while True:
            await asyncio.sleep(NAMES_REFRESH)
            await self.refresh_names()

    def _expire(self) -> None:
        engine = self.engine
        if engine is None:
            return
        now = time.time()
        if self.runtime.policy is not engine.policy:
            self._follow_reload(now)
        out = engine.on_timer(now)
        store = self.runtime.store
        if out.writes:
            log.debug("dhcp4: %d lease(s) expired", len(out.writes))
            self._background(self._store_expired(list(out.writes)))
        if out.forget:
            self._background(store.delete_leases(4, list(out.forget)))

    async def _store_expired(self, rows: list[Lease]) -> None:
        """Expired leases stored, then told to the lease listeners (``Runtime.leases_stored``)."""
        await self.runtime.store.put_leases(rows)
        self.runtime.leases_stored(rows)

    def _background(self, coro: object) -> None:
        async def run() -> None:
            try:
                await coro  # type: ignore[misc]
            except Exception as e:
                self._error(f"dhcp4: state store write failed: {e}")

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def create_service(runtime: Runtime) -> Dhcp4Service | None:
    """The service factory for ``app``: ``None`` when DHCPv4 is off or has no subnet."""
    cfg = runtime.config
    if not cfg.dhcp4.enabled or not cfg.subnet4:
        return None
    return Dhcp4Service(runtime)
