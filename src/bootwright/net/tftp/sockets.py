"""Socket plumbing for the TFTP service (Linux): listeners, per-transfer TIDs, GSO.

* Listening sockets receive requests with ``IP_PKTINFO`` / ``IPV6_RECVPKTINFO``
  (RFC 3542 §6) so the service knows which local address and interface a
  request arrived on; refusals are sent back from that address.
* Each transfer gets its own port, the TID (RFC 1350 §4), bound to that local
  address.  Two sockets share the port with ``SO_REUSEPORT``: one connected to
  the client (the fast path: ``send`` without an address, the kernel filters
  other sources, ICMP errors are reported), and one unconnected that only sees
  datagrams from anybody else (Linux prefers a connected socket of a reuseport
  group for its peer), so a stranger gets ERROR 5 while the transfer goes on
  (RFC 1350 §4).
* Windows (RFC 7440) go out with UDP GSO (``UDP_SEGMENT``, Linux 4.18): one
  ``send`` of consecutive DATA datagrams that the kernel splits into segments.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "IP_MTU",
    "IP_MTU_DISCOVER",
    "IP_PMTUDISC_DONT",
    "UDP_SEGMENT",
    "Arrival",
    "gso_batch",
    "gso_control",
    "listening_socket",
    "path_mtu",
    "recv_request",
    "send_from",
    "transfer_sockets",
]

# Linux values (include/uapi/linux/in.h, udp.h); Python 3.11's socket module lacks some.
IP_PKTINFO: Final = getattr(socket, "IP_PKTINFO", 8)
IP_MTU_DISCOVER: Final = getattr(socket, "IP_MTU_DISCOVER", 10)
IP_MTU: Final = getattr(socket, "IP_MTU", 14)
IP_PMTUDISC_DONT: Final = 0
IPV6_MTU: Final = getattr(socket, "IPV6_MTU", 24)
UDP_SEGMENT: Final = getattr(socket, "UDP_SEGMENT", 103)
SOL_UDP: Final = getattr(socket, "SOL_UDP", 17)
UDP_MAX_SEGMENTS: Final = 64
"""Segments per GSO send the oldest supporting kernels accept (net/ipv4/udp.c)."""
GSO_MAX_BYTES: Final = 65000
"""Payload octets per GSO send: one UDP datagram before segmentation (< 65507)."""

_IN_PKTINFO: Final = struct.Struct("=i4s4s")  # struct in_pktinfo: ifindex, spec_dst, addr (ip(7))
_IN6_PKTINFO: Final = struct.Struct("=16si")  # struct in6_pktinfo: addr, ifindex (RFC 3542 §6.1)
_CMSG_SPACE: Final = socket.CMSG_SPACE(max(_IN_PKTINFO.size, _IN6_PKTINFO.size))

Address = tuple[Any, ...]
"""A socket address tuple: ``(host, port)`` or ``(host, port, flowinfo, scope_id)``."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """Where a request came from and where it arrived."""

    peer: Address
    """The client's address tuple as ``recvmsg`` gave it (its TID is the port)."""
    local: str
    """Our address the request was sent to (the source of every reply)."""
    ifindex: int
    """Interface the request arrived on (0 if unknown)."""
    family: int

    @property
    def client_ip(self) -> str:
        """The client's address as text, without scope."""
        return str(self.peer[0]).split("%", 1)[0]


def listening_socket(family: int, port: int, device: str | None = None) -> socket.socket:
    """A non-blocking UDP socket on the wildcard address with pktinfo enabled.

    ``device`` binds it to one interface (``SO_BINDTODEVICE``, needs
    CAP_NET_RAW), so several listeners share the port, one per interface.
    """
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        if device:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def recv_request(sock: socket.socket, size: int = 1024) -> tuple[bytes, Arrival] | None:
    """Read one datagram with its arrival address; ``None`` when nothing is queued."""
    try:
        data, ancdata, _flags, peer = sock.recvmsg(size, _CMSG_SPACE)
    except (BlockingIOError, InterruptedError):
        return None
    local, ifindex = "", 0
    for level, kind, cdata in ancdata:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(cdata) >= _IN_PKTINFO.size:
            ifindex, spec_dst, _addr = _IN_PKTINFO.unpack_from(cdata)
            local = socket.inet_ntop(socket.AF_INET, spec_dst)  # ip(7): the packet's local address
        elif level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(cdata) >= _IN6_PKTINFO.size:
            raw, ifindex = _IN6_PKTINFO.unpack_from(cdata)
            local = socket.inet_ntop(socket.AF_INET6, raw)
    if not local:
        local = sock.getsockname()[0]
    return data, Arrival(peer, local, ifindex, sock.family)


def send_from(sock: socket.socket, data: bytes, arrival: Arrival) -> None:
    """Send ``data`` to the requester with our arrival address as the source (best effort)."""
    try:
        if arrival.family == socket.AF_INET6:
            info = _IN6_PKTINFO.pack(socket.inet_pton(socket.AF_INET6, arrival.local), arrival.ifindex)
            cmsg = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, info)]
        else:
            info = _IN_PKTINFO.pack(0, socket.inet_pton(socket.AF_INET, arrival.local), bytes(4))
            cmsg = [(socket.IPPROTO_IP, IP_PKTINFO, info)]
        sock.sendmsg([data], cmsg, 0, arrival.peer)
    except OSError:
        with contextlib.suppress(OSError):
            sock.sendto(data, arrival.peer)


def _local_address(arrival: Arrival) -> Address:
    if arrival.family == socket.AF_INET6:
        scope = arrival.ifindex if ipaddress.IPv6Address(arrival.local).is_link_local else 0
        return (arrival.local, 0, 0, scope)
    return (arrival.local, 0)


def _tid_socket(family: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def transfer_sockets(arrival: Arrival) -> tuple[socket.socket, socket.socket]:
    """``(connected, stranger)``: the TID pair for one transfer (see module docstring).

    Both are non-blocking and bound to the request's local address on one
    fresh ephemeral port; ``connected`` is connected to the client.
    """
    local = _local_address(arrival)
    stranger = _tid_socket(arrival.family)
    conn: socket.socket | None = None
    try:
        stranger.bind(local)
        conn = _tid_socket(arrival.family)
        if arrival.family == socket.AF_INET:
            # Never set DF on DATA: a smaller MTU on the path then fragments a block in a
            # router instead of dropping it into an ICMP black hole (ip(7) IP_MTU_DISCOVER).
            conn.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
        conn.bind((local[0], stranger.getsockname()[1], *local[2:]))
        conn.connect(arrival.peer)
    except BaseException:
        stranger.close()
        if conn is not None:
            conn.close()
        raise
    return conn, stranger


def path_mtu(sock: socket.socket) -> int | None:
    """The kernel's MTU towards a connected socket's peer (``IP_MTU`` / ``IPV6_MTU``)."""
    try:
        if sock.family == socket.AF_INET6:
            return int(sock.getsockopt(socket.IPPROTO_IPV6, IPV6_MTU))
        return int(sock.getsockopt(socket.IPPROTO_IP, IP_MTU))
    except OSError:
        return None


def gso_control(sock: socket.socket, segment: int, mtu: int | None) -> list[tuple[int, int, bytes]] | None:
    """The ``sendmsg`` ancillary data that splits one send into ``segment``-octet datagrams.

    ``None`` when segments would not fit the MTU (the kernel refuses them with
    EINVAL) or the kernel lacks UDP GSO.  Given per send rather than as a
    socket option, so an OACK or ERROR longer than a (tiny) block still
    leaves as one datagram.
    """
    header = 48 if sock.family == socket.AF_INET6 else 28
    if mtu is None or segment + header > mtu or not _gso_available(sock):
        return None
    return [(SOL_UDP, UDP_SEGMENT, struct.pack("=H", segment))]


_GSO_AVAILABLE: dict[int, bool] = {}


def _gso_available(sock: socket.socket) -> bool:
    """Whether the kernel knows ``UDP_SEGMENT`` (probed once per family, then remembered)."""
    known = _GSO_AVAILABLE.get(sock.family)
    if known is None:
        try:
            with socket.socket(sock.family, socket.SOCK_DGRAM) as probe:
                probe.setsockopt(SOL_UDP, UDP_SEGMENT, 1000)
            known = True
        except OSError:
            known = False
        _GSO_AVAILABLE[sock.family] = known
    return known


def gso_batch(segment: int) -> int:
    """Datagrams per GSO send for ``segment``-octet datagrams."""
    return max(1, min(UDP_MAX_SEGMENTS, GSO_MAX_BYTES // segment))
