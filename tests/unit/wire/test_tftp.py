"""Byte-level tests of the TFTP codec (RFC 1350, 2347, 2348, 2349, 7440)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bootwright.wire import DecodeError
from bootwright.wire.tftp import (
    Ack,
    Data,
    ErrorCode,
    ErrorPacket,
    Oack,
    Opcode,
    Packet,
    Request,
    TransferMode,
    decode,
    encode,
    encode_ack,
    encode_error,
)

# (packet bytes, decoded value) — bytes as a client or server puts them on the wire.
GOLDEN: list[tuple[bytes, Packet]] = [
    # RFC 1350 RRQ as pxelinux/iPXE send it, with RFC 2348/2349 options.
    (
        b"\x00\x01pxelinux.0\x00octet\x00tsize\x000\x00blksize\x001468\x00",
        Request(Opcode.RRQ, "pxelinux.0", TransferMode.OCTET, {"tsize": "0", "blksize": "1468"}),
    ),
    (b"\x00\x01a\x00netascii\x00", Request(Opcode.RRQ, "a", TransferMode.NETASCII, {})),
    (b"\x00\x02up/x.bin\x00octet\x00", Request(Opcode.WRQ, "up/x.bin", TransferMode.OCTET, {})),
    (
        b"\x00\x01f\x00octet\x00windowsize\x0016\x00timeout\x003\x00",
        Request(Opcode.RRQ, "f", TransferMode.OCTET, {"windowsize": "16", "timeout": "3"}),
    ),
    (b"\x00\x03\x00\x01hello", Data(1, b"hello")),
    (b"\x00\x03\xff\xff", Data(65535, b"")),
    (b"\x00\x04\x00\x00", Ack(0)),
    (b"\x00\x04\x12\x34", Ack(0x1234)),
    (b"\x00\x05\x00\x01File not found\x00", ErrorPacket(ErrorCode.FILE_NOT_FOUND, "File not found")),
    (b"\x00\x05\x00\x08\x00", ErrorPacket(ErrorCode.OPTION_REFUSED, "")),
    (b"\x00\x05\x00\x63odd\x00", ErrorPacket(99, "odd")),
    (b"\x00\x06blksize\x001468\x00tsize\x00123\x00", Oack({"blksize": "1468", "tsize": "123"})),
    (b"\x00\x06", Oack({})),
]


@pytest.mark.parametrize(("raw", "packet"), GOLDEN)
def test_golden_decode(raw: bytes, packet: Packet) -> None:
    assert decode(raw) == packet


@pytest.mark.parametrize(("raw", "packet"), GOLDEN)
def test_golden_encode(raw: bytes, packet: Packet) -> None:
    assert encode(packet) == raw


def test_decode_accepts_bytearray_and_memoryview() -> None:
    raw = b"\x00\x04\x00\x07"
    assert decode(bytearray(raw)) == decode(memoryview(raw)) == Ack(7)


def test_mode_and_option_names_are_case_insensitive() -> None:
    req = decode(b"\x00\x01Boot.IMG\x00OcTeT\x00BLKSIZE\x00512\x00TSize\x000\x00")
    assert req == Request(Opcode.RRQ, "Boot.IMG", TransferMode.OCTET, {"blksize": "512", "tsize": "0"})
    assert isinstance(req, Request)
    assert list(req.options) == ["blksize", "tsize"]  # order kept
    assert req.filename == "Boot.IMG"  # filename case kept


def test_mail_mode_decodes() -> None:
    assert decode(b"\x00\x01x\x00MAIL\x00") == Request(Opcode.RRQ, "x", TransferMode.MAIL)


def test_unknown_options_are_kept() -> None:
    req = decode(b"\x00\x01x\x00octet\x00multicast\x00\x00rollover\x000\x00")
    assert isinstance(req, Request)
    assert dict(req.options) == {"multicast": "", "rollover": "0"}


def test_trailing_nul_padding_is_tolerated() -> None:
    assert decode(b"\x00\x01x\x00octet\x00\x00\x00\x00") == Request(Opcode.RRQ, "x", TransferMode.OCTET)
    req = decode(b"\x00\x01x\x00octet\x00tsize\x000\x00\x00\x00")
    assert isinstance(req, Request)
    assert dict(req.options) == {"tsize": "0"}


def test_ack_trailing_bytes_ignored() -> None:
    assert decode(b"\x00\x04\x00\x02\x00\x00") == Ack(2)


def test_error_without_nul_is_accepted() -> None:
    assert decode(b"\x00\x05\x00\x00disk full") == ErrorPacket(0, "disk full")


def test_error_latin1_message_round_trips() -> None:
    raw = encode_error(0, "caf\xe9")
    assert raw == b"\x00\x05\x00\x00caf\xe9\x00"
    assert decode(raw) == ErrorPacket(0, "caf\xe9")


def test_error_codes_cite_rfcs() -> None:
    assert [int(c) for c in ErrorCode] == list(range(9))
    assert ErrorCode.OPTION_REFUSED.__doc__ is not None
    assert "2347" in ErrorCode.OPTION_REFUSED.__doc__
    assert "1350" in (ErrorCode.UNKNOWN_TID.__doc__ or "")


def test_helpers() -> None:
    assert encode_ack(65536 + 3) == b"\x00\x04\x00\x03"
    assert encode_error(ErrorCode.UNKNOWN_TID, "Unknown transfer ID") == b"\x00\x05\x00\x05Unknown transfer ID\x00"


BAD: list[tuple[bytes, str]] = [
    (b"", "shorter than an opcode"),
    (b"\x00", "shorter than an opcode"),
    (b"\x00\x07", "unknown opcode"),
    (b"\x00\x00abc", "unknown opcode"),
    (b"\x00\x01", "missing filename"),
    (b"\x00\x01file", "NUL"),
    (b"\x00\x01file\x00", "missing filename or mode"),
    (b"\x00\x01file\x00octet", "NUL"),
    (b"\x00\x01\x00octet\x00", "empty filename"),
    (b"\x00\x01file\x00binary\x00", "unknown mode"),
    (b"\x00\x01file\x00\x00", "unknown mode"),
    (b"\x00\x01f\xe9\x00octet\x00", "non-ASCII"),
    (b"\x00\x01f\x00octet\x00blksize\x00", "no value"),
    (b"\x00\x01f\x00octet\x00blksize\x00512", "NUL"),
    (b"\x00\x01f\x00octet\x00blksize\x00512\x00BlkSize\x008\x00", "duplicated"),
    (b"\x00\x01f\x00octet\x00\x00512\x00", "empty option name"),
    (b"\x00\x02f\x00octet\x00tsize\x00\xff\x00", "non-ASCII"),
    (b"\x00\x03\x00", "DATA"),
    (b"\x00\x04\x00", "ACK"),
    (b"\x00\x05\x00", "ERROR"),
    (b"\x00\x06blksize\x00", "no value"),
    (b"\x00\x06blksize", "NUL"),
    (b"\x00\x06a\x001\x00A\x002\x00", "duplicated"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD)
def test_malformed(raw: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(raw)


@pytest.mark.parametrize(
    "packet",
    [
        Request(Opcode.RRQ, ""),
        Request(Opcode.RRQ, "a\0b"),
        Request(Opcode.RRQ, "caf\xe9"),
        Request(Opcode.DATA, "x"),
        Request(Opcode.RRQ, "x", options={"BlkSize": "8"}),
        Request(Opcode.RRQ, "x", options={"": "8"}),
        Oack({"tsize": "1\x002"}),
        Data(65536, b""),
        Ack(-1),
        ErrorPacket(70000, ""),
        ErrorPacket(0, "nul\x00inside"),
        ErrorPacket(0, "\u20ac"),
    ],
)
def test_encode_refuses_what_decode_cannot_return(packet: Packet) -> None:
    with pytest.raises(ValueError):
        encode(packet)


# -- property tests ---------------------------------------------------------

_ascii_text = st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=20)
_names = st.text(st.characters(min_codepoint=1, max_codepoint=127), min_size=1, max_size=10).map(str.lower)
_options = st.dictionaries(_names, _ascii_text, max_size=5)
_packets: st.SearchStrategy[Packet] = st.one_of(
    st.builds(
        Request,
        st.sampled_from([Opcode.RRQ, Opcode.WRQ]),
        _ascii_text.filter(bool),
        st.sampled_from(list(TransferMode)),
        _options,
    ),
    st.builds(Data, st.integers(0, 0xFFFF), st.binary(max_size=64)),
    st.builds(Ack, st.integers(0, 0xFFFF)),
    st.builds(ErrorPacket, st.integers(0, 0xFFFF), st.text(st.characters(min_codepoint=1, max_codepoint=255))),
    st.builds(Oack, _options),
)


@settings(max_examples=400, deadline=None)
@given(_packets)
def test_round_trip(packet: Packet) -> None:
    assert decode(encode(packet)) == packet


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=96))
def test_decode_arbitrary_bytes_raises_only_decode_error(raw: bytes) -> None:
    try:
        packet = decode(raw)
    except DecodeError:
        return
    assert decode(encode(packet)) == packet  # whatever decodes, re-encodes to the same value


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([b"\x00\x01", b"\x00\x02", b"\x00\x06", b"\x00\x05"]), st.binary(max_size=48))
def test_decode_structured_garbage(prefix: bytes, rest: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode(prefix + rest.replace(b"\x01", b"\x00"))
