"""DHCPv6 registries (message types, option codes, status codes) and DUIDs.

DUIDs (RFC 8415 §11, RFC 6355) get parsed views, encoders and ``duid_mac``.

Servers must treat DUIDs as opaque (RFC 8415 §11); the parsed form is for
people and for finding a MAC address. ``decode_duid(d.encode()) == d`` holds for
every DUID ``decode_duid`` returns, and ``decode_duid(raw).encode() == raw``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from struct import Struct
from typing import ClassVar

from bootwright.wire import DecodeError

_U16 = Struct("!H")
_HH = Struct("!HH")  # DUID type, hardware type (RFC 8415 §11.4)
_LLT = Struct("!HHI")  # DUID type, hardware type, time (RFC 8415 §11.2)
_EN = Struct("!HI")  # DUID type, enterprise number (RFC 8415 §11.3)


class MessageType(IntEnum):
    """DHCPv6 message types (RFC 8415 §7.3)."""

    SOLICIT = 1
    ADVERTISE = 2
    REQUEST = 3
    CONFIRM = 4
    RENEW = 5
    REBIND = 6
    REPLY = 7
    RELEASE = 8
    DECLINE = 9
    RECONFIGURE = 10
    INFORMATION_REQUEST = 11
    RELAY_FORW = 12
    RELAY_REPL = 13


class OptionCode(IntEnum):
    """DHCPv6 option codes (IANA "DHCPv6 Option Codes"; RFC 8415 §21, RFC 5970, RFC 6939)."""

    CLIENTID = 1  # RFC 8415 §21.2
    SERVERID = 2  # RFC 8415 §21.3
    IA_NA = 3  # RFC 8415 §21.4
    IA_TA = 4  # RFC 8415 §21.5
    IAADDR = 5  # RFC 8415 §21.6
    ORO = 6  # RFC 8415 §21.7
    PREFERENCE = 7  # RFC 8415 §21.8
    ELAPSED_TIME = 8  # RFC 8415 §21.9
    RELAY_MSG = 9  # RFC 8415 §21.10
    AUTH = 11  # RFC 8415 §21.11
    UNICAST = 12  # RFC 8415 §21.12
    STATUS_CODE = 13  # RFC 8415 §21.13
    RAPID_COMMIT = 14  # RFC 8415 §21.14
    USER_CLASS = 15  # RFC 8415 §21.15
    VENDOR_CLASS = 16  # RFC 8415 §21.16
    VENDOR_OPTS = 17  # RFC 8415 §21.17
    INTERFACE_ID = 18  # RFC 8415 §21.18
    RECONF_MSG = 19  # RFC 8415 §21.19
    RECONF_ACCEPT = 20  # RFC 8415 §21.20
    DNS_SERVERS = 23  # RFC 3646 §3
    DOMAIN_LIST = 24  # RFC 3646 §4
    IA_PD = 25  # RFC 8415 §21.21
    IAPREFIX = 26  # RFC 8415 §21.22
    INFORMATION_REFRESH_TIME = 32  # RFC 8415 §21.23
    REMOTE_ID = 37  # RFC 4649 §3
    SUBSCRIBER_ID = 38  # RFC 4580 §2
    CLIENT_FQDN = 39  # RFC 4704 §4
    ERO = 43  # RFC 4994 §4
    NTP_SERVER = 56  # RFC 5908 §4
    BOOTFILE_URL = 59  # RFC 5970 §3.1
    BOOTFILE_PARAM = 60  # RFC 5970 §3.2
    CLIENT_ARCH_TYPE = 61  # RFC 5970 §3.3
    NII = 62  # RFC 5970 §3.4
    CLIENT_LINKLAYER_ADDR = 79  # RFC 6939 §4
    SOL_MAX_RT = 82  # RFC 8415 §21.24
    INF_MAX_RT = 83  # RFC 8415 §21.25


# RFC 8415 §24 Table 4, column "Client ORO" = No: options a client never names in its Option
# Request (§21.7). A server that has one to send sends it unrequested; every other option goes
# only to a client whose ORO asks for it.
NOT_IN_ORO: frozenset[int] = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 18, 19, 20, 25, 26})


class StatusCode(IntEnum):
    """Status Code values (RFC 8415 §21.13)."""

    SUCCESS = 0
    UNSPEC_FAIL = 1
    NO_ADDRS_AVAIL = 2
    NO_BINDING = 3
    NOT_ON_LINK = 4
    USE_MULTICAST = 5
    NO_PREFIX_AVAIL = 6


class DuidType(IntEnum):
    """DUID types (RFC 8415 §11.1, RFC 6355 §4)."""

    LLT = 1  # RFC 8415 §11.2
    EN = 2  # RFC 8415 §11.3
    LL = 3  # RFC 8415 §11.4
    UUID = 4  # RFC 6355 §4


@dataclass(frozen=True, slots=True)
class DuidLLT:
    """DUID-LLT: hardware type, time (seconds since 2000-01-01 UTC, mod 2^32), link-layer address."""

    duid_type: ClassVar[int] = 1
    hw_type: int
    time: int
    link_layer_address: bytes

    def encode(self) -> bytes:
        """Return the DUID octets (RFC 8415 §11.2)."""
        return _LLT.pack(1, self.hw_type, self.time) + self.link_layer_address


@dataclass(frozen=True, slots=True)
class DuidEN:
    """DUID-EN: IANA enterprise number and vendor identifier."""

    duid_type: ClassVar[int] = 2
    enterprise: int
    identifier: bytes

    def encode(self) -> bytes:
        """Return the DUID octets (RFC 8415 §11.3)."""
        return _EN.pack(2, self.enterprise) + self.identifier


@dataclass(frozen=True, slots=True)
class DuidLL:
    """DUID-LL: hardware type and link-layer address."""

    duid_type: ClassVar[int] = 3
    hw_type: int
    link_layer_address: bytes

    def encode(self) -> bytes:
        """Return the DUID octets (RFC 8415 §11.4)."""
        return _HH.pack(3, self.hw_type) + self.link_layer_address


@dataclass(frozen=True, slots=True)
class DuidUUID:
    """DUID-UUID: a 16-octet UUID (RFC 6355 §4), as sent by much UEFI firmware."""

    duid_type: ClassVar[int] = 4
    uuid: bytes

    def encode(self) -> bytes:
        """Return the DUID octets (RFC 6355 §4); the UUID must be 16 octets."""
        if len(self.uuid) != 16:
            raise ValueError(f"DUID-UUID needs 16 octets, got {len(self.uuid)}")
        return b"\x00\x04" + self.uuid


@dataclass(frozen=True, slots=True)
class DuidOther:
    """A DUID of unknown type, or of a known type too short for its layout, kept verbatim."""

    duid_type: int
    data: bytes

    def encode(self) -> bytes:
        """Return the DUID octets (type + data)."""
        return _U16.pack(self.duid_type) + self.data


Duid = DuidLLT | DuidEN | DuidLL | DuidUUID | DuidOther
"""Any parsed DUID; servers treat DUIDs as opaque (RFC 8415 §11), use ``.encode()`` as the key."""

_DUID_MIN, _DUID_MAX = 3, 130  # type + 1..128 octets (RFC 8415 §11.1)


def decode_duid(raw: bytes) -> Duid:
    """Parse DUID octets; raises :class:`DecodeError` if shorter than 3 or longer than 130 octets."""
    if not _DUID_MIN <= len(raw) <= _DUID_MAX:
        raise DecodeError(f"DUID length {len(raw)} outside {_DUID_MIN}..{_DUID_MAX} (RFC 8415 §11.1)")
    t = (raw[0] << 8) | raw[1]
    if t == 1 and len(raw) >= 8:
        return DuidLLT(int.from_bytes(raw[2:4]), int.from_bytes(raw[4:8]), raw[8:])
    if t == 2 and len(raw) >= 6:
        return DuidEN(int.from_bytes(raw[2:6]), raw[6:])
    if t == 3 and len(raw) >= 4:
        return DuidLL(int.from_bytes(raw[2:4]), raw[4:])
    if t == 4 and len(raw) == 18:
        return DuidUUID(raw[2:])
    return DuidOther(t, raw[2:])


HW_TYPE_ETHERNET = 1  # IANA ARP hardware type (RFC 826); used by RFC 8415 §11.2 and RFC 6939


def duid_mac(duid: Duid | bytes) -> bytes | None:
    """Return the 6-octet MAC in a DUID-LL/LLT with hardware type 1 (Ethernet), else ``None``."""
    if isinstance(duid, bytes):
        try:
            duid = decode_duid(duid)
        except DecodeError:
            return None
    if isinstance(duid, DuidLL | DuidLLT) and duid.hw_type == HW_TYPE_ETHERNET:
        mac = duid.link_layer_address
        return mac if len(mac) == 6 else None
    return None
