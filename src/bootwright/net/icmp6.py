"""Raw ICMPv6 sockets for Neighbor Discovery (Linux, RFC 3542).

One socket per advertising interface: bound to the device, filtered to Router
Solicitations (``ICMP6_FILTER``, RFC 3542 §3.2), in the all-routers group ff02::2
on that interface, with IP hop limit 255 for everything it sends (RFC 4861 §6.1.2:
hosts drop RAs with any other hop limit). Received RSs carry their IP hop limit
(``IPV6_RECVHOPLIMIT``) so the advertiser can check it is 255 (§6.1.1). Each send
names its source, the interface's link-local address, with ``IPV6_PKTINFO``; the
kernel fills the ICMPv6 checksum (RFC 3542 §3.1).
"""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv6Address
from typing import Final

from bootwright.wire.ndp import ALL_ROUTERS, ICMPV6_ROUTER_SOLICITATION, ND_HOP_LIMIT

__all__ = ["Solicitation", "open_nd_socket", "receive_solicitation", "send_from"]

SO_BINDTODEVICE: Final = getattr(socket, "SO_BINDTODEVICE", 25)
ICMP6_FILTER: Final = 1  # netinet/icmp6.h, level IPPROTO_ICMPV6
IPV6_RECVPKTINFO: Final = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO: Final = getattr(socket, "IPV6_PKTINFO", 50)
IPV6_RECVHOPLIMIT: Final = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT: Final = getattr(socket, "IPV6_HOPLIMIT", 52)
_IN6_PKTINFO: Final = struct.Struct("=16sI")  # struct in6_pktinfo (RFC 3542 §6.1)
_CMSG: Final = socket.CMSG_SPACE(_IN6_PKTINFO.size) + socket.CMSG_SPACE(4)

Solicitation = tuple[bytes, IPv6Address, int | None]
"""A received RS: ICMPv6 message, source address, IP hop limit (``None`` if unknown)."""


def _filter_only(icmp_type: int) -> bytes:
    # struct icmp6_filter: 256 bits, a set bit blocks the type (Linux ICMP6_FILTER_SETBLOCK).
    words = [0xFFFFFFFF] * 8
    words[icmp_type >> 5] &= ~(1 << (icmp_type & 31))
    return struct.pack("=8I", *words)


def open_nd_socket(name: str) -> socket.socket:
    """A non-blocking raw ICMPv6 socket on interface ``name`` for RS in and RA out."""
    ifindex = socket.if_nametoindex(name)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, name.encode())
        sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, _filter_only(ICMPV6_ROUTER_SOLICITATION))
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ND_HOP_LIMIT)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ND_HOP_LIMIT)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        mreq = ALL_ROUTERS.packed + struct.pack("@I", ifindex)  # RFC 4861 §6.2.2: join all-routers
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def receive_solicitation(sock: socket.socket) -> Solicitation | None:
    """One datagram from the socket, or ``None`` when none is waiting."""
    try:
        data, anc, _flags, addr = sock.recvmsg(2048, _CMSG)
    except (BlockingIOError, InterruptedError):
        return None
    hop: int | None = None
    for level, kind, value in anc:
        if level == socket.IPPROTO_IPV6 and kind == IPV6_HOPLIMIT and len(value) >= 4:
            hop = struct.unpack("=i", value[:4])[0]
    return data, IPv6Address(addr[0].split("%", 1)[0]), hop


def send_from(sock: socket.socket, data: bytes, src: IPv6Address, dst: IPv6Address, ifindex: int) -> None:
    """Send an ICMPv6 message from ``src`` (the link-local address) to ``dst`` on ``ifindex``."""
    info = _IN6_PKTINFO.pack(src.packed, ifindex)
    sock.sendmsg([data], [(socket.IPPROTO_IPV6, IPV6_PKTINFO, info)], 0, (str(dst), 0, 0, ifindex))
