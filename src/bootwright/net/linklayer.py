"""Link-layer IPv4/UDP for the DHCPv4 transport and the probe (the interfaces themselves: :mod:`bootwright.net.host`).

Sending:

- :func:`udp_datagram`: an IPv4 + UDP datagram around a payload, checksums
  included (RFC 791 §3.1, RFC 768).
- :class:`RawSender`: sends such a datagram to a hardware address with an
  ``AF_PACKET``/``SOCK_DGRAM`` socket (the kernel adds the Ethernet header),
  for the RFC 2131 §4.1 case "unicast to the client's hardware address and
  yiaddr": the client cannot answer ARP yet, so the normal IP stack cannot
  reach it; and for the probe's DISCOVER from 0.0.0.0:68 (no port 68 needed).

Receiving without binding the port:

- :class:`PacketReceiver`: every IPv4/UDP datagram to one port on one
  interface, through an ``AF_PACKET``/``SOCK_DGRAM`` socket with a classic BPF
  filter run by the kernel, so the process wakes only for datagrams it wants.
  It hears a port that another process holds (a bind of ``0.0.0.0:67`` fails
  beside libvirt's dnsmasq even with ``SO_REUSEPORT``) and needs no port at all
  (the probe hears OFFERs to port 68 whether or not a dhclient runs).
- :func:`parse_udp4`: the pure parser behind it, one datagram or ``None``.

Rules of the receive path (the filter and the parser agree; the parser checks
again because a filter can be missing on an odd kernel and tests feed it bytes):

- IPv4 only (version 4, IHL ≥ 5), protocol 17, *unfragmented* (MF clear,
  offset 0): a DHCP message fits one datagram (RFC 2131 §2: 576 octets unless
  option 57 says more), and reassembling is the IP stack's job, not ours.
- The IPv4 header checksum is verified (RFC 791 §3.1); the UDP checksum is
  *not*: on veth, bridges and NICs with checksum offload a packet socket sees
  locally sent datagrams before the checksum is filled in (ISC dhclient's
  long-standing "bad udp checksums" with virtio came from checking it).
- Octets past the IPv4 total length are link padding (Ethernet pads frames to
  60 octets) and ignored; a UDP length beyond the IPv4 payload is malformed.
- Frames this host sends (``PACKET_OUTGOING``) are ignored unless asked for.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import errno
import socket
import struct
import sys
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Final

__all__ = [
    "ETH_P_IP",
    "PacketReceiver",
    "RawSender",
    "UdpDatagram",
    "checksum",
    "parse_udp4",
    "udp_datagram",
    "udp_port_filter",
]

ETH_P_IP: Final = 0x0800  # linux/if_ether.h: IPv4 EtherType
_IP: Final = struct.Struct("!BBHHHBBH4s4s")  # RFC 791 §3.1 header without options
_UDP: Final = struct.Struct("!HHHH")  # RFC 768
_PSEUDO: Final = struct.Struct("!4s4sBBH")  # RFC 768 pseudo header
_TTL: Final = 64
_DF: Final = 0x4000  # RFC 791 §3.1 "don't fragment"


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``, as a host-order 16-bit value.

    Summed in native byte order and written back with ``=H``, which gives the
    right octets on either endianness (RFC 1071 §2(B)).
    """
    if len(data) % 2:
        data += b"\x00"
    total = sum(array.array("H", data))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_datagram(payload: bytes, src: IPv4Address, dst: IPv4Address, sport: int, dport: int) -> bytes:
    """``payload`` in UDP (RFC 768) in IPv4 (RFC 791), both checksums set."""
    s, d = src.packed, dst.packed
    udp_len = 8 + len(payload)
    pseudo = _PSEUDO.pack(s, d, 0, socket.IPPROTO_UDP, udp_len)
    udp = _UDP.pack(sport, dport, udp_len, 0)
    ucs = checksum(pseudo + udp + payload)
    udp = udp[:6] + struct.pack("=H", ucs or 0xFFFF)  # RFC 768: a computed 0 is sent as all ones
    ip = _IP.pack(0x45, 0, 20 + udp_len, 0, _DF, _TTL, socket.IPPROTO_UDP, 0, s, d)
    ip = ip[:10] + struct.pack("=H", checksum(ip)) + ip[12:]
    return ip + udp + payload


class RawSender:
    """Link-layer unicast of IPv4/UDP datagrams on one interface (Linux ``AF_PACKET``)."""

    def __init__(self, interface: str) -> None:
        """Open the socket; protocol 0 means it receives nothing (send only)."""
        if not sys.platform.startswith("linux"):
            raise OSError("link-layer replies need Linux AF_PACKET sockets")
        self.interface = interface
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        self.sock.setblocking(False)

    def send(self, datagram: bytes, mac: bytes) -> None:
        """Send an IPv4 datagram to hardware address ``mac``; raises ``OSError`` on failure."""
        self.sock.sendto(datagram, (self.interface, ETH_P_IP, 0, 0, mac))

    def close(self) -> None:
        """Close the socket."""
        with contextlib.suppress(OSError):
            self.sock.close()


# -- receiving ---------------------------------------------------------------------------------

_UDP_PROTO: Final = 17  # RFC 790 / IANA protocol numbers: UDP
_FRAGMENT: Final = 0x3FFF  # RFC 791 §3.1: MF flag (0x2000) + 13-bit fragment offset
_VERSION_4: Final = 0x40  # RFC 791 §3.1: version in the high nibble of octet 0
_SOL_PACKET: Final = 263  # linux/socket.h
_PACKET_ADD_MEMBERSHIP: Final = 1  # linux/if_packet.h
_PACKET_MR_UNICAST: Final = 3  # linux/if_packet.h: one more unicast address in the NIC's filter
_PACKET_OUTGOING: Final = 4  # linux/if_packet.h pkttype
_SO_ATTACH_FILTER: Final = getattr(socket, "SO_ATTACH_FILTER", 26)  # asm-generic/socket.h
_SKF_AD_PROTOCOL: Final = 0xFFFFF000 + 0  # linux/filter.h: SKF_AD_OFF (-0x1000) + SKF_AD_PROTOCOL (EtherType)
_SKF_AD_PKTTYPE: Final = 0xFFFFF000 + 4  # linux/filter.h: SKF_AD_OFF (-0x1000) + SKF_AD_PKTTYPE
_ETH_P_ALL: Final = 0x0003  # linux/if_ether.h: every protocol, and frames this host sends
_SNAPLEN: Final = 0xFFFF  # an IPv4 datagram is at most 65,535 octets (RFC 791 §3.1 total length)
_PACKET_MREQ: Final = struct.Struct("=iHH8s")  # struct packet_mreq (packet(7))
_SOCK_FILTER: Final = struct.Struct("=HBBI")  # struct sock_filter {u16 code; u8 jt; u8 jf; u32 k} (linux/filter.h)

# Classic BPF opcodes (linux/bpf_common.h, linux/filter.h), the ones the filter uses.
_LD_H_ABS: Final = 0x28  # BPF_LD | BPF_H | BPF_ABS: A = 16 bits at k
_LD_B_ABS: Final = 0x30  # BPF_LD | BPF_B | BPF_ABS: A = 8 bits at k
_LD_H_IND: Final = 0x48  # BPF_LD | BPF_H | BPF_IND: A = 16 bits at X + k
_LDX_B_MSH: Final = 0xB1  # BPF_LDX | BPF_B | BPF_MSH: X = 4 * (octet at k & 0xf), the IP header length
_AND_K: Final = 0x54  # BPF_ALU | BPF_AND | BPF_K
_JEQ_K: Final = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JSET_K: Final = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET_K: Final = 0x06  # BPF_RET | BPF_K: keep k octets (0: drop)


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    """One received IPv4/UDP datagram (RFC 791, RFC 768) and the link-layer address it came from."""

    source: IPv4Address  # RFC 791 §3.1 source address (0.0.0.0 from a DHCP client without an address)
    destination: IPv4Address  # RFC 791 §3.1 destination: broadcast, ours, or another host's
    sport: int  # RFC 768 source port
    dport: int  # RFC 768 destination port
    payload: bytes  # the UDP data, exactly the UDP length minus its 8-octet header
    mac: bytes  # link-layer source address (recvfrom's sll_addr), b"" when unknown


def parse_udp4(octets: bytes | bytearray | memoryview, mac: bytes = b"") -> UdpDatagram | None:
    """The IPv4/UDP datagram at the start of ``octets``, or ``None`` when it is not one (module rules).

    ``None`` for: fewer octets than the headers, not IPv4, IHL < 5 or past
    the end, a total length shorter than the headers or longer than the
    octets, a bad IPv4 header checksum, a fragment, not UDP, a UDP length
    below 8 or beyond the IPv4 payload. Never raises.
    """
    data = bytes(octets)
    n = len(data)
    if n < 28 or data[0] & 0xF0 != _VERSION_4:
        return None
    ihl = (data[0] & 0x0F) * 4
    total = (data[2] << 8) | data[3]
    if ihl < 20 or total < ihl + 8 or total > n:
        return None
    if checksum(data[:ihl]) != 0:  # a header with its checksum sums to zero (RFC 791 §3.1, RFC 1071)
        return None
    if ((data[6] << 8) | data[7]) & _FRAGMENT or data[9] != _UDP_PROTO:
        return None
    sport, dport, udp_len, _ = _UDP.unpack_from(data, ihl)
    if udp_len < 8 or ihl + udp_len > total:  # RFC 768: the length counts the header and the data
        return None
    return UdpDatagram(
        IPv4Address(data[12:16]), IPv4Address(data[16:20]), sport, dport, data[ihl + 8 : ihl + udp_len], mac
    )


def udp_port_filter(port: int, outgoing: bool = False) -> list[tuple[int, int, int, int]]:
    """The classic BPF program of :class:`PacketReceiver`: IPv4, UDP, unfragmented, to ``port``.

    Offsets start at the IPv4 header (a ``SOCK_DGRAM`` packet socket runs its
    filter after the link-layer header; packet(7)). Without ``outgoing`` the
    first test drops frames this host sends (``SKF_AD_PKTTYPE`` =
    ``PACKET_OUTGOING``); with it the socket hears every protocol
    (``ETH_P_ALL``) and the first test keeps IPv4 (``SKF_AD_PROTOCOL``).
    Instructions are ``(code, jt, jf, k)``; a jump counts the instructions it skips.
    """
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"{port} is not a UDP port")
    body = [
        (_LD_B_ABS, 0, 0, 0),  # version and IHL
        (_AND_K, 0, 0, 0xF0),
        (_JEQ_K, 0, -1, _VERSION_4),  # -1: jump to the final "drop" (resolved below)
        (_LD_B_ABS, 0, 0, 9),  # protocol
        (_JEQ_K, 0, -1, _UDP_PROTO),
        (_LD_H_ABS, 0, 0, 6),  # flags and fragment offset
        (_JSET_K, -1, 0, _FRAGMENT),  # MF set or an offset: a fragment, drop
        (_LDX_B_MSH, 0, 0, 0),  # X = IP header length
        (_LD_H_IND, 0, 0, 2),  # UDP destination port
        (_JEQ_K, 0, -1, port),
        (_RET_K, 0, 0, _SNAPLEN),  # accept the whole datagram
    ]
    if outgoing:
        body = [(_LD_H_ABS, 0, 0, _SKF_AD_PROTOCOL), (_JEQ_K, 0, -1, ETH_P_IP), *body]
    else:
        body = [(_LD_H_ABS, 0, 0, _SKF_AD_PKTTYPE), (_JEQ_K, -1, 0, _PACKET_OUTGOING), *body]
    drop = len(body)  # index of the "ret #0" appended below
    program = []
    for i, (code, jt, jf, k) in enumerate(body):
        skip = drop - i - 1
        program.append((code, skip if jt == -1 else jt, skip if jf == -1 else jf, k))
    program.append((_RET_K, 0, 0, 0))
    return program


def _attach_filter(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    """``SO_ATTACH_FILTER`` (socket(7)); the kernel copies the program, so the buffer may go after the call."""
    code = b"".join(_SOCK_FILTER.pack(*insn) for insn in program)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("@HP", len(program), ctypes.addressof(buf))  # struct sock_fprog {u16 len; filter *}
    sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)


class PacketReceiver:
    """Every IPv4/UDP datagram to ``port`` arriving on ``interface``, without binding the port (Linux).

    An ``AF_PACKET``/``SOCK_DGRAM`` socket for EtherType IPv4, bound to one
    interface, with :func:`udp_port_filter` attached: the kernel drops every
    other frame before it is queued or the process wakes, so a busy link
    costs the process only the datagrams it asked for. The socket is opened
    with protocol 0 (it hears nothing), the filter attached, and only then
    bound to ``(interface, ETH_P_IP)``, so no unfiltered frame is ever queued.

    Non-blocking: add :meth:`fileno` to an event loop (``loop.add_reader``)
    and call :meth:`receive` until it returns ``None``. Frames this host
    sends are not heard: the kernel shows them only to ``ETH_P_ALL`` sockets
    (``dev_queue_xmit_nit``), and the filter and a check of each frame's
    packet type drop them as well. With ``outgoing`` the socket is bound to
    ``ETH_P_ALL`` and the filter keeps IPv4 ones: the probe uses it to hear a
    DHCP server *on this host* whose replies leave through this interface.
    Needs ``CAP_NET_RAW``; raises ``OSError`` (``ENODEV`` for an unknown
    interface, ``EPERM`` without the capability).

    ``rcvbuf`` sets ``SO_RCVBUF`` (``SO_RCVBUFFORCE`` when allowed) so bursts
    are queued, not dropped, while the process is busy; 0 keeps the default.
    """

    BUFFER: Final = 65536  # one IPv4 datagram at most (RFC 791 §3.1)
    SKIP: Final = 64  # unusable frames skipped per receive() before it returns None

    def __init__(self, interface: str, port: int, *, outgoing: bool = False, rcvbuf: int = 0) -> None:
        """Open, filter and bind the socket; see the class docstring."""
        if not sys.platform.startswith("linux"):
            raise OSError(errno.EAFNOSUPPORT, "link-layer receive needs Linux AF_PACKET sockets")
        self.interface = interface
        self.port = port
        self.outgoing = outgoing
        self.dropped = 0  # frames the filter let through but parse_udp4 refused (counted, never raised)
        self._buf = bytearray(self.BUFFER)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        try:
            _attach_filter(self.sock, udp_port_filter(port, outgoing))
            if rcvbuf:
                _set_rcvbuf(self.sock, rcvbuf)
            # Python converts the protocol to network order (sll_protocol).
            self.sock.bind((interface, _ETH_P_ALL if outgoing else ETH_P_IP))
            self.sock.setblocking(False)
        except OSError:
            self.sock.close()
            raise

    def fileno(self) -> int:
        """The socket's descriptor, for ``loop.add_reader``."""
        return self.sock.fileno()

    def accept_unicast(self, mac: bytes) -> None:
        """Also hear frames sent to ``mac`` (``PACKET_MR_UNICAST``), until the socket closes.

        The probe's DISCOVER carries a made-up client MAC; a server that
        ignores the broadcast flag unicasts its OFFER to it, which the NIC
        would otherwise drop. Raises ``OSError`` when the driver refuses.
        """
        index = socket.if_nametoindex(self.interface)
        mreq = _PACKET_MREQ.pack(index, _PACKET_MR_UNICAST, len(mac), mac.ljust(8, b"\0"))
        self.sock.setsockopt(_SOL_PACKET, _PACKET_ADD_MEMBERSHIP, mreq)

    def receive(self) -> UdpDatagram | None:
        """The next queued datagram, or ``None`` when none is left.

        Frames that are not usable datagrams (:func:`parse_udp4`) are counted
        in :attr:`dropped` and skipped; after :data:`SKIP` of them in one call
        it returns ``None`` too, and a level-triggered reader is called again.
        Other errors than "nothing queued" raise ``OSError`` (``ENETDOWN``
        once after the interface went down).
        """
        buf = self._buf
        for _ in range(self.SKIP):
            try:
                n, addr = self.sock.recvfrom_into(buf)
            except (BlockingIOError, InterruptedError):
                return None
            # addr: (ifname, protocol, pkttype, hatype, hwaddr), packet(7) struct sockaddr_ll
            if addr[2] == _PACKET_OUTGOING and not self.outgoing:
                continue
            got = parse_udp4(memoryview(buf)[:n], addr[4])
            if got is not None and got.dport == self.port:
                return got
            self.dropped += 1
        return None

    def close(self) -> None:
        """Close the socket (memberships end with it)."""
        with contextlib.suppress(OSError):
            self.sock.close()


def _set_rcvbuf(sock: socket.socket, size: int) -> None:
    """``SO_RCVBUFFORCE`` (CAP_NET_ADMIN, beyond ``net.core.rmem_max``), else ``SO_RCVBUF`` (capped)."""
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if opt is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, size)
            return
        except OSError:
            continue
