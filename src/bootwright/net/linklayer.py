"""Link-layer sends for the DHCPv4 transport (the interfaces themselves: :mod:`bootwright.net.host`).

- :func:`udp_datagram`: an IPv4 + UDP datagram around a payload, checksums
  included (RFC 791 §3.1, RFC 768).
- :class:`RawSender`: sends such a datagram to a hardware address with an
  ``AF_PACKET``/``SOCK_DGRAM`` socket (the kernel adds the Ethernet header),
  for the RFC 2131 §4.1 case "unicast to the client's hardware address and
  yiaddr": the client cannot answer ARP yet, so the normal IP stack cannot
  reach it.
"""

from __future__ import annotations

import array
import contextlib
import socket
import struct
import sys
from ipaddress import IPv4Address
from typing import Final

__all__ = ["ETH_P_IP", "RawSender", "checksum", "udp_datagram"]

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
