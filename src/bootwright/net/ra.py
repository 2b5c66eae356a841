"""The router advertisement service: one raw ICMPv6 socket and one timer per interface.

Runs only on interfaces the config names (:func:`ra_links`).
An interface advertises once it has a usable link-local address, the only source hosts
accept RAs from (RFC 4861 §6.1.2); a tap whose guest is not running yet has none, so the
service polls for it once a second and starts the initial fast RAs when it appears
(§6.2.4). On shutdown each interface sends a final RA with router lifetime 0 (§6.2.5).

Events: ``ra.sent`` for every RA (no MAC: it goes to all nodes), and with an RA
that answers Router Solicitations one ``ra.solicited`` per soliciting host, keyed
by the MAC its RS carried (Source Link-Layer Address option, RFC 4861 §4.1) and
the host name where the inventory knows it, so the host's boot timeline shows
"router solicitation answered" (docs/ipv6.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv6Address
from pathlib import Path
from typing import Final

from bootwright.config import Config, Subnet6
from bootwright.engine import EventRecord
from bootwright.engine.ra import OutcomeRa, RouterAdvertiser, RsContext, ra_settings
from bootwright.model import EventKind
from bootwright.net.host import LinkAddress, carries, interface_addresses, link_local, mac_address
from bootwright.net.icmp6 import open_nd_socket, receive_solicitation, send_from
from bootwright.runtime import Runtime, ServiceError
from bootwright.runtime.metrics import Reading
from bootwright.wire.ndp import ALL_NODES

__all__ = ["FORWARDING", "RaService", "create_service", "forwarding_warning", "ra_links", "read_forwarding"]

log = logging.getLogger("bootwright.ra")

POLL_INTERVAL: Final = 1.0  # seconds between checks for a missing link-local address
BATCH: Final = 64  # solicitations read per readable event (the rest wait: floods are bounded)
# Whether this host routes IPv6 (per network namespace); radvd reads the same file
# (device-linux.c, check_ip6_forwarding) and warns when it is 0.
FORWARDING: Final = Path("/proc/sys/net/ipv6/conf/all/forwarding")


def ra_links(config: Config, addresses: Mapping[str, list[LinkAddress]]) -> dict[str, list[Subnet6]]:
    """Router advertisement interfaces and the subnet6s advertised on each.

    A subnet6 with an enabled ``ra`` is advertised on its ``interface``; without one, on
    the ``server.interfaces`` that carry an address in its prefix (or on the only one).
    Never on an interface nobody named: that would make this process a rogue router there.
    """
    out: dict[str, list[Subnet6]] = {}
    servers = list(config.server.interfaces)
    for sub in config.subnet6:
        if sub.ra is None or not sub.ra.enabled:
            continue
        if sub.interface:
            targets = [sub.interface]
        else:
            targets = [n for n in servers if carries(addresses.get(n, ()), sub.prefix)]
            if not targets and len(servers) == 1:
                targets = servers
        for name in targets:
            out.setdefault(name, []).append(sub)
    return out


def read_forwarding(path: Path = FORWARDING) -> int | None:
    """The IPv6 forwarding sysctl (0, 1 or 2), or ``None`` when it cannot be read (no /proc, no IPv6)."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def forwarding_warning(lifetimes: Mapping[str, int], forwarding: int | None) -> str | None:
    """The warning for advertising a default route from a host that does not forward IPv6, or ``None``.

    ``lifetimes`` maps each advertising interface to its router lifetime. A
    lifetime above 0 makes every host on the link install us as its default
    router (RFC 4861 §6.3.4), and a host that does not forward drops what they
    send off-link; RFC 4861 §6.2.5 wants lifetime 0 from a non-forwarding
    interface. radvd warns at start and carries on; so does bootwright.
    """
    if forwarding != 0:
        return None
    routers = sorted(name for name, lifetime in lifetimes.items() if lifetime > 0)
    if not routers:
        return None
    return (
        f"RA on {', '.join(routers)}: clients will use this host as default router but it does not forward "
        f"IPv6 ({FORWARDING} is 0); set router_lifetime = 0 in [subnet6.ra] to advertise addressing and "
        "the M/O flags only, or enable forwarding (sysctl net.ipv6.conf.all.forwarding=1)"
    )


@dataclass
class _Link:
    name: str
    ifindex: int
    sock: socket.socket
    adv: RouterAdvertiser
    src: IPv6Address | None = None
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class RaService:
    """Router advertisements on every configured interface until cancelled."""

    name = "ra"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.links: dict[str, _Link] = {}
        self._config = runtime.config
        self.send_errors = 0

    async def run(self) -> None:
        """Open the sockets, advertise, send the final RAs when cancelled."""
        rt = self.runtime
        self._config = rt.policy.config
        targets = ra_links(self._config, interface_addresses())
        if not targets:
            log.warning("router advertisements configured, but no subnet6 names its interface: not advertising")
            rt.mark_ready("ra", "no interface (set subnet6.interface or server.interfaces)")
            await asyncio.Event().wait()
        try:
            for name, subnets in targets.items():
                try:
                    ifindex = socket.if_nametoindex(name)
                except OSError:
                    raise ServiceError(f"RA: interface {name!r} (from the config) does not exist") from None
                settings = ra_settings(self._config, subnets, mac_address(name))
                try:
                    sock = open_nd_socket(name)
                except PermissionError:
                    raise ServiceError("RA: a raw ICMPv6 socket needs root (CAP_NET_RAW)") from None
                except OSError as e:
                    raise ServiceError(f"RA: cannot open a raw ICMPv6 socket on {name}: {e.strerror}") from None
                link = self.links[name] = _Link(name, ifindex, sock, RouterAdvertiser(settings, random.random))
                asyncio.get_running_loop().add_reader(sock.fileno(), self._readable, link)
                self._poll(link)
            self._check_forwarding(self.links)
            rt.mark_ready("ra", "advertising on " + ", ".join(targets))
            rt.metrics.add_source(self.name, self.reading)
            await asyncio.Event().wait()
        finally:
            rt.metrics.remove_source(self.name, self.reading)
            self._close()

    def reading(self, now: float) -> Reading:
        """Each interface's engine counters (``RouterAdvertiser.counters``), for ``/metrics``."""
        return Reading(interfaces={name: dict(link.adv.counters) for name, link in self.links.items()})

    def _close(self) -> None:
        loop = asyncio.get_running_loop()
        for link in self.links.values():
            if link.timer is not None:
                link.timer.cancel()
            with contextlib.suppress(Exception):
                loop.remove_reader(link.sock.fileno())
            if link.src is not None:
                self._send(link, link.adv.final(), final=True)
            link.sock.close()
        self.links.clear()

    # ------------------------------------------------------------------ timers

    def _poll(self, link: _Link) -> None:
        """Start advertising once the interface has a usable link-local address."""
        loop = asyncio.get_running_loop()
        ll = link_local(link.name)
        if ll is None:
            link.src = None
            link.timer = loop.call_later(POLL_INTERVAL, self._poll, link)
            return
        link.src = ll.address
        link.adv.start(loop.time())
        log.info("RA: advertising on %s from %s", link.name, link.src)
        self._arm(link)

    def _arm(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        if link.timer is not None:
            link.timer.cancel()
        due = link.adv.next_deadline()
        if due is not None:
            link.timer = loop.call_at(max(due, loop.time()), self._fire, link)

    def _follow_reload(self) -> None:
        """``runtime.policy`` was swapped: new RA contents on the same interfaces."""
        self._config = config = self.runtime.policy.config
        targets = ra_links(config, interface_addresses())
        for name, link in self.links.items():
            subnets = targets.get(name)
            if subnets:
                link.adv.update(ra_settings(config, subnets, mac_address(name)))
            elif link.adv.next_deadline() is not None:  # no longer advertised here: say goodbye
                if link.src is not None:
                    self._send(link, link.adv.final(), final=True)
                if link.timer is not None:
                    link.timer.cancel()
        if set(targets) - set(self.links):
            log.warning("RA: new interfaces %s need a restart", ", ".join(sorted(set(targets) - set(self.links))))
        self._check_forwarding([name for name in self.links if targets.get(name)])

    def _check_forwarding(self, names: Iterable[str]) -> None:
        """Warn (at start and on each reload) when we advertise a default route but do not forward."""
        lifetimes = {name: self.links[name].adv.settings.advertisement.router_lifetime for name in names}
        warning = forwarding_warning(lifetimes, read_forwarding())
        if warning is not None:
            log.warning("%s", warning)

    def _fire(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        if self.runtime.policy.config is not self._config:
            self._follow_reload()
            if link.adv.next_deadline() is None:
                return
        ll = link_local(link.name)
        if ll is None:  # carrier lost, interface down: wait for it, then start over (§6.2.4)
            link.src = None
            link.timer = loop.call_later(POLL_INTERVAL, self._poll, link)
            return
        link.src = ll.address
        self._deliver(link, link.adv.on_timer(loop.time()))
        self._arm(link)

    # ------------------------------------------------------------------ packets

    def _readable(self, link: _Link) -> None:
        loop = asyncio.get_running_loop()
        handle = link.adv.handle
        for _ in range(BATCH):
            try:
                got = receive_solicitation(link.sock)
            except OSError as e:
                link.adv.counters["rs.recv-error"] += 1
                log.debug("RA: receive on %s: %s", link.name, e)
                break
            if got is None:
                break
            data, src, hop = got
            handle(data, RsContext(src, hop), loop.time())  # schedules; the RA comes from on_timer
        due = link.adv.next_deadline()
        if link.src is not None and due is not None and (link.timer is None or due < link.timer.when()):
            self._arm(link)

    def _send(self, link: _Link, payload: bytes, final: bool = False) -> bool:
        assert link.src is not None
        try:
            send_from(link.sock, payload, link.src, ALL_NODES, link.ifindex)
        except OSError as e:
            self.send_errors += 1
            link.adv.counters["ra.send-error"] += 1
            log.debug("RA: send on %s from %s: %s", link.name, link.src, e)
            if e.errno in (errno.EADDRNOTAVAIL, errno.ENETDOWN, errno.ENXIO):
                link.src = None
            return False
        if final:  # the engine's Outcome reports the others (``ra.sent``)
            self.runtime.events.emit(
                EventKind.RA_FINAL, interface=link.name, source=str(link.src), router_lifetime=0, flags=_flags(link)
            )
        return True

    def _deliver(self, link: _Link, out: OutcomeRa) -> None:
        """Send the engine's RAs, then report the events of those that left.

        ``ra.sent`` gets the interface and our source address; ``ra.solicited``
        the interface and the host name the inventory knows for the MAC.
        """
        failed: set[str] = set()
        for data, to in out.replies:
            if link.src is None:
                ok = False
            elif to == ALL_NODES:
                ok = self._send(link, bytes(data))
            else:
                ok = self._send_to(link, bytes(data), to)
            if not ok:
                failed.add(str(to))
        hosts = self.runtime.policy.hosts.by_mac
        emit = self.runtime.events.emit
        multicast = str(ALL_NODES)
        for ev in out.events:
            if ev.kind is EventKind.RA_SENT:
                if multicast not in failed:
                    emit(ev.kind, interface=link.name, source=str(link.src), **ev.detail)
                continue
            if _to(ev) in failed:
                continue
            host = hosts.get(ev.mac) if ev.mac else None
            emit(ev.kind, mac=ev.mac, host=host.name if host is not None else None, interface=link.name,
                 **ev.detail)  # fmt: skip

    def _send_to(self, link: _Link, payload: bytes, to: IPv6Address) -> bool:
        """One RA straight to a solicitor's address (RFC 4861 §6.2.6, RFC 7772 §5.1.1)."""
        if link.src is None:  # lost with a failed send just before
            return False
        try:
            send_from(link.sock, payload, link.src, to, link.ifindex)
        except OSError as e:
            self.send_errors += 1
            link.adv.counters["ra.send-error"] += 1
            log.debug("RA: unicast to %s on %s: %s", to, link.name, e)
            return False
        return True


def _to(ev: EventRecord) -> str:
    """Where the RA answering an ``ra.solicited`` event went: the solicitor, or all nodes."""
    return str(ev.detail["source"]) if ev.detail.get("unicast") else str(ALL_NODES)


def _flags(link: _Link) -> str:
    """The RA's M and O flags as text (``MO``, ``M``, ``O`` or ``-``), as events show them."""
    ra = link.adv.settings.advertisement
    return ("M" if ra.managed else "") + ("O" if ra.other else "") or "-"


def create_service(runtime: Runtime) -> RaService | None:
    """Service factory for ``app._load_factories``: ``None`` when no subnet6 has an enabled ``ra``."""
    if not any(s.ra is not None and s.ra.enabled for s in runtime.config.subnet6):
        return None
    return RaService(runtime)
