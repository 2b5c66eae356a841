"""Engine micro-benchmark: the cost of ``handle()`` per message, no sockets, no store.

DISCOVER + REQUEST (DHCPv4) and SOLICIT + REQUEST (DHCPv6) for ``N`` distinct
clients, each a real encoded packet handed to a fresh engine as the transport
hands it over (octets; the engine decodes). The figure is the minimum over
``RUNS`` runs of the mean cost of one ``handle`` call, in microseconds.

    .venv/bin/python bench/engine_micro.py [--runs 7] [--clients 2000]

Never asserted on (docs/benchmarks.md): compare before and after a change.
"""

from __future__ import annotations

import argparse
import inspect
import timeit
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.engine.dhcp6 import server as server6
from bootwright.engine.dhcp6.server import Dhcp6Engine
from bootwright.wire import dhcp4 as w4
from bootwright.wire import dhcp6 as w6

CONFIG4 = """
[server]
interfaces = ["srv0"]
address4 = "198.51.0.1"

[dhcp4]
per_mac_rate = 1000000

[[subnet4]]
subnet = "198.51.0.0/16"
interface = "srv0"
pools = ["198.51.1.0-198.51.254.254"]
routers = ["198.51.0.1"]
dns = ["198.51.0.53"]
"""

CONFIG6 = """
[server]
interfaces = ["eth0"]
address6 = "2001:db8::1"

[[subnet6]]
prefix = "2001:db8::/64"
interface = "eth0"
pools = ["2001:db8::1:0-2001:db8::ffff:ffff"]
dns = ["2001:db8::53"]
"""

SERVER_DUID = w6.DuidLLT(1, 1000, bytes.fromhex("020000000001")).encode()
NOW = 1_000_000.0
PXE = {55: bytes([1, 3, 6, 15, 66, 67]), 93: b"\x00\x07", 60: b"PXEClient:Arch:00007:UNDI:003016"}
# Before the engine contract, DHCPv4's transport decoded and the engine took a Dhcp4Message.
_DECODED4 = "msg" in inspect.signature(Dhcp4Engine.handle).parameters


def _mac(i: int) -> bytes:
    return (0x525400000000 + i).to_bytes(6, "big")


def dhcp4(clients: int) -> tuple[Callable[[], Any], Callable[[Any], None], int]:
    """A fresh engine and the run: DISCOVER then REQUEST per client (the address it was offered)."""
    policy = BootPolicy.from_config(parse_config(CONFIG4))
    rx = RxContext("srv0", (IPv4Address("198.51.0.1"),), 1500)
    if _DECODED4:
        def handle(eng: Any, data: bytes) -> Any:
            return eng.handle(w4.decode(data), rx, NOW, True)
    else:
        meta = rx if not hasattr(RxContext, "broadcast") else RxContext(rx.interface, rx.addresses, rx.mtu, True)

        def handle(eng: Any, data: bytes) -> Any:
            return eng.handle(data, meta, NOW)

    discovers = [
        w4.encode(w4.Dhcp4Message(op=1, xid=i, chaddr=_mac(i), options={53: b"\x01", **PXE})) for i in range(clients)
    ]
    probe = Dhcp4Engine(policy)
    requests = []
    for i, d in enumerate(discovers):
        offer = w4.decode(handle(probe, d).replies[0][0] if not _DECODED4 else handle(probe, d).reply)
        opts = {53: b"\x03", 50: offer.yiaddr.packed, 54: offer.options[54], **PXE}
        requests.append(w4.encode(w4.Dhcp4Message(op=1, xid=i, chaddr=_mac(i), options=opts)))
    pairs = list(zip(discovers, requests, strict=True))

    def run(eng: Any) -> None:
        for discover, request in pairs:
            handle(eng, discover)
            handle(eng, request)

    return lambda: Dhcp4Engine(policy), run, 2 * clients


def dhcp6(clients: int) -> tuple[Callable[[], Any], Callable[[Any], None], int]:
    """A fresh engine and the run: SOLICIT then REQUEST per client (the address it was advertised)."""
    cfg = parse_config(CONFIG6)
    policy = BootPolicy.from_config(cfg)
    links = {"eth0": cfg.subnet6[0]}
    src = IPv6Address("fe80::5054:ff:fe12:3456")
    received = server6.Received
    if "data" in inspect.signature(received).parameters:
        def handle(eng: Any, data: bytes) -> Any:
            return eng.handle(received(data, src, "eth0", True), NOW)
    else:
        def handle(eng: Any, data: bytes) -> Any:
            return eng.handle(data, received(src, "eth0", True), NOW)

    sid = w6.ServerId(w6.decode_duid(SERVER_DUID))
    arch = w6.ClientArchType((7,))
    solicits = []
    for i in range(clients):
        cid = w6.ClientId(w6.DuidLL(1, _mac(i)))
        solicits.append((cid, w6.Dhcp6Message(w6.MessageType.SOLICIT, i, (cid, arch, w6.IaNa(1))).encode()))
    probe = Dhcp6Engine(policy, SERVER_DUID, links)
    pairs = []
    for i, (cid, data) in enumerate(solicits):
        out = handle(probe, data)
        raw = out.replies[0][0] if hasattr(out, "replies") else out.reply
        adv = w6.decode(raw)
        ia = adv.get(w6.IaNa)
        addr = ia.get(w6.IaAddr).address
        req = w6.Dhcp6Message(w6.MessageType.REQUEST, i, (cid, sid, arch, w6.IaNa(1, 0, 0, (w6.IaAddr(addr, 0, 0),))))
        pairs.append((data, req.encode()))

    def run(eng: Any) -> None:
        for solicit, request in pairs:
            handle(eng, solicit)
            handle(eng, request)

    return lambda: Dhcp6Engine(policy, SERVER_DUID, links), run, 2 * clients


def measure(build: Callable[[int], tuple[Callable[[], Any], Callable[[Any], None], int]], clients: int,
            runs: int) -> float:  # fmt: skip
    """Microseconds per ``handle`` call: the minimum over ``runs`` fresh engines."""
    fresh, run, calls = build(clients)
    best = float("inf")
    for _ in range(runs):
        eng = fresh()
        t0 = timeit.default_timer()
        run(eng)
        best = min(best, timeit.default_timer() - t0)
    return best / calls * 1e6


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--clients", type=int, default=2000)
    args = parser.parse_args()
    v4 = measure(dhcp4, args.clients, args.runs)
    v6 = measure(dhcp6, args.clients, args.runs)
    print(f"dhcp4 DISCOVER+REQUEST: {v4:6.2f} µs per handle()  ({1e6 / v4 / 2:7.0f} exchanges/s)")
    print(f"dhcp6 SOLICIT+REQUEST:  {v6:6.2f} µs per handle()  ({1e6 / v6 / 2:7.0f} exchanges/s)")


if __name__ == "__main__":
    main()
