"""Host facts, the one place that asks the kernel: interfaces, addresses, neighbours (Linux).

Rule: no other module reads ``/proc``, ``/sys`` or rtnetlink for facts about
this machine's links; services ask here, and ``web/`` through
:class:`~bootwright.runtime.hostfacts.HostFacts` on the runtime
(:class:`KernelHost`, which ``app.py`` puts there).

- :func:`discover_interfaces`: name, index, MAC, MTU and IPv4 addresses of
  every interface (rtnetlink through pyroute2; DHCPv4 calls it in an executor,
  as pyroute2's synchronous ``IPRoute`` runs an event loop of its own and so
  cannot run inside the service loop).
- :func:`interface_addresses`, :func:`link_local`, :func:`mac_address`: IPv6
  addresses from ``/proc/net/if_inet6`` (one line per address: address,
  ifindex, prefix length, scope, flags, name) and MACs from
  ``/sys/class/net/NAME/address``. The RA service polls these from loop timers,
  where ``IPRoute`` cannot run; the reads are cheap.
- :func:`dump_neighbours` and :class:`NeighbourTable`: client address → MAC from
  the kernel's neighbour table (``RTM_GETNEIGH``, rtnetlink(7)), answered from a
  rate-limited snapshot; the message constants are pyroute2's. The dump is
  decoded here rather than by pyroute2's message classes: it runs on the
  request path inside the loop, and pyroute2 takes four to six times as long
  (25–75 ms against 6–12 ms for a table of 1000 neighbours).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Network
from pathlib import Path
from typing import Final

from pyroute2 import IPRoute
from pyroute2.netlink import NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR
from pyroute2.netlink.rtnl import RTM_GETNEIGH, RTM_NEWNEIGH
from pyroute2.netlink.rtnl.ndmsg import NUD_FAILED, NUD_INCOMPLETE

__all__ = [
    "IFA_F_DADFAILED",
    "IFA_F_TENTATIVE",
    "InterfaceInfo",
    "KernelHost",
    "LinkAddress",
    "NeighbourTable",
    "carries",
    "discover_interfaces",
    "dump_neighbours",
    "interface_addresses",
    "link_local",
    "mac_address",
]

IFA_F_TENTATIVE: Final = 0x40  # include/uapi/linux/if_addr.h: DAD not finished (RFC 4862 §5.4)
IFA_F_DADFAILED: Final = 0x08  # DAD found a duplicate
_IFF_UP: Final = 0x1  # include/uapi/linux/if.h
_NLMSG: Final = struct.Struct("=IHHII")  # struct nlmsghdr (netlink(7))
_NDMSG: Final = struct.Struct("=BBHiHBB")  # struct ndmsg (rtnetlink(7))
_RTA: Final = struct.Struct("=HH")  # struct rtattr
_NDA_DST: Final = 1  # include/uapi/linux/neighbour.h
_NDA_LLADDR: Final = 2


# -- interfaces (IPv4: the DHCPv4 transport) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class InterfaceInfo:
    """One network interface as the DHCPv4 service uses it."""

    name: str
    index: int
    mac: bytes
    mtu: int
    addresses: tuple[IPv4Interface, ...]
    up: bool = True

    def address_for(self, peer: IPv4Address) -> IPv4Address | None:
        """Our address on the same network as ``peer``, else our first address."""
        for a in self.addresses:
            if peer in a.network:
                return a.ip
        return self.addresses[0].ip if self.addresses else None


def discover_interfaces(names: Iterable[str] | None = None) -> list[InterfaceInfo]:
    """The interfaces of this network namespace (only ``names`` when given), via rtnetlink.

    Blocking, and not callable inside a running asyncio loop (module docstring):
    run it in an executor.
    """
    wanted = set(names) if names is not None else None
    with IPRoute() as ipr:
        links = ipr.get_links()
        addrs = ipr.get_addr(family=socket.AF_INET)
    by_index: dict[int, list[IPv4Interface]] = {}
    for a in addrs:
        ip = a.get("address")
        if ip:
            by_index.setdefault(a["index"], []).append(IPv4Interface(f"{ip}/{a['prefixlen']}"))
    out: list[InterfaceInfo] = []
    for link in links:
        name = link.get("ifname")
        if not name or (wanted is not None and name not in wanted):
            continue
        mac_text = link.get("address") or "00:00:00:00:00:00"
        out.append(
            InterfaceInfo(
                name=name,
                index=link["index"],
                mac=bytes.fromhex(mac_text.replace(":", "")),
                mtu=int(link.get("mtu") or 1500),
                addresses=tuple(by_index.get(link["index"], ())),
                up=bool(link["flags"] & _IFF_UP),
            )
        )
    return out


# -- IPv6 addresses and MACs (DHCPv6, RA) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkAddress:
    """One IPv6 address of an interface."""

    address: IPv6Address
    prefixlen: int
    ifindex: int
    flags: int

    @property
    def usable(self) -> bool:
        """False while DAD runs (tentative) or after it failed: not a valid source yet."""
        return not self.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)


def interface_addresses(path: str = "/proc/net/if_inet6") -> dict[str, list[LinkAddress]]:
    """Every IPv6 address by interface name (empty when IPv6 is off)."""
    out: dict[str, list[LinkAddress]] = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 6:
            continue
        raw, ifindex, plen, _scope, flags, name = parts
        try:
            addr = IPv6Address(bytes.fromhex(raw))
            entry = LinkAddress(addr, int(plen, 16), int(ifindex, 16), int(flags, 16))
        except ValueError:
            continue
        out.setdefault(name, []).append(entry)
    return out


def carries(addresses: Iterable[LinkAddress], prefix: IPv6Network) -> bool:
    """Whether any of an interface's ``addresses`` lies inside ``prefix`` (the link is on that subnet)."""
    return any(a.address in prefix for a in addresses)


def link_local(name: str, addresses: Mapping[str, list[LinkAddress]] | None = None) -> LinkAddress | None:
    """The interface's usable link-local address (RFC 4861 §6.1.2: the RA source), if any."""
    table = interface_addresses() if addresses is None else addresses
    for a in table.get(name, ()):
        if a.address.is_link_local and a.usable:
            return a
    return None


def mac_address(name: str) -> bytes | None:
    """The interface's 6-octet MAC, or ``None`` (no such interface, or not Ethernet-like)."""
    try:
        text = Path("/sys/class/net", name, "address").read_text().strip()
    except OSError:
        return None
    try:
        raw = bytes.fromhex(text.replace(":", ""))
    except ValueError:
        return None
    return raw if len(raw) == 6 and any(raw) else None


# -- neighbours (client address → MAC) -------------------------------------------------------


def _attributes(data: bytes, offset: int, end: int) -> Iterator[tuple[int, bytes]]:
    while offset + _RTA.size <= end:
        length, kind = _RTA.unpack_from(data, offset)
        if length < _RTA.size:
            return
        yield kind, data[offset + _RTA.size : offset + length]
        offset += (length + 3) & ~3


def dump_neighbours(timeout: float = 0.5) -> dict[str, str]:
    """Every IPv4 and IPv6 neighbour with a link-layer address: ``{ip: "aa:bb:…"}``."""
    table: dict[str, str] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.settimeout(timeout)
        body = _NDMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0, 0, 0)
        sock.send(_NLMSG.pack(_NLMSG.size + len(body), RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
        while True:
            data = sock.recv(1 << 16)
            offset = 0
            while offset + _NLMSG.size <= len(data):
                length, kind, _flags, _seq, _pid = _NLMSG.unpack_from(data, offset)
                if length < _NLMSG.size or kind in (NLMSG_DONE, NLMSG_ERROR):
                    return table
                if kind == RTM_NEWNEIGH and length >= _NLMSG.size + _NDMSG.size:
                    family, _p1, _p2, _ifindex, state, _fl, _type = _NDMSG.unpack_from(data, offset + _NLMSG.size)
                    if not state & (NUD_INCOMPLETE | NUD_FAILED) and family in (socket.AF_INET, socket.AF_INET6):
                        attrs = dict(_attributes(data, offset + _NLMSG.size + _NDMSG.size, offset + length))
                        dst, lladdr = attrs.get(_NDA_DST), attrs.get(_NDA_LLADDR)
                        if dst and lladdr and len(lladdr) == 6 and any(lladdr):
                            table[socket.inet_ntop(family, dst)] = ":".join(f"{b:02x}" for b in lladdr)
                offset += (length + 3) & ~3


class NeighbourTable:
    """Cached MAC lookups from the kernel's neighbour table; never raises (``None`` when unknown).

    HTTP and TFTP share one table (through :class:`KernelHost`), so a burst of
    requests from either costs one dump.
    """

    def __init__(
        self, min_interval: float = 0.25, max_age: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Dump the kernel table at most once per ``min_interval`` s; trust a snapshot ``max_age`` s."""
        self._table: dict[str, str] = {}
        self._dumped = float("-inf")
        self._min_interval = min_interval
        self._max_age = max_age
        self._clock = clock
        self._works = hasattr(socket, "AF_NETLINK") and os.name == "posix"

    def mac(self, ip: str, since: float | None = None) -> str | None:
        """The MAC of neighbour ``ip`` (no scope suffix), refreshing the snapshot on a miss.

        ``since``: when the caller started talking to ``ip`` (same clock).  A
        snapshot older than that cannot know a neighbour entry that talk
        created (an IPv6 client is resolved when the first reply goes out), so
        a miss then refreshes within ``min_interval`` too, though not more
        often than ten times per ``min_interval``: a burst of transfers that
        started together costs one dump, and clients that are never in the
        table (routed through a relay) cost a bounded number.
        """
        if not self._works:
            return None
        mac = self._table.get(ip)
        now = self._clock()
        age = now - self._dumped
        stale = since is not None and self._dumped < since and age >= self._min_interval / 10
        if (mac is not None and age < self._max_age) or (age < self._min_interval and not stale):
            return mac
        self._dumped = now
        with contextlib.suppress(OSError):
            self._table = dump_neighbours()
        return self._table.get(ip)


class KernelHost:
    """:class:`~bootwright.runtime.hostfacts.HostFacts` from this namespace's kernel (``Runtime.host``)."""

    def __init__(self, neighbours: NeighbourTable | None = None) -> None:
        """Answer from ``neighbours`` (a fresh :class:`NeighbourTable` by default)."""
        self.neighbours = neighbours if neighbours is not None else NeighbourTable()

    def neighbour_mac(self, address: str, since: float | None = None) -> str | None:
        """The MAC the neighbour table holds for ``address`` (see :meth:`NeighbourTable.mac`)."""
        return self.neighbours.mac(address, since)
