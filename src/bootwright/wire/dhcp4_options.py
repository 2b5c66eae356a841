"""The DHCPv4 option table as data (RFC 2132 and later), plus helpers.

Each known option is an :class:`OptionSpec` binding its code to a name, a
value codec (:mod:`bootwright.wire.dhcp4_codecs`) and the RFC section that
defines it. :data:`OPTIONS` maps code -> spec. Unknown codes are opaque octets.

Messages (:mod:`bootwright.wire.dhcp4`) keep every option as raw octets; the
helpers here decode one value on demand (``decode_option``), encode one
(``encode_option``), and render/parse the text people read and write
(``format_option`` / ``parse_option_text``), so that
``parse_option_text(c, format_option(c, v)) == v``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, Generic, TypeVar

from bootwright.wire import DecodeError
from bootwright.wire.dhcp4_codecs import (
    BOOL,
    BYTES,
    FLAG,
    I32,
    IPV4,
    IPV4_LIST,
    STRING,
    U8,
    U8_LIST,
    U16,
    U16_LIST,
    U32,
    Codec,
    EnumCodec,
    StringCodec,
    format_hex,
)
from bootwright.wire.dhcp4_structs import (
    CLASSLESS_ROUTES,
    CLIENT_FQDN,
    CLIENT_ID,
    DOMAIN_LIST,
    MACHINE_ID,
    USER_CLASS,
    ClientFqdn,
    ClientIdentifier,
    MachineId,
    Route,
    SubOptionsCodec,
)
from bootwright.wire.ipxe_options import IPXE_OPTIONS

__all__ = [
    "BOOTFILE_NAME",
    "BROADCAST_ADDRESS",
    "CLASSLESS_STATIC_ROUTES",
    "CLIENT_ARCH",
    "CLIENT_FQDN_OPTION",
    "CLIENT_IDENTIFIER",
    "CLIENT_MACHINE_ID",
    "CLIENT_NDI",
    "DNS_SERVERS",
    "DOMAIN_NAME",
    "DOMAIN_SEARCH",
    "END",
    "HOST_NAME",
    "INTERFACE_MTU",
    "IPXE_ENCAP",
    "IPXE_SUBOPTIONS",
    "IP_FORWARDING",
    "LEASE_TIME",
    "MAX_MESSAGE_SIZE",
    "MESSAGE",
    "MESSAGE_TYPE",
    "NTP_SERVERS",
    "OPTIONS",
    "OPTION_OVERLOAD",
    "PAD",
    "PARAMETER_REQUEST_LIST",
    "PXELINUX_CONFIGFILE",
    "PXELINUX_PATHPREFIX",
    "PXE_SUBOPTIONS",
    "RAPID_COMMIT",
    "REBINDING_TIME",
    "RELAY_AGENT_INFO",
    "RELAY_SUBOPTIONS",
    "RENEWAL_TIME",
    "REQUESTED_ADDRESS",
    "ROOT_PATH",
    "ROUTERS",
    "SERVER_ID",
    "SUBNET_MASK",
    "SUBNET_SELECTION",
    "TFTP_SERVER_ADDRESS",
    "TFTP_SERVER_NAME",
    "TIME_OFFSET",
    "USER_CLASS_OPTION",
    "VENDOR_CLASS",
    "VENDOR_SPECIFIC",
    "ClientFqdn",
    "ClientIdentifier",
    "MachineId",
    "MessageType",
    "OptionSpec",
    "RelaySubOption",
    "Route",
    "decode_option",
    "describe_option",
    "encode_option",
    "encode_options",
    "format_option",
    "option_code",
    "option_name",
    "option_spec",
    "parse_config_value",
    "parse_option_text",
]

T = TypeVar("T")

PAD: Final = 0  # RFC 2132 §3.1: one octet, no length
END: Final = 255  # RFC 2132 §3.2: one octet, no length


class MessageType(IntEnum):
    """DHCP message type, option 53 (RFC 2132 §9.6; IANA "DHCP Message Type 53 Values")."""

    DISCOVER = 1  # RFC 2132 §9.6, RFC 2131 §3.1
    OFFER = 2  # RFC 2132 §9.6
    REQUEST = 3  # RFC 2132 §9.6
    DECLINE = 4  # RFC 2132 §9.6
    ACK = 5  # RFC 2132 §9.6
    NAK = 6  # RFC 2132 §9.6
    RELEASE = 7  # RFC 2132 §9.6
    INFORM = 8  # RFC 2132 §9.6, RFC 2131 §3.4
    FORCERENEW = 9  # RFC 3203 §4
    LEASEQUERY = 10  # RFC 4388 §6.1
    LEASEUNASSIGNED = 11  # RFC 4388 §6.1
    LEASEUNKNOWN = 12  # RFC 4388 §6.1
    LEASEACTIVE = 13  # RFC 4388 §6.1
    BULKLEASEQUERY = 14  # RFC 6926 §6.2.1
    LEASEQUERYDONE = 15  # RFC 6926 §6.2.1
    ACTIVELEASEQUERY = 16  # RFC 7724 §5.2.1
    LEASEQUERYSTATUS = 17  # RFC 7724 §5.2.1
    TLS = 18  # RFC 7724 §5.2.1


class RelaySubOption(IntEnum):
    """Relay agent information sub-option codes, option 82 (RFC 3046 §2.0; IANA registry)."""

    CIRCUIT_ID = 1  # RFC 3046 §3.1
    REMOTE_ID = 2  # RFC 3046 §3.2
    DOCSIS_DEVICE_CLASS = 4  # RFC 3256 §3
    LINK_SELECTION = 5  # RFC 3527 §3
    SUBSCRIBER_ID = 6  # RFC 3993 §3
    RADIUS_ATTRIBUTES = 7  # RFC 4014 §3
    AUTHENTICATION = 8  # RFC 4030 §4
    VENDOR_SPECIFIC = 9  # RFC 4243 §2
    RELAY_AGENT_FLAGS = 10  # RFC 5010 §3
    SERVER_ID_OVERRIDE = 11  # RFC 5107 §4
    RELAY_ID = 12  # RFC 6925 §5
    VSS_INFO = 151  # RFC 6607 §3.1
    VSS_CONTROL = 152  # RFC 6607 §3.2


#: Relay agent sub-option names (text form of option 82).
RELAY_SUBOPTIONS: Final[Mapping[int, str]] = {int(m): m.name.lower().replace("_", "-") for m in RelaySubOption}

#: PXE vendor sub-options carried in option 43 by PXEClient (PXE spec 2.1 §2.2.5, Table 2-1).
PXE_SUBOPTIONS: Final[Mapping[int, str]] = {
    1: "mtftp-ip",
    2: "mtftp-cport",
    3: "mtftp-sport",
    4: "mtftp-tmout",
    5: "mtftp-delay",
    6: "discovery-control",
    7: "discovery-mcast-addr",
    8: "boot-servers",
    9: "boot-menu",
    10: "menu-prompt",
    11: "mcast-addrs-alloc",
    12: "credential-types",
    71: "boot-item",
}

#: iPXE encapsulated option 175 sub-options by code, named by the one table in :mod:`.ipxe_options`.
IPXE_SUBOPTIONS: Final[Mapping[int, str]] = {o.code: o.name for o in IPXE_OPTIONS}


@dataclass(frozen=True, slots=True)
class OptionSpec(Generic[T]):
    """One row of the option table: code, name, value codec and where it is defined."""

    code: int
    name: str
    codec: Codec[T]
    ref: str


# --- the table ------------------------------------------------------------------------------
# Names follow ISC dhcpd where one exists. Each row cites its defining section.

SUBNET_MASK: Final = OptionSpec(1, "subnet-mask", IPV4, "RFC 2132 §3.3")
TIME_OFFSET: Final = OptionSpec(2, "time-offset", I32, "RFC 2132 §3.4")
ROUTERS: Final = OptionSpec(3, "routers", IPV4_LIST, "RFC 2132 §3.5")
DNS_SERVERS: Final = OptionSpec(6, "domain-name-servers", IPV4_LIST, "RFC 2132 §3.8")
HOST_NAME: Final = OptionSpec(12, "host-name", STRING, "RFC 2132 §3.14")
DOMAIN_NAME: Final = OptionSpec(15, "domain-name", STRING, "RFC 2132 §3.17")
ROOT_PATH: Final = OptionSpec(17, "root-path", STRING, "RFC 2132 §3.19")
IP_FORWARDING: Final = OptionSpec(19, "ip-forwarding", BOOL, "RFC 2132 §4.1")
INTERFACE_MTU: Final = OptionSpec(26, "interface-mtu", U16, "RFC 2132 §5.1")
BROADCAST_ADDRESS: Final = OptionSpec(28, "broadcast-address", IPV4, "RFC 2132 §5.3")
NTP_SERVERS: Final = OptionSpec(42, "ntp-servers", IPV4_LIST, "RFC 2132 §8.3")
VENDOR_SPECIFIC: Final = OptionSpec(
    43, "vendor-encapsulated-options", SubOptionsCodec(PXE_SUBOPTIONS, pad_end=True), "RFC 2132 §8.4"
)
REQUESTED_ADDRESS: Final = OptionSpec(50, "dhcp-requested-address", IPV4, "RFC 2132 §9.1")
LEASE_TIME: Final = OptionSpec(51, "dhcp-lease-time", U32, "RFC 2132 §9.2")
OPTION_OVERLOAD: Final = OptionSpec(52, "dhcp-option-overload", U8, "RFC 2132 §9.3")
MESSAGE_TYPE: Final = OptionSpec(53, "dhcp-message-type", EnumCodec(MessageType, "DHCP"), "RFC 2132 §9.6")
SERVER_ID: Final = OptionSpec(54, "dhcp-server-identifier", IPV4, "RFC 2132 §9.7")
PARAMETER_REQUEST_LIST: Final = OptionSpec(55, "dhcp-parameter-request-list", U8_LIST, "RFC 2132 §9.8")
MESSAGE: Final = OptionSpec(56, "dhcp-message", STRING, "RFC 2132 §9.9")
MAX_MESSAGE_SIZE: Final = OptionSpec(57, "dhcp-max-message-size", U16, "RFC 2132 §9.10")
RENEWAL_TIME: Final = OptionSpec(58, "dhcp-renewal-time", U32, "RFC 2132 §9.11")
REBINDING_TIME: Final = OptionSpec(59, "dhcp-rebinding-time", U32, "RFC 2132 §9.12")
VENDOR_CLASS: Final = OptionSpec(60, "vendor-class-identifier", STRING, "RFC 2132 §9.13")
CLIENT_IDENTIFIER: Final = OptionSpec(61, "dhcp-client-identifier", CLIENT_ID, "RFC 2132 §9.14")
TFTP_SERVER_NAME: Final = OptionSpec(66, "tftp-server-name", STRING, "RFC 2132 §9.4")
BOOTFILE_NAME: Final = OptionSpec(67, "bootfile-name", STRING, "RFC 2132 §9.5")
USER_CLASS_OPTION: Final = OptionSpec(77, "user-class", USER_CLASS, "RFC 3004 §4")
RAPID_COMMIT: Final = OptionSpec(80, "rapid-commit", FLAG, "RFC 4039 §4")
CLIENT_FQDN_OPTION: Final = OptionSpec(81, "fqdn", CLIENT_FQDN, "RFC 4702 §2")
RELAY_AGENT_INFO: Final = OptionSpec(
    82, "relay-agent-information", SubOptionsCodec(RELAY_SUBOPTIONS, pad_end=False), "RFC 3046 §2.0"
)
CLIENT_ARCH: Final = OptionSpec(93, "client-architecture", U16_LIST, "RFC 4578 §2.1")
CLIENT_NDI: Final = OptionSpec(94, "client-network-interface", BYTES, "RFC 4578 §2.2")
CLIENT_MACHINE_ID: Final = OptionSpec(97, "client-machine-identifier", MACHINE_ID, "RFC 4578 §2.3")
SUBNET_SELECTION: Final = OptionSpec(118, "subnet-selection", IPV4, "RFC 3011 §3")
DOMAIN_SEARCH: Final = OptionSpec(119, "domain-search", DOMAIN_LIST, "RFC 3397 §2")
CLASSLESS_STATIC_ROUTES: Final = OptionSpec(121, "classless-static-routes", CLASSLESS_ROUTES, "RFC 3442 §2")
TFTP_SERVER_ADDRESS: Final = OptionSpec(150, "tftp-server-address", IPV4_LIST, "RFC 5859 §3")
IPXE_ENCAP: Final = OptionSpec(
    175, "ipxe-encap-opts", SubOptionsCodec(IPXE_SUBOPTIONS, pad_end=True), "iPXE dhcp.h DHCP_EB_ENCAP"
)
PXELINUX_CONFIGFILE: Final = OptionSpec(209, "pxelinux-configfile", STRING, "RFC 5071 §5.1")
PXELINUX_PATHPREFIX: Final = OptionSpec(210, "pxelinux-pathprefix", STRING, "RFC 5071 §5.2")

#: The option table: code -> spec.
OPTIONS: Final[Mapping[int, OptionSpec[Any]]] = {
    s.code: s
    for s in (
        SUBNET_MASK,
        TIME_OFFSET,
        ROUTERS,
        DNS_SERVERS,
        HOST_NAME,
        DOMAIN_NAME,
        ROOT_PATH,
        IP_FORWARDING,
        INTERFACE_MTU,
        BROADCAST_ADDRESS,
        NTP_SERVERS,
        VENDOR_SPECIFIC,
        REQUESTED_ADDRESS,
        LEASE_TIME,
        OPTION_OVERLOAD,
        MESSAGE_TYPE,
        SERVER_ID,
        PARAMETER_REQUEST_LIST,
        MESSAGE,
        MAX_MESSAGE_SIZE,
        RENEWAL_TIME,
        REBINDING_TIME,
        VENDOR_CLASS,
        CLIENT_IDENTIFIER,
        TFTP_SERVER_NAME,
        BOOTFILE_NAME,
        USER_CLASS_OPTION,
        RAPID_COMMIT,
        CLIENT_FQDN_OPTION,
        RELAY_AGENT_INFO,
        CLIENT_ARCH,
        CLIENT_NDI,
        CLIENT_MACHINE_ID,
        SUBNET_SELECTION,
        DOMAIN_SEARCH,
        CLASSLESS_STATIC_ROUTES,
        TFTP_SERVER_ADDRESS,
        IPXE_ENCAP,
        PXELINUX_CONFIGFILE,
        PXELINUX_PATHPREFIX,
    )
}

_BY_NAME: Final[Mapping[str, int]] = {s.name: c for c, s in OPTIONS.items()}
_UNKNOWN: dict[int, OptionSpec[bytes]] = {}


# --- helpers ---------------------------------------------------------------------------------


def option_spec(code: int) -> OptionSpec[Any]:
    """The spec for ``code``; unknown codes get an opaque-octets spec named ``option-N``."""
    spec = OPTIONS.get(code)
    if spec is not None:
        return spec
    if not 0 <= code <= 255:
        raise ValueError(f"DHCPv4 option code {code} is outside 0..255")
    spec = _UNKNOWN.get(code)
    if spec is None:
        spec = _UNKNOWN[code] = OptionSpec(code, f"option-{code}", BYTES, "opaque")
    return spec


def option_name(code: int) -> str:
    """The option's name (``routers``), or ``option-N`` when unknown."""
    spec = OPTIONS.get(code)
    return spec.name if spec is not None else f"option-{code}"


def option_code(name: str) -> int:
    """The code for a name (``routers``), ``option-N`` or a plain number.

    Raises ``ValueError`` naming close matches when the name is unknown.
    """
    key = name.strip().lower()
    code = _BY_NAME.get(key)
    if code is not None:
        return code
    num = key.removeprefix("option-")
    if num.isdigit() and 1 <= int(num) <= 254:
        return int(num)
    near = [n for n in _BY_NAME if key in n]
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    raise ValueError(f"unknown DHCPv4 option {name!r}{hint}; use a name or a number 1..254")


def decode_option(code: int, raw: bytes) -> Any:
    """Decode the (reassembled) value octets of option ``code``.

    Raises :class:`DecodeError` naming the option when the octets are malformed.
    """
    spec = OPTIONS.get(code)
    if spec is None:
        return raw
    try:
        return spec.codec.decode(raw)
    except DecodeError as e:
        raise DecodeError(f"option {code} ({spec.name}): {e}") from None


def encode_option(code: int, value: Any) -> bytes:
    """Encode a value of option ``code`` to its value octets (any length; see RFC 3396).

    Raises ``ValueError`` naming the option when the value cannot be sent.
    """
    spec = option_spec(code)
    try:
        return spec.codec.encode(value)
    except (ValueError, TypeError) as e:
        raise ValueError(f"option {code} ({spec.name}): {e}") from None


def encode_options(values: Mapping[int, Any] | Iterable[tuple[int, Any]]) -> dict[int, bytes]:
    """Encode decoded values into the raw ``code -> octets`` form messages hold, keeping order."""
    items = values.items() if isinstance(values, Mapping) else values
    return {code: encode_option(code, v) for code, v in items}


def format_option(code: int, value: Any) -> str:
    """Render a decoded value of option ``code`` as text (``192.0.2.1, 192.0.2.2``, ``600``)."""
    return option_spec(code).codec.format(value)


def parse_option_text(code: int, text: str) -> Any:
    """Parse text (a config value) into a value of option ``code``; inverse of :func:`format_option`.

    Raises ``ValueError`` naming the option and the expected form.
    """
    spec = option_spec(code)
    try:
        return spec.codec.parse(text)
    except ValueError as e:
        raise ValueError(f"option {code} ({spec.name}): {e}") from None


def parse_config_value(code: int, text: str) -> Any:
    """The value of option ``code`` written as ``text`` in a config file.

    Text options (host names, URLs, class strings) are taken as they are; every
    other option is parsed by its codec (:func:`parse_option_text`: addresses,
    integers, hex for codes the table does not know, ``name=hex`` for option 43).
    Config validation and the DHCPv4 engine both call this, so ``bootwright
    check`` fails exactly when the server would drop the option.
    """
    if isinstance(option_spec(code).codec, StringCodec):
        return text
    return parse_option_text(code, text)


def describe_option(code: int, raw: bytes) -> str:
    """Render raw value octets as text; malformed values show as hex with the reason."""
    try:
        return format_option(code, decode_option(code, raw))
    except DecodeError as e:
        return f"{format_hex(raw)} (malformed: {e})"
