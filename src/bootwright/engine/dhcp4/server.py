"""Sans-I/O DHCPv4 server (RFC 2131, RFC 2132; BOOTP per RFC 951/1534/1542).

Rule: every DHCPv4 decision is made here (the choice of subnet is
:mod:`bootwright.boot.subnets`, what a client boots :mod:`bootwright.boot.policy`);
the transport only moves octets. It calls, per datagram (the
:class:`~bootwright.engine.Engine` shape)::

    outcome = engine.handle(datagram, rx, now)

``datagram`` is the UDP payload as received (decoded here: an undecodable one
is counted as ``undecodable`` and logged at debug level), ``rx`` says which
link it arrived on and whether its IP destination was a broadcast address
(:class:`RxContext`; the transport reads it from ``IP_PKTINFO``), ``now`` is
the wall clock in seconds. The :class:`~bootwright.engine.Outcome` holds at
most one reply (octets and its RFC 2131 §4.1
:class:`~bootwright.wire.dhcp4.Destination`), the leases to persist, and the
events to report. **A reply that comes with leases must only be sent after
those leases are durably stored** (an ACK promises the address; RFC 2131
§4.3.2). About every second the transport calls :meth:`Dhcp4Engine.on_timer`
and persists what it returns (expired leases; quarantines that ended).

Per message type (RFC 2131 §4.3):

- DISCOVER → OFFER: the host's reservation, else the client's current or
  previous address, else the requested one (option 50), else the next free
  pool address; the offer is held for :data:`OFFER_HOLD` seconds. An
  exhausted pool means no offer and a warning naming the pool.
- REQUEST: SELECTING (option 54 present; another server id drops our offer),
  INIT-REBOOT (option 50, no ciaddr), RENEWING (ciaddr, unicast to us) or
  REBINDING (ciaddr, broadcast or relayed) → ACK when the address is the
  client's, NAK when we know it is not. With no record of the client the
  server stays silent (RFC 2131 §4.3.2), unless the subnet is
  ``authoritative``, which NAKs it (and requests for foreign networks), as ISC
  dhcpd does. A RENEWING request is answered in the subnet of its ciaddr
  (§4.3.2: the server "will trust the value in 'ciaddr'"); a REBINDING one
  heard on a link must have its ciaddr on that link's network (§4.3.2: "SHOULD
  check 'ciaddr' for correctness").
- DECLINE: the address is quarantined for :data:`DECLINE_PROBATION` (RFC 2131 §4.3.3).
- RELEASE: the address is free; the client is remembered for next time (§4.3.4).
- INFORM: ACK with configuration, no lease (§4.3.5).
- On a ``mode = "proxy"`` subnet (another server gives the addresses): a
  booting client's DISCOVER gets a proxy offer, a REQUEST on the PXE boot
  server port (``RxContext.boot_server``) a DHCPACK with the boot file
  (:mod:`bootwright.engine.dhcp4.proxy`); every other message there belongs
  to the other server and is only counted (``foreign``): never an address,
  never a NAK, and no event per packet of a busy link.
- BOOTP (no option 53), with ``dhcp4.allow_bootp``: reservations and
  ``dynamic_bootp`` pools, leases that do not expire (RFC 1534 §4). A plain
  RFC 951 request without the magic cookie gets a 300-octet BOOTREPLY whose
  ``vend`` field is 64 zero octets: no RFC 1048 options for a client that did
  not ask for them.

A client a rule with ``ignore = true`` matches gets no reply to any message
(its own event kind, ``reason`` and ``ignored``); addresses come only from the
pools whose ``allow``/``deny`` admit the client (:meth:`Dhcp4Engine._usable`),
and a REQUEST for an address in a pool it may not use is NAKed.

Bad input (malformed options, unknown types, replies sent to us) is dropped,
counted in :attr:`Dhcp4Engine.stats` and logged at debug level; nothing here
raises for a packet's content.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Address
from typing import Any, Final

from bootwright.boot.names import client_name
from bootwright.boot.policy import BootPolicy
from bootwright.boot.reply import plan_reply
from bootwright.boot.subnets import on_link4, select4
from bootwright.engine import EventRecord, Outcome, Reply
from bootwright.engine.dhcp4.leases import LeaseRecord, LeaseTable
from bootwright.engine.dhcp4.proxy import ProxyKind, proxy_entry, proxy_kind
from bootwright.engine.dhcp4.ratelimit import MacRateLimiter
from bootwright.engine.dhcp4.reply import (
    INFINITE,
    Block,
    PlanEntry,
    encode_plan_options,
    instances,
    make_block,
    nak_block,
    plan_entry,
    render,
    render_rfc951,
    render_slow,
)
from bootwright.engine.dhcp4.subnets import PoolRuntime, SubnetRuntime, compile_subnets, find_subnet
from bootwright.model import (
    BootAnswer,
    ClientInfo,
    EventKind,
    Host,
    Lease,
    LeaseState,
    PoolUsage,
    RelayInfo,
    RequestState,
    normalize_mac,
)
from bootwright.wire import DecodeError
from bootwright.wire.dhcp4 import (
    BOOTREQUEST,
    BROADCAST_FLAG,
    DEFAULT_MAX_SIZE,
    Destination,
    Dhcp4Message,
    MessageType,
    decode,
    reply_destination,
)
from bootwright.wire.dhcp4_options import CLIENT_ARCH, RELAY_AGENT_INFO, USER_CLASS_OPTION, VENDOR_CLASS, RelaySubOption
from bootwright.wire.ipxe_options import ipxe_features

__all__ = [
    "DECLINE_PROBATION",
    "OFFER_HOLD",
    "Dhcp4Engine",
    "Outcome4",
    "RxContext",
    "Verdict",
]

log = logging.getLogger("bootwright.dhcp4")


@lru_cache(maxsize=65536)
def _text(addr: IPv4Address) -> str:
    return str(addr)


@lru_cache(maxsize=4096)
def _dotted(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


@lru_cache(maxsize=65536)
def _address(value: int) -> IPv4Address:
    return IPv4Address(value)

OFFER_HOLD: Final = 30.0  # seconds an offered address waits for the REQUEST (RFC 2131 §4.3.1, §4.4.1)
DECLINE_PROBATION: Final = 86400.0  # seconds a declined address is quarantined (Kea decline-probation-period)
POOL_WARN_INTERVAL: Final = 60.0  # seconds between "pool exhausted" warnings per pool
_CACHE_MAX: Final = 4096  # entries per reply cache before it is cleared
_ZERO4: Final = bytes(4)
_ZERO_ADDR: Final = IPv4Address(0)
_HOLDING: Final = frozenset((LeaseState.OFFERED, LeaseState.BOUND, LeaseState.DECLINED))  # RFC 2131 §4.3.1-3
_SEEN_MAX: Final = 4096  # proxy clients' addresses remembered for mac_for_ip

Outcome4 = Outcome[Destination]
"""What :meth:`Dhcp4Engine.handle` returns: replies addressed by RFC 2131 §4.1 :class:`Destination`."""


class Verdict(StrEnum):
    """What a server does with a DHCPREQUEST it has a subnet for (RFC 2131 §4.3.2)."""

    ACK = "ack"  # the address is the client's: DHCPACK
    NAK = "nak"  # the address is known not to be the client's (or on the wrong network): DHCPNAK
    IGNORE = "ignore"  # no record of the client, not authoritative: "remain silent"


@dataclass(frozen=True, slots=True)
class RxContext:
    """What the transport knows of a datagram: the link it arrived on and its IP destination.

    The ``meta`` of :meth:`Dhcp4Engine.handle`. A transport keeps one per link
    and destination kind (three per link), so none is built per datagram.
    """

    interface: str | None = None
    addresses: tuple[IPv4Address, ...] = ()  # our IPv4 addresses on that link
    mtu: int = 1500  # largest IP datagram the link carries (caps option 57)
    # The IP destination was a broadcast address (True) or one of ours (False); None: unknown.
    # Tells a RENEWING request from a REBINDING one (RFC 2131 §4.3.2).
    broadcast: bool | None = None
    # Arrived on the PXE boot server port (``dhcp4.proxy_port``, PXE 2.1 §2.2.3) from ``source``:
    # the reply goes back there, not by RFC 2131 §4.1.
    boot_server: bool = False
    source: tuple[IPv4Address, int] | None = None


@dataclass(slots=True)
class _Client:
    """What one request says about its sender, gathered once."""

    msg: Dhcp4Message
    key: bytes
    mac: str | None
    host: Host | None
    host_addr: int | None  # the host's reservation inside ``subnet``
    subnet: SubnetRuntime | None
    rx: RxContext
    link: _Link
    giaddr: int
    ciaddr: int
    broadcast: bool | None  # IP destination was a broadcast address; None: the transport cannot tell


def _sanitize_hostname(raw: bytes | None) -> str | None:
    """Client host name (option 12, RFC 2132 §3.14) made safe for logs and the store."""
    if not raw:
        return None
    return client_name(raw.rstrip(b"\x00").decode("ascii", "replace"))


@dataclass(slots=True)
class _Link:
    """What the engine derives once per receiving link (an :class:`RxContext`)."""

    rx: RxContext
    subnets: tuple[SubnetRuntime, ...]  # served on this link, the configured ones first
    address: dict[int, bytes | None]  # subnet index -> our address on the link in it (server id fallback)
    first: bytes | None  # our first address on the link


class Dhcp4Engine:
    """The DHCPv4 server state machine and lease table for one configuration."""

    def __init__(
        self,
        policy: BootPolicy,
        *,
        names: Mapping[str, tuple[IPv4Address, ...]] | None = None,
        own_addresses: Iterable[IPv4Address] = (),
    ) -> None:
        """``names``: resolved host names used in options (NTP servers); ``own_addresses``: ours."""
        self.names = dict(names or {})
        self.stats: Counter[str] = Counter()  # by name; /metrics reads them at scrape time (web/metrics.py)
        self._own_base = tuple(own_addresses)
        self._links: dict[int, _Link] = {}  # by id(rx); the entry keeps rx alive
        # RFC 2131 §4.1 destinations of relayed replies, by (giaddr, is NAK): one object per relay
        self._relay_dest: dict[tuple[int, bool], Destination] = {}
        self._relay_subnet: dict[int, SubnetRuntime | None] = {}  # giaddr -> subnet (no 82/118)
        self._plans: dict[tuple[Any, ...], PlanEntry] = {}
        self._proxy_plans: dict[tuple[int, ProxyKind, bytes | None], PlanEntry] = {}  # (id(plan), kind, sid)
        self._blocks: dict[tuple[Any, ...], Block] = {}
        # Addresses the link's own server gave to booting clients on proxy subnets (their REQUEST's
        # option 50, a boot server REQUEST's ciaddr) -> MAC: keys HTTP/TFTP events (mac_for_ip).
        self.proxy_seen: dict[int, str] = {}
        self._configure(policy)
        self.table = self._new_table()
        # Option 53 (RFC 2132 §9.6) → handler; looked up with the option's octet (an int: no enum built per packet).
        self._handlers: dict[int, Callable[[_Client, float], Outcome4 | None]] = {
            MessageType.DISCOVER: self._discover,
            MessageType.REQUEST: self._request,
            MessageType.DECLINE: self._decline,
            MessageType.RELEASE: self._release,
            MessageType.INFORM: self._inform,
        }

    def _configure(self, policy: BootPolicy) -> None:
        """Derive everything that depends on the configuration and the hosts."""
        self.policy = policy
        config = self.config = policy.config
        self.subnets = compile_subnets(config)
        self.allow_bootp = config.dhcp4.allow_bootp
        self.limiter = MacRateLimiter(config.dhcp4.per_mac_rate)
        # RFC 2131 §4.1: servers on 67, clients on 68; a test port P pairs with P + 1.
        port = config.dhcp4.port
        self.ports = (port, 68 if port == 67 else port + 1)
        # Static reservations: address -> MAC octets, MAC -> address (RFC 2131 §3.1 "manual allocation").
        self.reserved: dict[int, bytes] = {}
        self.host_addr: dict[str, int] = {}
        for host in policy.hosts.by_name.values():
            if host.ipv4:
                addr = int(IPv4Address(host.ipv4))
                for mac in host.macs:
                    self.host_addr[mac] = addr
                    self.reserved.setdefault(addr, bytes.fromhex(normalize_mac(mac).replace(":", "")))
        own = set(self._own_base)
        own |= {s.server_id for s in self.subnets if s.server_id is not None}
        if config.server.address4 is not None:
            own.add(config.server.address4)
        self.own: set[bytes] = {a.packed for a in own}
        self.excluded = {int(a) for a in own}
        for sub in self.subnets:
            self.excluded |= {int(r) for r in sub.config.routers or ()}
        rules_use_mac = any(r.match.mac for r in config.rule)
        files_use_mac = any("{mac}" in (r.bootfile or "") for r in config.rule) or any(
            "{mac}" in (h.bootfile or "") for h in policy.hosts.by_name.values()
        )
        self._mac_sensitive = rules_use_mac or files_use_mac
        # Options a rule matches on beyond the plan key's 93/60/77: 82 (circuit/remote id), 61, 175 (iPXE
        # features). Only these join the key, so a config without such rules pays nothing per packet.
        matches = [r.match for r in config.rule]
        extra = [82] if any(m.circuit_id is not None or m.remote_id is not None for m in matches) else []
        extra += [61] if any(m.client_id is not None for m in matches) else []
        self._match_features = any(m.ipxe_feature is not None for m in matches)
        extra += [175] if self._match_features else []
        self._extra_codes = tuple(extra)
        self._links.clear()
        self._relay_dest.clear()
        self._relay_subnet.clear()
        self._plans.clear()
        self._proxy_plans.clear()
        self._blocks.clear()

    def _new_table(self) -> LeaseTable:
        return LeaseTable(self.subnets, self.reserved, self.excluded)

    def set_names(self, names: Mapping[str, tuple[IPv4Address, ...]]) -> None:
        """Use newly resolved addresses for host names in options (the transport re-resolves them)."""
        self.names = dict(names)
        self._plans.clear()  # cached plans hold option 42 encoded with the old addresses
        self._proxy_plans.clear()
        self._blocks.clear()

    def set_policy(self, policy: BootPolicy, now: float) -> list[str]:
        """Follow a configuration reload (``runtime.policy`` swapped): keep every lease.

        Subnet settings, pools, reservations and options are re-derived; the
        lease records move to a new table (a lease that is now outside every
        subnet or on an address reserved for another host is dropped, with a
        warning each, returned).
        """
        leases = [rec.to_lease() for rec in self.table.by_addr.values()]
        self._configure(policy)
        self.table = self._new_table()
        return self.load(leases, now)

    # ------------------------------------------------------------------ public

    def load(self, leases: Iterable[Lease], now: float) -> list[str]:
        """Install leases read from the store; returns one warning per lease skipped."""
        warnings = self.table.load(leases, now)
        for w in warnings:
            log.warning("dhcp4: %s", w)
        return warnings

    def on_timer(self, now: float) -> Outcome4:
        """Reclaim what is due: leases to store as expired (``writes``), rows to delete (``forget``)."""
        writes: list[Lease] = []
        forget: list[str] = []
        for rec in self.table.expire(now):
            if self.table.by_addr.get(rec.addr) is rec:
                writes.append(rec.to_lease())
            else:
                forget.append(rec.address)  # quarantine over: forget the row
        self.limiter.prune(now)
        return Outcome(writes=writes, forget=forget)

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` next has work."""
        return self.table.next_deadline()

    def mac_for_ip(self, address: str, now: float) -> str | None:
        """The MAC of the client holding ``address`` (offered or bound), for keying HTTP/TFTP events."""
        try:
            addr = int(IPv4Address(address))
        except ValueError:
            return None
        return self.table.owner_mac(addr, now) or self.proxy_seen.get(addr)

    def pool_usage(self, now: float) -> list[PoolUsage]:
        """How full each subnet's pools are now (:meth:`LeaseTable.usage`; read by ``/metrics``)."""
        return self.table.usage(now)

    def handle(self, datagram: bytes, meta: RxContext, now: float) -> Outcome4 | None:
        """Answer one datagram (the UDP payload). ``None``: nothing to send, store or report.

        ``meta``: the receiving link and whether the datagram was broadcast
        (:class:`RxContext`). Undecodable octets are counted and dropped here.
        """
        stats = self.stats
        stats["received"] += 1
        try:
            msg = decode(datagram)
        except DecodeError as e:  # RFC 2131 §4.1: a malformed message is not answered
            stats["undecodable"] += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("dhcp4: dropped undecodable datagram on %s (%d octets): %s", meta.interface,
                          len(datagram), e)  # fmt: skip
            return None
        if msg.op != BOOTREQUEST:
            return self._drop(msg, "op is not BOOTREQUEST (RFC 2131 §2)")
        if not self.limiter.allow(msg.chaddr, now):
            stats["rate_limited"] += 1
            return None
        raw = msg.options.get(53)
        try:
            if meta.boot_server:
                return self._boot_server(msg, meta, raw, now)
            if raw is None:
                return self._bootp(msg, meta, now)
            if len(raw) != 1:
                return self._drop(msg, f"option 53 has {len(raw)} octets (RFC 2132 §9.6: 1)")
            handler = self._handlers.get(raw[0])
            if handler is None:
                return self._drop(msg, f"message type {raw[0]} is not one a server answers")
            return handler(self._client(msg, meta), now)
        except (DecodeError, ValueError) as e:
            return self._drop(msg, str(e))

    # ------------------------------------------------------------------ gathering

    def _drop(self, msg: Dhcp4Message, reason: str) -> Outcome4 | None:
        self.stats["dropped"] += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug("dhcp4: dropped request from %s: %s", msg.chaddr.hex(":") or "?", reason)
        return None

    def _link(self, rx: RxContext) -> _Link:
        link = self._links.get(id(rx))
        if link is None or link.rx is not rx:
            served = on_link4(self.subnets, rx.interface, [int(a) for a in rx.addresses])
            address: dict[int, bytes | None] = {}
            first = rx.addresses[0].packed if rx.addresses else None
            for sub in self.subnets:
                if sub.server_id is not None:
                    address[sub.index] = sub.server_id.packed
                else:
                    mine = [a.packed for a in rx.addresses if int(a) in sub]
                    address[sub.index] = mine[0] if mine else first
            link = self._links[id(rx)] = _Link(rx, served, address, first)
            self.own |= {a.packed for a in rx.addresses}
        return link

    def _client(self, msg: Dhcp4Message, rx: RxContext) -> _Client:
        opts = msg.options
        cid = opts.get(61)
        key = bytes(cid) if cid else bytes((msg.htype,)) + msg.chaddr  # RFC 2131 §4.2, RFC 2132 §9.14
        mac = msg.chaddr.hex(":") if len(msg.chaddr) == 6 and msg.htype in (1, 6) else None
        host = self.policy.hosts.by_mac.get(mac) if mac is not None else None
        giaddr, ciaddr = int(msg.giaddr), int(msg.ciaddr)
        link = self._link(rx)
        relay_info, selection = opts.get(82), opts.get(118)
        if giaddr and relay_info is None and selection is None:  # the common relayed case: cached
            if giaddr in self._relay_subnet:
                sub = self._relay_subnet[giaddr]
            else:
                sub = self._relay_subnet[giaddr] = select4(self.subnets, link.subnets, giaddr, 0, None, None)
        else:
            sub = select4(self.subnets, link.subnets, giaddr, ciaddr, relay_info, selection)
        host_addr = self._reservation(host, mac, sub)
        return _Client(msg, key, mac, host, host_addr, sub, rx, link, giaddr, ciaddr, rx.broadcast)

    def _reservation(self, host: Host | None, mac: str | None, sub: SubnetRuntime | None) -> int | None:
        """The host's reserved address when it lies inside ``sub``."""
        if host is not None and mac is not None and sub is not None:
            addr = self.host_addr.get(mac)
            if addr is not None and addr in sub:
                return addr
        return None

    def _server_id(self, c: _Client) -> bytes | None:
        """Option 54 (RFC 2132 §9.7): the subnet's configured address, else ours on the link."""
        if c.subnet is not None:
            return c.link.address[c.subnet.index]
        return c.link.first

    def _lease_time(self, sub: SubnetRuntime, msg: Dhcp4Message) -> int:
        """The default, or the client's option 51 capped by ``max_lease_time`` (RFC 2131 §4.3.1)."""
        raw = msg.options.get(51)
        if raw is not None and len(raw) == 4:
            asked = int.from_bytes(raw, "big")
            if asked > 0:
                return min(asked, sub.max_lease_time)
        return sub.lease_time

    # ------------------------------------------------------------------ replies

    def _plan(self, c: _Client) -> PlanEntry:
        """The cached boot answer and encoded options for this kind of client."""
        sub = c.subnet
        assert sub is not None
        opts = c.msg.options
        mac = c.mac if (self._mac_sensitive or c.host is not None) else None
        key: tuple[Any, ...] = (sub.index, mac, opts.get(93), opts.get(60), opts.get(77))
        if self._extra_codes:
            key += tuple(opts.get(code) for code in self._extra_codes)
        entry = self._plans.get(key)
        if entry is not None:
            return entry
        msg = c.msg
        arches = msg.get(CLIENT_ARCH) or ()
        vendor = msg.get(VENDOR_CLASS)
        users = msg.get(USER_CLASS_OPTION) or ()
        ipxe = opts.get(175)
        client = ClientInfo(
            family=4, mac=mac, arches=tuple(arches), vendor_class=vendor, user_classes=tuple(users),
            interface=c.rx.interface, relay=_relay_info(c.giaddr, opts.get(82)), client_id=opts.get(61),
            ipxe_features=ipxe_features(ipxe) if ipxe and self._match_features else frozenset(),
        )
        plan = plan_reply(self.policy, client, sub.config, host=c.host)
        encoded, problems = encode_plan_options(plan.options, self.names)
        for p in problems:
            log.warning("dhcp4: subnet %s: %s", sub.label, p)
        for w in plan.answer.warnings:
            log.info("dhcp4: %s (%s)", w, mac or "client")
        new = plan_entry(plan.answer, encoded)
        if len(self._plans) >= _CACHE_MAX:
            self._plans.clear()
            self._proxy_plans.clear()
            self._blocks.clear()
        self._plans[key] = new
        return new

    def _proxy_plan(self, c: _Client, kind: ProxyKind) -> PlanEntry:
        """The plan cut to a proxy reply's options (:func:`~bootwright.engine.dhcp4.proxy.proxy_entry`)."""
        entry = self._plan(c)
        sid = self._server_id(c)
        key = (id(entry), kind, sid)
        cut = self._proxy_plans.get(key)
        if cut is None:
            sub = c.subnet
            configured = [int(code) for code in (sub.config.options or {})] if sub is not None else []
            cut = proxy_entry(entry, kind, configured)
            if cut.siaddr == _ZERO4 and sid is not None:
                # PXE 2.1 §2.2.2: a proxy offer names the boot server in siaddr; with no next server
                # configured that is us (dnsmasq does the same).
                cut = replace(cut, siaddr=sid)
            self._proxy_plans[key] = cut
        return cut

    def _block(
        self, entry: PlanEntry, msg_type: MessageType | None, prl: bytes, lease: int | None, sid: bytes | None
    ) -> Block:
        key = (id(entry), msg_type, prl, lease, sid)
        block = self._blocks.get(key)
        if block is None:
            if len(self._blocks) >= _CACHE_MAX:
                self._blocks.clear()
            block = self._blocks[key] = make_block(entry, msg_type, prl, lease, sid)
        return block

    def _reply(
        self,
        c: _Client,
        entry: PlanEntry | None,
        msg_type: MessageType | None,
        yiaddr: int,
        lease: int | None,
        nak_text: str | None = None,
        proxy: bool = False,
    ) -> Reply[Destination] | None:
        """Render a reply and its destination (RFC 2131 §4.1, Table 3).

        ``proxy``: a proxyDHCP reply — option 97 echoed (PXE 2.1 §2.2.1), the
        broadcast flag set on an offer (yiaddr 0: nothing to unicast to, and a
        relay must broadcast it), a boot server ACK sent to the request's source.
        """
        msg = c.msg
        opts = msg.options
        is_nak = msg_type == MessageType.NAK
        yi = _address(yiaddr)
        source = c.rx.source
        if c.rx.boot_server and source is not None:
            dest = Destination(source[0], source[1], "boot server reply (to the request's source)")
            if not int(source[0]):  # no address yet: its port on the link (PXE 2.1 §2.2.3 allows broadcast)
                dest = Destination(_address(0xFFFFFFFF), source[1], "boot server reply (broadcast)")
        elif c.giaddr:  # to the relay: the same destination for every reply through it
            relay = self._relay_dest.get((c.giaddr, is_nak))
            if relay is None:
                relay = self._relay_dest[c.giaddr, is_nak] = reply_destination(msg, yi, is_nak, *self.ports)
            dest = relay
        else:
            dest = reply_destination(msg, yi, is_nak, *self.ports)
        flags = msg.flags | BROADCAST_FLAG if dest.set_broadcast_flag or (proxy and not c.ciaddr) else msg.flags
        if msg.vend is not None and entry is not None:
            # RFC 951 §3: a client without the RFC 1048 magic cookie gets its vendor area back as 64
            # zero octets, no options (RFC 1542 §3.5: the request's cookie picks the reply's vendor
            # format); 300 octets in all (RFC 1542 §2.1).
            if entry.bootfile_too_long:
                log.warning(
                    "dhcp4: boot file for %s is longer than the 127-octet file field; an RFC 951 "
                    "client (no magic cookie) cannot be told it",
                    c.mac or c.key.hex(":"),
                )
            plain = render_rfc951(
                entry, msg.xid, msg.htype, msg.chaddr, flags, yiaddr.to_bytes(4, "big"), c.giaddr.to_bytes(4, "big")
            )
            return Reply(plain, dest)
        # RFC 2131 Table 3: ciaddr is echoed in ACKs (to RENEWING/REBINDING and INFORM), 0 otherwise.
        ack = msg_type == MessageType.ACK
        ciaddr = msg.ciaddr if ack else _ZERO_ADDR
        sid = self._server_id(c)
        if entry is None:
            block = nak_block(sid, nak_text)
        else:
            block = self._block(entry, msg_type, opts.get(55, b""), lease, sid)
        echo: list[tuple[int, bytes]] = []
        extra = b""
        cid = opts.get(61)
        if cid is not None and msg_type is not None:
            echo.append((61, cid))  # RFC 6842 §3: returned unmodified
            extra = instances(61, cid)
        uuid = opts.get(97)
        if proxy and uuid is not None:
            echo.append((97, uuid))  # PXE 2.1 §2.2.1: the client machine identifier comes back (RFC 4578 §2.5)
            extra += instances(97, uuid)
        rai = opts.get(82)
        if rai is not None:
            echo.append((82, rai))  # RFC 3046 §2.2: echoed in every reply, last
            extra += instances(82, rai)
        max_size = self._max_size(msg, c.rx, msg_type is None)
        out = render(
            block, msg.xid, msg.htype, msg.chaddr, flags, (c.ciaddr if ack else 0).to_bytes(4, "big"),
            yiaddr.to_bytes(4, "big"), c.giaddr.to_bytes(4, "big"), extra, max_size - 28,
        )
        if out is None:
            out = render_slow(block, msg, flags, ciaddr, yi, echo, max_size)
            if out is None:
                log.warning("dhcp4: no reply to %s: its options do not fit %d octets", c.mac, max_size)
                return None
        return Reply(out, dest)

    @staticmethod
    def _max_size(msg: Dhcp4Message, rx: RxContext, bootp: bool) -> int:
        """Largest reply datagram: option 57 (RFC 2132 §9.10, at least 576), capped by the link MTU."""
        raw = msg.options.get(57)
        if raw is not None and len(raw) == 2:
            size = max(DEFAULT_MAX_SIZE, int.from_bytes(raw, "big"))
        else:
            size = 300 + 28 if bootp else DEFAULT_MAX_SIZE  # RFC 951: 64-octet vendor area
        return min(size, max(rx.mtu, DEFAULT_MAX_SIZE))

    # ------------------------------------------------------------------ DISCOVER

    def _choose(
        self, c: _Client, now: float, bootp: bool, pools: tuple[PoolRuntime, ...] | None = None
    ) -> tuple[int | None, list[str]]:
        """RFC 2131 §4.3.1 address choice: reservation, current/previous, requested, pool.

        ``pools``: the pools this client may use (:meth:`_usable`); ``None``: every pool. A
        reservation is not a pool address: allow/deny never take it away (dhcpd: a
        ``fixed-address`` is not subject to pool permit lists).
        """
        sub, key, table = c.subnet, c.key, self.table
        assert sub is not None
        if c.host_addr is not None:
            if table.is_free_for(c.host_addr, key, now) or self._owned_by_host(c):
                return c.host_addr, []
            log.warning("dhcp4: reserved address %s of host %s is declined or held; using a pool address",
                        IPv4Address(c.host_addr), c.host.name if c.host else "?")
        rec = table.binding(sub, key)
        if rec is not None and rec.state != LeaseState.DECLINED and table.allocatable(sub, rec.addr, bootp, pools):
            return rec.addr, []
        req = c.msg.options.get(50)
        if req is not None and len(req) == 4:
            addr = int.from_bytes(req, "big")
            if addr in sub and table.allocatable(sub, addr, bootp, pools) and table.is_free_for(addr, key, now):
                return addr, []
        return table.next_free(sub, key, now, bootp, pools)

    def _usable(self, c: _Client, answer: BootAnswer) -> tuple[PoolRuntime, ...] | None:
        """The pools of the client's subnet it may take an address from (pool allow/deny; dhcpd.conf(5)
        "PERMIT LISTS"); ``None`` when no pool of the subnet restricts anyone (the common case: no work)."""
        sub = c.subnet
        if sub is None or not sub.restricted:
            return None
        members = self.policy.members(answer)
        return tuple(p for p in sub.pools if p.access is None or p.access.permits(members))

    def _ignored(self, kind: EventKind, c: _Client, answer: BootAnswer, **detail: Any) -> Outcome4:
        """No reply at all: a rule with ``ignore = true`` decided (dnsmasq ``dhcp-ignore``, dhcpd
        ``ignore booting``); the client stays free for another server. Never a NAK."""
        self.stats["ignored"] += 1
        reason = f"ignored by rule {answer.rule!r}"
        if log.isEnabledFor(logging.DEBUG):
            log.debug("dhcp4: %s from %s not answered: %s", kind, c.mac or c.key.hex(":"), reason)
        events = self._event(kind, c, reason=reason, ignored=answer.rule, **detail)
        return Outcome(events=events, answer=answer)

    def _no_pool(self, c: _Client, kind: EventKind, answer: BootAnswer) -> Outcome4:
        """No pool of the subnet admits this client (pool allow/deny): no offer, as dhcpd makes none."""
        self.stats["unanswered"] += 1
        reason = "no pool allows this client (pool allow/deny)"
        if log.isEnabledFor(logging.DEBUG):
            log.debug("dhcp4: %s from %s not answered: %s", kind, c.mac or c.key.hex(":"), reason)
        return Outcome(events=self._event(kind, c, reason=reason), answer=answer)

    def _owned_by_host(self, c: _Client) -> bool:
        rec = self.table.by_addr.get(c.host_addr or -1)
        return rec is not None and rec.state != LeaseState.DECLINED and rec.mac == c.mac

    def _exhausted(self, c: _Client, pools: list[str], now: float, bootp: bool) -> None:
        """No address for a client: warn, naming the pools, once per interval per subnet."""
        sub = c.subnet
        assert sub is not None
        self.stats["exhausted"] += 1
        if now - sub.warned_at < POOL_WARN_INTERVAL:
            return
        sub.warned_at = now
        who = c.mac or c.key.hex(":")
        if pools:
            log.warning("dhcp4: pool %s of subnet %s is exhausted; no offer to %s", ", ".join(pools), sub.label, who)
        else:
            kind = "dynamic-bootp pool" if bootp else "pool"
            log.warning("dhcp4: subnet %s has no %s (and %s has no reservation); no offer", sub.label, kind, who)

    def _event(self, kind: EventKind, c: _Client, **detail: Any) -> list[EventRecord]:
        """The one event of a request: the reply's kind, or the request's kind and why it went unanswered."""
        if c.giaddr:
            detail["relay"] = _dotted(c.giaddr)
        return [EventRecord(kind, c.mac, c.host.name if c.host is not None else None, detail)]

    def _silent(self, kind: EventKind, c: _Client, reason: str, **detail: Any) -> Outcome4:
        """No answer; the event says why (``bootwright events`` shows the reason)."""
        self.stats["unanswered"] += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug("dhcp4: %s from %s not answered: %s", kind, c.mac or c.key.hex(":"), reason)
        return Outcome(events=self._event(kind, c, reason=reason, **detail))

    def _discover(self, c: _Client, now: float) -> Outcome4 | None:
        sub = c.subnet
        if sub is None:
            return self._silent(EventKind.DHCP4_DISCOVER, c, "no subnet4 serves this link or relay")
        if sub.proxy:
            return self._proxy_offer(c)
        entry = self._plan(c)
        if entry.answer.ignored:
            return self._ignored(EventKind.DHCP4_DISCOVER, c, entry.answer)
        pools = self._usable(c, entry.answer)
        addr, exhausted = self._choose(c, now, False, pools)
        if addr is None:
            if pools is not None and not exhausted:
                return self._no_pool(c, EventKind.DHCP4_DISCOVER, entry.answer)
            self._exhausted(c, exhausted, now, False)
            return self._silent(EventKind.DHCP4_DISCOVER, c, "no free address")
        lease = self._lease_time(sub, c.msg)
        rec = self.table.hold(sub, addr, c.key, c.mac, now + OFFER_HOLD, None)
        sent = self._reply(c, entry, MessageType.OFFER, addr, lease)
        if sent is None:
            return self._silent(EventKind.DHCP4_DISCOVER, c, "reply does not fit the client's maximum message size")
        self.stats["offer"] += 1
        answer = entry.answer
        events = self._event(EventKind.DHCP4_OFFER, c, yiaddr=rec.address, bootfile=answer.bootfile, rule=answer.rule)
        return Outcome((sent,), (), (), events, answer)

    # ------------------------------------------------------------------ REQUEST

    def _request(self, c: _Client, now: float) -> Outcome4 | None:
        if c.subnet is not None and c.subnet.proxy:
            return self._foreign(c)
        msg = c.msg
        opts = msg.options
        sid = opts.get(54)
        req = opts.get(50)
        ciaddr = int(msg.ciaddr)
        if sid is not None:  # RFC 2131 §4.3.2 SELECTING
            if len(sid) != 4:
                return self._drop(msg, "option 54 is not 4 octets")
            if sid not in self.own:
                if c.subnet is not None:
                    self.table.drop_offer(c.subnet, c.key)
                return self._silent(
                    EventKind.DHCP4_REQUEST, c, "the client chose another server", state=RequestState.SELECTING,
                    server_id=_dotted(int.from_bytes(sid, "big")),
                )
            state = RequestState.SELECTING
            if req is not None and len(req) == 4:
                requested = int.from_bytes(req, "big")
            elif ciaddr:
                requested = ciaddr
            else:
                return self._drop(msg, "SELECTING request without option 50 (RFC 2131 §4.3.2)")
        elif req is not None:  # INIT-REBOOT
            if len(req) != 4:
                return self._drop(msg, "option 50 is not 4 octets")
            state = RequestState.INIT_REBOOT
            requested = int.from_bytes(req, "big")
        elif ciaddr:
            state = self._extending_state(c)
            requested = ciaddr
        else:
            return self._drop(msg, "REQUEST with no server id, requested address or ciaddr (RFC 2131 §4.3.2)")
        if state is RequestState.REBINDING and not c.giaddr:
            self._rebinding_link_check(c)
        sub = c.subnet
        if sub is None:
            return self._silent(EventKind.DHCP4_REQUEST, c, "no subnet4 serves this link or relay", state=state)
        entry = self._plan(c)
        if entry.answer.ignored:
            return self._ignored(EventKind.DHCP4_REQUEST, c, entry.answer, state=state)
        verdict, reason = self._verify(c, requested, state, now, self._usable(c, entry.answer))
        if verdict is Verdict.IGNORE:
            return self._silent(
                EventKind.DHCP4_REQUEST, c, reason, state=state, requested=_text(IPv4Address(requested))
            )
        if verdict is Verdict.NAK:
            return self._nak(c, reason, state, requested)
        lease = self._lease_time(sub, msg)
        hostname = _sanitize_hostname(opts.get(12)) or (c.host.name if c.host is not None else None)
        rec = self.table.bind(sub, requested, c.key, c.mac, now + lease, hostname)
        writes = [rec.to_lease()]
        sent = self._reply(c, entry, MessageType.ACK, requested, lease)
        if sent is None:
            return Outcome(writes=writes, events=self._event(
                EventKind.DHCP4_REQUEST, c, reason="reply does not fit the client's maximum message size", state=state))
        self.stats["ack"] += 1
        answer = entry.answer
        named = {"hostname": hostname} if hostname else {}  # absent, not null, when the client sent none
        events = self._event(
            EventKind.DHCP4_ACK, c, yiaddr=rec.address, bootfile=answer.bootfile, lease=lease, state=state, **named
        )
        return Outcome((sent,), writes, (), events, answer)

    @staticmethod
    def _extending_state(c: _Client) -> RequestState:
        """RENEWING or REBINDING, for a REQUEST with ciaddr and neither option 50 nor 54 (RFC 2131 §4.3.2).

        RFC 2131 §4.3.2 / §4.4.5: RENEWING is unicast to the server that
        granted the lease, REBINDING is "broadcast to the 0xffffffff IP
        broadcast address"; the transport reports which (``broadcast``).

        Relayed (giaddr set): the relay unicasts to us either way, so the
        IP destination says nothing. §4.3.2 says a RENEWING request "will be
        unicast, so no relay agents will be involved in its transmission": a
        RENEWING client sends to the server itself, so what a relay picks up
        on the client's link is a broadcast, and a relayed request is
        REBINDING. (A relay doing RFC 5107 server-id
        override also forwards unicast renewals; those are labelled REBINDING
        too. Both states are checked alike through a relay: the subnet comes
        from giaddr and ciaddr must lie in it.)

        Unknown (the transport could not read the destination): RENEWING,
        the state in which §4.3.2 has the server trust ciaddr, as before
        destinations were known.
        """
        if c.giaddr:
            return RequestState.REBINDING
        return RequestState.REBINDING if c.broadcast else RequestState.RENEWING

    def _rebinding_link_check(self, c: _Client) -> None:
        """REBINDING on a link: the link, not ciaddr, names the network (RFC 2131 §4.3.2).

        A REBINDING request is broadcast, so it was heard on the client's own
        link, and "the DHCP server SHOULD check 'ciaddr' for correctness
        before replying". The subnet is chosen again with ciaddr untrusted
        (:func:`~bootwright.boot.subnets.select4`): when ciaddr's subnet is not
        served on this link, the link's subnet answers, where ciaddr is then on
        the wrong network (NAK if authoritative, silence otherwise, as for
        INIT-REBOOT). Option 118 (RFC 3011 §3) names the subnet explicitly and
        still wins.
        """
        opts = c.msg.options
        sub = select4(self.subnets, c.link.subnets, 0, c.ciaddr, opts.get(82), opts.get(118), trust_ciaddr=False)
        if sub is not c.subnet:
            c.subnet = sub
            c.host_addr = self._reservation(c.host, c.mac, sub)

    def _verify(
        self, c: _Client, requested: int, state: RequestState, now: float, pools: tuple[PoolRuntime, ...] | None
    ) -> tuple[Verdict, str]:
        """The :class:`Verdict` and its reason for a REQUEST of ``requested`` (RFC 2131 §4.3.2).

        ``pools``: those the client may use (:meth:`_usable`). An address in one of our pools that
        the client may not use is NAKed, its own lease included: dhcpd's ``find_lease`` drops a
        lease whose pool permit list refuses the client, and NAKs the request for an address it
        owns (dhcpd.conf(5) "PERMIT LISTS"); the client then starts over with a DISCOVER.
        """
        sub, key, table = c.subnet, c.key, self.table
        assert sub is not None
        selecting = state is RequestState.SELECTING
        if requested not in sub:
            # RFC 2131 §4.3.2 INIT-REBOOT: "SHOULD send a DHCPNAK ... if the client ... is on the wrong network".
            if selecting or sub.authoritative:
                return Verdict.NAK, f"{IPv4Address(requested)} is not on network {sub.label}"
            return Verdict.IGNORE, f"not on network {sub.label} and not authoritative"
        if c.host_addr is not None:
            if requested == c.host_addr:
                return Verdict.ACK, "reserved"
            return Verdict.NAK, f"this client's address is {IPv4Address(c.host_addr)} (reservation)"
        if requested in table.reserved:
            return Verdict.NAK, f"{IPv4Address(requested)} is reserved for another client"
        if pools is not None:
            pool = sub.pool_of(requested)
            if pool is not None and not any(p is pool for p in pools):
                return Verdict.NAK, f"{IPv4Address(requested)} is in pool {pool.label()}, which this client may not use"
        rec = table.by_addr.get(requested)
        if rec is not None and rec.key == key:
            if rec.state == LeaseState.DECLINED:
                return Verdict.NAK, "the client declined this address"
            if not table.allocatable(sub, requested, False):
                return Verdict.NAK, f"{IPv4Address(requested)} is no longer in a pool"
            return Verdict.ACK, "the client's lease"
        if rec is not None and rec.state in _HOLDING and rec.expires > now:
            return Verdict.NAK, f"{IPv4Address(requested)} is in use by another client"
        mine = table.binding(sub, key)
        if mine is not None and mine.state in (LeaseState.OFFERED, LeaseState.BOUND) and mine.expires > now:
            return Verdict.NAK, f"this client's address is {mine.address}"
        if selecting and table.allocatable(sub, requested, False):
            return Verdict.ACK, "free address, offer forgotten"
        # RFC 2131 §4.3.2 REBINDING: "A DHCP server MAY extend a client's lease only if it has local
        # administrative authority to do so" - ours is this lease table (no lease sharing between
        # servers), so an address it holds no record of is never ACKed, whatever the state.
        if sub.authoritative:
            return Verdict.NAK, "no lease for this client here (authoritative)"
        return Verdict.IGNORE, "no record of this client (RFC 2131 §4.3.2: remain silent)"

    def _nak(self, c: _Client, reason: str, state: RequestState, requested: int) -> Outcome4:
        self.stats["nak"] += 1
        sent = self._reply(c, None, MessageType.NAK, 0, None, nak_text=reason)
        log.info("dhcp4: NAK to %s for %s: %s", c.mac or c.key.hex(":"), IPv4Address(requested), reason)
        events = self._event(
            EventKind.DHCP4_NAK, c, requested=_text(IPv4Address(requested)), reason=reason, state=state
        )
        if sent is None:
            return Outcome(events=events)
        return Outcome((sent,), (), (), events)

    # ------------------------------------------------------------------ DECLINE, RELEASE

    def _ours(self, c: _Client) -> bool:
        sid = c.msg.options.get(54)
        return sid is None or sid in self.own

    def _decline(self, c: _Client, now: float) -> Outcome4 | None:
        if c.subnet is not None and c.subnet.proxy:
            return self._foreign(c)
        req = c.msg.options.get(50)
        if req is None or len(req) != 4:
            return self._drop(c.msg, "DECLINE without option 50 (RFC 2131 §4.3.3)")
        addr = int.from_bytes(req, "big")
        text = _text(IPv4Address(addr))
        rec = self.table.by_addr.get(addr)
        held = rec is not None and rec.state in (LeaseState.BOUND, LeaseState.OFFERED)
        if not self._ours(c) or rec is None or rec.key != c.key or not held:
            return self._silent(EventKind.DHCP4_DECLINE, c, "not this client's lease", address=text)
        self.table.decline(rec, now + DECLINE_PROBATION)
        self.stats["decline"] += 1
        log.warning(
            "dhcp4: %s declined %s (in use by another machine?); quarantined for %d s",
            c.mac, text, int(DECLINE_PROBATION),
        )
        return Outcome(writes=[rec.to_lease()], events=self._event(EventKind.DHCP4_DECLINE, c, address=text))

    def _release(self, c: _Client, now: float) -> Outcome4 | None:
        if c.subnet is not None and c.subnet.proxy:
            return self._foreign(c)
        addr = int(c.msg.ciaddr)
        text = _text(c.msg.ciaddr)
        rec = self.table.by_addr.get(addr)
        if not self._ours(c) or rec is None or rec.key != c.key or rec.state != LeaseState.BOUND:
            return self._silent(EventKind.DHCP4_RELEASE, c, "not this client's lease", address=text)
        self.table.release(rec, now)
        self.stats["release"] += 1
        return Outcome(writes=[rec.to_lease()], events=self._event(EventKind.DHCP4_RELEASE, c, address=text))

    # ------------------------------------------------------------------ INFORM, BOOTP

    def _inform(self, c: _Client, now: float) -> Outcome4 | None:
        if c.subnet is not None and c.subnet.proxy:
            return self._foreign(c)
        ciaddr = _text(c.msg.ciaddr)
        if c.subnet is None:
            return self._silent(EventKind.DHCP4_INFORM, c, "no subnet4 serves this link or relay", ciaddr=ciaddr)
        entry = self._plan(c)
        if entry.answer.ignored:
            return self._ignored(EventKind.DHCP4_INFORM, c, entry.answer, ciaddr=ciaddr)
        sent = self._reply(c, entry, MessageType.ACK, 0, None)  # RFC 2131 §4.3.5: no lease time, yiaddr 0
        if sent is None:
            return self._silent(EventKind.DHCP4_INFORM, c, "reply does not fit", ciaddr=ciaddr)
        self.stats["inform"] += 1
        events = self._event(EventKind.DHCP4_INFORM, c, ciaddr=ciaddr, bootfile=entry.answer.bootfile)
        return Outcome((sent,), (), (), events, entry.answer)

    def _bootp(self, msg: Dhcp4Message, rx: RxContext, now: float) -> Outcome4 | None:
        if not self.allow_bootp:
            return self._drop(msg, "BOOTP request and dhcp4.allow_bootp is off")
        c = self._client(msg, rx)
        sub = c.subnet
        if sub is None:
            return self._silent(EventKind.DHCP4_BOOTP, c, "no subnet4 serves this link or relay")
        if sub.proxy:
            return self._foreign(c)
        entry = self._plan(c)
        if entry.answer.ignored:
            return self._ignored(EventKind.DHCP4_BOOTP, c, entry.answer)
        pools = self._usable(c, entry.answer)
        addr, exhausted = self._choose(c, now, True, pools)
        if addr is None:
            if pools is not None and not exhausted:
                return self._no_pool(c, EventKind.DHCP4_BOOTP, entry.answer)
            self._exhausted(c, exhausted, now, True)
            return self._silent(EventKind.DHCP4_BOOTP, c, "no free dynamic-bootp address")
        host = c.host.name if c.host is not None else None
        rec = self.table.bind(sub, addr, c.key, c.mac, now + INFINITE, host)  # RFC 1534 §4: no expiry
        writes = [rec.to_lease()]
        sent = self._reply(c, entry, None, addr, None)
        if sent is None:
            return Outcome(writes=writes, events=self._event(EventKind.DHCP4_BOOTP, c, reason="reply does not fit"))
        self.stats["bootp"] += 1
        rfc951 = {"rfc951": True} if msg.vend is not None else {}  # no magic cookie: no vendor extensions sent
        events = self._event(
            EventKind.DHCP4_ACK, c, yiaddr=rec.address, bootfile=entry.answer.bootfile, bootp=True, **rfc951
        )
        return Outcome((sent,), writes, (), events, entry.answer)


    # ------------------------------------------------------------------ proxyDHCP

    def _proxy_client(self, c: _Client) -> ProxyKind | None:
        """The client's :class:`ProxyKind`; ``None`` when it is not booting (a proxy never answers it)."""
        msg = c.msg
        arches = msg.get(CLIENT_ARCH) or ()
        users = msg.get(USER_CLASS_OPTION) or ()
        info = ClientInfo(
            family=4, mac=c.mac, arches=tuple(arches), vendor_class=msg.get(VENDOR_CLASS), user_classes=tuple(users)
        )
        return proxy_kind(info)

    def _proxy_offer(self, c: _Client) -> Outcome4 | None:
        """A booting DISCOVER on a proxy subnet: the boot part only, yiaddr 0 (PXE 2.1 §2.2.2)."""
        kind = self._proxy_client(c)
        if kind is None:
            self.stats["foreign"] += 1  # an ordinary client: the link's own server answers it
            if log.isEnabledFor(logging.DEBUG):
                log.debug("dhcp4: proxy subnet %s: DISCOVER from %s not answered: not a booting client (no "
                          "PXEClient, HTTPClient, iPXE or option 93); the link's own DHCP server answers it",
                          c.subnet.label if c.subnet else "?", c.mac)  # fmt: skip
            return None
        got = self._proxy_reply(c, kind, MessageType.OFFER, EventKind.DHCP4_DISCOVER)
        if isinstance(got, Outcome):
            return got
        sent, entry = got
        answer = entry.answer
        self.stats["proxy_offer"] += 1
        events = self._event(
            EventKind.DHCP4_PROXY_OFFER, c, bootfile=answer.bootfile, rule=answer.rule, proxy=kind.value,
            vendor=entry.options[60].decode(),
        )
        return Outcome((sent,), (), (), events, answer)

    def _proxy_reply(
        self, c: _Client, kind: ProxyKind, msg_type: MessageType, unanswered: EventKind
    ) -> tuple[Reply[Destination], PlanEntry] | Outcome4:
        """The proxy reply of ``msg_type`` and its plan, or the silent outcome saying why there is none."""
        entry = self._proxy_plan(c, kind)
        answer = entry.answer
        if answer.ignored:
            return self._ignored(unanswered, c, answer)
        if answer.bootfile is None:
            return self._silent(unanswered, c, f"proxy: nothing to boot ({answer.rule or 'no rule'})")
        sent = self._reply(c, entry, msg_type, 0, None, proxy=True)
        if sent is None:
            return self._silent(unanswered, c, "reply does not fit the client's maximum message size")
        return sent, entry

    def _foreign(self, c: _Client) -> Outcome4 | None:
        """A message for the link's own DHCP server (proxy subnet): counted, never answered.

        A booting client's REQUEST names the address that server gave it
        (option 50, RFC 2131 §4.3.2): remembered, so its TFTP and HTTP requests
        join its timeline.
        """
        self.stats["foreign"] += 1
        req = c.msg.options.get(50)
        if c.mac is not None and req is not None and len(req) == 4 and self._proxy_client(c) is not None:
            self._remember(int.from_bytes(req, "big"), c.mac)
        return None

    def _remember(self, addr: int, mac: str) -> None:
        if len(self.proxy_seen) >= _SEEN_MAX:
            self.proxy_seen.clear()
        self.proxy_seen[addr] = mac

    def _boot_server(self, msg: Dhcp4Message, rx: RxContext, raw: bytes | None, now: float) -> Outcome4 | None:
        """A DHCPREQUEST on the PXE boot server port (PXE 2.1 §2.2.3): a DHCPACK with the boot file.

        UEFI PXE asks here after a proxy offer without option 43, iPXE after
        any proxy offer. Anything else on this port is dropped and counted.
        """
        if raw is None or len(raw) != 1 or raw[0] != MessageType.REQUEST:
            self.stats["boot_server_dropped"] += 1
            return self._drop(msg, "not a DHCPREQUEST on the boot server port (PXE 2.1 §2.2.3)")
        c = self._client(msg, rx)
        kind = self._proxy_client(c)
        if kind is None:
            self.stats["boot_server_dropped"] += 1
            return self._drop(msg, "boot server request without PXEClient, HTTPClient, iPXE or option 93")
        if c.subnet is None:
            return self._silent(EventKind.DHCP4_REQUEST, c, "boot server request: no subnet4 serves this link")
        got = self._proxy_reply(c, kind, MessageType.ACK, EventKind.DHCP4_REQUEST)
        if isinstance(got, Outcome):
            return got
        sent, entry = got
        answer = entry.answer
        if c.ciaddr and c.mac is not None:
            self._remember(c.ciaddr, c.mac)
        self.stats["proxy_ack"] += 1
        events = self._event(
            EventKind.DHCP4_PROXY_ACK, c, bootfile=answer.bootfile, rule=answer.rule, ciaddr=_dotted(c.ciaddr),
        )
        return Outcome((sent,), (), (), events, answer)


def _relay_info(giaddr: int, raw: bytes | None) -> RelayInfo | None:
    """What a relay told us: giaddr and option 82's circuit-id and remote-id (RFC 3046 §3.1, §3.2).

    A malformed option 82 leaves the two ids unknown rather than dropping the request (a rule
    matching them then does not match; RFC 3527 §4 treats a bad link selection the same way).
    """
    if not giaddr and raw is None:
        return None
    subs: dict[int, bytes] = {}
    if raw is not None:
        try:
            subs = RELAY_AGENT_INFO.codec.decode(raw)
        except DecodeError:
            subs = {}
    return RelayInfo(
        address=_dotted(giaddr) if giaddr else None,
        circuit_id=subs.get(RelaySubOption.CIRCUIT_ID),
        remote_id=subs.get(RelaySubOption.REMOTE_ID),
    )


def find_lease_subnet(engine: Dhcp4Engine, address: str) -> SubnetRuntime | None:
    """The subnet an address belongs to (for tools and tests)."""
    return find_subnet(engine.subnets, int(IPv4Address(address)))


def record(engine: Dhcp4Engine, address: str) -> LeaseRecord | None:
    """The lease record of an address, if any (for tools and tests)."""
    return engine.table.by_addr.get(int(IPv4Address(address)))
