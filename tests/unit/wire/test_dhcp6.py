"""DHCPv6 codec: golden packets laid out by hand from the RFCs, round trips, bad input."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootwright.wire import DecodeError
from bootwright.wire import dhcp6 as d6
from bootwright.wire.dhcp6 import (
    BootFileParams,
    BootFileUrl,
    ClientArchType,
    ClientFqdn,
    ClientId,
    ClientLinkLayerAddr,
    ClientNii,
    Dhcp6Message,
    Dhcp6Option,
    Dhcp6Relay,
    DnsServers,
    DomainList,
    DuidEN,
    DuidLL,
    DuidLLT,
    DuidOther,
    DuidUUID,
    EchoRequest,
    ElapsedTime,
    IaAddr,
    IaNa,
    IaPd,
    IaPrefix,
    IaTa,
    InfMaxRt,
    InfoRefreshTime,
    InterfaceId,
    MessageType,
    OptionRequest,
    Preference,
    RapidCommit,
    RelayMessage,
    RemoteId,
    ServerId,
    SolMaxRt,
    StatusCode,
    StatusCodeOption,
    UnknownOption,
    UserClass,
    VendorClass,
    VendorOpts,
)
from bootwright.wire.dhcp6_options import TOP_LEVEL_DECODERS

A = IPv6Address
MAC = bytes.fromhex("525400123456")


def h(text: str) -> bytes:
    """Hex with spaces, newlines and ``#`` comments."""
    return bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()))


# iPXE Solicit: DUID-LL, elapsed time, IA_NA, ORO 23/24/59, user class "iPXE", arch 7, NII UNDI 3.10
IPXE_SOLICIT = h("""
01 3a4b5c                           # Solicit, xid (RFC 8415 §8)
0001 000a 0003 0001 525400123456    # Client ID, DUID-LL ethernet (RFC 8415 §11.4)
0008 0002 0000                      # Elapsed Time 0
0003 000c 00123456 00000000 00000000  # IA_NA iaid 0x123456, T1 0, T2 0
0006 0006 0017 0018 003b            # ORO: 23, 24, 59
000f 0006 0004 69505845             # User Class: one entry "iPXE" (RFC 8415 §21.15)
003d 0002 0007                      # Client Arch 7 = x64 UEFI (RFC 5970 §3.3)
003e 0003 01 03 0a                  # NII UNDI 3.10 (RFC 5970 §3.4)
""")

VENDOR = b"HTTPClient:Arch:00016:UNDI:003000"
# OVMF HTTP boot Solicit: DUID-LLT ending in the MAC, vendor class 343, arch 16
OVMF_SOLICIT = h(f"""
01 00beef
0001 000e 0001 0001 2a3b4c5d 525400123456  # DUID-LLT ethernet, time, MAC (RFC 8415 §11.2)
0003 000c 12345678 00000000 00000000
0008 0002 0000
0006 0008 003b 003c 0017 0018              # ORO: 59, 60, 23, 24
0010 0027 00000157 0021 {VENDOR.hex()}     # Vendor Class: enterprise 343 (RFC 8415 §21.16)
003d 0002 0010                             # Client Arch 16 = x64 UEFI HTTP
""")

REPLY = h("""
07 3a4b5c                                  # Reply
0002 000e 0001 0001 00000001 0242ac110002  # Server ID (DUID-LLT)
0001 000a 0003 0001 525400123456
0003 0028 00123456 00000e10 00001518       # IA_NA T1 3600 T2 5400
  0005 0018 20010db8000000000000000000000010 00000e10 00001c20  # IAADDR pref 3600 valid 7200
0017 0020 20010db8000000000000000000000001 20010db8000000000000000000000002  # DNS (RFC 3646 §3)
0018 001f 04 74657374 07 6578616d706c65 03 636f6d 00 07 6578616d706c65 03 636f6d 00  # domains
003b 001d 687474703a2f2f5b323030313a6462383a3a315d2f697078652e656669  # URL
0020 0004 00015180                         # Information Refresh Time 86400
""")

RELAY_FORW = h(f"""
0c 00                                      # Relay-forward, hop-count 0 (RFC 8415 §9)
20010db8000100000000000000000001           # link-address
fe80000000000000505400fffe123456           # peer-address
0012 0004 65746830                         # Interface-Id "eth0"
004f 0008 0001 525400123456                # Client Link-Layer Address (RFC 6939)
0009 {len(IPXE_SOLICIT):04x} {IPXE_SOLICIT.hex()}  # Relay Message
""")


def test_ipxe_solicit_golden() -> None:
    msg = d6.decode(IPXE_SOLICIT)
    assert msg == Dhcp6Message(
        MessageType.SOLICIT,
        0x3A4B5C,
        (
            ClientId(DuidLL(1, MAC)),
            ElapsedTime(0),
            IaNa(0x123456),
            OptionRequest((23, 24, 59)),
            UserClass((b"iPXE",)),
            ClientArchType((7,)),
            ClientNii(1, 3, 10),
        ),
    )
    assert isinstance(msg, Dhcp6Message) and msg.msg_type is MessageType.SOLICIT
    assert d6.encode(msg) == IPXE_SOLICIT
    assert d6.client_mac(msg) == MAC
    assert d6.format_option(15, msg.options[4]) == "iPXE"
    assert d6.format_option(6, msg.options[3]) == "23 dns-servers, 24 domain-list, 59 bootfile-url"
    assert d6.format_option(62, msg.options[6]) == "UNDI 3.10"


def test_ovmf_http_solicit_golden() -> None:
    msg = d6.decode(OVMF_SOLICIT)
    assert isinstance(msg, Dhcp6Message)
    cid = msg.get(ClientId)
    assert cid is not None and cid.duid == DuidLLT(1, 0x2A3B4C5D, MAC)
    assert d6.duid_mac(cid.duid) == MAC and d6.duid_mac(cid.duid.encode()) == MAC
    vc = msg.get(VendorClass)
    assert vc == VendorClass(343, (VENDOR,))
    assert d6.format_option(16, vc) == "enterprise 343: HTTPClient:Arch:00016:UNDI:003000"
    assert msg.get(ClientArchType) == ClientArchType((16,))
    assert msg.get(OptionRequest) == OptionRequest((59, 60, 23, 24))
    assert d6.encode(msg) == OVMF_SOLICIT


def test_reply_golden_and_format() -> None:
    msg = d6.decode(REPLY)
    assert isinstance(msg, Dhcp6Message)
    ia = msg.get(IaNa)
    assert ia == IaNa(0x123456, 3600, 5400, (IaAddr(A("2001:db8::10"), 3600, 7200),))
    assert ia.get(IaAddr) == ia.options[0]
    dns, dom, url = msg.get(DnsServers), msg.get(DomainList), msg.get(BootFileUrl)
    assert dns is not None and dom is not None and url is not None
    assert d6.format_option(23, dns) == "2001:db8::1, 2001:db8::2"
    assert d6.format_option(24, dom) == "test.example.com, example.com"
    assert url.url == "http://[2001:db8::1]/ipxe.efi"
    assert d6.format_option(32, msg.get_all(InfoRefreshTime)[0]) == "86400 s"
    assert d6.format_option(2, msg.options[0]) == "DUID-LLT ethernet 02:42:ac:11:00:02 time 1"
    assert d6.encode(msg) == REPLY
    built = Dhcp6Message(
        MessageType.REPLY,
        0x3A4B5C,
        (
            ServerId(DuidLLT(1, 1, bytes.fromhex("0242ac110002"))),
            ClientId(DuidLL(1, MAC)),
            IaNa(0x123456, 3600, 5400, (IaAddr(A("2001:db8::10"), 3600, 7200),)),
            d6.parse_option(23, "2001:db8::1, 2001:db8::2"),
            d6.parse_option(24, ["test.example.com", "example.com."]),
            d6.parse_option(59, "http://[2001:db8::1]/ipxe.efi"),
            d6.parse_option(32, 86400),
        ),
    )
    assert d6.encode(built) == REPLY


def test_relay_forward_golden_and_reply_wrapping() -> None:
    relay = d6.decode(RELAY_FORW)
    assert isinstance(relay, Dhcp6Relay)
    assert relay.msg_type is MessageType.RELAY_FORW and relay.hop_count == 0
    assert relay.link_address == A("2001:db8:1::1")
    assert relay.peer_address == A("fe80::5054:ff:fe12:3456")
    assert relay.interface_id == b"eth0"
    assert relay.options[:2] == (InterfaceId(b"eth0"), ClientLinkLayerAddr(1, MAC))
    inner, layers = d6.innermost(relay)
    assert inner == d6.decode(IPXE_SOLICIT) and layers == [relay]
    assert d6.client_mac(relay) == MAC
    assert d6.encode(relay) == RELAY_FORW
    assert d6.format_option(9, relay.options[2]) == "Solicit xid 0x3a4b5c"
    assert d6.format_option(79, relay.options[1]) == "ethernet 52:54:00:12:34:56"

    adv = Dhcp6Message(MessageType.ADVERTISE, inner.transaction_id, (Preference(255),))
    wrapped = d6.relay_reply(adv, layers)
    adv_bytes = h("02 3a4b5c 0007 0001 ff")
    assert d6.encode(wrapped) == h(f"""
        0d 00 20010db8000100000000000000000001 fe80000000000000505400fffe123456
        0012 0004 65746830
        0009 {len(adv_bytes):04x} {adv_bytes.hex()}
    """)
    assert d6.relay_reply(adv, []) is adv


def test_two_relays_and_echo_request() -> None:
    inner = d6.decode(RELAY_FORW)
    assert isinstance(inner, Dhcp6Relay)
    outer = Dhcp6Relay(
        MessageType.RELAY_FORW,
        1,
        A("2001:db8:2::1"),
        A("2001:db8:1::1"),
        (RemoteId(9, b"port7"), EchoRequest((37,)), RelayMessage(inner)),
    )
    msg = d6.decode(d6.encode(outer))
    assert msg == outer
    client, layers = d6.innermost(msg)
    assert layers == [outer, inner] and client.msg_type == MessageType.SOLICIT
    assert d6.client_mac(msg) == MAC  # from the first-hop relay's option 79
    reply = d6.relay_reply(Dhcp6Message(MessageType.REPLY, client.transaction_id), layers)
    assert isinstance(reply, Dhcp6Relay) and reply.hop_count == 1
    assert reply.options[0] == RemoteId(9, b"port7")  # echoed per RFC 4994
    assert reply.get(EchoRequest) is None
    second = reply.message
    assert isinstance(second, Dhcp6Relay) and second.interface_id == b"eth0"
    assert second.get(ClientLinkLayerAddr) is None  # not requested, not echoed


def _nest(layers: int) -> bytes:
    data = IPXE_SOLICIT
    for hop in range(layers):
        data = bytes([12, hop]) + bytes(32) + h(f"0009 {len(data):04x}") + data
    return data


def test_relay_depth_limit() -> None:
    ok = d6.decode(_nest(d6.HOP_COUNT_LIMIT + 1))  # hop-counts 0..8
    _, layers = d6.innermost(ok)
    assert len(layers) == d6.HOP_COUNT_LIMIT + 1
    with pytest.raises(DecodeError, match="relay layers"):
        d6.decode(_nest(d6.HOP_COUNT_LIMIT + 2))


def test_option_9_outside_relays_stays_opaque() -> None:
    msg = d6.decode(h("01 000001 0009 0004 01000001"))
    assert isinstance(msg, Dhcp6Message) and msg.options == (UnknownOption(9, h("01000001")),)


def test_unknown_and_repeated_options_keep_order() -> None:
    data = h("01 000001 0003 000c 00000001 00000000 00000000 1234 0002 abcd 0003 000c 00000002 00000000 00000000")
    msg = d6.decode(data)
    assert isinstance(msg, Dhcp6Message)
    assert [o.code for o in msg.options] == [3, 0x1234, 3]
    assert [ia.iaid for ia in msg.get_all(IaNa)] == [1, 2]
    assert msg.find(0x1234) == [UnknownOption(0x1234, h("abcd"))]
    assert d6.encode(msg) == data


@pytest.mark.parametrize(
    ("raw", "duid"),
    [
        (h("0001 0001 00000001 525400123456"), DuidLLT(1, 1, MAC)),
        (h("0002 00000157 0a0b0c"), DuidEN(343, h("0a0b0c"))),
        (h("0003 0001 525400123456"), DuidLL(1, MAC)),
        (h("0004") + bytes(range(16)), DuidUUID(bytes(range(16)))),
        (h("0004 0102"), DuidOther(4, h("0102"))),  # UUID of the wrong size
        (h("0001 0001 00"), DuidOther(1, h("000100"))),  # LLT too short for its layout
        (h("0009 ff"), DuidOther(9, h("ff"))),
    ],
)
def test_duid_parse(raw: bytes, duid: d6.Duid) -> None:
    assert d6.decode_duid(raw) == duid and duid.encode() == raw


def test_duid_mac() -> None:
    assert d6.duid_mac(DuidLL(6, MAC)) is None  # IEEE 802 type 6 is not Ethernet here
    assert d6.duid_mac(DuidLL(1, MAC[:4])) is None
    assert d6.duid_mac(DuidEN(343, MAC)) is None
    assert d6.duid_mac(b"\x00") is None
    with pytest.raises(ValueError):
        DuidUUID(b"short").encode()


@pytest.mark.parametrize(
    ("option", "text"),
    [
        (ClientId(DuidLL(1, MAC)), "DUID-LL ethernet 52:54:00:12:34:56"),
        (ClientId(DuidEN(343, b"\x01\x02")), "DUID-EN enterprise 343 0x0102"),
        (ClientId(DuidUUID(bytes(16))), "DUID-UUID 00000000-0000-0000-0000-000000000000"),
        (StatusCodeOption(StatusCode.NO_ADDRS_AVAIL, "none left"), "NoAddrsAvail (2): none left"),
        (StatusCodeOption(99), "? (99)"),
        (
            IaPd(7, 0, 0, (IaPrefix(0, 0, 56, A("2001:db8:100::")),)),
            "iaid 7 T1 0 T2 0 [iaprefix 2001:db8:100::/56 preferred 0 valid 0]",
        ),
        (IaTa(3), "iaid 3"),
        (Preference(255), "255"),
        (ElapsedTime(150), "1.50 s"),
        (InfoRefreshTime(0xFFFFFFFF), "infinity"),
        (SolMaxRt(3600), "3600 s"),
        (RapidCommit(), "present"),
        (VendorOpts(343, ((1, b"abc"), (2, b"\x00"))), "enterprise 343: 1=abc, 2=0x00"),
        (RemoteId(9, b"\x01"), "enterprise 9: 0x01"),
        (ClientFqdn(1, h("04686f7374076578616d706c6500")), "flags 0x01 host.example"),
        (ClientFqdn(0, h("04686f7374")), "flags 0x00 0x04686f7374"),
        (BootFileParams(("a", "b c")), "a, b c"),
        (ClientNii(2, 1, 0), "type 2 1.0"),
        (ClientLinkLayerAddr(6, b"\x01"), "hw 6 0x01"),
        (UnknownOption(300, b""), "(empty)"),
    ],
)
def test_format_option(option: Dhcp6Option, text: str) -> None:
    assert d6.format_option(option.code, option) == text


def test_format_option_from_raw_bytes() -> None:
    assert d6.format_option(23, A("2001:db8::1").packed) == "2001:db8::1"
    assert d6.format_option(16, h("00000157 0004 61626364")) == "enterprise 343: abcd"
    assert d6.format_option(9, IPXE_SOLICIT) == "Solicit xid 0x3a4b5c"
    assert d6.format_option(23, b"\x01").startswith("0x01 (malformed:")
    assert d6.option_name(5000) == "option-5000" and d6.message_name(99) == "type 99"
    assert d6.message_name(11) == "Information-Request"


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        (23, "2001:db8::1 2001:db8::2", DnsServers((A("2001:db8::1"), A("2001:db8::2")))),
        (24, "test.example.com, example.com", DomainList(("test.example.com", "example.com"))),
        (7, "10", Preference(10)),
        (32, "infinity", InfoRefreshTime(0xFFFFFFFF)),
        (32, "3600 s", InfoRefreshTime(3600)),
        (82, 3600, SolMaxRt(3600)),
        (83, "60", InfMaxRt(60)),
        (59, "tftp://[2001:db8::1]/undionly.kpxe", BootFileUrl("tftp://[2001:db8::1]/undionly.kpxe")),
        (60, ["a", "b"], BootFileParams(("a", "b"))),
    ],
)
def test_parse_option(code: int, value: str | int | list[str], expected: Dhcp6Option) -> None:
    opt = d6.parse_option(code, value)
    assert opt == expected
    if code != 60:  # the text format_option produces parses back to the same option
        assert d6.parse_option(code, d6.format_option(code, opt)) == opt


@pytest.mark.parametrize(
    ("code", "value", "needle"),
    [
        (23, "2001:db8::1, 10.0.0.1", r"option 23 \(dns-servers\): '10.0.0.1' is not an IPv6"),
        (24, "bad..name", r"option 24 \(domain-list\): bad DNS label"),
        (24, "x" * 64 + ".com", "bad DNS label"),
        (7, "256", "outside 0..255"),
        (7, "high", "not a number"),
        (32, 60, "outside 600"),
        (82, 10, "outside 60..86400"),
        (59, "no url here", "not a URL"),
        (1, "x", "cannot be set"),
    ],
)
def test_parse_option_errors(code: int, value: str | int, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        d6.parse_option(code, value)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "need at least 4"),
        (h("01 0000"), "need at least 4"),
        (h("01 000001 00"), "option header"),
        (h("01 000001 0001 0004 0003"), "runs past the end"),
        (h("01 000001 0001 0001 00"), "DUID length"),
        (h("01 000001 0003 0004 00000001"), "need at least 12"),
        (h("01 000001 0003 0010 00000001 00000000 00000000 0005 0004"), "option 5 .* runs past"),
        (h("01 000001 0003 0010 00000001 00000000 00000000 0005 0000"), "need at least 24"),
        (h("01 000001 0006 0003 000100"), "odd length"),
        (h("01 000001 0007 0002 0001"), "expected 1"),
        (h("01 000001 000e 0001 00"), "expected 0"),
        (h("01 000001 000d 0003 0000ff"), "not UTF-8"),
        (h("01 000001 000f 0003 0005 61"), "runs past the option end"),
        (h("01 000001 0017 0004 00000000"), "multiple of 16"),
        (h("01 000001 0018 0002 c00c"), "compression"),
        (h("01 000001 0018 0003 03 6162"), "runs past the end"),
        (h("01 000001 0018 0002 01 61"), "no terminating root"),
        (h("01 000001 0018 0004 02 612e 00"), "not plain ASCII"),
        (h("01 000001 003e 0002 0103"), "expected 3"),
        (h("0c 00") + bytes(31), "need at least 34"),
        (h("0c 00") + bytes(32), "no Relay Message"),
        (h("0c 00") + bytes(32) + h("0009 0002 0100"), "need at least 4"),
        (h("0d 00") + bytes(32) + h("0009 0004 0c000000"), "need at least 34"),
    ],
)
def test_bad_input(data: bytes, needle: str) -> None:
    with pytest.raises(DecodeError, match=needle):
        d6.decode(data)


def test_encode_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        d6.encode(Dhcp6Message(1, 1 << 24))
    with pytest.raises(ValueError):
        d6.encode(Dhcp6Message(1, 0, (Preference(256),)))
    with pytest.raises(ValueError):
        d6.encode(Dhcp6Message(1, 0, (UnknownOption(1 << 16, b""),)))
    with pytest.raises(ValueError):
        d6.encode(Dhcp6Relay(12, 256, A("::"), A("::"), ()))
    with pytest.raises(ValueError):
        d6.encode(Dhcp6Message(1, 0, (DomainList(("a..b",)),)))
    with pytest.raises(ValueError, match="Relay Message"):
        d6.innermost(Dhcp6Relay(12, 0, A("::"), A("::"), ()))


# ---------------------------------------------------------------- properties

GOLDEN = [IPXE_SOLICIT, OVMF_SOLICIT, REPLY, RELAY_FORW]
PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    for candidate in (data, b"\x01\x00\x00\x01" + data, b"\x0c\x00" + bytes(32) + data):
        try:
            msg = d6.decode(candidate)
        except DecodeError:
            continue
        assert d6.encode(msg) == candidate  # whatever decodes is canonical


@PROPERTY
@given(st.sampled_from(GOLDEN), st.data())
def test_mutated_golden_packets(packet: bytes, data: st.DataObject) -> None:
    buf = bytearray(packet)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    for candidate in (bytes(buf), bytes(buf[:cut])):
        try:
            msg = d6.decode(candidate)
        except DecodeError:
            continue
        assert d6.encode(msg) == candidate and d6.decode(d6.encode(msg)) == msg


u8, u16, u32 = st.integers(0, 0xFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)
addr = st.builds(IPv6Address, st.integers(0, (1 << 128) - 1))
small = st.binary(max_size=12)
label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
name = st.lists(label, min_size=1, max_size=4).map(".".join)
text = st.text(max_size=12)
duid = st.one_of(
    st.builds(DuidLLT, u16, u32, st.binary(min_size=1, max_size=16)),
    st.builds(DuidEN, u32, st.binary(min_size=1, max_size=16)),
    st.builds(DuidLL, u16, st.binary(min_size=1, max_size=16)),
    st.builds(DuidUUID, st.binary(min_size=16, max_size=16)),
    st.builds(DuidOther, st.integers(5, 0xFFFF), st.binary(min_size=1, max_size=16)),
)
status = st.builds(StatusCodeOption, u16, text)
lease_opts = st.lists(st.one_of(status, st.builds(UnknownOption, st.integers(14, 40), small)), max_size=2)
iaaddr = st.builds(IaAddr, addr, u32, u32, lease_opts.map(tuple))
iaprefix = st.builds(IaPrefix, u32, u32, u8, addr, lease_opts.map(tuple))
ia_na_inner = st.lists(st.one_of(iaaddr, status), max_size=3).map(tuple)
unknown_codes = st.sampled_from([c for c in range(256) if c not in TOP_LEVEL_DECODERS and c != 9] + [0xFFFF])
top_option = st.one_of(
    st.builds(ClientId, duid), st.builds(ServerId, duid),
    st.builds(IaNa, u32, u32, u32, ia_na_inner), st.builds(IaTa, u32, ia_na_inner),
    st.builds(IaPd, u32, u32, u32, st.lists(st.one_of(iaprefix, status), max_size=3).map(tuple)),
    iaaddr, iaprefix, status,
    st.builds(OptionRequest, st.lists(u16, max_size=5).map(tuple)),
    st.builds(EchoRequest, st.lists(u16, max_size=5).map(tuple)),
    st.builds(ClientArchType, st.lists(u16, max_size=3).map(tuple)),
    st.builds(Preference, u8), st.builds(ElapsedTime, u16), st.builds(InfoRefreshTime, u32),
    st.builds(SolMaxRt, u32), st.builds(InfMaxRt, u32), st.just(RapidCommit()),
    st.builds(UserClass, st.lists(small, max_size=3).map(tuple)),
    st.builds(VendorClass, u32, st.lists(small, max_size=3).map(tuple)),
    st.builds(VendorOpts, u32, st.lists(st.tuples(u16, small), max_size=3).map(tuple)),
    st.builds(InterfaceId, small), st.builds(RemoteId, u32, small), st.builds(ClientFqdn, u8, small),
    st.builds(DnsServers, st.lists(addr, max_size=3).map(tuple)),
    st.builds(DomainList, st.lists(name, max_size=3).map(tuple)),
    st.builds(BootFileUrl, text), st.builds(BootFileParams, st.lists(text, max_size=3).map(tuple)),
    st.builds(ClientNii, u8, u8, u8), st.builds(ClientLinkLayerAddr, u16, small),
    st.builds(UnknownOption, unknown_codes, small),
)  # fmt: skip
client_msg = st.builds(
    Dhcp6Message,
    st.integers(0, 255).filter(lambda t: t not in (12, 13)),
    st.integers(0, 0xFFFFFF),
    st.lists(top_option, max_size=8).map(tuple),
)


def _relay(inner: st.SearchStrategy[Dhcp6Message | Dhcp6Relay]) -> st.SearchStrategy[Dhcp6Relay]:
    extra = st.lists(st.one_of(top_option, st.builds(InterfaceId, small)), max_size=3)
    return st.builds(
        lambda t, hop, la, pa, opts, msg: Dhcp6Relay(t, hop, la, pa, (*opts, RelayMessage(msg))),
        st.sampled_from([MessageType.RELAY_FORW, MessageType.RELAY_REPL]),
        u8, addr, addr, extra, inner,
    )  # fmt: skip


any_msg = st.one_of(client_msg, _relay(client_msg), _relay(_relay(client_msg)))


@PROPERTY
@given(any_msg)
def test_random_messages_round_trip(msg: Dhcp6Message | Dhcp6Relay) -> None:
    wire = d6.encode(msg)
    back = d6.decode(wire)
    assert back == msg and d6.encode(back) == wire
    for o in back.options:
        assert isinstance(d6.format_option(o.code, o), str)
