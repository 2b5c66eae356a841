"""RS/RA codec: golden packets laid out by hand from RFC 4861/4191/8106, checksums, timing rules."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bootwright.wire import DecodeError, ndp
from bootwright.wire.ndp import (
    Dnssl,
    Mtu,
    PrefixInformation,
    Rdnss,
    RouteInformation,
    RouterAdvertisement,
    RouterPreference,
    RouterSolicitation,
    SourceLinkLayerAddress,
    TargetLinkLayerAddress,
    UnknownNdOption,
)

A = IPv6Address
ROUTER_LL = A("fe80::5054:ff:feab:cdef")
HOST_LL = A("fe80::5054:ff:fe12:3456")


def h(text: str) -> bytes:
    """Hex with spaces, newlines and ``#`` comments."""
    return bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()))


def reference_checksum(src: IPv6Address, dst: IPv6Address, msg: bytes) -> int:
    """RFC 1071 checksum computed differently: big integer modulo 0xFFFF."""
    data = src.packed + dst.packed + len(msg).to_bytes(4) + b"\0\0\0\x3a" + msg[:2] + b"\0\0" + msg[4:]
    data += b"\0" * (len(data) % 2)
    total = int.from_bytes(data) % 0xFFFF or (0xFFFF if any(data) else 0)
    return ~total & 0xFFFF


# RS as sent by a host (Linux, iPXE): Source Link-Layer Address with the MAC (RFC 4861 §4.1, §4.6.1)
RS = h("""
85 00 0000 00000000          # type 133, code 0, checksum (left zero), reserved
01 01 525400123456           # Source Link-Layer Address, length 1 (8 octets)
""")

# RA a radvd config would send:
#   interface eth0 { AdvSendAdvert on; AdvManagedFlag on; AdvOtherConfigFlag on;
#     prefix 3ffe:501:ffff:100::/64 { AdvOnLink on; AdvAutonomous on; };
#     RDNSS 2001:db8::53 { AdvRDNSSLifetime 1200; }; DNSSL example.com { AdvDNSSLLifetime 1200; }; };
RA = h("""
86 00 0000                   # type 134, code 0, checksum (filled in below)
40 c0 0708                   # cur hop limit 64, M=1 O=1 Prf=medium, router lifetime 1800 (3 * 600)
00000000 00000000            # reachable time, retrans timer: unspecified
03 04 40 c0 00015180 00003840 00000000  # Prefix Information /64 L A, valid 86400, preferred 14400
3ffe0501ffff01000000000000000000
19 03 0000 000004b0 20010db8000000000000000000000053  # RDNSS, lifetime 1200 (RFC 8106 §5.1)
1f 03 0000 000004b0 07 6578616d706c65 03 636f6d 00 000000  # DNSSL example.com + 3 pad (§5.2)
05 01 0000 000005dc          # MTU 1500 (RFC 4861 §4.6.4)
01 01 525400abcdef           # Source Link-Layer Address
""")

RA_VALUE = RouterAdvertisement(
    cur_hop_limit=64,
    managed=True,
    other=True,
    router_lifetime=1800,
    options=(
        PrefixInformation(A("3ffe:501:ffff:100::"), 64, valid_lifetime=86400, preferred_lifetime=14400),
        Rdnss(1200, (A("2001:db8::53"),)),
        Dnssl(1200, ("example.com",)),
        Mtu(1500),
        SourceLinkLayerAddress(bytes.fromhex("525400abcdef")),
    ),
)


def test_router_solicitation_golden() -> None:
    rs = ndp.decode(RS)
    assert rs == RouterSolicitation((SourceLinkLayerAddress(bytes.fromhex("525400123456")),))
    assert isinstance(rs, RouterSolicitation)
    assert rs.source_link_layer_address == bytes.fromhex("525400123456")
    assert ndp.encode(rs) == RS
    assert RouterSolicitation().source_link_layer_address is None
    assert ndp.encode(RouterSolicitation()) == h("85 00 0000 00000000")


def test_router_advertisement_golden() -> None:
    ra = ndp.decode(RA)
    assert ra == RA_VALUE
    assert ndp.encode(RA_VALUE) == RA
    assert isinstance(ra, RouterAdvertisement)
    assert ra.get(Rdnss) == Rdnss(1200, (A("2001:db8::53"),))
    assert [p.prefix for p in ra.get_all(PrefixInformation)] == [A("3ffe:501:ffff:100::")]
    assert ra.get(RouteInformation) is None


def test_checksum_fill_and_verify() -> None:
    wire = ndp.encode(RA_VALUE, ROUTER_LL, ndp.ALL_NODES)
    want = reference_checksum(ROUTER_LL, ndp.ALL_NODES, RA)
    assert int.from_bytes(wire[2:4]) == want and wire[4:] == RA[4:]
    assert ndp.icmpv6_checksum(ROUTER_LL.packed, ndp.ALL_NODES.packed, wire) == want
    assert ndp.decode(wire, ROUTER_LL, ndp.ALL_NODES) == RA_VALUE
    assert ndp.decode(wire) == RA_VALUE  # not verified without addresses
    with pytest.raises(DecodeError, match="checksum"):
        ndp.decode(wire, HOST_LL, ndp.ALL_NODES)
    rs = ndp.encode(ndp.decode(RS), HOST_LL, ndp.ALL_ROUTERS)
    assert int.from_bytes(rs[2:4]) == reference_checksum(HOST_LL, ndp.ALL_ROUTERS, rs)
    odd = b"\x85\x00\x00\x00\x00\x00\x00\x00\x01"
    assert ndp.icmpv6_checksum(HOST_LL, ndp.ALL_ROUTERS, odd) == reference_checksum(HOST_LL, ndp.ALL_ROUTERS, odd)
    with pytest.raises(ValueError):
        ndp.icmpv6_checksum(b"\x00" * 4, ndp.ALL_NODES, RS)


@pytest.mark.parametrize(
    ("flags", "preference", "managed", "other"),
    [
        (0x08, RouterPreference.HIGH, False, False),
        (0x18, RouterPreference.LOW, False, False),
        (0x10, RouterPreference.MEDIUM, False, False),  # reserved 10 reads as medium (RFC 4191 §2.2)
        (0x80, RouterPreference.MEDIUM, True, False),
        (0x40, RouterPreference.MEDIUM, False, True),
        (0x27, RouterPreference.MEDIUM, False, False),  # H, P and reserved bits are ignored
    ],
)
def test_ra_flags(flags: int, preference: RouterPreference, managed: bool, other: bool) -> None:
    ra = ndp.decode(bytes([134, 0, 0, 0, 64, flags]) + bytes(10))
    assert isinstance(ra, RouterAdvertisement)
    assert (ra.preference, ra.managed, ra.other) == (preference, managed, other)


def test_prefix_router_address_flag_and_route_information() -> None:
    ra = RouterAdvertisement(
        preference=RouterPreference.HIGH,
        router_lifetime=0,
        options=(
            PrefixInformation(A("2001:db8::1"), 64, router_address=True, autonomous=False),
            RouteInformation(A("2001:db8:100::"), 48, 3600, RouterPreference.LOW),
            RouteInformation(A("::"), 0, 600),
            RouteInformation(A("2001:db8::1"), 128, 600, RouterPreference.HIGH),
            TargetLinkLayerAddress(bytes(6)),
            UnknownNdOption(200, bytes(6)),
        ),
    )
    wire = ndp.encode(ra)
    assert wire[16 + 3] == 0xA0  # L and R, not A (RFC 4861 §4.6.2, RFC 6275 §7.2)
    assert wire[48:64] == h("18 02 30 18 00000e10 20010db801000000")  # Route Info length 2 (RFC 4191 §2.3)
    assert wire[64:72] == h("18 01 00 00 00000258")
    assert wire[72:74] == h("18 03")
    assert ndp.decode(wire) == ra and ndp.encode(ndp.decode(wire)) == wire


def test_dnssl_multiple_names_and_padding() -> None:
    opt = Dnssl(0xFFFFFFFF, ("a.example", "b"))
    wire = opt.encode()
    assert len(wire) % 8 == 0 and wire[:2] == h("1f 03")
    ra = ndp.decode(h("86 00 0000 40 00 0000 00000000 00000000") + wire)
    assert isinstance(ra, RouterAdvertisement) and ra.options == (opt,)


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (h("01 00 000000000000"), "length 0"),
        (h("01 02 525400123456"), "runs past the end"),
        (h("01"), "header .* truncated"),
        (h("03 01 40c0 00000000"), "Prefix Information .* expected 32"),
        (h("03 04 81 c0") + bytes(28), "prefix length 129"),
        (h("05 02") + bytes(14), "MTU option .* expected 8"),
        (h("19 01 0000 00000000"), "RDNSS .* expected odd"),
        (h("19 02") + bytes(14), "RDNSS .* expected odd"),
        (h("1f 01 0000 00000000"), "DNSSL .* expected >= 2"),
        (h("1f 02 0000 00000000 0000000000000000"), "no names"),
        (h("1f 02 0000 00000000 01 61 00 00 00 01 00 00"), "non-zero padding"),
        (h("1f 02 0000 00000000 c00c 000000000000"), "compression"),
        (h("1f 02 0000 00000000 07 61626364656667"), "root label"),
        (h("18 01 40 00 00000000"), "Route Information .* length 1 for /64"),
        (h("18 02 41 00 00000000 0000000000000000"), "Route Information .* length 2 for /65"),
        (h("18 04 00 00 00000000") + bytes(24), "Route Information .* length 4"),
    ],
)
def test_bad_options(options: bytes, needle: str) -> None:
    with pytest.raises(DecodeError, match=needle):
        ndp.decode(h("86 00 0000 40 00 0000 00000000 00000000") + options)
    with pytest.raises(DecodeError, match=needle):
        ndp.decode(h("85 00 0000 00000000") + options)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "need at least 8"),
        (h("86 00 0000 4000 0000"), "need at least 16"),
        (h("87 00 0000 00000000"), "not a Router Solicitation"),
        (h("85 01 0000 00000000"), "code 1"),
    ],
)
def test_bad_messages(data: bytes, needle: str) -> None:
    with pytest.raises(DecodeError, match=needle):
        ndp.decode(data)


def test_encode_errors_are_value_errors() -> None:
    for bad in (
        RouterAdvertisement(cur_hop_limit=256),
        RouterAdvertisement(options=(Rdnss(0, ()),)),
        RouterAdvertisement(options=(Dnssl(0, ()),)),
        RouterAdvertisement(options=(Dnssl(0, ("a..b",)),)),
        RouterAdvertisement(options=(UnknownNdOption(9, b"\x00"),)),
        RouterSolicitation((SourceLinkLayerAddress(bytes(3000)),)),
        RouterSolicitation((Mtu(-1),)),
    ):
        with pytest.raises(ValueError):
            ndp.encode(bad)


def test_timing_rules() -> None:
    assert ndp.default_min_rtr_adv_interval(600) == pytest.approx(198)
    assert ndp.default_min_rtr_adv_interval(4) == pytest.approx(3)
    assert ndp.default_adv_default_lifetime(600) == 1800
    assert ndp.default_adv_default_lifetime(1800) == 5400
    ndp.check_rtr_adv_intervals(198, 600, 1800)
    ndp.check_rtr_adv_intervals(3, 4, 0)
    for bad in ((3, 2000, 1800), (2, 600, 1800), (500, 600, 1800), (198, 600, 100), (198, 600, 9001)):
        with pytest.raises(ValueError, match="RFC 4861"):
            ndp.check_rtr_adv_intervals(*bad)
    assert ndp.unsolicited_ra_interval(200, 600, 0.5, sent=1) == ndp.MAX_INITIAL_RTR_ADVERT_INTERVAL
    assert ndp.unsolicited_ra_interval(200, 600, 0.5, sent=3) == 400
    assert ndp.unsolicited_ra_interval(3, 10, 0.0, sent=0) == 3
    assert ndp.solicited_ra_time(100.0, None, 0.5) == 100.25
    assert ndp.solicited_ra_time(100.0, 90.0, 1.0) == 100.5
    assert ndp.solicited_ra_time(100.0, 99.0, 0.0) == 102.0  # MIN_DELAY_BETWEEN_RAS after the last
    assert (ndp.MAX_INITIAL_RTR_ADVERTISEMENTS, ndp.MAX_FINAL_RTR_ADVERTISEMENTS) == (3, 3)
    assert (ndp.MIN_DELAY_BETWEEN_RAS, ndp.MAX_RA_DELAY_TIME) == (3, 0.5)


# ---------------------------------------------------------------- properties

PROPERTY = settings(max_examples=500, deadline=None)


@PROPERTY
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    heads = (b"", h("85 00 0000 00000000"), h("86 00 0000 40 c0 0708 00000000 00000000"))
    for candidate in (head + data for head in heads):
        try:
            msg = ndp.decode(candidate)
        except DecodeError:
            continue
        assert ndp.decode(ndp.encode(msg)) == msg


@PROPERTY
@given(st.sampled_from([RS, RA]), st.data())
def test_mutated_golden_packets(packet: bytes, data: st.DataObject) -> None:
    buf = bytearray(packet)
    i = data.draw(st.integers(0, len(buf) - 1))
    buf[i] = data.draw(st.integers(0, 255))
    for candidate in (bytes(buf), bytes(buf[: data.draw(st.integers(0, len(buf)))])):
        try:
            msg = ndp.decode(candidate, ROUTER_LL, ndp.ALL_NODES)
        except DecodeError:
            continue
        assert ndp.decode(ndp.encode(msg)) == msg


u8, u32 = st.integers(0, 255), st.integers(0, 0xFFFFFFFF)
addr = st.builds(IPv6Address, st.integers(0, (1 << 128) - 1))
prf = st.sampled_from(list(RouterPreference))
label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10)
name = st.lists(label, min_size=1, max_size=3).map(".".join)
lladdr = st.integers(0, 3).flatmap(lambda n: st.binary(min_size=6 + 8 * n, max_size=6 + 8 * n))


def _route(plen: int, prefix: IPv6Address, life: int, pref: RouterPreference) -> RouteInformation:
    n = 0 if plen == 0 else 8 if plen <= 64 else 16  # bytes past the carried length are not sent
    return RouteInformation(IPv6Address(prefix.packed[:n].ljust(16, b"\0")), plen, life, pref)


nd_option = st.one_of(
    st.builds(SourceLinkLayerAddress, lladdr),
    st.builds(TargetLinkLayerAddress, lladdr),
    st.builds(PrefixInformation, addr, st.integers(0, 128), st.booleans(), st.booleans(), st.booleans(), u32, u32),
    st.builds(Mtu, u32),
    st.builds(_route, st.integers(0, 128), addr, u32, prf),
    st.builds(Rdnss, u32, st.lists(addr, min_size=1, max_size=3).map(tuple)),
    st.builds(Dnssl, u32, st.lists(name, min_size=1, max_size=3).map(tuple)),
    st.builds(UnknownNdOption, st.sampled_from([4, 7, 200]), st.sampled_from([bytes(6), bytes(14)])),
)
options = st.lists(nd_option, max_size=6).map(tuple)
message = st.one_of(
    st.builds(RouterSolicitation, options),
    st.builds(RouterAdvertisement, u8, st.booleans(), st.booleans(), prf, st.integers(0, 0xFFFF), u32, u32, options),
)


@PROPERTY
@given(message)
def test_random_messages_round_trip(msg: RouterSolicitation | RouterAdvertisement) -> None:
    wire = ndp.encode(msg, ROUTER_LL, ndp.ALL_NODES)
    assert ndp.decode(wire, ROUTER_LL, ndp.ALL_NODES) == msg
    assert ndp.encode(ndp.decode(wire), ROUTER_LL, ndp.ALL_NODES) == wire
