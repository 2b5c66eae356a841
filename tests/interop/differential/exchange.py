"""Send the client set to a DHCP server and print every client's replies; run inside the client namespace.

    ip netns exec NS python exchange.py '{"family": 4, "interface": "cli0", "clients": [["plain", "5254..."]]}'

A client entry is ``[name, mac]`` or ``[name, mac, label, circuit, remote]``: the label names
its output line (one client kind may then go several times, each through its own relay agent
identity), circuit and remote are the option 82 sub-options it is relayed with, in hex.

DHCPv4, direct: every client broadcasts a DISCOVER (broadcast flag set, so every
reply reaches the one socket on port 68, RFC 2131 §4.1), then a SELECTING
REQUEST for the offer it got. Relayed (``"relay": "192.0.2.3"``, ``"server"``):
the same messages with giaddr, hops 1 and option 82, unicast from the relay
address's port 67 to the server's port 67, as a relay agent sends them (RFC 2131
§4.1, RFC 3046); replies come back to giaddr port 67. DHCPv6: a Solicit each
to ff02::1:2, a Request for an advertised address, else an Information-request
(what a client told "other config" by the RA does). Relayed DHCPv6 (``"relay"``,
``"server"``, ``"links"``): the same messages, each in a Relay-forward (link-address
``links[label]``, peer-address the client's link-local, Interface-Id the entry's circuit,
Remote-Id its remote unless empty), unicast from the relay address's port 547 to
the server's port 547 as a relay agent sends them (RFC 8415 §19.1); the Relay-reply
comes back to port 547 and is printed whole (:func:`.compare.observe6` unwraps it).

All clients of a phase are in flight together (dhcpd's ping check waits a second
per offer: in parallel that is one second, not eleven). Each phase ends when
every client has its answer or after ``wait`` seconds: bounded (with ``"serial"``,
each client is a phase of its own). Output: one JSON
line per client, ``{"client": name, "replies": [hex, ...]}`` in arrival order.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/interop: run as a script by path

from bootwright.wire import dhcp4, dhcp6
from differential.clientset import (
    ALL_CLIENTS,
    CIRCUIT_ID,
    REMOTE_ID,
    Client,
    Relay,
    discover,
    information_request,
    known_host,
    link_local,
    relay_forward,
    request,
    request6,
    solicit,
)


def _collect(
    sock: socket.socket, want: set[int], wait: float, parse: Callable[[bytes], int | None]
) -> dict[int, bytes]:
    """Replies by transaction id until every id in ``want`` has one or ``wait`` seconds pass."""
    got: dict[int, bytes] = {}
    deadline = time.monotonic() + wait
    while want - got.keys() and (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except TimeoutError:
            break
        try:
            xid = parse(data)
        except Exception:  # not a reply of ours (or malformed): the comparison is about ours
            continue
        if xid in want and xid not in got:
            got[xid] = data
    return got


def _xid4(data: bytes) -> int | None:
    msg = dhcp4.decode(data)
    return msg.xid if msg.op == 2 else None


def _xid6(data: bytes) -> int | None:
    msg, _ = dhcp6.innermost(dhcp6.decode(data))  # a Relay-reply: the client's message in it
    return msg.transaction_id


Entry = tuple[str, Client, bytes, bytes, bytes]
"""One client to send: its label, kind, MAC, and the option 82 circuit and remote id a relay adds."""


def run4(clients: list[Entry], interface: str, wait: float, relay: str | None,
         server: str | None) -> dict[str, list[bytes]]:  # fmt: skip
    """DISCOVER and REQUEST for every client; the replies by label."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
    if relay is not None:
        assert server is not None
        sock.bind((relay, dhcp4.SERVER_PORT))  # replies to a relay go to giaddr port 67 (RFC 2131 §4.1)
        dest = (server, dhcp4.SERVER_PORT)
    else:
        sock.bind(("0.0.0.0", dhcp4.CLIENT_PORT))
        dest = ("255.255.255.255", dhcp4.SERVER_PORT)
    base = int.from_bytes(os.urandom(4), "big") & 0x7FFF0000
    xids = {base + i: e for i, e in enumerate(clients)}
    agents = {xid: Relay(IPv4Address(relay), circuit, remote) if relay else None
              for xid, (_, _, _, circuit, remote) in xids.items()}  # fmt: skip
    out: dict[str, list[bytes]] = {label: [] for label, *_ in clients}
    for xid, (_, c, mac, _, _) in xids.items():
        sock.sendto(discover(c, xid, mac, agents[xid]), dest)
    offers = _collect(sock, set(xids), wait, _xid4)
    requests: dict[int, str] = {}
    for xid, data in offers.items():
        label, c, mac, _, _ = xids[xid]
        out[label].append(data)
        offer = dhcp4.decode(data)
        if offer.message_type == dhcp4.MessageType.OFFER:
            sock.sendto(request(c, xid + 0x8000, mac, offer, agents[xid]), dest)
            requests[xid + 0x8000] = label
    for xid, data in _collect(sock, set(requests), wait, _xid4).items():
        out[requests[xid]].append(data)
    sock.close()
    return out


def _advertised(data: bytes) -> tuple[dhcp6.ServerId, IPv6Address] | None:
    msg, _ = dhcp6.innermost(dhcp6.decode(data))
    if msg.msg_type != dhcp6.MessageType.ADVERTISE:
        return None
    sid, ia = msg.get(dhcp6.ServerId), msg.get(dhcp6.IaNa)
    addr = ia.get(dhcp6.IaAddr) if ia is not None else None
    return (sid, addr.address) if sid is not None and addr is not None else None


def run6(clients: list[Entry], interface: str, wait: float, relay: str | None = None, server: str | None = None,
         links: dict[str, str] | None = None) -> dict[str, list[bytes]]:  # fmt: skip
    """Solicit, then Request or Information-request, for every client; the replies by label.

    Relayed when ``relay`` is given: each message goes in a Relay-forward whose link-address is
    ``links[label]`` (the relay's address on the client's link: the server picks the subnet by it).
    """
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
    index = socket.if_nametoindex(interface)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    if relay is not None:
        assert server is not None and links is not None
        sock.bind((relay, dhcp6.SERVER_PORT))  # a relay sends from, and gets its Relay-replies on, 547 (§7.2)
        dest: tuple[str, int, int, int] = (server, dhcp6.SERVER_PORT, 0, 0)
    else:
        sock.bind(("::", dhcp6.CLIENT_PORT))
        dest = (str(dhcp6.ALL_DHCP_RELAY_AGENTS_AND_SERVERS), dhcp6.SERVER_PORT, 0, index)

    def wrap(entry: Entry, message: bytes) -> bytes:
        if links is None:
            return message
        label, _, mac, interface_id, remote_id = entry
        return relay_forward(message, IPv6Address(links[label]), link_local(mac), interface_id, remote_id)

    base = int.from_bytes(os.urandom(3), "big") & 0x7F0000
    xids = {base + i: e for i, e in enumerate(clients)}
    out: dict[str, list[bytes]] = {label: [] for label, *_ in clients}
    for xid, entry in xids.items():
        _, c, mac, _, _ = entry
        sock.sendto(wrap(entry, solicit(c, xid, mac)), dest)
    adverts = _collect(sock, set(xids), wait, _xid6)
    second: dict[int, str] = {}
    for xid, entry in xids.items():
        label, c, mac, _, _ = entry
        data = adverts.get(xid)
        if data is not None:
            out[label].append(data)
        lease = _advertised(data) if data is not None else None
        nxt = xid + 0x100
        if lease is not None:
            sock.sendto(wrap(entry, request6(c, nxt, mac, *lease)), dest)
        else:
            sock.sendto(wrap(entry, information_request(c, nxt, mac)), dest)
        second[nxt] = label
    for xid, data in _collect(sock, set(second), wait, _xid6).items():
        out[second[xid]].append(data)
    sock.close()
    return out


def main(argv: list[str]) -> int:
    """Parse the JSON argument, run the exchange, print one JSON line per client."""
    args = json.loads(argv[0])
    clients: list[Entry] = []
    for name, mac, *more in args["clients"]:
        label, circuit, remote = more if more else (name, CIRCUIT_ID.hex(), REMOTE_ID.hex())
        kind = ALL_CLIENTS[name] if name in ALL_CLIENTS else known_host(mac)
        clients.append((label, kind, bytes.fromhex(mac), bytes.fromhex(circuit), bytes.fromhex(remote)))
    wait = float(args.get("wait", 5.0))
    # "serial": one client's exchange after the other, for a server that does not hold the address it offered
    # (dnsmasq offers it again to the next client in flight, then NAKs that client's REQUEST).
    batches = [[c] for c in clients] if args.get("serial") else [clients]
    out: dict[str, list[bytes]] = {}
    for batch in batches:
        if args["family"] == 4:
            out |= run4(batch, args["interface"], wait, args.get("relay"), args.get("server"))
        else:
            out |= run6(batch, args["interface"], wait, args.get("relay"), args.get("server"), args.get("links"))
    for name, replies in out.items():
        print(json.dumps({"client": name, "replies": [r.hex() for r in replies]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
