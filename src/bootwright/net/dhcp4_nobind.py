"""Serving a proxy link without holding UDP 67: for a DHCP server on the same host (libvirt's dnsmasq).

When another process has a plain bind on ``0.0.0.0:67``, a second bind fails
even with ``SO_REUSEADDR``/``SO_REUSEPORT`` (Linux gives a datagram to one
socket only). A proxy does not need the port: it receives every request
through an ``AF_PACKET`` socket with a kernel filter for UDP port 67
(:class:`~bootwright.net.linklayer.PacketReceiver`) and sends its replies from
port 67 through a raw IP socket (:class:`IpSender`), as Pixiecore's
``--dhcp-no-bind`` does. Port 4011 is bound normally. The DHCPv4 service
chooses this per interface (``dhcp4.proxy_listen``) and says which in its ready line.
"""

from __future__ import annotations

import contextlib
import socket
from ipaddress import IPv4Address
from typing import Final

__all__ = ["IpSender"]

_LIMITED_BROADCAST: Final = IPv4Address("255.255.255.255")


class IpSender:
    """Sends complete IPv4 datagrams (header included) out of one interface; the kernel routes and ARPs.

    ``SOCK_RAW`` with ``IPPROTO_RAW`` implies ``IP_HDRINCL`` (raw(7)): the
    datagram leaves with our source port 67 although another process owns
    that port. ``SO_BINDTODEVICE`` keeps a broadcast on the link it answers.
    """

    def __init__(self, interface: str) -> None:
        """Open the socket (needs ``CAP_NET_RAW``); raises ``OSError``."""
        self.interface = interface
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
            self.sock.setblocking(False)
        except OSError:
            self.sock.close()
            raise

    def send(self, datagram: bytes, destination: IPv4Address) -> None:
        """Send one IPv4 datagram (from :func:`~bootwright.net.linklayer.udp_datagram`); raises ``OSError``."""
        self.sock.sendto(datagram, (str(destination), 0))

    def close(self) -> None:
        """Close the socket."""
        with contextlib.suppress(OSError):
            self.sock.close()
