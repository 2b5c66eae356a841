"""The DHCPv6 service: UDP port 547 on the configured interfaces, around the sans-I/O engine.

One socket per interface (``SO_BINDTODEVICE``, all bound to ``[::]:547`` with
``SO_REUSEADDR``) joined to All_DHCP_Relay_Agents_and_Servers and All_DHCP_Servers
(RFC 8415 §7.1) on that interface only. ``IPV6_RECVPKTINFO`` (RFC 3542 §6) tells
multicast from unicast destinations (RFC 8415 §16). Each readable event drains the
socket in a bounded batch; replies that bind leases wait for one group commit of the
whole batch (:meth:`~bootwright.store.sqlite.SqliteStore.put_leases`), so the lease is
durable before its Reply leaves, as RFC 8415 §18.3.2 expects of a server's records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
import uuid
from collections.abc import Mapping, Sequence
from ipaddress import IPv6Address
from typing import Final

from bootwright.boot.subnets import on_link6
from bootwright.config import Config, Subnet6
from bootwright.engine.dhcp6.server import Dhcp6Engine, Outcome6, Received
from bootwright.model import Lease
from bootwright.net.host import LinkAddress, carries, interface_addresses, mac_address
from bootwright.runtime import Runtime, ServiceError
from bootwright.runtime.metrics import Reading
from bootwright.store.base import LeaseStore, StoreError
from bootwright.wire import DecodeError
from bootwright.wire.dhcp6 import ALL_DHCP_RELAY_AGENTS_AND_SERVERS, ALL_DHCP_SERVERS, SERVER_PORT, DuidLLT, DuidUUID
from bootwright.wire.dhcp6 import decode_duid as _decode_duid

__all__ = ["DUID_META_KEY", "Dhcp6Service", "create_service", "load_server_duid", "open_dhcp6_socket", "served_links"]

log = logging.getLogger("bootwright.dhcp6")

DUID_META_KEY: Final = "dhcp6.server_duid"
"""Store meta key of the server DUID, kept across restarts (RFC 8415 §11: a DUID must be stable)."""
DUID_EPOCH: Final = 946684800  # 2000-01-01T00:00:00Z, the DUID-LLT time origin (RFC 8415 §11.2)
BATCH: Final = 128  # datagrams handled per readable event before yielding to the loop
RCVBUF: Final = 4 << 20
EXPIRE_EVERY: Final = 60.0  # seconds between sweeps of expired bindings
COMMIT_WINDOW: Final = 0.005  # seconds binding Replies wait to share one commit (RT ≥ 1 s, RFC 8415 §15)
_IN6_PKTINFO: Final = struct.Struct("=16sI")  # struct in6_pktinfo (RFC 3542 §6.1)
_CMSG_SPACE: Final = socket.CMSG_SPACE(_IN6_PKTINFO.size)
SO_BINDTODEVICE: Final = getattr(socket, "SO_BINDTODEVICE", 25)
SO_RCVBUFFORCE: Final = getattr(socket, "SO_RCVBUFFORCE", 33)
IPV6_RECVPKTINFO: Final = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO: Final = getattr(socket, "IPV6_PKTINFO", 50)


def served_links(config: Config, addresses: Mapping[str, list[LinkAddress]]) -> dict[str, Subnet6 | None]:
    """DHCPv6 interfaces, each with the subnet6 of its directly attached clients.

    Only configured interfaces: those in ``server.interfaces`` or a
    ``subnet6.interface``; when none is named at all, those that carry an
    address inside a configured subnet6 (``ServerSection`` documents this). A
    subnet6 belongs to a link when it names the interface, else when the
    interface carries an address inside its prefix; a link with none still
    relays-in and answers Information-requests with the global options.
    """
    named = list(dict.fromkeys([*config.server.interfaces, *(s.interface for s in config.subnet6 if s.interface)]))
    names = named or [
        name for name, addrs in addresses.items() if any(carries(addrs, s.prefix) for s in config.subnet6)
    ]
    # The one rule for a link's own subnet (boot.subnets.on_link6), with the link's addresses.
    return {name: on_link6(config.subnet6, name, (a.address for a in addresses.get(name, ()))) for name in names}


def load_server_duid(store: LeaseStore, interfaces: list[str], now: float | None = None) -> bytes:
    """The server DUID from the store, or a new DUID-LLT (RFC 8415 §11.2) stored durably.

    The MAC is the first served interface's; without one, a DUID-UUID (RFC 6355).
    """
    raw = store.get_meta(DUID_META_KEY)
    if raw:
        try:
            _decode_duid(raw)
            return raw
        except DecodeError as e:
            log.warning("stored DHCPv6 server DUID %s is unusable (%s); making a new one", raw.hex(), e)
    mac = next((m for m in (mac_address(n) for n in interfaces) if m is not None), None)
    t = int((time.time() if now is None else now) - DUID_EPOCH) & 0xFFFFFFFF
    duid = DuidLLT(1, t, mac).encode() if mac is not None else DuidUUID(uuid.uuid4().bytes).encode()
    store.set_meta(DUID_META_KEY, duid)
    return duid


def open_dhcp6_socket(name: str, port: int = SERVER_PORT) -> socket.socket:
    """A non-blocking UDP socket on ``[::]:port`` bound to interface ``name``, in the DHCPv6 groups."""
    ifindex = socket.if_nametoindex(name)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, name.encode())
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind(("::", port))
        for group in (ALL_DHCP_RELAY_AGENTS_AND_SERVERS, ALL_DHCP_SERVERS):
            mreq = group.packed + struct.pack("@I", ifindex)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def address_text(packed: bytes) -> str:
    """``str(IPv6Address(packed))`` ten times faster: glibc's ``inet_ntop`` writes the same RFC 5952
    text, except for addresses with 80 leading zero bits (IPv4-compatible/-mapped forms)."""
    if any(packed[:10]):
        return socket.inet_ntop(socket.AF_INET6, packed)
    return str(IPv6Address(packed))


def _to_multicast(ancdata: list[tuple[int, int, bytes]]) -> bool:
    """Whether the datagram was sent to a multicast group (``IPV6_PKTINFO``); True if unknown."""
    if ancdata:
        level, kind, data = ancdata[0]  # the only control message asked for
        if kind == IPV6_PKTINFO and level == socket.IPPROTO_IPV6 and data:
            return data[0] == 0xFF  # RFC 4291 §2.7: multicast addresses start with ff
    return True


class Dhcp6Service:
    """DHCPv6 on every served interface until cancelled."""

    name = "dhcp6"

    def __init__(self, runtime: Runtime, port: int = SERVER_PORT) -> None:
        self.runtime = runtime
        self.port = port
        self.engine: Dhcp6Engine | None = None
        self._socks: dict[str, socket.socket] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: list[tuple[socket.socket, Outcome6, tuple[str, int, int, int]]] = []
        self._committing = False
        self._addresses: dict[str, IPv6Address] = {}
        self.send_errors = 0

    async def run(self) -> None:
        """Bind, load the DUID and leases, serve until cancelled, then close the sockets."""
        rt = self.runtime
        loop = asyncio.get_running_loop()
        links = served_links(rt.config, interface_addresses())
        if not links:
            raise ServiceError("DHCPv6: no interface to serve; name one in server.interfaces or subnet6.interface")
        for name in links:
            try:
                socket.if_nametoindex(name)
            except OSError:
                raise ServiceError(f"DHCPv6: interface {name!r} (from the config) does not exist") from None
        duid = await loop.run_in_executor(None, load_server_duid, rt.store, list(links))
        report = await loop.run_in_executor(None, rt.store.load_leases, 6)
        self.engine = Dhcp6Engine(rt.policy, duid, links, report.leases, time.time(), address_text)
        try:
            for name in links:
                try:
                    self._socks[name] = sock = open_dhcp6_socket(name, self.port)
                except OSError as e:
                    hint = " (another DHCPv6 server running?)" if e.errno == 98 else ""
                    where = f"[::]:{self.port}%{name}"
                    raise ServiceError(f"DHCPv6: cannot listen on {where}: {e.strerror}{hint}") from None
                loop.add_reader(sock.fileno(), self._readable, name, sock)
            previous = rt.mac_for_address
            rt.mac_for_address = self.mac_for_ip if previous is None else lambda a: self.mac_for_ip(a) or previous(a)
            skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
            rt.mark_ready(
                "dhcp6",
                f"port {self.port} on {', '.join(links)}; server DUID {duid.hex()}; "
                f"{len(self.engine.table)} leases loaded{skipped}",
            )
            rt.metrics.add_source(self.name, self.reading)
            while True:
                await asyncio.sleep(EXPIRE_EVERY)
                self._expire()
        finally:
            rt.metrics.remove_source(self.name, self.reading)
            for sock in self._socks.values():
                with contextlib.suppress(Exception):
                    loop.remove_reader(sock.fileno())
            for task in list(self._tasks):
                task.cancel()
            for sock in self._socks.values():
                sock.close()
            self._socks.clear()

    def mac_for_ip(self, address: str) -> str | None:
        """The MAC bound to an IPv6 address by a lease (``Runtime.mac_for_address``, for HTTP/TFTP events)."""
        engine = self.engine
        return engine.mac_for_ip(address, time.time()) if engine is not None and ":" in address else None

    def reading(self, now: float) -> Reading:
        """The engine's counters (``Dhcp6Engine.counters``, plus ``send_error``) and pool usage, for ``/metrics``."""
        engine = self.engine
        if engine is None:
            return Reading()
        return Reading(counters={**engine.counters, "send_error": self.send_errors}, pools=engine.pool_usage(now))

    def _follow_reload(self) -> None:
        """``runtime.policy`` was swapped (hot reload): re-derive everything but the bindings."""
        assert self.engine is not None
        links = served_links(self.runtime.policy.config, interface_addresses())
        self.engine.set_policy(self.runtime.policy, {n: links.get(n) for n in self._socks})
        log.info("dhcp6: configuration applied (interfaces stay as they were: %s)", ", ".join(self._socks))

    def _expire(self) -> None:
        engine = self.engine
        if engine is None:
            return
        if self.runtime.policy is not engine.policy:
            self._follow_reload()
        out = engine.on_timer(time.time())
        if out.writes or out.forget:
            task = asyncio.get_running_loop().create_task(self._store_expired(out.writes, out.forget))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _store_expired(self, writes: Sequence[Lease], deletes: Sequence[str]) -> None:
        try:
            if writes:
                await self.runtime.store.put_leases(writes)
                self.runtime.leases_stored(writes)
            if deletes:
                await self.runtime.store.delete_leases(6, deletes)
        except StoreError as e:
            log.error("dhcp6: expired leases not recorded: %s", e)

    # ------------------------------------------------------------------ datagrams

    def _readable(self, name: str, sock: socket.socket) -> None:
        engine = self.engine
        assert engine is not None
        if self.runtime.policy is not engine.policy:
            self._follow_reload()
        pending: list[tuple[socket.socket, Outcome6, tuple[str, int, int, int]]] = []
        emit = self.runtime.events.emit
        handle, sendto, addresses = engine.handle, sock.sendto, self._addresses
        now = time.time()
        for _ in range(BATCH):
            try:
                data, anc, _flags, addr = sock.recvmsg(65536, _CMSG_SPACE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                engine.counters["recv_error"] += 1
                log.debug("DHCPv6 recv on %s: %s", name, e)
                break
            host = addr[0]
            if "%" in host:
                host = host.split("%", 1)[0]
            src = addresses.get(host)
            if src is None:  # parsing is slow; a link has few DHCPv6 sources (clients, relays)
                if len(addresses) >= 4096:
                    addresses.clear()
                src = addresses[host] = IPv6Address(host)
            out = handle(data, Received(src, name, _to_multicast(anc)), now)
            if out is None:
                continue
            dest = (host, out.replies[0].to, 0, addr[3]) if out.replies else (host, 0, 0, addr[3])
            if out.writes:
                pending.append((sock, out, dest))  # events once the Reply is sent
                continue
            for reply in out.replies:  # to the source, at the port the engine says (RFC 8415 §18.3.10, §19.3)
                try:
                    sendto(reply.data, dest)
                except OSError as e:
                    self._send_failed(dest, e)
            for ev in out.events:
                emit(ev.kind, ev.mac, ev.host, **ev.detail)
        if pending:
            self._waiting += pending
            if not self._committing:
                self._committing = True
                task = asyncio.get_running_loop().create_task(self._commit())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _commit(self) -> None:
        """Store the waiting replies' leases, then send the replies; repeat while more wait.

        Replies that arrive during a commit join the next one, so under load one
        transaction carries many leases (and the store groups other services' writes too).
        """
        try:
            while self._waiting:
                # A commit costs ~0.2 ms of CPU however few rows it carries (fsync, the writer
                # thread's hand-overs): gather what arrives in the next COMMIT_WINDOW first.
                await asyncio.sleep(COMMIT_WINDOW)
                pending, self._waiting = self._waiting, []
                leases: list[Lease] = [lease for _, out, _ in pending for lease in out.writes]
                try:
                    await self.runtime.store.put_leases(leases)
                except StoreError as e:
                    assert self.engine is not None
                    self.engine.counters["store_error"] += len(pending)
                    log.error("DHCPv6: %d replies not sent, their leases could not be stored: %s", len(pending), e)
                    continue
                self.runtime.leases_stored(leases)
                emit = self.runtime.events.emit
                for sock, out, dest in pending:
                    for reply in out.replies:
                        self._send(sock, reply.data, dest)
                    for ev in out.events:
                        emit(ev.kind, ev.mac, ev.host, **ev.detail)
        finally:
            self._committing = False

    def _send(self, sock: socket.socket, data: bytes | memoryview, dest: tuple[str, int, int, int]) -> None:
        try:
            sock.sendto(data, dest)
        except OSError as e:
            self._send_failed(dest, e)

    def _send_failed(self, dest: tuple[str, int, int, int], e: OSError) -> None:
        self.send_errors += 1
        log.debug("DHCPv6 send to [%s]:%d: %s", dest[0], dest[1], e)


def create_service(runtime: Runtime) -> Dhcp6Service | None:
    """Service factory for ``app._load_factories``: ``None`` without ``[[subnet6]]`` or when disabled."""
    if not runtime.config.dhcp6.enabled or not runtime.config.subnet6:
        return None
    return Dhcp6Service(runtime)
