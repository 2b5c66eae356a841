"""Sans-I/O DHCPv6 server (RFC 8415): bytes and ``now`` in, a reply, leases and events out.

Rule: every DHCPv6 decision is made here (subnet choice in :mod:`bootwright.boot.subnets`,
the boot answer in :mod:`bootwright.boot.policy`); the transport only moves octets.
It hands every datagram to :meth:`Dhcp6Engine.handle` (the :class:`~bootwright.engine.Engine`
shape) with what the socket knew (:class:`Received`: source, interface, multicast or
unicast destination) and gets back an :class:`~bootwright.engine.Outcome`: the reply
payload and its UDP port (to the datagram's source), the leases that must be durable
*before* the reply is sent (RFC 8415 §18.3.2), and the protocol events. Bad input
never raises: it is decoded here, counted in :attr:`Dhcp6Engine.counters` and logged
at debug. :meth:`Dhcp6Engine.on_timer` returns the bindings that ran out.

Every boot answer comes from :func:`bootwright.boot.reply.plan_reply` in the subnet
:func:`bootwright.boot.subnets.select6` chooses; ``bootwright explain`` runs this engine,
so the server sends what ``explain`` prints.
"""

from __future__ import annotations

import logging
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from ipaddress import IPv6Address
from typing import Any, Final, TypeVar

from bootwright.boot.names import client_name
from bootwright.boot.policy import BootPolicy, PoolAccess
from bootwright.boot.reply import ReplyPlan, dhcp6_lifetimes, plan_reply
from bootwright.boot.subnets import select6
from bootwright.config import Subnet6
from bootwright.engine import EventRecord, Outcome, Reply
from bootwright.engine.dhcp6.client import HttpBootMemory, client_info, link_address, option_index, wire_options
from bootwright.engine.dhcp6.decode import ServerDecoder
from bootwright.engine.dhcp6.leases import LeaseTable6, PoolSet, ia_key
from bootwright.model import BootAnswer, ClientInfo, EventKind, Host, Lease, LeaseState, PoolUsage
from bootwright.wire import DecodeError
from bootwright.wire.dhcp6 import (
    CLIENT_PORT,
    HOP_COUNT_LIMIT,
    SERVER_PORT,
    ClientArchType,
    ClientFqdn,
    ClientId,
    Dhcp6Message,
    Dhcp6Option,
    Dhcp6Relay,
    IaAddr,
    IaNa,
    IaPd,
    IaTa,
    InfoRefreshTime,
    MessageType,
    OptionRequest,
    Preference,
    RapidCommit,
    ServerId,
    StatusCode,
    StatusCodeOption,
    UnknownOption,
    UserClass,
    VendorClass,
    decode_duid,
    encode_options,
    innermost,
    relay_reply,
)

__all__ = ["MAX_MESSAGE", "Dhcp6Engine", "DropReason", "Outcome6", "Received"]

log = logging.getLogger("bootwright.dhcp6")
T = TypeVar("T")

MAX_MESSAGE: Final = 16384
"""Larger datagrams are dropped unread ("oversized"); real clients and relays stay far below."""
_CACHE_MAX: Final = 1024
_CLIENTS_MAX: Final = 16384
_MAC_DUIDS: Final = (1, 3)  # DUID-LLT, DUID-LL (RFC 8415 §11.2, §11.4): they carry the MAC
# An IA_NA's data with one IA Address option: IAID, T1, T2 (RFC 8415 §21.4), then option 5
# header, address, preferred and valid lifetime (§21.6); sent as a pre-encoded option 3.
_IA_NA_ONE: Final = struct.Struct("!IIIHH16sII")
_HEAD: Final = struct.Struct("!I")  # msg-type and 24-bit transaction-id (RFC 8415 §8)
_OPT_HDR: Final = struct.Struct("!HH")  # option-code, option-len (RFC 8415 §21.1)
_NOTHING: Final[frozenset[int]] = frozenset()  # no option of the plan left out (the usual case)

# Per-message-type facts as tables keyed by the wire enum, looked up once per message (a member is
# an int: no enum is built per datagram, and a set or dict lookup is cheaper than attribute access).
# The message names (events' ``msg``, the rx./tx. counters) are RFC 8415 §7.3's, from the enum.
_SERVED: Final = (
    MessageType.SOLICIT, MessageType.REQUEST, MessageType.CONFIRM, MessageType.RENEW, MessageType.REBIND,
    MessageType.RELEASE, MessageType.DECLINE, MessageType.INFORMATION_REQUEST,
)  # fmt: skip
_NAMES: Final[dict[int, str]] = {t: t.name.lower().replace("_", "-") for t in _SERVED}
_RX: Final = {t: "rx." + n for t, n in _NAMES.items()}  # counter names (Dhcp6Engine.counters), not event kinds
_TX: Final = {t: "tx." + n for t, n in _NAMES.items()}
# RFC 8415 §16: messages a server must discard when sent to it by unicast; the others
# (Request, Renew, Release, Decline) get UseMulticast, as this server never sends Server
# Unicast (§18.3.2, §18.3.4, §18.3.7, §18.3.8).
_NO_UNICAST: Final = frozenset({MessageType.SOLICIT, MessageType.CONFIRM, MessageType.REBIND,
                                MessageType.INFORMATION_REQUEST})  # fmt: skip
# RFC 8415 §16.2, §16.5, §16.7: sent to all servers, so they MUST NOT carry a Server Identifier.
_NO_SERVER_ID: Final = frozenset({MessageType.SOLICIT, MessageType.CONFIRM, MessageType.REBIND})
# RFC 8415 §18.3.4, §18.3.5: a Renew or Rebind for an IA the server has no binding for gets NoBinding.
_EXTENDING: Final = frozenset({MessageType.RENEW, MessageType.REBIND})
# RFC 8415 §18.3.2, §18.3.4, §18.3.5: addresses the client asked for and may no longer use get lifetimes 0.
_ZERO_LIFETIMES: Final = frozenset({MessageType.REQUEST, MessageType.RENEW, MessageType.REBIND})


class DropReason(StrEnum):
    """Why a datagram got no answer: counted as ``dropped.<reason>`` in :attr:`Dhcp6Engine.counters`."""

    OVERSIZED = "oversized"  # larger than MAX_MESSAGE: not read
    MALFORMED = "malformed"  # the codec refused it (RFC 8415 §16: discard)
    RELAY_REPLY_RECEIVED = "relay-reply-received"  # a Relay-reply sent to a server (RFC 8415 §19.1)
    RELAY_HOP_LIMIT = "relay-hop-limit"  # a relay layer's hop count exceeds HOP_COUNT_LIMIT (RFC 8415 §19.1.1)
    NOT_FOR_SERVER = "not-for-server"  # Advertise, Reply, Reconfigure or an unknown type (RFC 8415 §16)
    UNICAST = "unicast"  # a Solicit, Confirm, Rebind or Information-request sent by unicast (RFC 8415 §16)
    OTHER_SERVER = "other-server"  # a Server Identifier that is not ours (RFC 8415 §16.4, §16.6, §16.8, §16.9)
    IA_IN_INFORMATION_REQUEST = "ia-in-information-request"  # an IA option in an Information-request (§16.12)
    NO_CLIENT_ID = "no-client-id"  # no Client Identifier where RFC 8415 §16 requires one
    SERVER_ID_PRESENT = "server-id-present"  # a Server Identifier in Solicit/Confirm/Rebind (§16.2, §16.5, §16.7)
    NO_SERVER_ID = "no-server-id"  # no Server Identifier in Request/Renew/Release/Decline (§16.4, §16.6, §16.8)
    CONFIRM_UNKNOWN = "confirm-unknown"  # a Confirm the server cannot judge: no reply (RFC 8415 §18.3.3)
    NO_SUBNET = "no-subnet"  # no subnet6 serves the client's link: another server may (RFC 8415 §18.3.1)
    IGNORED = "ignored"  # a rule with ignore = true matched: no reply (an event dhcp6.ignored says which)


@dataclass(slots=True)
class Received:
    """What the socket knew about one datagram from port 546/547: the ``meta`` of :meth:`Dhcp6Engine.handle`.

    Not frozen only because frozen dataclasses are slow to build (one per datagram);
    nothing changes it after construction.
    """

    src: IPv6Address
    interface: str | None = None
    # False when the destination was a unicast address (RFC 8415 §16 rules).
    multicast: bool = True


Outcome6 = Outcome[int]
"""What :meth:`Dhcp6Engine.handle` returns: replies to the datagram's source, at this UDP port."""


class _Drop(Exception):
    """Internal: discard the message, counting ``reason``."""

    def __init__(self, reason: DropReason) -> None:
        super().__init__(reason)
        self.reason = reason


MAX_CLIENT_NAME: Final = 253
"""Longest client name kept: a DNS name's 255 wire octets as text (RFC 1035 §2.3.4)."""


def client_fqdn(option: ClientFqdn | None) -> str | None:
    """The client's name from its Client FQDN option (RFC 4704 §4), made safe for logs and the store.

    Fully qualified or partial, without the trailing dot; None without the option, with an empty
    name (the client asks the server to pick one, §4.2) or a malformed one (not a reason to refuse
    an address). Cleaned as DHCPv4 cleans option 12 (``boot/names.client_name``).
    """
    if option is None:
        return None
    try:
        name = option.domain_name()
    except DecodeError:
        return None
    return client_name(name, MAX_CLIENT_NAME)


@dataclass(slots=True)
class _Ctx:
    """Everything about one client message the handlers share."""

    msg: Dhcp6Message
    layers: list[Dhcp6Relay]
    rx: Received
    now: float
    client_id: ClientId | None
    duid: bytes | None
    client: ClientInfo
    host: Host | None
    index: dict[type, list[Any]]
    plan: tuple[ReplyPlan, Subnet6 | None] | None = None  # the last :meth:`Dhcp6Engine._plan`, for ``stateless``
    stateless: bool = False

    def first(self, kind: type[T]) -> T | None:
        """The message's first option of class ``kind``."""
        found = self.index.get(kind)
        return found[0] if found else None

    def all(self, kind: type[T]) -> list[T]:
        """The message's options of class ``kind``, in wire order."""
        return self.index.get(kind, [])


@dataclass(frozen=True, slots=True)
class _Tail:
    """Options every reply of one kind shares: Server Identifier and the configured options,
    kept as objects (for relayed replies) and pre-encoded (for direct ones)."""

    options: tuple[Dhcp6Option, ...]
    wire: bytes


@dataclass(slots=True)
class _Answer:
    msg_type: MessageType
    options: list[Dhcp6Option]
    tail: _Tail
    leases: list[Lease]
    event: EventRecord | None
    plan: ReplyPlan | None = None


class Dhcp6Engine:
    """The DHCPv6 server of one configuration: bindings, server DUID, counters.

    ``link_subnets`` maps each served interface to the subnet6 of clients directly
    attached to it (relayed clients are placed by link-address, RFC 8415 §13.1).
    ``address_text`` formats a 16-octet address for leases and events (default: ``ipaddress``).
    """

    def __init__(
        self,
        policy: BootPolicy,
        server_duid: bytes,
        link_subnets: Mapping[str, Subnet6 | None] | None = None,
        leases: Iterable[Lease] = (),
        now: float = 0.0,
        address_text: Callable[[bytes], str] | None = None,
    ) -> None:
        self.server_duid = server_duid
        self.server_id = ServerId(decode_duid(server_duid))
        self.table = LeaseTable6(address_text=address_text) if address_text else LeaseTable6()
        self.http_boot = HttpBootMemory()
        self._decoder = ServerDecoder()
        self._clients: dict[tuple[bytes, str | None, tuple[int, ...]], ClientInfo] = {}
        self.counters: Counter[str] = Counter()  # by name; /metrics reads them at scrape time (web/metrics.py)
        self._bare_tail = _Tail((self.server_id,), encode_options((self.server_id,)))
        # RFC 8415 §18.3: the message types not answered by :meth:`_assign` (Solicit, Request, Renew, Rebind).
        self._handlers: dict[int, Callable[[_Ctx], _Answer]] = {
            MessageType.INFORMATION_REQUEST: self._information,  # §18.3.6
            MessageType.CONFIRM: self._confirm,  # §18.3.3
            MessageType.RELEASE: self._release_or_decline,  # §18.3.7
            MessageType.DECLINE: self._release_or_decline,  # §18.3.8
        }
        self.link_subnets: dict[str, Subnet6 | None] = {}
        self.set_policy(policy, link_subnets or {})
        self.table.load(leases, now)

    def set_policy(self, policy: BootPolicy, link_subnets: Mapping[str, Subnet6 | None] | None = None) -> None:
        """Apply a new configuration or host list (hot reload); bindings are kept.

        ``link_subnets`` as for the constructor; ``None`` keeps the links, re-matched by
        interface name to the new config's subnets.
        """
        if link_subnets is None:
            by_iface = {s.interface: s for s in policy.config.subnet6 if s.interface}
            by_prefix = {s.prefix: s for s in policy.config.subnet6}
            link_subnets = {
                name: by_iface.get(name) or (by_prefix.get(old.prefix) if old is not None else None)
                for name, old in self.link_subnets.items()
            }
        self.policy = policy
        self.config = config = policy.config
        self.link_subnets = dict(link_subnets)
        self.pools = {id(s): PoolSet((p.start, p.end) for p in s.pools) for s in config.subnet6}
        # Pool allow/deny (boot/policy.PoolAccess) of the subnets that restrict a pool, and the PoolSets of
        # the pools one kind of client may use, by subnet and which pools admit it.
        self._access = {
            id(s): tuple(PoolAccess.of(p) for p in s.pools)
            for s in config.subnet6
            if any(p.allow or p.deny for p in s.pools)
        }
        self._usable_sets: dict[tuple[int, tuple[bool, ...]], PoolSet] = {}
        self._has_ignore = any(r.ignore for r in config.rule)
        self.table.reserved = frozenset(int(IPv6Address(h.ipv6)) for h in policy.hosts.by_name.values() if h.ipv6)
        self._tail_cache: dict[tuple[object, ...], _Tail] = {}
        self._tail_by_plan: dict[tuple[int, int, frozenset[int]], tuple[ReplyPlan, _Tail]] = {}
        self._plan_cache: dict[tuple[object, ...], ReplyPlan] = {}
        self._lifetimes = {id(s): dhcp6_lifetimes(config, s) for s in config.subnet6}
        self._rapid_commit = config.dhcp6.rapid_commit
        rules = config.rule
        self._mac_dependent = (
            any(r.match.mac or r.match.client_id for r in rules) or any("{mac}" in (r.bootfile or "") for r in rules)
        )  # fmt: skip

    def mac_for_ip(self, address: str, now: float) -> str | None:
        """The MAC holding a live binding of ``address`` (``Runtime.mac_for_address``)."""
        try:
            b = self.table.holder(IPv6Address(address.split("%", 1)[0]))
        except ValueError:
            return None
        return b.mac if b is not None and b.state != LeaseState.DECLINED and b.expires > now else None

    def pool_usage(self, now: float) -> list[PoolUsage]:
        """Per subnet6: pool size, pool addresses held and free, live bindings by state (``/metrics``).

        One pass over the bindings, read when metrics are scraped: nothing is counted per request.
        A binding belongs to the longest configured prefix holding it.
        """
        subnets = self.config.subnet6
        index = {(int(s.prefix.netmask), int(s.prefix.network_address)): i for i, s in enumerate(subnets)}
        masks = sorted({mask for mask, _ in index}, reverse=True)

        def where(a: int) -> int | None:
            for mask in masks:
                i = index.get((mask, a & mask))
                if i is not None:
                    return i
            return None

        pools = [self.pools[id(s)] for s in subnets]
        held: list[dict[LeaseState, int]] = [{} for _ in subnets]
        used = [0] * len(subnets)
        by_addr = self.table.by_addr
        for a, b in by_addr.items():
            i = where(a) if b.expires > now else None
            if i is None:
                continue
            states = held[i]
            states[b.state] = states.get(b.state, 0) + 1
            if a in pools[i]:
                used[i] += 1
        blocked = [0] * len(subnets)  # reserved for a host, inside a pool, not held now
        for a in self.table.reserved:
            i = where(a)
            holder = by_addr.get(a)
            if i is not None and a in pools[i] and (holder is None or holder.expires <= now):
                blocked[i] += 1
        return [
            PoolUsage(6, str(s.prefix), pools[i].size, used[i], pools[i].size - used[i] - blocked[i], held[i])
            for i, s in enumerate(subnets)
        ]

    def on_timer(self, now: float) -> Outcome6:
        """Forget bindings past their valid lifetime (RFC 8415 §18.3 leaves reuse to the server).

        ``writes``: bound leases that ran out, recorded as ``expired``; ``forget``: declined
        addresses out of probation, whose rows can go.
        """
        writes: list[Lease] = []
        forget: list[str] = []
        for b in self.table.expired(now):
            if b.state == LeaseState.BOUND:
                writes.append(Lease(6, b.text, b.key, b.mac, b.expires, b.hostname, LeaseState.EXPIRED))
            elif b.state == LeaseState.DECLINED:
                forget.append(b.text)
        return Outcome(writes=writes, forget=forget)

    def next_deadline(self) -> float | None:
        """When the first binding runs out (a scan: the transport sweeps on a fixed interval)."""
        return min((b.expires for b in self.table.by_addr.values()), default=None)

    # ------------------------------------------------------------------ entry point

    def handle(self, datagram: bytes, meta: Received, now: float) -> Outcome6 | None:
        """Answer one datagram (the UDP payload); ``None`` when it is dropped (see :attr:`counters`)."""
        self.counters["received"] += 1
        try:
            if len(datagram) > MAX_MESSAGE:
                raise _Drop(DropReason.OVERSIZED)
            return self._handle(datagram, meta, now)
        except _Drop as d:
            self.counters["dropped." + d.reason] += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("DHCPv6 from %s%%%s dropped: %s", meta.src, meta.interface, d.reason)
            return None
        except DecodeError as e:  # RFC 8415 §16: discard what does not parse
            self.counters["dropped." + DropReason.MALFORMED] += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug("DHCPv6 from %s%%%s malformed: %s", meta.src, meta.interface, e)
            return None
        except Exception:  # a bug must not stop the server: count it, say it once per message
            self.counters["internal_error"] += 1
            log.warning("DHCPv6 from %s%%%s: internal error", meta.src, meta.interface, exc_info=True)
            return None

    def _handle(self, datagram: bytes, rx: Received, now: float) -> Outcome6:
        outer = self._decoder.decode(datagram)
        if isinstance(outer, Dhcp6Relay):
            if outer.msg_type != MessageType.RELAY_FORW:
                raise _Drop(DropReason.RELAY_REPLY_RECEIVED)
            msg, layers = innermost(outer)
            if any(r.hop_count > HOP_COUNT_LIMIT for r in layers):
                raise _Drop(DropReason.RELAY_HOP_LIMIT)  # RFC 8415 §19.1.1
        else:
            msg, layers = outer, []
        t = msg.msg_type
        counters = self.counters
        counters[_RX.get(t, "rx.other")] += 1
        if t not in _NAMES:
            raise _Drop(DropReason.NOT_FOR_SERVER)  # Advertise, Reply, Reconfigure, unknown (RFC 8415 §16)
        index = option_index(msg)
        found = index.get(ClientId)
        cid: ClientId | None = found[0] if found else None
        duid = self._decoder.duid_octets(cid) if cid is not None else None
        client = self._client(msg, layers, duid, rx, index)
        host = self.policy.hosts.find(client)
        ctx = _Ctx(msg, layers, rx, now, cid, duid, client, host, index)
        if not layers and not rx.multicast:
            if t in _NO_UNICAST:
                raise _Drop(DropReason.UNICAST)
            if self._has_ignore and (ignored := self._ignored(ctx)) is not None:
                return ignored
            answer = self._use_multicast(ctx)
        else:
            self._validate(ctx)
            if self._has_ignore and (ignored := self._ignored(ctx)) is not None:
                return ignored
            answer = self._dispatch(ctx)
        counters[_TX[t]] += 1
        xid = msg.transaction_id
        if layers:  # RFC 8415 §19.3: a Relay-reply per layer, to the relay's port
            echo = (cid,) if cid is not None else ()
            reply = Dhcp6Message(answer.msg_type, xid, (*echo, *answer.options, *answer.tail.options))
            data, port = relay_reply(reply, layers).encode(), SERVER_PORT
        else:
            # The Client Identifier echoed as received (RFC 8415 §16: Reply carries the client's).
            head = _HEAD.pack(answer.msg_type << 24 | xid) + (_OPT_HDR.pack(1, len(duid)) + duid if duid else b"")
            data, port = head + encode_options(answer.options) + answer.tail.wire, CLIENT_PORT
        events = (answer.event,) if answer.event is not None else ()
        boot = answer.plan.answer if answer.plan is not None else None
        return Outcome((Reply(data, port),), answer.leases, (), events, boot)

    def _client(self, msg: Dhcp6Message, layers: list[Dhcp6Relay], duid: bytes | None, rx: Received,
                index: dict[type, list[Any]]) -> ClientInfo:  # fmt: skip
        """:func:`client_info`, remembered for plain direct clients (the frozen record is costly to build).

        Only messages without relay, vendor or user class qualify, from a DUID-LLT or DUID-LL (the
        MAC comes from the DUID, not the source address), keyed by DUID, interface and
        architectures, and only while the DUID is not a remembered HTTP-boot client.
        """
        interface = rx.interface
        if (
            layers or duid is None or duid[0] != 0 or duid[1] not in _MAC_DUIDS or duid[2:4] != b"\x00\x01"
            or VendorClass in index or UserClass in index or self.http_boot.get(duid)
        ):  # fmt: skip
            return client_info(msg, layers, duid, interface, self.http_boot, index, rx.src)
        arch = index.get(ClientArchType)
        key = (duid, interface, arch[0].values if arch else ())
        client = self._clients.get(key)
        if client is None:
            client = client_info(msg, layers, duid, interface, self.http_boot, index, rx.src)
            if len(self._clients) >= _CLIENTS_MAX:
                self._clients.clear()
            self._clients[key] = client
        return client

    # ------------------------------------------------------------------ validation

    def _validate(self, ctx: _Ctx) -> None:
        """RFC 8415 §16: Client and Server Identifier rules per message type."""
        t = ctx.msg.msg_type
        sid = ctx.first(ServerId)
        if t == MessageType.INFORMATION_REQUEST:
            if sid is not None and sid != self.server_id:
                raise _Drop(DropReason.OTHER_SERVER)  # §16.12
            if ctx.first(IaNa) or ctx.first(IaTa) or ctx.first(IaPd):
                raise _Drop(DropReason.IA_IN_INFORMATION_REQUEST)
            return
        if ctx.client_id is None:
            raise _Drop(DropReason.NO_CLIENT_ID)
        if t in _NO_SERVER_ID:
            if sid is not None:
                raise _Drop(DropReason.SERVER_ID_PRESENT)  # §16.2, §16.5, §16.7
        elif sid is None:
            raise _Drop(DropReason.NO_SERVER_ID)  # §16.4, §16.6, §16.8, §16.9
        elif sid != self.server_id:
            raise _Drop(DropReason.OTHER_SERVER)

    # ------------------------------------------------------------------ planning

    def _plan(self, ctx: _Ctx, stateless: bool) -> tuple[ReplyPlan, Subnet6 | None]:
        """The reply plan in the subnet :func:`~bootwright.boot.subnets.select6` chooses (once per message)."""
        if ctx.plan is not None and ctx.stateless == stateless:
            return ctx.plan
        if ctx.layers:
            subnet = select6(self.config.subnet6, True, link_address(ctx.layers), None)
        else:
            subnet = select6(self.config.subnet6, False, None, self.link_subnets.get(ctx.rx.interface or ""))
        ctx.plan, ctx.stateless = (self._plan_cached(ctx, subnet, stateless), subnet), stateless
        return ctx.plan

    def _ignored(self, ctx: _Ctx) -> Outcome6 | None:
        """No reply at all when a rule with ``ignore = true`` decides (dnsmasq ``dhcp-ignore``): an event, no
        Advertise, no Reply, not even a status code; the client stays free for another server."""
        plan, _ = self._plan(ctx, stateless=ctx.msg.msg_type == MessageType.INFORMATION_REQUEST)
        answer = plan.answer
        if not answer.ignored:
            return None
        self.counters["dropped." + DropReason.IGNORED] += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug("DHCPv6 %s from %s not answered: ignored by rule %r", _NAMES.get(ctx.msg.msg_type),
                      ctx.client.mac or ctx.rx.src, answer.rule)  # fmt: skip
        event = self._event(EventKind.DHCP6_IGNORED, ctx, None)
        event.detail["rule"] = answer.rule
        return Outcome(events=(event,), answer=answer)

    def _usable(self, subnet: Subnet6, answer: BootAnswer) -> PoolSet:
        """The pools of ``subnet`` this client may take an address from (pool allow/deny, as DHCPv4)."""
        members = self.policy.members(answer)
        admits = tuple(a is None or a.permits(members) for a in self._access[id(subnet)])
        key = (id(subnet), admits)
        found = self._usable_sets.get(key)
        if found is None:
            ranges = [(p.start, p.end) for p, ok in zip(subnet.pools, admits, strict=True) if ok]
            found = self._usable_sets[key] = PoolSet(ranges)
        return found

    def _plan_cached(self, ctx: _Ctx, subnet: Subnet6 | None, stateless: bool) -> ReplyPlan:
        """:func:`plan_reply`, memoised for clients whose answer cannot depend on who they are.

        Without a host record, and with no rule matching MAC prefixes or filling ``{mac}``,
        the decision reads only architecture, classes, relay and link, so every client
        sharing those gets the same plan; MAC and DUID are left out of the cache key.
        """
        c = ctx.client
        if ctx.host is not None or self._mac_dependent:
            return plan_reply(self.policy, c, subnet, host=ctx.host, stateless=stateless)
        key = (c.arches, c.vendor_class, c.vendor_enterprise, c.user_classes, c.relay, c.interface, id(subnet),
               stateless)  # fmt: skip
        plan = self._plan_cache.get(key)
        if plan is None:
            anonymous = replace(c, mac=None, duid=None, client_id=None)
            plan = plan_reply(self.policy, anonymous, subnet, host=None, stateless=stateless)
            if len(self._plan_cache) >= _CACHE_MAX:
                self._plan_cache.clear()
            self._plan_cache[key] = plan
        return plan

    def _tail(self, plan: ReplyPlan | None, msg_type: MessageType, subnet: Subnet6 | None, ctx: _Ctx) -> _Tail:
        """Server Identifier plus the plan's options for a reply of ``msg_type`` (cached).

        Options the plan sends only on request (``plan.requested_only``: ``ntp_servers``,
        ``[dhcp6] options``) are left out unless the client's Option Request names them (RFC 8415 §21.7).
        """
        if plan is None:
            return self._bare_tail
        unasked = _NOTHING
        if plan.requested_only:
            oro = ctx.first(OptionRequest)
            unasked = plan.requested_only.difference(oro.values) if oro is not None else plan.requested_only
        # Cached plans are shared objects: look their tails up by identity first (hashing a
        # BootAnswer costs more than building the key), by content otherwise.
        seen = self._tail_by_plan.get((id(plan), msg_type, unasked))
        if seen is not None and seen[0] is plan:
            return seen[1]
        key = (plan.answer, subnet.prefix if subnet is not None else None, msg_type, tuple(plan.options), unasked)
        tail = self._tail_cache.get(key)
        if tail is None:
            opts = (
                self.server_id,
                *(
                    o for o in wire_options(plan.options)
                    # RFC 8415 §21.8: Preference only in Advertise; §21.23: refresh time only
                    # in a Reply to Information-request.
                    if not (isinstance(o, Preference) and msg_type != MessageType.ADVERTISE)
                    and not (isinstance(o, InfoRefreshTime) and msg_type != MessageType.INFORMATION_REQUEST)
                    and o.code not in unasked
                ),
            )  # fmt: skip
            tail = _Tail(opts, encode_options(opts))
            if len(self._tail_cache) >= _CACHE_MAX:
                self._tail_cache.clear()
            self._tail_cache[key] = tail
        if len(self._tail_by_plan) >= _CACHE_MAX:
            self._tail_by_plan.clear()
        self._tail_by_plan[(id(plan), msg_type, unasked)] = (plan, tail)  # holds the plan: its id stays unique
        return tail

    def _event(self, kind: EventKind, ctx: _Ctx, plan: ReplyPlan | None, address: str | None = None) -> EventRecord:
        detail: dict[str, str | int | float | None] = {
            "msg": _NAMES.get(ctx.msg.msg_type),
            "xid": f"{ctx.msg.transaction_id:06x}",
        }
        if address is not None:
            detail["address"] = address
        if plan is not None and plan.answer.bootfile is not None:
            detail["bootfile"] = plan.answer.bootfile
        if ctx.layers:
            detail["relay"] = str(ctx.rx.src)
        elif ctx.rx.interface:
            detail["interface"] = ctx.rx.interface
        return EventRecord(kind, ctx.client.mac, ctx.host.name if ctx.host else None, detail)

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, ctx: _Ctx) -> _Answer:
        handler = self._handlers.get(ctx.msg.msg_type)
        return handler(ctx) if handler is not None else self._assign(ctx)

    def _use_multicast(self, ctx: _Ctx) -> _Answer:
        """RFC 8415 §18.3.2/§18.3.4/§18.3.7/§18.3.8: unicast without Server Unicast."""
        if ctx.client_id is None:
            raise _Drop(DropReason.NO_CLIENT_ID)
        self.counters["tx.use-multicast"] += 1
        status = StatusCodeOption(StatusCode.USE_MULTICAST, "send to ff02::1:2")
        return _Answer(MessageType.REPLY, [status], self._bare_tail, [], None)

    def _information(self, ctx: _Ctx) -> _Answer:
        """RFC 8415 §18.3.6: configuration only (seed 000's stateless mode)."""
        plan, subnet = self._plan(ctx, stateless=True)
        tail = self._tail(plan, MessageType.INFORMATION_REQUEST, subnet, ctx)
        return _Answer(MessageType.REPLY, [], tail, [], self._event(EventKind.DHCP6_REPLY, ctx, plan), plan)

    def _confirm(self, ctx: _Ctx) -> _Answer:
        """RFC 8415 §18.3.3: are the client's addresses on this link?"""
        plan, subnet = self._plan(ctx, stateless=False)
        addrs = [a.address for ia in (*ctx.all(IaNa), *ctx.all(IaTa)) for a in ia.get_all(IaAddr)]
        if subnet is None or not addrs:
            raise _Drop(DropReason.CONFIRM_UNKNOWN)  # the server MUST NOT reply when it cannot tell
        ok = all(a in subnet.prefix for a in addrs)
        status = (
            StatusCodeOption(StatusCode.SUCCESS, "all addresses on link")
            if ok
            else StatusCodeOption(StatusCode.NOT_ON_LINK, "not on this link")
        )
        tail = self._tail(plan, MessageType.REPLY, subnet, ctx)
        return _Answer(MessageType.REPLY, [status], tail, [], self._event(EventKind.DHCP6_REPLY, ctx, plan))

    def _release_or_decline(self, ctx: _Ctx) -> _Answer:
        """RFC 8415 §18.3.7 (Release) and §18.3.8 (Decline)."""
        assert ctx.duid is not None
        decline = ctx.msg.msg_type == MessageType.DECLINE
        leases: list[Lease] = []
        ias: list[Dhcp6Option] = []
        for ia in ctx.all(IaNa):
            key = ia_key(ctx.duid, ia.iaid)
            done = False
            for a in ia.get_all(IaAddr):
                fn = self.table.decline if decline else self.table.release
                lease = fn(key, a.address, ctx.now)
                if lease is not None:
                    leases.append(lease)
                    done = True
            if not done:
                ias.append(IaNa(ia.iaid, 0, 0, (StatusCodeOption(StatusCode.NO_BINDING, "no binding"),)))
        word = "declined" if decline else "released"
        status = StatusCodeOption(StatusCode.SUCCESS, f"{len(leases)} address(es) {word}")
        first = leases[0].address if leases else None
        event = self._event(EventKind.DHCP6_REPLY, ctx, None, first)
        return _Answer(MessageType.REPLY, [status, *ias], self._bare_tail, leases, event)

    def _assign(self, ctx: _Ctx) -> _Answer:
        """Solicit (§18.3.1), Request (§18.3.2), Renew (§18.3.4), Rebind (§18.3.5)."""
        assert ctx.duid is not None
        t = ctx.msg.msg_type
        plan, subnet = self._plan(ctx, stateless=False)
        if subnet is None:
            raise _Drop(DropReason.NO_SUBNET)  # no link we serve: another server may
        solicit = t == MessageType.SOLICIT
        rapid = solicit and self._rapid_commit and ctx.first(RapidCommit) is not None
        commit = not solicit or rapid
        t1, t2, preferred, valid = self._lifetimes[id(subnet)]
        fixed = None
        if ctx.host is not None and ctx.host.ipv6:
            f = IPv6Address(ctx.host.ipv6)
            fixed = f if f in subnet.prefix else None
        # RFC 8415 §18.3.4/§18.3.5: an address in a pool the client may no longer use is not extended; the
        # reply gives it lifetimes 0 (below) and, if a pool admits the client, a new address.
        pools = self._usable(subnet, plan.answer) if id(subnet) in self._access else self.pools[id(subnet)]
        leases: list[Lease] = []
        ias: list[Dhcp6Option] = []
        first: str | None = None
        mac = ctx.client.mac
        # The name the client sent (RFC 4704 option 39), as DHCPv4 keeps option 12; else the inventory's.
        sent_name = client_fqdn(ctx.first(ClientFqdn))
        hostname = sent_name or (ctx.host.name if ctx.host is not None else None)
        table = self.table
        for ia in ctx.all(IaNa):
            key = ia_key(ctx.duid, ia.iaid)
            asked = [a.address for a in ia.get_all(IaAddr)]
            addr = table.allocate(key, pools, ctx.now, asked, fixed)
            inner: list[Dhcp6Option] = []
            if addr is not None:
                if commit:
                    b = table.bind(key, addr, mac, ctx.now + valid, hostname)
                    leases.append(b.lease())
                else:
                    b = table.offer(key, addr, mac, ctx.now)
                first = first or b.text
                if not asked or (len(asked) == 1 and int(asked[0]) == addr):  # the usual case, in one step
                    ias.append(UnknownOption(3, _IA_NA_ONE.pack(ia.iaid, t1, t2, 5, 24, addr.to_bytes(16),
                                                                preferred, valid)))  # fmt: skip
                    continue
                inner.append(IaAddr(IPv6Address(addr), preferred, valid))
                ia_t1, ia_t2 = t1, t2
            else:
                ia_t1 = ia_t2 = 0
                if t in _EXTENDING and not asked:
                    inner.append(StatusCodeOption(StatusCode.NO_BINDING, "no binding for this IA"))
                else:
                    inner.append(StatusCodeOption(StatusCode.NO_ADDRS_AVAIL, "no addresses available"))
            if t in _ZERO_LIFETIMES:
                # RFC 8415 §18.3.4/§18.3.5: addresses the client may no longer use get lifetimes 0.
                inner += [IaAddr(a, 0, 0) for a in asked if int(a) != addr]
            ias.append(IaNa(ia.iaid, ia_t1, ia_t2, tuple(inner)))
        for ta in ctx.all(IaTa):  # temporary addresses are not offered (docs/ipv6.md)
            ias.append(IaTa(ta.iaid, (StatusCodeOption(StatusCode.NO_ADDRS_AVAIL, "no temporary addresses"),)))
        for pd in ctx.all(IaPd):  # nor prefix delegation
            ias.append(IaPd(pd.iaid, 0, 0, (StatusCodeOption(StatusCode.NO_PREFIX_AVAIL, "no prefixes"),)))
        reply_type = MessageType.REPLY if commit else MessageType.ADVERTISE
        options = ias
        if rapid:
            options.append(RapidCommit())  # RFC 8415 §18.3.1: the Reply says it is committed
        kind = EventKind.DHCP6_REPLY if commit else EventKind.DHCP6_ADVERTISE
        tail = self._tail(plan, reply_type, subnet, ctx)
        event = self._event(kind, ctx, plan, first)
        if sent_name:  # absent, not null, when the client sent none (as dhcp4.ack's hostname)
            event.detail["hostname"] = sent_name
        return _Answer(reply_type, options, tail, leases, event, plan)
