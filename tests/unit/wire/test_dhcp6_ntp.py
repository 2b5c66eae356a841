"""Option 56, NTP Server (RFC 5908), and ``[dhcp6] options`` values, on bytes."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootwright.wire import DecodeError
from bootwright.wire import dhcp6 as d6
from bootwright.wire.dhcp4_codecs import parse_octets
from bootwright.wire.dhcp6 import NtpServer, UnknownOption
from bootwright.wire.dhcp6_options import NtpSource

A = IPv6Address

# RFC 5908 §4: sub-option 1 (16 octets), 2 (16 octets), 3 (a name in DNS wire format, RFC 8415 §10).
SRV = bytes.fromhex("0001 0010 20010db8000000000000000000000123".replace(" ", ""))
MC = bytes.fromhex("0002 0010 ff050000000000000000000000000101".replace(" ", ""))
FQDN = bytes.fromhex("0003 0011".replace(" ", "")) + b"\x03ntp\x07example\x03com\x00"


def test_encoding_of_each_sub_option() -> None:
    opt = NtpServer.of(["2001:db8::123", "ff05::101", "ntp.example.com."])
    assert opt.sources == ((1, A("2001:db8::123")), (2, A("ff05::101")), (3, "ntp.example.com"))
    assert opt.payload() == SRV + MC + FQDN
    whole = d6.encode_options([opt])
    assert whole[:4] == bytes.fromhex("0038") + len(SRV + MC + FQDN).to_bytes(2, "big")  # code 56


def test_decode_and_text() -> None:
    data = SRV + FQDN
    (opt,) = d6.decode_options(d6.encode_options([UnknownOption(56, data)]), 0, 4 + len(data))
    assert opt == NtpServer(((1, A("2001:db8::123")), (3, "ntp.example.com")))
    assert d6.format_option(56, data) == "2001:db8::123, ntp.example.com"
    assert d6.parse_option(56, d6.format_option(56, opt)) == opt
    assert d6.option_name(56) == "ntp-server"


def test_unknown_sub_options_are_kept() -> None:
    data = SRV + bytes.fromhex("0009 0002 abcd".replace(" ", ""))
    opt = NtpServer.decode_payload(data, 0, len(data))
    assert opt.sources[1] == (9, b"\xab\xcd") and opt.payload() == data
    assert "sub-option 9" in d6.format_option(56, data)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (bytes.fromhex("0001000f") + bytes(15), "expected 16"),
        (bytes.fromhex("00030003") + b"\x01a\x00" + b"", None),  # fine: the name "a"
        (bytes.fromhex("00030004") + b"\x01a\x00\x00", "after the name"),
        (bytes.fromhex("00030002") + b"\xc0\x0c", "compression"),
        (bytes.fromhex("000100"), "truncated"),
    ],
)
def test_malformed(data: bytes, needle: str | None) -> None:
    if needle is None:
        assert NtpServer.decode_payload(data, 0, len(data)).sources == ((3, "a"),)
        return
    with pytest.raises(DecodeError, match=needle):
        NtpServer.decode_payload(data, 0, len(data))


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("192.0.2.1", "IPv4 address"),
        ("2001:db8::zz", "2001:db8::zz"),
        ("a..b", "label"),
        ("", "neither"),
    ],
)
def test_config_errors(value: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        NtpServer.of([value])


def test_config_option_values() -> None:
    """``[dhcp6] options``: colon hex is octets, anything else its UTF-8 text; 82/83 are numbers."""
    assert d6.parse_config_option(65001, "0a:0b:0c") == UnknownOption(65001, b"\x0a\x0b\x0c")
    assert d6.parse_config_option(65001, "0x0a0b") == UnknownOption(65001, b"\x0a\x0b")
    assert d6.parse_config_option(65001, "iqn.2010-04.org.ipxe:host") == UnknownOption(
        65001, b"iqn.2010-04.org.ipxe:host"
    )
    assert d6.parse_config_option(65001, "café") == UnknownOption(65001, "café".encode())
    assert d6.parse_config_option(82, "3600") == d6.SolMaxRt(3600)
    with pytest.raises(ValueError, match=r"60\.\.86400"):
        d6.parse_config_option(83, "5")
    with pytest.raises(ValueError, match=r"1\.\.65535"):
        d6.parse_config_option(70000, "x")
    assert parse_octets("ab") == b"ab"  # one group without a colon is text
    assert parse_octets("ab:cd") == b"\xab\xcd"


# ---------------------------------------------------------------- properties

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
name = st.lists(label, min_size=1, max_size=4).map(".".join)
addr = st.builds(A, st.integers(0, (1 << 128) - 1))
source = st.one_of(
    st.tuples(st.sampled_from([1, 2]), addr),
    st.tuples(st.just(3), name),
    st.tuples(st.integers(4, 0xFFFF), st.binary(max_size=8)),
)


@PROPERTY
@given(st.lists(source, max_size=5).map(tuple))
def test_round_trip(sources: tuple[NtpSource, ...]) -> None:
    opt = NtpServer(sources)
    wire = d6.encode_options([opt])
    (back,) = d6.decode_options(wire, 0, len(wire))
    assert back == opt and d6.encode_options([back]) == wire


@PROPERTY
@given(st.binary(max_size=60))
def test_arbitrary_bytes_decode_canonically_or_raise(data: bytes) -> None:
    try:
        opt = NtpServer.decode_payload(data, 0, len(data))
    except DecodeError:
        return
    assert opt.payload() == data
