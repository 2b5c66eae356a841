"""The DHCPv4 probe: broadcast one DISCOVER on a link and list every server that OFFERs (the sockets half).

``bootwright probe dhcp IFACE`` and the DHCPv4 service's check at start
(:func:`check_link`) call :func:`probe_dhcp4`; what the answers mean is
decided in :mod:`bootwright.boot.foreign`.

How it listens and sends, and why:

- The DISCOVER (:func:`bootwright.boot.foreign.discover`) leaves from
  0.0.0.0:68 to 255.255.255.255:67 and ff:ff:ff:ff:ff:ff through the link
  layer (:class:`~bootwright.net.linklayer.RawSender`), as a client without an
  address sends it (RFC 2131 §4.1): nothing binds port 68, so a dhclient on
  the host does not matter, and no address on the interface is needed.
- The OFFERs are heard on a packet socket filtered in the kernel for UDP
  port 68 (:class:`~bootwright.net.linklayer.PacketReceiver`), kept when
  they carry the probe's xid and client MAC. The broadcast flag asks servers
  to broadcast (RFC 2131 §4.1); for one that unicasts to the client MAC
  anyway, that made-up MAC is added to the interface's unicast filter while
  the probe runs.
- The client MAC is random and locally administered (IEEE 802 U/L bit) unless
  given: a server then offers from its pool as to any new machine, and per-MAC
  rate limits or reservations of real machines do not change its answer. No
  lease is taken: the probe never sends a REQUEST (RFC 2131 §4.3.1); a
  server may keep the offered address aside for a little while.
- The DISCOVER is sent again halfway through ``timeout`` (one xid, RFC 2131
  §4.1 retransmission) and ``secs`` counts up, so one lost broadcast or a
  server that answers only after a retransmission is still heard; a server
  that answers twice is listed once.
- Servers on *this* host (``local``): a frame sent on an interface is not
  delivered to its own host, so a server here that reads a UDP socket
  (libvirt's dnsmasq on ``virbr0``) never sees the link-layer DISCOVER. With
  ``local`` one more copy leaves at once through the IP stack (a raw socket,
  broadcast, ``SO_BINDTODEVICE``), which the kernel also loops back to this
  host's sockets (RFC 1122 §3.3.6: a host receives its own broadcasts); the
  kernel fills in the interface's address as its source, so its UDP checksum
  is 0, "none" (RFC 768). A server here that reads a packet socket (ISC
  dhcpd) sees the link-layer DISCOVER anyway. Their OFFERs leave through the
  interface and are heard as outgoing frames (``ETH_P_ALL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import Final

from bootwright.boot.foreign import DEFAULT_TIMEOUT, ForeignServer, discover, is_offer_for, judge, offer_of
from bootwright.config import Subnet4
from bootwright.net.dhcp4_nobind import IpSender
from bootwright.net.host import mac_address
from bootwright.net.linklayer import PacketReceiver, RawSender, udp_datagram
from bootwright.wire import DecodeError
from bootwright.wire.dhcp4 import CLIENT_PORT, SERVER_PORT, decode, encode

__all__ = ["DEFAULT_TIMEOUT", "ProbeError", "check_link", "probe_dhcp4", "random_mac"]

log = logging.getLogger("bootwright.probe")

MAX_DATAGRAMS: Final = 4096  # datagrams to port 68 looked at per probe, at most (a busy link cannot keep it busy)
_BROADCAST_MAC: Final = b"\xff" * 6
_ZERO: Final = IPv4Address(0)
_BROADCAST: Final = IPv4Address("255.255.255.255")


class ProbeError(Exception):
    """The probe could not run on the interface; ``usage`` when the user can fix the command (name, rights)."""

    def __init__(self, message: str, usage: bool = False) -> None:
        """``message`` is one line naming the interface and what to do."""
        super().__init__(message)
        self.usage = usage


def random_mac() -> bytes:
    """A random unicast, locally administered MAC (IEEE 802: bit 0 of octet 0 clear, bit 1 set)."""
    raw = bytearray(os.urandom(6))
    raw[0] = (raw[0] & 0xFC) | 0x02
    return bytes(raw)


def _error(exc: OSError, interface: str) -> ProbeError:
    """The one-line reason an ``OSError`` of the sockets stands for."""
    if exc.errno in (errno.EPERM, errno.EACCES):
        return ProbeError(
            f"probing {interface} needs root or CAP_NET_RAW (it sends and hears through packet sockets)", usage=True
        )
    if exc.errno in (errno.ENODEV, errno.ENXIO):
        return ProbeError(f"no network interface named {interface!r} (see `ip link`)", usage=True)
    if exc.errno == errno.ENETDOWN:
        return ProbeError(f"interface {interface} is down (`ip link set {interface} up`)", usage=True)
    return ProbeError(f"probing {interface} failed: {exc.strerror or exc}")


async def probe_dhcp4(
    interface: str,
    timeout: float = DEFAULT_TIMEOUT,
    mac: bytes | None = None,
    pxe: bool = True,
    *,
    local: bool = True,
    xid: int | None = None,
) -> list[ForeignServer]:
    """Every DHCP server that OFFERs on ``interface`` within ``timeout`` seconds, in the order heard.

    ``mac`` is the DISCOVER's client MAC (default :func:`random_mac`);
    ``pxe`` makes it a BIOS PXE client's (see
    :func:`bootwright.boot.foreign.discover`); ``local`` also asks servers on
    this host through the IP stack (module docstring; a bootwright serving
    here answers too). Raises :class:`ProbeError`.
    """
    try:
        socket.if_nametoindex(interface)
    except OSError:  # unknown name (ENODEV/ENXIO), or one with a NUL or too long (ValueError below)
        raise ProbeError(f"no network interface named {interface!r} (see `ip link`)", usage=True) from None
    except ValueError:
        raise ProbeError(f"{interface!r} is not an interface name", usage=True) from None
    chaddr = mac or random_mac()
    xid = secrets.randbits(32) if xid is None else xid
    own = mac_address(interface)
    loop = asyncio.get_running_loop()
    try:
        rx = PacketReceiver(interface, CLIENT_PORT, outgoing=True)
    except OSError as exc:
        raise _error(exc, interface) from None
    tx: RawSender | None = None
    wake = asyncio.Event()
    found: dict[tuple[IPv4Address, str], ForeignServer] = {}
    try:
        with contextlib.suppress(OSError):  # best effort: most servers honour the broadcast flag
            rx.accept_unicast(chaddr)
        tx = RawSender(interface)
        loop.add_reader(rx.fileno(), wake.set)
        start = loop.time()
        sends = [start, start + timeout / 2]
        seen = 0
        while (now := loop.time()) < start + timeout and seen < MAX_DATAGRAMS:
            if sends and now >= sends[0]:
                secs = int(now - start)
                datagram = udp_datagram(
                    encode(discover(xid, chaddr, pxe, secs)), _ZERO, _BROADCAST, CLIENT_PORT, SERVER_PORT
                )
                tx.send(datagram, _BROADCAST_MAC)
                if local and len(sends) == 2:
                    _send_through_ip(interface, datagram)
                sends.pop(0)
                continue
            wake.clear()
            until = min(sends[0] if sends else start + timeout, start + timeout)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), max(until - now, 0.0))
            while seen < MAX_DATAGRAMS and (got := rx.receive()) is not None:
                seen += 1
                try:
                    msg = decode(got.payload)
                except DecodeError:
                    continue
                if not is_offer_for(msg, xid, chaddr):
                    continue
                server = offer_of(msg, got.source, got.mac, local=own is not None and got.mac == own)
                found.setdefault((server.server_id or server.source, server.mac), server)
    except OSError as exc:
        raise _error(exc, interface) from None
    finally:
        with contextlib.suppress(Exception):
            loop.remove_reader(rx.fileno())
        rx.close()
        if tx is not None:
            tx.close()
    return list(found.values())


def _send_through_ip(interface: str, datagram: bytes) -> None:
    """The DISCOVER once more through the IP stack, so servers on this host hear it (module docstring)."""
    unchecked = datagram[:26] + b"\0\0" + datagram[28:]  # UDP checksum 0: the kernel rewrites the source
    try:
        sender = IpSender(interface)
    except OSError as exc:
        log.debug("probe: %s: no DISCOVER through the IP stack: %s", interface, exc)
        return
    try:
        sender.send(unchecked, _BROADCAST)
    except OSError as exc:  # best effort: the link-layer copy has left
        log.debug("probe: %s: no DISCOVER through the IP stack: %s", interface, exc)
    finally:
        sender.close()


async def check_link(
    interface: str, subnets: Sequence[Subnet4], timeout: float = DEFAULT_TIMEOUT, *, local: bool = False
) -> list[str]:
    """Probe ``interface`` and judge what answered against ``subnets`` (the config's subnet4 on it).

    The warning lines of :func:`bootwright.boot.foreign.judge`, or one line
    saying the probe could not run; never raises for a network error. Each
    server heard is logged at info level. Pass ``local=True`` when this
    bootwright does not hold UDP 67 on the interface (it hears it through a
    packet socket): then a server on this host (libvirt's dnsmasq) is asked
    too. While bootwright holds the port, no other server here can, and
    asking would only make bootwright offer to the probe.
    """
    try:
        servers = await probe_dhcp4(interface, timeout, local=local)
    except ProbeError as exc:
        return [f"{interface}: could not look for other DHCP servers: {exc}"]
    for s in servers:
        log.info(
            "probe: %s: DHCP server %s offers %s%s", interface, s.name, s.offered,
            f" (option 60 {s.vendor_class})" if s.vendor_class else "",
        )  # fmt: skip
    return judge(servers, subnets, interface, timeout)
