"""TFTP packet codec: RFC 1350 plus options (RFC 2347, 2348, 2349, 7440).

Pure and stdlib-only.  :func:`decode` turns one UDP payload into a packet
object or raises :class:`~bootwright.wire.DecodeError`; :func:`encode` is its
inverse (``decode(encode(p)) == p``).

Wire layout (RFC 1350 §5, RFC 2347 §"Packet Formats")::

    RRQ/WRQ  | 01/02 | filename | 0 | mode | 0 | opt1 | 0 | value1 | 0 | ...
    DATA     | 03 | block# | data (0..blksize octets)
    ACK      | 04 | block#
    ERROR    | 05 | ErrorCode | ErrMsg | 0
    OACK     | 06 | opt1 | 0 | value1 | 0 | ...

Leniencies: NUL padding after the last complete request string is ignored
and bytes after the 4-octet ACK are ignored (both as tftp-hpa does); an
ERROR whose message lacks its terminating NUL is accepted, and its message is
read as latin-1 so any octets decode.  Everything else malformed — missing
NULs, non-ASCII request strings, empty filename, unknown mode, duplicated
option — raises :class:`~bootwright.wire.DecodeError`.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Final

from bootwright.wire import DecodeError

__all__ = [
    "DATA_HEADER",
    "DEFAULT_BLKSIZE",
    "MAX_BLKSIZE",
    "MIN_BLKSIZE",
    "Ack",
    "Data",
    "ErrorCode",
    "ErrorPacket",
    "Oack",
    "Opcode",
    "Packet",
    "Request",
    "TransferMode",
    "decode",
    "encode",
    "encode_ack",
    "encode_error",
]

DEFAULT_BLKSIZE: Final = 512
"""RFC 1350 §1: data is sent in 512-octet blocks unless blksize is negotiated."""
MIN_BLKSIZE: Final = 8
"""RFC 2348: smallest valid ``blksize`` value."""
MAX_BLKSIZE: Final = 65464
"""RFC 2348: largest valid ``blksize`` value."""

DATA_HEADER: Final = struct.Struct("!HH")
"""``opcode, block`` header shared by DATA and ACK (RFC 1350 §5); use ``pack_into`` for zero-copy DATA."""


class Opcode(IntEnum):
    """TFTP opcodes (RFC 1350 §5; OACK from RFC 2347)."""

    RRQ = 1
    """Read request (RFC 1350)."""
    WRQ = 2
    """Write request (RFC 1350)."""
    DATA = 3
    """Data block (RFC 1350)."""
    ACK = 4
    """Acknowledgment (RFC 1350)."""
    ERROR = 5
    """Error (RFC 1350)."""
    OACK = 6
    """Option acknowledgment (RFC 2347)."""


class ErrorCode(IntEnum):
    """ERROR packet codes (RFC 1350 Appendix "Error Codes"; 8 from RFC 2347)."""

    NOT_DEFINED = 0
    """Not defined, see error message (if any) — RFC 1350."""
    FILE_NOT_FOUND = 1
    """File not found — RFC 1350."""
    ACCESS_VIOLATION = 2
    """Access violation — RFC 1350."""
    DISK_FULL = 3
    """Disk full or allocation exceeded — RFC 1350."""
    ILLEGAL_OPERATION = 4
    """Illegal TFTP operation — RFC 1350."""
    UNKNOWN_TID = 5
    """Unknown transfer ID — RFC 1350."""
    FILE_EXISTS = 6
    """File already exists — RFC 1350."""
    NO_SUCH_USER = 7
    """No such user — RFC 1350."""
    OPTION_REFUSED = 8
    """Terminate transfer due to option negotiation — RFC 2347."""


class TransferMode(StrEnum):
    """Transfer modes (RFC 1350 §1); the wire spelling is case-insensitive."""

    NETASCII = "netascii"
    """8-bit ASCII with CR LF line ends and CR NUL for bare CR (RFC 764)."""
    OCTET = "octet"
    """Raw 8-bit bytes."""
    MAIL = "mail"
    """Obsolete mail delivery mode (RFC 1350 §1); servers refuse it."""


@dataclass(frozen=True, slots=True)
class Request:
    """RRQ or WRQ (RFC 1350 §5) with RFC 2347 options.

    ``options`` maps lower-cased option names to their (string) values in the
    order the client sent them; unknown options are kept so the engine can
    ignore them (RFC 2347: "unrecognized options are ignored").
    """

    opcode: Opcode
    filename: str
    mode: TransferMode = TransferMode.OCTET
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        """True for a WRQ."""
        return self.opcode is Opcode.WRQ


@dataclass(frozen=True, slots=True)
class Data:
    """DATA block (RFC 1350 §5); ``block`` is the 16-bit wire number."""

    block: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Ack:
    """ACK (RFC 1350 §5); block 0 acknowledges a WRQ or an OACK (RFC 2347)."""

    block: int


@dataclass(frozen=True, slots=True)
class ErrorPacket:
    """ERROR (RFC 1350 §5).  ``code`` is an :class:`ErrorCode` when known."""

    code: int
    message: str = ""


@dataclass(frozen=True, slots=True)
class Oack:
    """Option acknowledgment (RFC 2347): accepted options, lower-cased names."""

    options: Mapping[str, str]


Packet = Request | Data | Ack | ErrorPacket | Oack
"""Any decoded TFTP packet."""

_U16: Final = struct.Struct("!H")
_MODES: Final = {m.value: m for m in TransferMode}


def _strings(body: bytes | bytearray | memoryview, what: str) -> list[str]:
    """Split a run of NUL-terminated ASCII strings (RFC 1350 §5)."""
    raw = bytes(body)
    if not raw:
        return []
    if raw[-1] != 0:
        raise DecodeError(f"{what}: last string lacks its NUL terminator")
    try:
        return raw[:-1].decode("ascii").split("\0")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"{what}: non-ASCII octet at offset {2 + exc.start}") from None


def _options(strings: list[str], what: str) -> dict[str, str]:
    """Turn ``[name, value, ...]`` into an ordered dict (RFC 2347).

    An empty string where a name should start begins NUL padding, which must
    run to the end (some firmware pads requests; tftp-hpa stops there too).
    Empty values are kept; the engine ignores such options.
    """
    opts: dict[str, str] = {}
    for i in range(0, len(strings), 2):
        name = strings[i].lower()  # RFC 2347: option names are case-insensitive
        if not name:
            if any(strings[i:]):
                raise DecodeError(f"{what}: empty option name")
            break
        if i + 1 == len(strings):
            raise DecodeError(f"{what}: option {name!r} has no value")
        if name in opts:
            raise DecodeError(f"{what}: duplicated option {name!r}")
        opts[name] = strings[i + 1]
    return opts


def decode(datagram: bytes | bytearray | memoryview) -> Packet:
    """Decode one TFTP datagram; raises :class:`DecodeError` and nothing else."""
    data = datagram if isinstance(datagram, bytes) else bytes(datagram)
    if len(data) < 2:
        raise DecodeError(f"datagram of {len(data)} octets is shorter than an opcode")
    op = (data[0] << 8) | data[1]
    if op in (Opcode.RRQ, Opcode.WRQ):
        what = "RRQ" if op == Opcode.RRQ else "WRQ"
        strings = _strings(data[2:], what)
        if len(strings) < 2:
            raise DecodeError(f"{what}: missing filename or mode")
        filename, mode_text = strings[0], strings[1]
        if not filename:
            raise DecodeError(f"{what}: empty filename")
        mode = _MODES.get(mode_text.lower())  # RFC 1350 §5: mode is case-insensitive
        if mode is None:
            raise DecodeError(f"{what}: unknown mode {mode_text!r}")
        return Request(Opcode(op), filename, mode, _options(strings[2:], what))
    if op == Opcode.DATA:
        if len(data) < 4:
            raise DecodeError("DATA: shorter than 4 octets")
        return Data((data[2] << 8) | data[3], bytes(data[4:]))
    if op == Opcode.ACK:
        if len(data) < 4:
            raise DecodeError("ACK: shorter than 4 octets")
        return Ack((data[2] << 8) | data[3])  # trailing octets ignored, as tftp-hpa does
    if op == Opcode.ERROR:
        if len(data) < 4:
            raise DecodeError("ERROR: shorter than 4 octets")
        code = (data[2] << 8) | data[3]
        raw = bytes(data[4:])
        nul = raw.find(b"\0")
        msg = (raw if nul < 0 else raw[:nul]).decode("latin-1")  # bijective: never fails
        return ErrorPacket(ErrorCode(code) if code <= ErrorCode.OPTION_REFUSED else code, msg)
    if op == Opcode.OACK:
        strings = _strings(data[2:], "OACK")
        return Oack(_options(strings, "OACK"))
    raise DecodeError(f"unknown opcode {op}")


def _cstr(text: str, what: str) -> bytes:
    """Encode a NUL-terminated ASCII string, refusing embedded NULs."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {text!r} is not ASCII") from None
    if b"\0" in raw:
        raise ValueError(f"{what} {text!r} contains NUL")
    return raw + b"\0"


def _encode_options(options: Mapping[str, str], what: str) -> bytes:
    parts = []
    seen: set[str] = set()
    for name, value in options.items():
        if not name or name != name.lower() or name in seen:
            raise ValueError(f"{what}: option names must be non-empty, lower-case, unique: {name!r}")
        seen.add(name)
        parts.append(_cstr(name, "option name") + _cstr(value, "option value"))
    return b"".join(parts)


def _block(block: int) -> int:
    if not 0 <= block <= 0xFFFF:
        raise ValueError(f"block number {block} does not fit 16 bits")
    return block


def encode_ack(block: int) -> bytes:
    """ACK for a 16-bit block number (RFC 1350 §5)."""
    return DATA_HEADER.pack(Opcode.ACK, block & 0xFFFF)


def encode_error(code: int, message: str = "") -> bytes:
    """ERROR packet (RFC 1350 §5); ``message`` is latin-1 with no NUL."""
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"error code {code} does not fit 16 bits")
    raw = message.encode("latin-1")
    if b"\0" in raw:
        raise ValueError("error message contains NUL")
    return DATA_HEADER.pack(Opcode.ERROR, code) + raw + b"\0"


def encode(packet: Packet) -> bytes:
    """Encode a packet; raises ``ValueError`` for a value :func:`decode` could not return."""
    if isinstance(packet, Data):
        return DATA_HEADER.pack(Opcode.DATA, _block(packet.block)) + packet.payload
    if isinstance(packet, Ack):
        return DATA_HEADER.pack(Opcode.ACK, _block(packet.block))
    if isinstance(packet, ErrorPacket):
        return encode_error(packet.code, packet.message)
    if isinstance(packet, Oack):
        return _U16.pack(Opcode.OACK) + _encode_options(packet.options, "OACK")
    if isinstance(packet, Request):
        if packet.opcode not in (Opcode.RRQ, Opcode.WRQ):
            raise ValueError(f"request opcode must be RRQ or WRQ, not {packet.opcode!r}")
        if not packet.filename:
            raise ValueError("request filename is empty")
        return (
            _U16.pack(packet.opcode)
            + _cstr(packet.filename, "filename")
            + _cstr(TransferMode(packet.mode).value, "mode")
            + _encode_options(packet.options, "request")
        )
    raise TypeError(f"not a TFTP packet: {packet!r}")
