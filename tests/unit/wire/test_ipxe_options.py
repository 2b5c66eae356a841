"""The one option-175 table: values round-trip through their wire bytes, by kind."""

from __future__ import annotations

import pytest

from bootwright.wire.ipxe_options import IPXE_OPTIONS_BY_NAME, decode_ipxe_value, encode_ipxe_value


@pytest.mark.parametrize(
    ("name", "value", "octets"),
    [
        ("priority", -3, b"\xfd"),  # int8
        ("no-pxedhcp", 1, b"\x01"),  # uint8
        ("username", "admin", b"admin"),  # string
        ("bus-id", "01:80:86:10:0e", b"\x01\x80\x86\x10\x0e"),  # hex
    ],
)
def test_each_kind_round_trips(name: str, value: int | str, octets: bytes) -> None:
    code = IPXE_OPTIONS_BY_NAME[name].code
    assert encode_ipxe_value(code, value) == octets
    assert decode_ipxe_value(code, octets) == value


def test_an_unknown_code_is_hex() -> None:
    assert decode_ipxe_value(250, b"\x0a\x0b") == "0a:0b"
    assert encode_ipxe_value(250, "0a:0b") == b"\x0a\x0b"
