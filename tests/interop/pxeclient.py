"""A PXE client's DHCP half, run inside a test namespace: DISCOVER on port 67, then a boot server REQUEST on 4011.

Sends what real firmware sends (the options of OVMF's UEFI PXE DISCOVER, or
SeaBIOS iPXE's, from ``tests/data``), collects every reply for ``--wait``
seconds and prints one JSON object per reply on stdout: its source, message
type, yiaddr, siaddr, file and options (hex). With ``--boot-server ADDR`` it
then sends a DHCPREQUEST from its own address's port 4011 to ``ADDR:4011``
(PXE 2.1 §2.2.3, as EDK2 does after a proxy offer without option 43) and
prints the ACK the same way. Bounded: every wait ends by itself.

    ip netns exec NS python pxeclient.py --mac 52:54:00:b0:01:04 --arch 7 --wait 2 --boot-server 192.0.2.1
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from ipaddress import IPv4Address

from bootwright.wire.dhcp4 import Dhcp4Message, MessageType, decode, encode

BOOT_SERVER_PORT = 4011


def _options(kind: MessageType, arch: int, mac: bytes, http: bool, plain: bool = False) -> dict[int, bytes]:
    if plain:  # an OS DHCP client: nothing that says "booting"
        return {53: bytes((kind,)), 55: bytes((1, 3, 6, 15))}
    vendor = f"{'HTTPClient' if http else 'PXEClient'}:Arch:{arch:05d}:UNDI:003000".encode()
    uuid = b"\x00" + bytes(10) + mac  # RFC 4578 §2.5: type 0 + 16-octet GUID
    return {
        53: bytes((kind,)),
        55: bytes((1, 3, 6, 43, 54, 60, 66, 67, 97)),
        57: (1472).to_bytes(2, "big"),
        60: vendor,
        93: arch.to_bytes(2, "big"),
        94: b"\x01\x03\x00",
        97: uuid,
    }


def _show(data: bytes, peer: tuple[str, int]) -> None:
    msg = decode(data)
    kind = msg.message_type
    print(json.dumps({
        "from": f"{peer[0]}:{peer[1]}",
        "type": kind.name if kind is not None else None,
        "yiaddr": str(msg.yiaddr), "siaddr": str(msg.siaddr), "ciaddr": str(msg.ciaddr),
        "flags": msg.flags,
        "file": msg.file.rstrip(b"\0").decode("ascii", "replace"),
        "options": {str(code): bytes(value).hex() for code, value in msg.options.items()},
    }), flush=True)


def _collect(sock: socket.socket, xid: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, peer = sock.recvfrom(4096)
        except TimeoutError:
            return
        try:
            if decode(data).xid == xid and data[0] == 2:
                _show(data, peer)
        except Exception:  # another client's or a malformed datagram: not ours
            continue


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run the exchange, print the replies."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mac", required=True)
    p.add_argument("--arch", type=int, default=7)
    p.add_argument("--http", action="store_true", help="HTTPClient instead of PXEClient (UEFI HTTP boot)")
    p.add_argument("--plain", action="store_true", help="an OS client: no vendor class, no architecture")
    p.add_argument("--wait", type=float, default=2.0)
    p.add_argument("--boot-server", help="then ask this address's port 4011 (PXE 2.1 §2.2.3)")
    p.add_argument("--client-address", help="ciaddr and source address of the port 4011 request")
    p.add_argument("--interface", default=None)
    args = p.parse_args(argv)
    mac = bytes.fromhex(args.mac.replace(":", ""))
    xid = int.from_bytes(os.urandom(4), "big")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if args.interface:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, args.interface.encode())
    sock.bind(("0.0.0.0", 68))
    discover = Dhcp4Message(op=1, xid=xid, chaddr=mac, flags=0x8000,
                            options=_options(MessageType.DISCOVER, args.arch, mac, args.http, args.plain))
    sock.sendto(encode(discover), ("255.255.255.255", 67))
    _collect(sock, xid, args.wait)
    sock.close()
    if args.boot_server:
        ciaddr = IPv4Address(args.client_address or "0.0.0.0")
        pxe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        pxe.bind((str(ciaddr), BOOT_SERVER_PORT))
        request = Dhcp4Message(op=1, xid=xid + 1, chaddr=mac, ciaddr=ciaddr,
                               options=_options(MessageType.REQUEST, args.arch, mac, args.http))
        pxe.sendto(encode(request), (args.boot_server, BOOT_SERVER_PORT))
        _collect(pxe, xid + 1, args.wait)
        pxe.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
