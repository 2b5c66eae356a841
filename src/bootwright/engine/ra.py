"""Sans-I/O router advertiser for one interface (RFC 4861 §6.2, the radvd / BIRD radv role).

Rule: every decision about when and to whom an RA goes is made here; the I/O
layer owns the raw ICMPv6 socket, the clock and the random source, and drives the
:class:`~bootwright.engine.Engine` shape::

    adv = RouterAdvertiser(ra_settings(config, subnets, mac), random.random)
    adv.start(now)                                   the interface advertises (§6.2.4)
    on a Router Solicitation:  adv.handle(data, RsContext(src, hop_limit), now)  (schedules; no reply now)
    at adv.next_deadline():    out = adv.on_timer(now)
                               send each out.replies (to ff02::1 or a solicitor), report out.events
    on shutdown:               send adv.final()      router lifetime 0

``handle`` and ``on_timer`` draw their random number from the ``rand`` given
at construction and call the same steps with it as an argument
(:meth:`~RouterAdvertiser.on_solicit`, :meth:`~RouterAdvertiser.advertise`,
:meth:`~RouterAdvertiser.due_unicast`), which the tests drive directly.

Unsolicited RAs go out between MinRtrAdvInterval and MaxRtrAdvInterval, the first
MAX_INITIAL_RTR_ADVERTISEMENTS no more than MAX_INITIAL_RTR_ADVERT_INTERVAL apart
(§6.2.4). A valid solicitation from a unicast source is answered by a unicast RA
to that source after a random delay of up to MAX_RA_DELAY_TIME (§6.2.6 allows it;
RFC 7772 §5.1.1 recommends it, radvd's AdvRASolicitedUnicast; ``solicited_unicast``
turns it off), at most one per source every MIN_DELAY_BETWEEN_RAS. Otherwise — a
solicitation from ``::``, more than MAX_WAITING solicitors at once, or unicast
turned off — it schedules one multicast RA after the same random delay, never sooner
than MIN_DELAY_BETWEEN_RAS after the previous multicast RA (§6.2.6): a flood of
solicitations costs at most one RA every three seconds, the rest are counted as
absorbed. Every valid solicitation is answered by the next multicast RA or its
own unicast one, so the advertiser remembers who asked (the source
address, and the MAC from the Source Link-Layer Address option, RFC 4861 §4.1)
and hands them over as :attr:`RouterAdvertiser.answered` with that RA: the I/O
layer records one event per host, which puts "router solicitation answered" in
that host's boot timeline. Randomness (``u`` in [0, 1), or the ``rand`` callable)
and time are arguments; nothing here sleeps or touches a socket.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv6Address
from typing import Final

from bootwright.config import Config, Subnet6
from bootwright.engine import EventRecord, Outcome, Reply
from bootwright.model import EventKind, mac_from_bytes
from bootwright.wire import DecodeError
from bootwright.wire.ndp import (
    ALL_NODES,
    MAX_RA_DELAY_TIME,
    MIN_DELAY_BETWEEN_RAS,
    ND_HOP_LIMIT,
    Dnssl,
    Mtu,
    NdOptionValue,
    PrefixInformation,
    Rdnss,
    RouterAdvertisement,
    RouterPreference,
    RouterSolicitation,
    SourceLinkLayerAddress,
    decode,
    default_adv_default_lifetime,
    default_min_rtr_adv_interval,
    encode,
    solicited_ra_time,
    unsolicited_ra_interval,
)

__all__ = ["MAX_WAITING", "OutcomeRa", "RaSettings", "RouterAdvertiser", "RsContext", "Solicitation", "ra_settings"]

log = logging.getLogger("bootwright.ra")

_PREFERENCE: Final = {
    "low": RouterPreference.LOW,
    "medium": RouterPreference.MEDIUM,
    "high": RouterPreference.HIGH,
}  # RFC 4191 §2.2

OutcomeRa = Outcome[IPv6Address]
"""What the advertiser returns: RAs addressed to ff02::1 (all nodes) or to one solicitor."""

MAX_WAITING: Final = 64  # solicitors remembered for the next RA; beyond that a flood is only counted
_ETHERNET_ADDRESS_LEN: Final = 6  # RFC 2464 §6: the link-layer option of Ethernet carries a 6-octet MAC


@dataclass(frozen=True, slots=True)
class RaSettings:
    """What one interface advertises and how often (RFC 4861 §6.2.1 AdvSendAdvertisements etc.)."""

    min_interval: float
    max_interval: float
    advertisement: RouterAdvertisement
    solicited_unicast: bool = True  # answer RSs from unicast sources with unicast RAs (RFC 7772 §5.1.1)


def _dns_lifetime(max_interval: float) -> int:
    return int(3 * max_interval)  # RFC 8106 §5.1/§5.2: at least 3 × MaxRtrAdvInterval by default


def ra_settings(config: Config, subnets: Sequence[Subnet6], mac: bytes | None = None) -> RaSettings:
    """Build an interface's RA from the subnet6 entries advertised on it (each with ``ra``).

    Timing, flags and router fields come from the first subnet; M and O are set when any
    subnet sets them; every subnet contributes its Prefix Information (RFC 4861 §4.6.2),
    RDNSS addresses and DNSSL names (RFC 8106 §5; default: the subnet's DHCPv6 ``dns`` and
    ``domain_search``). ``mac`` becomes the Source Link-Layer Address option (§4.6.1).
    """
    ras = [(s, s.ra) for s in subnets if s.ra is not None and s.ra.enabled]
    if not ras:
        raise ValueError("no subnet6 with an enabled [ra] table")
    first = ras[0][1]
    max_i = first.max_interval
    min_i = first.min_interval if first.min_interval is not None else default_min_rtr_adv_interval(max_i)
    lifetime = first.router_lifetime if first.router_lifetime is not None else default_adv_default_lifetime(max_i)
    options: list[NdOptionValue] = []
    if mac is not None:
        options.append(SourceLinkLayerAddress(mac))
    if first.mtu is not None:
        options.append(Mtu(first.mtu))
    dns: list[IPv6Address] = []
    search: list[str] = []
    for sub, ra in ras:
        prefix = sub.prefix.network_address
        if ra.router_address:  # RFC 6275 §7.2: R set, the field holds the router's own address
            own = sub.server or config.server.address6
            prefix = own if own is not None and own in sub.prefix else prefix
        options.append(
            PrefixInformation(
                prefix=prefix,
                prefix_length=sub.prefix.prefixlen,
                on_link=ra.on_link,
                autonomous=ra.autonomous,
                router_address=ra.router_address,
                valid_lifetime=ra.prefix_valid_lifetime,
                preferred_lifetime=ra.prefix_preferred_lifetime,
            )
        )
        servers = ra.rdnss if ra.rdnss is not None else (sub.dns or config.dhcp6.dns or [])
        dns += [a for a in servers if a not in dns]
        names = ra.dnssl if ra.dnssl is not None else (sub.domain_search or config.dhcp6.domain_search or [])
        search += [n for n in names if n not in search]
    if dns:
        options.append(Rdnss(_dns_lifetime(max_i), tuple(dns)))
    if search:
        options.append(Dnssl(_dns_lifetime(max_i), tuple(search)))
    ra_msg = RouterAdvertisement(
        cur_hop_limit=first.hop_limit,
        managed=any(ra.managed for _, ra in ras),
        other=any(ra.other for _, ra in ras),
        preference=_PREFERENCE[first.router_preference],
        router_lifetime=lifetime,
        reachable_time=first.reachable_time,
        retrans_timer=first.retrans_timer,
        options=tuple(options),
    )
    return RaSettings(min_i, max_i, ra_msg, first.solicited_unicast)


@dataclass(frozen=True, slots=True)
class RsContext:
    """What the socket knew about a Router Solicitation: the ``meta`` of :meth:`RouterAdvertiser.handle`."""

    src: IPv6Address  # the IPv6 source address (``::`` from a host without an address yet)
    hop_limit: int | None  # the IP hop limit (RFC 4861 §6.1.1: must be 255); None when the socket cannot tell


@dataclass(frozen=True, slots=True)
class Solicitation:
    """A valid Router Solicitation waiting for (or answered by) a multicast RA.

    ``mac`` comes from the RS's Source Link-Layer Address option (RFC 4861 §4.1,
    §4.6.1) when it holds a 6-octet Ethernet address; an RS without one (a host
    without an address yet, sending from ``::``, must leave it out) has none.
    """

    source: IPv6Address
    mac: str | None
    at: float  # when the RS arrived


def _solicitor_mac(rs: RouterSolicitation) -> str | None:
    address = rs.source_link_layer_address
    return mac_from_bytes(address) if address is not None and len(address) == _ETHERNET_ADDRESS_LEN else None


class RouterAdvertiser:
    """Timers and rate limits of one advertising interface; returns the RAs to send."""

    def __init__(self, settings: RaSettings, rand: Callable[[], float]) -> None:
        """``rand``: uniform numbers in [0, 1) for the RFC 4861 §6.2.4/§6.2.6 random delays (``random.random``)."""
        self.settings = settings
        self.rand = rand
        self.payload = encode(settings.advertisement)  # checksum left to the kernel (RFC 3542 §3.1)
        self.initial_sent = 0  # unsolicited RAs since the interface became advertising (§6.2.4)
        self.last_multicast: float | None = None
        self._unsolicited_at: float | None = None
        self._solicited_at: float | None = None
        self._waiting: dict[str | IPv6Address, Solicitation] = {}  # by MAC, else by source address
        self._unicast: dict[IPv6Address, tuple[float, Solicitation]] = {}  # source → (due, RS)
        self._unicast_sent: dict[IPv6Address, float] = {}  # source → when its last unicast RA left
        self.answered: tuple[Solicitation, ...] = ()  # answered by the RA the last on_timer() returned
        self.counters: Counter[str] = Counter()  # by name; /metrics reads them at scrape time (web/metrics.py)

    def update(self, settings: RaSettings) -> None:
        """New settings (hot reload); timers keep running, the next RA carries the change."""
        self.settings = settings
        self.payload = encode(settings.advertisement)

    def start(self, now: float) -> None:
        """The interface becomes an advertising interface: first RA now (§6.2.4)."""
        self.initial_sent = 0
        self._unsolicited_at = now
        self._solicited_at = None
        self._waiting.clear()
        self._unicast.clear()
        self._unicast_sent.clear()

    def _multicast_deadline(self) -> float | None:
        times = [t for t in (self._unsolicited_at, self._solicited_at) if t is not None]
        return min(times) if times else None

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` (or :meth:`due_unicast`) must run next, or ``None`` before :meth:`start`."""
        due = self._multicast_deadline()
        if due is not None and self._unicast:
            due = min(due, min(when for when, _ in self._unicast.values()))
        return due

    def due_unicast(self, now: float) -> list[Solicitation]:
        """The solicitations whose unicast RA (:attr:`payload`, to their source) is due now.

        RFC 4861 §6.2.6 lets a router unicast its answer to a solicitation from a unicast
        source; the random delay of up to MAX_RA_DELAY_TIME still applies, the three
        seconds between multicast RAs do not (they protect the all-nodes group). A source
        gets at most one unicast RA per MIN_DELAY_BETWEEN_RAS (see :meth:`on_solicit`).
        """
        due = [(when, s) for when, s in self._unicast.values() if when <= now]
        for _, s in due:
            del self._unicast[s.source]
            self._unicast_sent[s.source] = now
        if due:
            self.counters["ra.unicast"] += len(due)
        return [s for _, s in sorted(due, key=lambda d: d[0])]

    def handle(self, datagram: bytes, meta: RsContext, now: float) -> OutcomeRa | None:
        """Take a Router Solicitation (see :meth:`on_solicit`); the answer comes from :meth:`on_timer`.

        Always ``None``: an RA never leaves at once (§6.2.6 delays it); the
        transport re-reads :meth:`next_deadline` after the call.
        """
        self.on_solicit(datagram, meta.src, meta.hop_limit, now, self.rand())
        return None

    def on_timer(self, now: float) -> OutcomeRa:
        """What is due at ``now``: the multicast RA and the unicast RAs, and their events.

        Events: ``ra.sent`` for a multicast RA, and one ``ra.solicited`` per
        solicitation it (or a unicast RA) answers, keyed by the solicitor's MAC;
        the transport adds the interface, its source address and host names,
        and reports only what it could send.
        """
        flags = ("M" if self.settings.advertisement.managed else "") + (
            "O" if self.settings.advertisement.other else ""
        ) or "-"
        replies: list[Reply[IPv6Address]] = []
        events: list[EventRecord] = []
        for payload in self.advertise(now, self.rand()):
            replies.append(Reply(payload, ALL_NODES))
            events.append(
                EventRecord(
                    EventKind.RA_SENT,
                    None,
                    None,
                    {"router_lifetime": self.settings.advertisement.router_lifetime, "flags": flags},
                )
            )
            events += (_solicited(s, now, flags, False) for s in self.answered)
        for s in self.due_unicast(now):  # RFC 4861 §6.2.6, RFC 7772 §5.1.1: straight to the solicitor
            replies.append(Reply(self.payload, s.source))
            events.append(_solicited(s, now, flags, True))
        return Outcome(replies, events=events)

    def advertise(self, now: float, u: float) -> list[bytes]:
        """The multicast step of :meth:`on_timer`: at most one RA to ff02::1. ``u`` is uniform in [0, 1).

        The RA answers every solicitation received since the previous one (whether
        it scheduled this RA or was absorbed into it): they are in :attr:`answered`
        until the next call.
        """
        self.answered = ()
        due = self._multicast_deadline()
        if due is None or now < due:
            return []
        solicited = self._solicited_at is not None and self._solicited_at <= now
        self.answered = tuple(self._waiting.values())
        self._waiting.clear()
        self.initial_sent += 1
        self.counters["ra.solicited" if solicited else "ra.unsolicited"] += 1
        self.last_multicast = now
        self._solicited_at = None
        # §6.2.4: every multicast RA restarts the unsolicited timer.
        s = self.settings
        self._unsolicited_at = now + unsolicited_ra_interval(s.min_interval, s.max_interval, u, self.initial_sent)
        return [self.payload]

    def on_solicit(self, data: bytes, src: IPv6Address, hop_limit: int | None, now: float, u: float) -> bool:
        """Take a Router Solicitation; True when it scheduled an RA (see :meth:`next_deadline`).

        Invalid ones (§6.1.1: IP hop limit not 255, not an RS, bad options, an unspecified
        source with a link-layer address option) are counted and dropped; valid ones arriving
        while an RA is already scheduled are absorbed into it (§6.2.6).
        """
        self.counters["rs.received"] += 1
        if hop_limit is not None and hop_limit != ND_HOP_LIMIT:
            return self._invalid(f"IP hop limit {hop_limit}", src)
        try:
            rs = decode(data)
        except DecodeError as e:
            return self._invalid(str(e), src)
        if not isinstance(rs, RouterSolicitation):
            return self._invalid("not a Router Solicitation", src)
        if src.is_unspecified and rs.source_link_layer_address is not None:
            return self._invalid("unspecified source with a link-layer address", src)
        if self._unsolicited_at is None:
            self.counters["rs.not-started"] += 1
            return False
        solicitation = Solicitation(src, _solicitor_mac(rs), now)
        if self.settings.solicited_unicast and not src.is_unspecified:
            return self._schedule_unicast(solicitation, u)
        return self._schedule_multicast(solicitation, u)

    def _schedule_multicast(self, solicitation: Solicitation, u: float) -> bool:
        """The multicast RA answering ``solicitation`` (§6.2.6), or absorbed into one already due.

        Only a multicast RA can absorb it: a unicast RA due sooner goes to another host.
        """
        self._remember(solicitation)
        when = solicited_ra_time(solicitation.at, self.last_multicast, u)
        pending = self._multicast_deadline()
        if pending is not None and pending <= when:
            self.counters["rs.absorbed"] += 1  # a multicast RA already due first answers this RS
            return False
        self._solicited_at = when
        return True

    def _schedule_unicast(self, solicitation: Solicitation, u: float) -> bool:
        """A unicast RA to the solicitor after the §6.2.6 random delay; floods fall back to multicast.

        A source already waiting, or answered less than MIN_DELAY_BETWEEN_RAS ago, is
        absorbed (its RA is on the way or just arrived); more than MAX_WAITING sources
        waiting at once is a flood, answered by the rate-limited multicast RA instead.
        """
        now, src = solicitation.at, solicitation.source
        last = self._unicast_sent.get(src)
        if src in self._unicast or (last is not None and now - last < MIN_DELAY_BETWEEN_RAS):
            self.counters["rs.absorbed"] += 1
            return False
        if len(self._unicast) >= MAX_WAITING:
            self.counters["rs.unicast-flood"] += 1
            return self._schedule_multicast(solicitation, u)
        if len(self._unicast_sent) >= 4 * MAX_WAITING:  # forget old sources: bounded memory
            self._unicast_sent = {a: t for a, t in self._unicast_sent.items() if now - t < MIN_DELAY_BETWEEN_RAS}
        self._unicast[src] = (now + u * MAX_RA_DELAY_TIME, solicitation)
        return True

    def _remember(self, solicitation: Solicitation) -> None:
        """Keep the solicitor for the next RA: once per MAC (or source address), at most MAX_WAITING."""
        key = solicitation.mac or solicitation.source
        if key in self._waiting:
            return
        if len(self._waiting) >= MAX_WAITING:
            self.counters["rs.unrecorded"] += 1  # still answered by the next RA, just not reported
            return
        self._waiting[key] = solicitation

    def _invalid(self, why: str, src: IPv6Address) -> bool:
        self.counters["rs.invalid"] += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug("Router Solicitation from %s dropped: %s", src, why)
        return False

    def final(self) -> bytes:
        """The last RA, with router lifetime 0 (RFC 4861 §6.2.5): hosts stop using this router."""
        self.counters["ra.final"] += 1
        self._unsolicited_at = self._solicited_at = None
        self._waiting.clear()
        self._unicast.clear()
        self.answered = ()
        return encode(replace(self.settings.advertisement, router_lifetime=0))


def _solicited(s: Solicitation, now: float, flags: str, unicast: bool) -> EventRecord:
    """The ``ra.solicited`` event of an answered solicitation (the host's boot timeline shows it)."""
    detail = {"source": str(s.source), "delay": round(max(0.0, now - s.at), 3), "flags": flags, "unicast": unicast}
    return EventRecord(EventKind.RA_SOLICITED, s.mac, None, detail)
