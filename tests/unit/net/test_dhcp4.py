"""The DHCPv4 transport without a network: frames, send routing, the read loop and durability order."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

import pytest

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.model import Lease
from bootwright.net.dhcp4 import (
    IP_PKTINFO,
    Dhcp4Service,
    OptionNames,
    _Port,
    broadcast_addresses,
    create_service,
    destination_was_broadcast,
    option_names,
)
from bootwright.net.host import InterfaceInfo
from bootwright.net.linklayer import checksum, udp_datagram
from bootwright.runtime.events import EventSink
from bootwright.wire.dhcp4 import Dhcp4Message, decode, encode

CONFIG = """
[server]
address4 = "192.0.2.1"

[dhcp4]
per_mac_rate = 1000

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "srv0"
pools = ["192.0.2.100-192.0.2.109"]
"""


def ref_checksum(data: bytes) -> int:
    """RFC 1071 the slow, obvious way (big-endian words)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@pytest.mark.parametrize("payload", [b"", b"x", b"\xff" * 301, bytes(range(256)) * 2])
def test_udp_datagram_headers_and_checksums(payload: bytes) -> None:
    src, dst = IPv4Address("192.0.2.1"), IPv4Address("192.0.2.100")
    dgram = udp_datagram(payload, src, dst, 67, 68)
    ip, udp, body = dgram[:20], dgram[20:28], dgram[28:]
    assert body == payload
    ver_ihl, _, total, _, frag, ttl, proto, _, s, d = struct.unpack("!BBHHHBBH4s4s", ip)
    assert (ver_ihl, total, proto, s, d) == (0x45, 28 + len(payload), 17, src.packed, dst.packed)
    assert ttl == 64 and frag == 0x4000
    assert ref_checksum(ip) == 0  # a header with its checksum sums to zero (RFC 791 §3.1)
    sport, dport, length, _ = struct.unpack("!HHHH", udp)
    assert (sport, dport, length) == (67, 68, 8 + len(payload))
    pseudo = src.packed + dst.packed + bytes([0, 17]) + struct.pack("!H", length)
    assert ref_checksum(pseudo + udp + body) == 0  # RFC 768


def test_checksum_matches_the_reference() -> None:
    for data in (b"", b"\x01", b"\x45\x00\x00\x1c", bytes(range(251))):
        assert struct.pack("=H", checksum(data)) == struct.pack("!H", ref_checksum(data))


def test_interface_address_for_a_peer() -> None:
    info = InterfaceInfo("srv0", 2, b"\x02" * 6, 1500,
                         (IPv4Interface("192.0.2.1/24"), IPv4Interface("198.51.100.1/24")))
    assert info.address_for(IPv4Address("198.51.100.9")) == IPv4Address("198.51.100.1")
    assert info.address_for(IPv4Address("203.0.113.9")) == IPv4Address("192.0.2.1")


# --------------------------------------------------------------------------- the service with fakes


class FakeSock:
    """A socket with IP_PKTINFO: each datagram is bytes (sent to 192.0.2.1) or (bytes, destination)."""

    def __init__(self, datagrams: list[bytes]) -> None:
        self.inbox: list[bytes | tuple[bytes, str | None]] = list(datagrams)
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def recvmsg(self, size: int, ancsize: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, tuple[str, int]]:
        if not self.inbox:
            raise BlockingIOError
        item = self.inbox.pop(0)
        data, dst = item if isinstance(item, tuple) else (item, "192.0.2.1")
        anc = []
        if dst is not None:  # struct in_pktinfo: ifindex, spec_dst, addr (ip(7))
            anc.append((socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=i4s4s", 2, bytes(4), IPv4Address(dst).packed)))
        return data, anc, 0, ("0.0.0.0", 68)

    def sendto(self, data: bytes, addr: tuple[str, int]) -> int:
        self.sent.append((data, addr))
        return len(data)

    def fileno(self) -> int:
        return 99


class FakeRaw:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []

    def send(self, datagram: bytes, mac: bytes) -> None:
        self.sent.append((datagram, mac))

    def close(self) -> None:
        pass


class FakeStore:
    def __init__(self, fail: bool = False) -> None:
        self.rows: list[Lease] = []
        self.fail = fail
        self.gate = asyncio.Event()

    async def put_leases(self, leases: Any) -> None:
        await self.gate.wait()
        if self.fail:
            raise OSError("disk full")
        self.rows += list(leases)


class FakeRuntime:
    def __init__(self, store: FakeStore) -> None:
        self.config = parse_config(CONFIG)
        self.policy = BootPolicy.from_config(self.config)
        self.store = store
        self.events = EventSink(None)
        self.seen: list[str] = []
        self.events.listeners.append(lambda e: self.seen.append(e.kind))
        self.mac_for_address = None
        self.stored: list[Any] = []  # leases handed to the lease listeners (Runtime.leases_stored)

    def leases_stored(self, leases: Any) -> None:
        self.stored += leases


def service(store: FakeStore, datagrams: list[bytes]) -> tuple[Dhcp4Service, FakeSock, FakeRaw]:
    runtime = FakeRuntime(store)
    svc = Dhcp4Service(runtime)  # type: ignore[arg-type]
    svc.engine = Dhcp4Engine(runtime.policy)
    info = InterfaceInfo("srv0", 2, b"\x02" * 6, 1500, (IPv4Interface("192.0.2.1/24"),))
    sock, raw = FakeSock(datagrams), FakeRaw()
    rx = RxContext("srv0", (IPv4Address("192.0.2.1"),), 1500)
    svc.ports = [_Port(info, sock, raw, rx, broadcast_addresses(info))]  # type: ignore[arg-type]
    return svc, sock, raw


def dhcp(mtype: int, mac: int, **kw: Any) -> bytes:
    opts = {53: bytes((mtype,)), **kw.pop("options", {})}
    return encode(Dhcp4Message(op=1, xid=mac, chaddr=bytes([2, 0, 0, 0, 0, mac]), options=opts, **kw))


def selecting_request(address: str = "192.0.2.100") -> bytes:
    """A broadcast REQUEST in SELECTING state for ``address`` (RFC 2131 §4.3.2: options 50 and 54)."""
    return dhcp(3, 1, flags=0x8000, options={50: IPv4Address(address).packed, 54: IPv4Address("192.0.2.1").packed})


def test_read_loop_drops_garbage_and_answers_the_rest() -> None:
    async def main() -> None:
        store = FakeStore()
        garbage = [b"", b"\x00" * 10, b"\x01" * 300, dhcp(1, 1)[:239], dhcp(1, 1)[:-200] + b"\x35\x09"]
        svc, sock, raw = service(store, [*garbage, dhcp(1, 1), dhcp(1, 2, flags=0x8000),
                                         dhcp(1, 3, giaddr=IPv4Address("192.0.2.9"))])
        svc._readable(svc.ports[0])
        assert svc.engine is not None and svc.engine.stats["undecodable"] >= 3
        assert len(raw.sent) == 1  # RFC 2131 §4.1: unicast at chaddr, no ARP
        frame, mac = raw.sent[0]
        assert mac == bytes([2, 0, 0, 0, 0, 1]) and frame[16:20] == IPv4Address("192.0.2.100").packed
        assert decode(frame[28:]).options[53] == b"\x02"
        assert [a for _, a in sock.sent] == [("255.255.255.255", 68), ("192.0.2.9", 67)]

    asyncio.run(main())


def test_ack_leaves_only_after_the_lease_is_stored() -> None:
    async def main() -> None:
        store = FakeStore()
        svc, sock, _ = service(store, [])
        sock.inbox.append(selecting_request())
        svc._readable(svc.ports[0])
        await asyncio.sleep(0)
        assert sock.sent == [] and store.rows == []  # the ACK waits for the commit
        store.gate.set()
        await asyncio.sleep(0.01)
        assert [r.address for r in store.rows] == ["192.0.2.100"]
        assert len(sock.sent) == 1 and decode(sock.sent[0][0]).options[53] == b"\x05"
        assert svc.runtime.seen == ["dhcp4.ack"]  # type: ignore[attr-defined]

    asyncio.run(main())


def test_no_ack_when_the_store_fails(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        store = FakeStore(fail=True)
        store.gate.set()
        svc, sock, _ = service(store, [])
        sock.inbox.append(selecting_request())
        svc._readable(svc.ports[0])
        await asyncio.sleep(0.01)
        assert sock.sent == []
        assert svc.engine is not None and svc.engine.stats["store_errors"] == 1

    asyncio.run(main())
    assert "withheld" in caplog.text


def test_a_bug_in_the_engine_does_not_stop_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        svc, sock, _ = service(FakeStore(), [dhcp(1, 1, flags=0x8000), dhcp(1, 2, flags=0x8000)])
        assert svc.engine is not None
        real = svc.engine.handle
        calls = []

        def flaky(datagram: bytes, rx: Any, now: float) -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("boom")
            return real(datagram, rx, now)

        monkeypatch.setattr(svc.engine, "handle", flaky)
        svc._readable(svc.ports[0])
        assert len(sock.sent) == 1 and svc.engine.stats["errors"] == 1

    asyncio.run(main())


def test_policy_swap_is_followed() -> None:
    async def main() -> None:
        svc, sock, _ = service(FakeStore(), [])
        rt = svc.runtime
        rt.policy = BootPolicy.from_config(parse_config(CONFIG.replace('"192.0.2.100-', '"192.0.2.150-').replace(
            "192.0.2.109", "192.0.2.159")))
        sock.inbox.append(dhcp(1, 1, flags=0x8000))
        svc._readable(svc.ports[0])
        assert decode(sock.sent[0][0]).yiaddr == IPv4Address("192.0.2.150")

    asyncio.run(main())


def test_factory_and_interface_choice(tmp_path: Path) -> None:
    runtime = FakeRuntime(FakeStore())
    assert create_service(runtime) is not None  # type: ignore[arg-type]
    runtime.config = parse_config("[dhcp4]\nenabled = true\n")
    assert create_service(runtime) is None  # type: ignore[arg-type]
    runtime.config = parse_config(CONFIG)
    svc = Dhcp4Service(runtime)  # type: ignore[arg-type]
    found = [InterfaceInfo("lo", 1, bytes(6), 65536, (IPv4Interface("127.0.0.1/8"),)),
             InterfaceInfo("srv0", 2, b"\x02" * 6, 1500, ())]
    assert [i.name for i in svc._wanted_interfaces(found)] == ["srv0"]
    from bootwright.runtime import ServiceError

    with pytest.raises(ServiceError, match="srv0"):
        svc._wanted_interfaces(found[:1])


# --------------------------------------------------------------------------- IP_PKTINFO: broadcast or unicast


def test_broadcast_addresses_of_an_interface() -> None:
    info = InterfaceInfo("srv0", 2, b"\x02" * 6, 1500, (IPv4Interface("192.0.2.1/24"), IPv4Interface("198.51.100.1/31"),
                                                       IPv4Interface("198.51.100.9/32")))
    # RFC 919 limited broadcast, the /24's directed broadcast; /31 and /32 have none (RFC 3021)
    assert broadcast_addresses(info) == {b"\xff" * 4, IPv4Address("192.0.2.255").packed}


@pytest.mark.parametrize(("dst", "expect"), [("255.255.255.255", True), ("192.0.2.255", True),
                                             ("192.0.2.1", False), (None, None)])
def test_destination_was_broadcast(dst: str | None, expect: bool | None) -> None:
    anc = [(socket.IPPROTO_IP, 99, b"x" * 12)]  # other ancillary data is skipped
    if dst is not None:
        anc.append((socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=i4s4s", 2, bytes(4), IPv4Address(dst).packed)))
    broadcasts = frozenset({b"\xff" * 4, IPv4Address("192.0.2.255").packed})
    assert destination_was_broadcast(anc, broadcasts) is expect


@pytest.mark.parametrize(("dst", "state"), [("192.0.2.1", "renewing"), ("255.255.255.255", "rebinding"),
                                            (None, "renewing")])
def test_read_loop_tells_renewing_from_rebinding(dst: str | None, state: str) -> None:
    """RFC 2131 §4.3.2: the same REQUEST (ciaddr, no 50/54) is RENEWING unicast, REBINDING broadcast."""
    async def main() -> None:
        store = FakeStore()
        store.gate.set()
        svc, sock, _ = service(store, [])
        sock.inbox.append(selecting_request())
        svc._readable(svc.ports[0])
        await asyncio.sleep(0.01)
        events: list[Any] = []
        svc.runtime.events.listeners.append(events.append)
        sock.inbox.append((dhcp(3, 1, ciaddr=IPv4Address("192.0.2.100")), dst))
        svc._readable(svc.ports[0])
        await asyncio.sleep(0.01)
        ack = [e for e in events if e.kind == "dhcp4.ack"]
        assert len(ack) == 1 and ack[0].detail["state"] == state, events
        assert sock.sent[-1][1] == ("192.0.2.100", 68)  # RFC 2131 §4.1: to ciaddr either way

    asyncio.run(main())


# --------------------------------------------------------------------------- host names in options


class FakeResolver:
    """A resolver whose answers the test sets: a tuple of addresses, or an exception to raise."""

    def __init__(self, **answers: Any) -> None:
        self.answers: dict[str, Any] = {k.replace("_", "."): v for k, v in answers.items()}
        self.asked: list[str] = []

    async def __call__(self, name: str) -> tuple[IPv4Address, ...]:
        self.asked.append(name)
        answer = self.answers.get(name, OSError("Name or service not known"))
        if isinstance(answer, BaseException):
            raise answer
        return tuple(IPv4Address(a) for a in answer)


def test_names_are_re_resolved_and_a_failure_keeps_the_last_good_addresses(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        fake = FakeResolver(ntp_example=("192.0.2.50",))
        names = OptionNames(fake)
        assert await names.refresh(["ntp.example"]) == {"ntp.example": (IPv4Address("192.0.2.50"),)}
        fake.answers["ntp.example"] = ("192.0.2.51", "192.0.2.52")  # the record moved
        assert await names.refresh(["ntp.example"]) == {
            "ntp.example": (IPv4Address("192.0.2.51"), IPv4Address("192.0.2.52"))}
        fake.answers["ntp.example"] = TimeoutError()  # the DNS server is down
        with caplog.at_level(logging.WARNING, logger="bootwright.dhcp4"):
            for _ in range(3):
                got = await names.refresh(["ntp.example"])
                assert got == {"ntp.example": (IPv4Address("192.0.2.51"), IPv4Address("192.0.2.52"))}
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "keeping 192.0.2.51, 192.0.2.52" in warnings[0]  # once, not per refresh
        fake.answers["ntp.example"] = ("192.0.2.53",)
        assert await names.refresh(["ntp.example"]) == {"ntp.example": (IPv4Address("192.0.2.53"),)}
        fake.answers["ntp.example"] = OSError("SERVFAIL")  # a new outage warns again
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bootwright.dhcp4"):
            await names.refresh(["ntp.example"])
        assert len(caplog.records) == 1
        assert await names.refresh([]) == {}  # a name no longer configured is forgotten

    asyncio.run(main())


def test_a_name_that_never_resolved_is_left_out() -> None:
    async def main() -> None:
        names = OptionNames(FakeResolver(good=("192.0.2.7",)))
        assert await names.refresh(["good", "bad.example"]) == {"good": (IPv4Address("192.0.2.7"),)}

    asyncio.run(main())


def test_option_names_are_the_non_addresses_of_ntp_servers() -> None:
    cfg = parse_config(CONFIG.replace("[dhcp4]\n", '[dhcp4]\nntp_servers = ["192.0.2.5", "ntp.example"]\n')
                       + 'ntp_servers = ["ntp.example", "time.local"]\n')
    assert option_names(cfg) == ["ntp.example", "time.local"]


NTP_CONFIG = CONFIG.replace("[dhcp4]\n", '[dhcp4]\nntp_servers = ["ntp.example"]\n')


def ntp_of(sock: FakeSock) -> bytes | None:
    return decode(sock.sent[-1][0]).options.get(42)


def test_names_follow_a_reload_and_the_periodic_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reload naming a new server resolves it; the periodic refresh picks up a moved record."""
    async def main() -> None:
        fake = FakeResolver(ntp_example=("192.0.2.50",), ntp2_example=("192.0.2.60",))
        runtime = FakeRuntime(FakeStore())
        runtime.config = parse_config(NTP_CONFIG)
        runtime.policy = BootPolicy.from_config(runtime.config)
        svc = Dhcp4Service(runtime, resolve=fake)  # type: ignore[arg-type]
        svc.engine = Dhcp4Engine(runtime.policy, names=await svc.names.refresh(option_names(runtime.config)))
        info = InterfaceInfo("srv0", 2, b"\x02" * 6, 1500, (IPv4Interface("192.0.2.1/24"),))
        sock = FakeSock([])
        rx = RxContext("srv0", (IPv4Address("192.0.2.1"),), 1500)
        svc.ports = [_Port(info, sock, FakeRaw(), rx, broadcast_addresses(info))]  # type: ignore[arg-type]
        discover = dhcp(1, 1, flags=0x8000, options={55: bytes([1, 3, 42])})

        def offer() -> bytes | None:
            sock.inbox.append(discover)
            svc._readable(svc.ports[0])
            return ntp_of(sock)

        assert offer() == IPv4Address("192.0.2.50").packed
        runtime.policy = BootPolicy.from_config(parse_config(NTP_CONFIG.replace("ntp.example", "ntp2.example")))
        offer()  # the reload is noticed here; the look-up runs in the background
        await asyncio.sleep(0.01)
        assert "ntp2.example" in fake.asked and offer() == IPv4Address("192.0.2.60").packed
        fake.answers["ntp2.example"] = ("192.0.2.61",)
        monkeypatch.setattr("bootwright.net.dhcp4.NAMES_REFRESH", 0.01)
        keeper = asyncio.create_task(svc._keep_names())
        await asyncio.sleep(0.05)
        keeper.cancel()
        assert offer() == IPv4Address("192.0.2.61").packed  # the cached reply was not reused
        fake.answers["ntp2.example"] = OSError("down")
        await svc.refresh_names()
        assert offer() == IPv4Address("192.0.2.61").packed

    asyncio.run(main())
