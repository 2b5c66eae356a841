"""Fuzzing the DHCPv6 handle path: bad input is counted, never raised (hypothesis, bounded)."""

from __future__ import annotations

from ipaddress import IPv6Address

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.engine.dhcp6.server import Dhcp6Engine, Received
from bootwright.wire.dhcp6 import (
    HW_TYPE_ETHERNET,
    ClientArchType,
    ClientId,
    ClientLinkLayerAddr,
    Dhcp6Message,
    Dhcp6Option,
    Dhcp6Relay,
    DuidEN,
    DuidLL,
    DuidLLT,
    ElapsedTime,
    IaAddr,
    IaNa,
    IaPd,
    IaTa,
    InterfaceId,
    OptionRequest,
    RapidCommit,
    RelayMessage,
    ServerId,
    UnknownOption,
    UserClass,
    VendorClass,
    decode,
)

SERVER_DUID = DuidLLT(HW_TYPE_ETHERNET, 1000, bytes.fromhex("020000000001"))
CONFIG = """
[server]
interfaces = ["eth0"]
address6 = "2001:db8::1"
[[subnet6]]
prefix = "2001:db8::/64"
interface = "eth0"
pools = ["2001:db8::100-2001:db8::10f"]
dns = ["2001:db8::53"]
[[subnet6]]
prefix = "2001:db8:2::/64"
pools = ["2001:db8:2::10-2001:db8:2::11"]
[boot]
default = "linux"
[targets.linux]
kernel = "{{ http }}/vmlinuz"
[[host]]
name = "h"
mac = "52:54:00:aa:bb:cc"
ipv6 = "2001:db8::42"
"""
_cfg = parse_config(CONFIG)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def engine() -> Dhcp6Engine:
    return Dhcp6Engine(BootPolicy.from_config(_cfg), SERVER_DUID.encode(), {"eth0": _cfg.subnet6[0]}, (), 1e6)


LL = IPv6Address("fe80::1")
GOLDEN = [
    Dhcp6Message(1, 1, (ClientId(DuidLL(1, b"RT\x00\x124V")), IaNa(1), OptionRequest((23, 59)),
                        ClientArchType((7,)))).encode(),
    Dhcp6Message(3, 2, (ClientId(DuidLL(1, b"RT\x00\x124V")), ServerId(SERVER_DUID),
                        IaNa(1, 0, 0, (IaAddr(IPv6Address("2001:db8::100"), 0, 0),)))).encode(),
    Dhcp6Relay(12, 0, IPv6Address("2001:db8:2::1"), LL, (InterfaceId(b"x"),
               RelayMessage(Dhcp6Message(1, 3, (ClientId(DuidEN(9, b"ab")), IaNa(2), RapidCommit()))))).encode(),
    Dhcp6Message(11, 4, (UserClass((b"iPXE",)), OptionRequest((59,)))).encode(),
]  # fmt: skip


def _check(e: Dhcp6Engine, data: bytes, multicast: bool = True) -> None:
    out = e.handle(data, Received(LL, "eth0", multicast), 1e6)
    assert e.counters["internal_error"] == 0
    if out is not None:
        decode(out.reply)  # whatever goes out is well-formed


@FUZZ
@given(st.binary(max_size=600), st.booleans())
def test_random_bytes_never_raise(data: bytes, multicast: bool) -> None:
    _check(engine(), data, multicast)


@FUZZ
@given(st.sampled_from(GOLDEN), st.data())
def test_mutated_golden_packets_never_raise(packet: bytes, data: st.DataObject) -> None:
    buf = bytearray(packet)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, max(0, len(buf) - 1)))
        if op == "flip" and buf:
            buf[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del buf[pos : pos + data.draw(st.integers(1, 8))]
        else:
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
    _check(engine(), bytes(buf))


_macs = st.binary(min_size=6, max_size=6)
_duids = st.one_of(
    _macs.map(lambda m: DuidLL(HW_TYPE_ETHERNET, m)),
    st.builds(DuidLLT, st.just(HW_TYPE_ETHERNET), st.integers(0, 2**32 - 1), _macs),
    st.builds(DuidEN, st.integers(0, 2**32 - 1), st.binary(min_size=1, max_size=12)),
)
_addrs = st.integers(0, 2**128 - 1).map(IPv6Address) | st.sampled_from(
    [IPv6Address("2001:db8::100"), IPv6Address("2001:db8::42"), IPv6Address("2001:db8:2::10")]
)
_ia = st.builds(IaNa, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                st.lists(st.builds(IaAddr, _addrs, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
                         max_size=3).map(tuple))  # fmt: skip
_options: st.SearchStrategy[Dhcp6Option] = st.one_of(
    _duids.map(ClientId),
    st.one_of(_duids, st.just(SERVER_DUID)).map(ServerId),
    _ia,
    st.builds(IaTa, st.integers(0, 2**32 - 1)),
    st.builds(IaPd, st.integers(0, 2**32 - 1)),
    st.just(RapidCommit()),
    st.builds(ElapsedTime, st.integers(0, 0xFFFF)),
    st.lists(st.integers(0, 0xFFFF), max_size=4).map(lambda v: OptionRequest(tuple(v))),
    st.lists(st.integers(0, 0xFFFF), max_size=3).map(lambda v: ClientArchType(tuple(v))),
    st.sampled_from([VendorClass(343, (b"HTTPClient:Arch:00016:UNDI:003000",)), VendorClass(0, ()),
                     UserClass((b"iPXE",)), UserClass((b"\xff\xfe",))]),
    st.builds(UnknownOption, st.integers(100, 0xFFFF), st.binary(max_size=20)),
)
_messages = st.builds(
    Dhcp6Message, st.integers(0, 255), st.integers(0, 0xFFFFFF), st.lists(_options, max_size=8).map(tuple)
)


@FUZZ
@given(_messages, st.booleans(), st.booleans(), st.integers(0, 10))
def test_structured_messages_direct_and_relayed(msg: Dhcp6Message, multicast: bool, relay: bool, hops: int) -> None:
    e = engine()
    wire: Dhcp6Message | Dhcp6Relay = msg
    if relay:
        lla = ClientLinkLayerAddr(HW_TYPE_ETHERNET, b"RT\x00\xaa\xbb\xcc")
        wire = Dhcp6Relay(12, hops, IPv6Address("2001:db8:2::1"), LL, (lla, RelayMessage(msg)))
    out = e.handle(wire.encode(), Received(LL, "eth0", multicast), 1e6)
    assert e.counters["internal_error"] == 0
    if out is None:
        return
    r = decode(out.reply)
    inner = r
    while isinstance(inner, Dhcp6Relay):
        inner = inner.message  # type: ignore[assignment]
    assert isinstance(inner, Dhcp6Message) and inner.transaction_id == msg.transaction_id
    assert inner.get(ServerId) == ServerId(SERVER_DUID)
    assert inner.get(ClientId) == msg.get(ClientId)
    assert all(lease.family == 6 for lease in out.writes)


READ = {1, 2, 3, 4, 14, 15, 16, 25, 61}  # the options the engine reads from a client message


def _read(m: Dhcp6Message | Dhcp6Relay) -> list[object]:
    return [o for o in m.options if o.code in READ] if isinstance(m, Dhcp6Message) else list(m.options)


@FUZZ
@given(st.one_of(_messages.map(lambda m: m.encode()), st.binary(max_size=200)))
def test_server_decoder_agrees_with_the_codec(data: bytes) -> None:
    from bootwright.engine.dhcp6.decode import ServerDecoder
    from bootwright.wire import DecodeError

    fast = ServerDecoder(capacity=4)
    try:
        want = decode(data)
    except DecodeError:
        want = None
    try:
        got = fast.decode(data)
        again = fast.decode(data)  # the identifier cache gives the same answer
    except DecodeError:
        assert want is None  # never stricter than the codec
        return
    assert again == got
    if want is not None:  # the options the server reads are the codec's; the others are skipped
        assert type(got) is type(want) and got.msg_type == want.msg_type
        assert _read(got) == _read(want)
