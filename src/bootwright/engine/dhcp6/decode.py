"""Decoding what reaches the DHCPv6 server, with the wire codec tuned for the hot path.

A client message's options are walked with the codec's layout rules (RFC 8415 §21.1),
but only those the server reads are decoded, each by the codec's own decoder (Client
and Server Identifier, IA_NA, IA_TA, IA_PD, Option Request, Rapid Commit, User and Vendor
Class, Client FQDN, Client Architecture); the rest (Elapsed Time, …) are checked for length and
skipped. Identifiers are remembered by their octets: a client sends the same DUID in
Solicit, Request and every Renew, and the Server Identifier is always ours.
Relay messages take the codec's :func:`~bootwright.wire.dhcp6.decode`, which bounds
their nesting. Errors are the codec's :class:`~bootwright.wire.DecodeError`.
"""

from __future__ import annotations

import struct
from typing import Final

from bootwright.wire import DecodeError
from bootwright.wire.dhcp6 import (
    ClientId,
    Dhcp6Message,
    Dhcp6Option,
    Dhcp6Relay,
    MessageType,
    ServerId,
    decode,
)
from bootwright.wire.dhcp6_options import TOP_LEVEL_DECODERS, OptionDecoder

__all__ = ["ServerDecoder"]

_MSG_TYPES: Final = {int(t): t for t in MessageType}
_RELAY: Final = (int(MessageType.RELAY_FORW), int(MessageType.RELAY_REPL))
_READ: Final = frozenset({1, 2, 3, 4, 6, 14, 15, 16, 25, 39, 61})  # the options Dhcp6Engine looks at
_HDR: Final = struct.Struct("!HH")  # option-code, option-len (RFC 8415 §21.1)


class ServerDecoder:
    """``decode`` for the server: the codec's results for the options it reads, less work."""

    def __init__(self, capacity: int = 8192) -> None:
        self.capacity = capacity
        self._ids: dict[tuple[int, bytes], ClientId | ServerId] = {}
        self._raw: dict[int, bytes] = {}  # id(ClientId) -> its DUID octets, for cached objects
        table: dict[int, OptionDecoder] = {c: d for c, d in TOP_LEVEL_DECODERS.items() if c in _READ}
        table[1] = self._client_id
        table[2] = self._server_id
        self._table = table

    def _remembered(self, code: int, kind: type[ClientId] | type[ServerId], buf: bytes, start: int, end: int
                    ) -> ClientId | ServerId:  # fmt: skip
        raw = buf[start:end]
        key = (code, raw)
        found = self._ids.get(key)
        if found is None:
            found = kind.decode_payload(buf, start, end)  # raises DecodeError for a bad DUID
            if len(self._ids) >= self.capacity:
                self._ids.clear()
                self._raw.clear()
            self._ids[key] = found
            self._raw[id(found)] = raw
        return found

    def _client_id(self, buf: bytes, start: int, end: int) -> ClientId:
        found = self._remembered(1, ClientId, buf, start, end)
        assert isinstance(found, ClientId)
        return found

    def _server_id(self, buf: bytes, start: int, end: int) -> ServerId:
        found = self._remembered(2, ServerId, buf, start, end)
        assert isinstance(found, ServerId)
        return found

    def duid_octets(self, cid: ClientId) -> bytes:
        """The DUID octets of a Client Identifier (as received, if this decoder produced it)."""
        raw = self._raw.get(id(cid))
        return raw if raw is not None else cid.duid.encode()

    def decode(self, data: bytes) -> Dhcp6Message | Dhcp6Relay:
        """Decode one datagram (RFC 8415 §8 client/server layout, §9 relays)."""
        end = len(data)
        if end < 4 or data[0] in _RELAY:
            return decode(data)
        out: list[Dhcp6Option] = []
        table, unpack, pos = self._table, _HDR.unpack_from, 4
        while pos < end:
            if pos + 4 > end:
                raise DecodeError(f"option header at offset {pos} truncated ({end - pos} octets left)")
            code, length = unpack(data, pos)
            pos += 4
            nxt = pos + length
            if nxt > end:
                raise DecodeError(f"option {code} at offset {pos - 4}: length {length} runs past the end ({end})")
            dec = table.get(code)
            if dec is not None:
                out.append(dec(data, pos, nxt))
            pos = nxt
        t = data[0]
        return Dhcp6Message(_MSG_TYPES.get(t, t), int.from_bytes(data[1:4]), tuple(out))
