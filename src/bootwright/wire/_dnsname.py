"""Uncompressed DNS wire-format names (RFC 1035 §3.1), shared by DHCPv6 and NDP.

DHCPv6 option 24 (RFC 3646 §4 via RFC 8415 §10) and the NDP DNSSL option
(RFC 8106 §5.2) both carry lists of names in this form, and both forbid
compression. Names are plain ``str`` without the trailing dot (the root name is
``""``); labels are ASCII and may not contain a dot, so text and wire forms map
one to one and ``encode(decode(b)) == b``.
"""

from __future__ import annotations

from collections.abc import Iterable

from bootwright.wire import DecodeError

MAX_LABEL = 63  # RFC 1035 §2.3.4
MAX_NAME = 255  # RFC 1035 §2.3.4, counting length octets and the root label


def encode_name(name: str) -> bytes:
    """Encode one name (``"example.com"`` or ``"example.com."``) to wire format.

    Raises ``ValueError`` for empty inner labels, labels over 63 octets, names
    over 255 octets or non-ASCII text.
    """
    name = name.removesuffix(".")
    out = bytearray()
    if name:
        for label in name.split("."):
            raw = label.encode("ascii")
            if not raw or len(raw) > MAX_LABEL:
                raise ValueError(f"bad DNS label {label!r} in {name!r} (1..63 octets)")
            out.append(len(raw))
            out += raw
    out.append(0)
    if len(out) > MAX_NAME:
        raise ValueError(f"DNS name {name!r} is longer than 255 octets")
    return bytes(out)


def encode_names(names: Iterable[str]) -> bytes:
    """Encode a list of names back to back (RFC 8415 §10), no compression."""
    return b"".join(encode_name(n) for n in names)


def decode_name(buf: bytes, pos: int, end: int) -> tuple[str, int]:
    """Decode one name starting at ``pos``; return ``(name, next_pos)``.

    Raises :class:`DecodeError` for compression pointers, labels running past
    ``end``, a missing root label, non-ASCII labels or labels holding a dot.
    """
    labels: list[str] = []
    start = pos
    while True:
        if pos >= end:
            raise DecodeError(f"DNS name at offset {start} has no terminating root label")
        n = buf[pos]
        pos += 1
        if n == 0:
            break
        if n > MAX_LABEL:  # 0xC0.. is a compression pointer, forbidden here (RFC 8415 §10)
            raise DecodeError(f"DNS label length {n} at offset {pos - 1} (compression is not allowed)")
        if pos + n > end:
            raise DecodeError(f"DNS label at offset {pos - 1} runs past the end")
        chunk = buf[pos : pos + n]
        if not chunk.isascii() or b"." in chunk:
            raise DecodeError(f"DNS label at offset {pos - 1} is not plain ASCII")
        labels.append(chunk.decode("ascii"))
        pos += n
    if pos - start > MAX_NAME:
        raise DecodeError(f"DNS name at offset {start} is longer than 255 octets")
    return ".".join(labels), pos


def decode_names(buf: bytes, pos: int, end: int) -> tuple[str, ...]:
    """Decode names filling ``buf[pos:end]`` exactly (DHCPv6 option 24)."""
    names: list[str] = []
    while pos < end:
        name, pos = decode_name(buf, pos, end)
        names.append(name)
    return tuple(names)
