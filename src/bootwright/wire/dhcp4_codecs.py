"""Value codecs for DHCPv4 options (RFC 2132 and friends), stdlib only.

A codec turns one option's value octets (already reassembled from RFC 3396
long-option pieces) into a Python value and back, and renders it as text for
people (``bootwright explain``) and parses that text back (config files).

Contract, for every codec ``c`` and every value ``v`` that ``c.encode``
accepts: ``c.decode(c.encode(v)) == v`` and ``c.parse(c.format(v)) == v``
(for text codecs: when the strings hold no ``,`` or surrounding blanks).
``decode`` raises only :class:`~bootwright.wire.DecodeError`; ``encode`` and
``parse`` raise ``ValueError`` for values that cannot go on the wire.

This module holds the scalar codecs (addresses, integers, text, octets);
:mod:`bootwright.wire.dhcp4_structs` the structured ones. The option table
that binds codes to codecs is in :mod:`bootwright.wire.dhcp4_options`.
"""

from __future__ import annotations

import re
import struct
from enum import IntEnum
from ipaddress import IPv4Address
from typing import Generic, TypeVar

from bootwright.wire import DecodeError

__all__ = [
    "BOOL",
    "BYTES",
    "FLAG",
    "I32",
    "IPV4",
    "IPV4_LIST",
    "STRING",
    "U8",
    "U8_LIST",
    "U16",
    "U16_LIST",
    "U32",
    "BoolCodec",
    "BytesCodec",
    "Codec",
    "EnumCodec",
    "FlagCodec",
    "IPv4Codec",
    "IPv4ListCodec",
    "IntCodec",
    "IntListCodec",
    "StringCodec",
    "format_hex",
    "parse_hex",
    "parse_octets",
    "split_items",
]

T = TypeVar("T")
E = TypeVar("E", bound=IntEnum)

_SPLIT = re.compile(r"[,\s]+")


def format_hex(raw: bytes) -> str:
    """Render octets as lower-case colon-separated hex (``01:52:54:00``); ``""`` for none."""
    return raw.hex(":")


# Colon-separated hex octets ("0a:0b", at least two) or 0x and hex digits ("0x0a"): octets, not text.
_HEX_OCTETS = re.compile(r"(?:[0-9A-Fa-f]{2}:)+[0-9A-Fa-f]{2}|0[xX](?:[0-9A-Fa-f]{2})+")


def parse_octets(text: str) -> bytes:
    """Opaque octets written as hex (``0a:0b:0c`` or ``0x0a0b0c``) or else as text (its UTF-8 octets).

    The grammar of values that are either: ``[dhcp6] options`` values (the engine and config
    validation); rules' ``circuit_id``/``remote_id``/``client_id`` use the same colon form.
    """
    if _HEX_OCTETS.fullmatch(text.strip()):
        return parse_hex(text)
    return text.encode("utf-8")


def parse_hex(text: str) -> bytes:
    """Parse hex octets written as ``01:52:54``, ``01-52-54``, ``015254`` or ``0x015254``.

    Raises ``ValueError`` naming the text when it is not hex.
    """
    t = text.strip()
    if t[:2] in ("0x", "0X"):
        t = t[2:]
    t = t.replace(":", "").replace("-", "").replace(" ", "")
    try:
        return bytes.fromhex(t)
    except ValueError:
        raise ValueError(f"{text!r} is not hex octets (write e.g. 01:02:0a)") from None


def split_items(text: str) -> list[str]:
    """Split a text list on commas and/or blanks, dropping empty items."""
    return [p for p in _SPLIT.split(text.strip()) if p]


class Codec(Generic[T]):
    """One option value type: wire octets <-> Python value <-> text."""

    __slots__ = ()

    def decode(self, raw: bytes) -> T:
        """Decode value octets; raise :class:`DecodeError` if malformed."""
        raise NotImplementedError

    def encode(self, value: T) -> bytes:
        """Encode a value to octets (may exceed 255; the message encoder splits, RFC 3396)."""
        raise NotImplementedError

    def format(self, value: T) -> str:
        """Render a value as text for people."""
        raise NotImplementedError

    def parse(self, text: str) -> T:
        """Parse text as written by :meth:`format` (or in a config file)."""
        raise NotImplementedError


# --- addresses --------------------------------------------------------------------------------


class IPv4Codec(Codec[IPv4Address]):
    """Exactly one IPv4 address, 4 octets (e.g. RFC 2132 §3.3 subnet mask, §9.7 server id)."""

    __slots__ = ()

    def decode(self, raw: bytes) -> IPv4Address:
        """Decode 4 octets."""
        if len(raw) != 4:
            raise DecodeError(f"expected 4 octets (one IPv4 address), got {len(raw)}")
        return IPv4Address(raw)

    def encode(self, value: IPv4Address) -> bytes:
        """Encode one address (``str`` accepted too)."""
        return IPv4Address(value).packed

    def format(self, value: IPv4Address) -> str:
        """Dotted quad."""
        return str(value)

    def parse(self, text: str) -> IPv4Address:
        """Dotted quad."""
        return IPv4Address(text.strip())


class IPv4ListCodec(Codec[tuple[IPv4Address, ...]]):
    """One or more IPv4 addresses, a multiple of 4 octets (e.g. RFC 2132 §3.5 routers)."""

    __slots__ = ()

    def decode(self, raw: bytes) -> tuple[IPv4Address, ...]:
        """Decode 4·n octets, n ≥ 1."""
        n = len(raw)
        if n == 0 or n % 4:
            raise DecodeError(f"expected a non-empty multiple of 4 octets (IPv4 addresses), got {n}")
        return tuple(IPv4Address(raw[i : i + 4]) for i in range(0, n, 4))

    def encode(self, value: tuple[IPv4Address, ...]) -> bytes:
        """Encode ≥ 1 address (``str`` items accepted too)."""
        if not value:
            raise ValueError("an address list needs at least one address")
        return b"".join(IPv4Address(a).packed for a in value)

    def format(self, value: tuple[IPv4Address, ...]) -> str:
        """``192.0.2.1, 192.0.2.2``."""
        return ", ".join(map(str, value))

    def parse(self, text: str) -> tuple[IPv4Address, ...]:
        """Addresses separated by commas and/or blanks."""
        return tuple(IPv4Address(p) for p in split_items(text))


# --- integers ---------------------------------------------------------------------------------


class IntCodec(Codec[int]):
    """A fixed-size big-endian integer (RFC 2132 §2: network byte order)."""

    __slots__ = ("signed", "size")

    def __init__(self, size: int, *, signed: bool = False) -> None:
        """``size`` in octets; ``signed`` for two's complement (RFC 2132 §3.4 time offset)."""
        self.size = size
        self.signed = signed

    def decode(self, raw: bytes) -> int:
        """Decode exactly ``size`` octets."""
        if len(raw) != self.size:
            raise DecodeError(f"expected {self.size} octets, got {len(raw)}")
        return int.from_bytes(raw, "big", signed=self.signed)

    def encode(self, value: int) -> bytes:
        """Encode; ``ValueError`` when out of range."""
        try:
            return int(value).to_bytes(self.size, "big", signed=self.signed)
        except OverflowError:
            kind = "signed" if self.signed else "unsigned"
            raise ValueError(f"{value} does not fit a {kind} {8 * self.size}-bit integer") from None

    def format(self, value: int) -> str:
        """Decimal."""
        return str(value)

    def parse(self, text: str) -> int:
        """Decimal or ``0x`` hex."""
        return int(text.strip(), 0)


class IntListCodec(Codec[tuple[int, ...]]):
    """A list of fixed-size unsigned integers (RFC 2132 §9.8 PRL: u8; RFC 4578 §2.1 arch: u16)."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        """``size`` of each item in octets (1 or 2)."""
        if size not in (1, 2):
            raise ValueError("IntListCodec supports 1- and 2-octet items")
        self.size = size

    def decode(self, raw: bytes) -> tuple[int, ...]:
        """Decode n·size octets (n may be 0)."""
        if self.size == 1:
            return tuple(raw)
        n = len(raw) // 2
        if len(raw) % 2:
            raise DecodeError(f"expected a multiple of 2 octets, got {len(raw)}")
        return struct.unpack(f">{n}H", raw)

    def encode(self, value: tuple[int, ...]) -> bytes:
        """Encode; ``ValueError`` when an item is out of range."""
        try:
            if self.size == 1:
                return bytes(value)
            return b"".join(int(v).to_bytes(self.size, "big") for v in value)
        except (OverflowError, ValueError):
            raise ValueError(f"{value!r}: every item must fit {8 * self.size} unsigned bits") from None

    def format(self, value: tuple[int, ...]) -> str:
        """``1, 3, 6``."""
        return ", ".join(map(str, value))

    def parse(self, text: str) -> tuple[int, ...]:
        """Integers separated by commas and/or blanks."""
        return tuple(int(p, 0) for p in split_items(text))


class BoolCodec(Codec[bool]):
    """A 1-octet flag, 0 = off, 1 = on (RFC 2132 §4.1 and others; any non-zero reads as on)."""

    __slots__ = ()

    def decode(self, raw: bytes) -> bool:
        """Decode exactly one octet."""
        if len(raw) != 1:
            raise DecodeError(f"expected 1 octet (boolean), got {len(raw)}")
        return raw[0] != 0

    def encode(self, value: bool) -> bytes:
        """``b"\\x01"`` or ``b"\\x00"``."""
        return b"\x01" if value else b"\x00"

    def format(self, value: bool) -> str:
        """``true`` / ``false``."""
        return "true" if value else "false"

    def parse(self, text: str) -> bool:
        """``true/false``, ``yes/no``, ``on/off``, ``1/0``."""
        t = text.strip().lower()
        if t in ("true", "yes", "on", "1"):
            return True
        if t in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"{text!r} is not a boolean (use true or false)")


class FlagCodec(Codec[bool]):
    """A zero-length presence flag (RFC 4039 §4 rapid commit). Any payload is ignored."""

    __slots__ = ()

    def decode(self, raw: bytes) -> bool:
        """Presence means ``True``."""
        return True

    def encode(self, value: bool) -> bytes:
        """Only ``True`` can be sent (leave the option out for ``False``)."""
        if not value:
            raise ValueError("a presence flag is sent only when true; omit the option instead")
        return b""

    def format(self, value: bool) -> str:
        """``true``."""
        return "true"

    def parse(self, text: str) -> bool:
        """``true`` (or empty)."""
        if text.strip().lower() not in ("", "true", "yes", "on", "1"):
            raise ValueError(f"{text!r}: a presence flag can only be true")
        return True


class EnumCodec(Codec[E]):
    """A 1-octet value from an :class:`IntEnum` (RFC 2132 §9.6 DHCP message type)."""

    __slots__ = ("enum", "prefix")

    def __init__(self, enum: type[E], prefix: str = "") -> None:
        """``prefix`` is shown before member names (``DHCP`` + ``DISCOVER``)."""
        self.enum = enum
        self.prefix = prefix

    def decode(self, raw: bytes) -> E:
        """Decode one known value; unknown values are malformed."""
        if len(raw) != 1:
            raise DecodeError(f"expected 1 octet, got {len(raw)}")
        try:
            return self.enum(raw[0])
        except ValueError:
            raise DecodeError(f"unknown {self.enum.__name__} {raw[0]}") from None

    def encode(self, value: E) -> bytes:
        """One octet."""
        return bytes((self.enum(value),))

    def format(self, value: E) -> str:
        """``DHCPDISCOVER``."""
        return self.prefix + self.enum(value).name

    def parse(self, text: str) -> E:
        """Member name with or without prefix, any case, or its number."""
        t = text.strip().upper()
        if t.isdigit():
            return self.enum(int(t))
        t = t.removeprefix(self.prefix.upper())
        try:
            return self.enum[t]
        except KeyError:
            names = ", ".join(self.prefix + m.name for m in self.enum)
            raise ValueError(f"{text!r} is not one of {names}") from None


# --- text and octets --------------------------------------------------------------------------


class StringCodec(Codec[str]):
    """Text (RFC 2132 §2: NVT ASCII, read as UTF-8); trailing NULs are dropped (RFC 2132 §2)."""

    __slots__ = ()

    def decode(self, raw: bytes) -> str:
        """Decode UTF-8 (ASCII is a subset); invalid UTF-8 is malformed."""
        if raw[-1:] == b"\x00":
            raw = raw.rstrip(b"\x00")
        try:
            return raw.decode()
        except UnicodeDecodeError as e:
            raise DecodeError(f"text is not UTF-8 at octet {e.start}") from None

    def encode(self, value: str) -> bytes:
        """UTF-8; NUL characters are refused (receivers strip them, RFC 2132 §2)."""
        if "\x00" in value:
            raise ValueError(f"{value!r}: option text may not contain NUL")
        return value.encode()

    def format(self, value: str) -> str:
        """The text itself."""
        return value

    def parse(self, text: str) -> str:
        """The text itself."""
        return text


class BytesCodec(Codec[bytes]):
    """Opaque octets, shown as colon hex (unknown options, RFC 4578 §2.2 NDI, ...)."""

    __slots__ = ()

    def decode(self, raw: bytes) -> bytes:
        """The octets themselves."""
        return raw

    def encode(self, value: bytes) -> bytes:
        """The octets themselves."""
        return bytes(value)

    def format(self, value: bytes) -> str:
        """``01:02:0a``."""
        return format_hex(value)

    def parse(self, text: str) -> bytes:
        """Hex, see :func:`parse_hex`."""
        return parse_hex(text)


# --- shared instances (codecs hold no state) -----------------------------------------------------

IPV4: IPv4Codec = IPv4Codec()
IPV4_LIST: IPv4ListCodec = IPv4ListCodec()
U8: IntCodec = IntCodec(1)
U16: IntCodec = IntCodec(2)
U32: IntCodec = IntCodec(4)
I32: IntCodec = IntCodec(4, signed=True)
U8_LIST: IntListCodec = IntListCodec(1)
U16_LIST: IntListCodec = IntListCodec(2)
BOOL: BoolCodec = BoolCodec()
FLAG: FlagCodec = FlagCodec()
STRING: StringCodec = StringCodec()
BYTES: BytesCodec = BytesCodec()
