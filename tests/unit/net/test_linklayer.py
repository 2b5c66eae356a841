"""The link-layer receive path without a network: ``parse_udp4`` and the BPF program of ``PacketReceiver``.

The kernel running the filter on real frames (and a port another socket
holds) is tested in tests/interop/test_probe.py.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bootwright.net.linklayer import UdpDatagram, checksum, parse_udp4, udp_datagram, udp_port_filter

SRC, DST = IPv4Address("192.0.2.1"), IPv4Address("255.255.255.255")
MAC = bytes.fromhex("525400123456")
GOOD = udp_datagram(b"payload", SRC, DST, 68, 67)

addresses = st.builds(IPv4Address, st.integers(0, 2**32 - 1))
ports = st.integers(0, 0xFFFF)


def with_header(datagram: bytes, **fields: int) -> bytes:
    """``datagram`` with IPv4 header octets replaced (``o<offset>=value``) and the header checksum redone."""
    raw = bytearray(datagram)
    for name, value in fields.items():
        raw[int(name[1:])] = value
    ihl = (raw[0] & 0x0F) * 4
    raw[10:12] = b"\0\0"
    raw[10:12] = struct.pack("=H", checksum(bytes(raw[:ihl])))
    return bytes(raw)


@given(st.binary(max_size=1500), addresses, addresses, ports, ports)
def test_round_trip_with_udp_datagram(
    payload: bytes, src: IPv4Address, dst: IPv4Address, sport: int, dport: int
) -> None:
    got = parse_udp4(udp_datagram(payload, src, dst, sport, dport), MAC)
    assert got == UdpDatagram(src, dst, sport, dport, payload, MAC)


@given(st.binary(min_size=1, max_size=40))
def test_link_padding_after_the_total_length_is_ignored(padding: bytes) -> None:
    """Ethernet pads short frames to 60 octets; the IPv4 total length says where the datagram ends."""
    assert parse_udp4(GOOD + padding) == parse_udp4(GOOD)


def test_header_options_are_skipped() -> None:
    """IHL 6: four octets of options (RFC 791 §3.1) between the header and UDP."""
    raw = bytearray(GOOD)
    raw[0] = 0x46
    raw[2:4] = struct.pack("!H", len(GOOD) + 4)
    raw[20:20] = b"\x01\x01\x01\x00"  # NOP NOP NOP EOL
    fixed = with_header(bytes(raw))
    got = parse_udp4(fixed)
    assert got is not None and got.payload == b"payload" and (got.sport, got.dport) == (68, 67)


def test_the_udp_length_bounds_the_payload() -> None:
    """Octets after the UDP length but inside the IPv4 total length are not payload (RFC 768)."""
    raw = bytearray(GOOD)
    raw[24:26] = struct.pack("!H", 8 + 3)  # UDP length: 3 octets of data
    got = parse_udp4(bytes(raw))
    assert got is not None and got.payload == b"pay"


def test_the_udp_checksum_is_not_checked() -> None:
    """A packet socket sees locally sent datagrams before offload fills the UDP checksum in."""
    raw = bytearray(GOOD)
    raw[26:28] = b"\x12\x34"
    assert parse_udp4(bytes(raw)) == parse_udp4(GOOD)


def _udp_length(value: int) -> bytes:
    raw = bytearray(GOOD)
    raw[24:26] = struct.pack("!H", value)
    return bytes(raw)


MALFORMED = {
    "empty": b"",
    "shorter than the headers": GOOD[:27],
    "IPv6": with_header(GOOD, o0=0x65),
    "IHL 4": with_header(GOOD, o0=0x44),
    "IHL past the end": with_header(GOOD[:28] + b"\0" * 8, o0=0x4F),
    "total length past the end": with_header(GOOD, o2=0x01, o3=0x00),  # 256 > 35 octets
    "total length below the headers": with_header(GOOD, o2=0, o3=27),
    "bad header checksum": GOOD[:10] + bytes((GOOD[10] ^ 0xFF,)) + GOOD[11:],
    "more fragments": with_header(GOOD, o6=0x20, o7=0),  # MF, DF cleared
    "later fragment": with_header(GOOD, o6=0, o7=0x10),  # offset 16 × 8
    "TCP": with_header(GOOD, o9=6),
    "ICMP": with_header(GOOD, o9=1),
    "UDP length below 8": _udp_length(7),
    "UDP length past the IPv4 payload": _udp_length(len(GOOD) - 20 + 1),
}


@pytest.mark.parametrize("octets", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_is_none(octets: bytes) -> None:
    assert parse_udp4(octets) is None


def test_the_malformed_cases_are_malformed_only_in_what_they_name() -> None:
    """Each mutation leaves a valid header checksum unless that is the point (so the case tests its check)."""
    for name, octets in MALFORMED.items():
        if name in ("empty", "shorter than the headers", "bad header checksum", "IHL past the end", "IHL 4"):
            continue
        ihl = (octets[0] & 0x0F) * 4
        assert checksum(octets[:ihl]) == 0, name


@given(st.binary(max_size=200))
def test_any_octets_parse_or_are_none(octets: bytes) -> None:
    got = parse_udp4(octets)
    assert got is None or isinstance(got, UdpDatagram)


@given(st.binary(max_size=300), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6))
def test_mutated_datagrams_parse_or_are_none(payload: bytes, flips: list[tuple[int, int]]) -> None:
    raw = bytearray(udp_datagram(payload, SRC, DST, 67, 68))
    for at, value in flips:
        if at < len(raw):
            raw[at] = value
    got = parse_udp4(bytes(raw))
    if got is not None:  # whatever parses is consistent with its own headers
        assert got.sport == struct.unpack_from("!H", raw, (raw[0] & 0x0F) * 4)[0]
        assert len(got.payload) == struct.unpack_from("!H", raw, (raw[0] & 0x0F) * 4 + 4)[0] - 8


@pytest.mark.parametrize("outgoing", [False, True])
def test_filter_jumps_stay_inside_the_program(outgoing: bool) -> None:
    program = udp_port_filter(67, outgoing)
    assert program[-1] == (0x06, 0, 0, 0)  # ret #0: drop
    assert program[-2] == (0x06, 0, 0, 0xFFFF)  # ret #65535: the whole datagram
    for i, (code, jt, jf, _k) in enumerate(program):
        if code & 0x07 == 0x05:  # BPF_JMP
            assert i + 1 + max(jt, jf) < len(program)
    assert any(k == 67 for _c, _t, _f, k in program)
    first = program[0][3]  # what the first load reads: the EtherType (ETH_P_ALL socket) or the packet type
    assert first == (0xFFFFF000 if outgoing else 0xFFFFF004)


def test_filter_refuses_a_port_out_of_range() -> None:
    with pytest.raises(ValueError, match="not a UDP port"):
        udp_port_filter(70000)
