"""ISC dhcpd option names and types (dhcp-options(5)) ↔ bootwright option text by code (pure).

dhcpd writes ``option domain-name-servers 192.0.2.1, 192.0.2.2;``; bootwright
keeps ``options = { "6" = "192.0.2.1, 192.0.2.2" }`` (the ``[dhcp4] options``
syntax). Both go through the option's octets: dhcpd's value is encoded with
the codec of its dhcpd type, and the octets are written as bootwright text
with the wire table's codec for the code (:mod:`bootwright.wire.dhcp4_options`),
or as colon hex for a code the table does not know — so an option means the
same octets on either side. ``option NAME code N = TYPE;`` definitions in a
file add names (seed 003: ``option arch code 93 = unsigned integer 16;``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bootwright.wire import DecodeError
from bootwright.wire.dhcp4_codecs import BOOL, BYTES, I32, IPV4, IPV4_LIST, STRING, U8, U16, U32, Codec, format_hex
from bootwright.wire.dhcp4_options import OPTIONS, decode_option, encode_option, format_option, parse_config_value
from bootwright.wire.dhcp4_structs import DOMAIN_LIST

# dhcpd types (dhcp-options(5) "Defining new options") by the kind this module handles.
KIND_CODECS: Mapping[str, Codec[Any]] = {
    "ip": IPV4,
    "ips": IPV4_LIST,
    "text": STRING,
    "u8": U8,
    "u16": U16,
    "u32": U32,
    "i32": I32,
    "bool": BOOL,
    "domains": DOMAIN_LIST,
    "hex": BYTES,
}

# The dhcpd names of the options a host may carry, with their RFC 2132 type (dhcp-options(5)).
# Options the server sets per reply (51–59, 61, 82, …) and the ones a host cannot carry are absent.
DHCPD_OPTIONS: Mapping[str, tuple[int, str]] = {
    "subnet-mask": (1, "ip"),
    "time-offset": (2, "i32"),
    "routers": (3, "ips"),
    "time-servers": (4, "ips"),
    "ien116-name-servers": (5, "ips"),
    "domain-name-servers": (6, "ips"),
    "log-servers": (7, "ips"),
    "cookie-servers": (8, "ips"),
    "lpr-servers": (9, "ips"),
    "impress-servers": (10, "ips"),
    "resource-location-servers": (11, "ips"),
    "host-name": (12, "text"),
    "boot-size": (13, "u16"),
    "merit-dump": (14, "text"),
    "domain-name": (15, "text"),
    "swap-server": (16, "ip"),
    "root-path": (17, "text"),
    "extensions-path": (18, "text"),
    "ip-forwarding": (19, "bool"),
    "non-local-source-routing": (20, "bool"),
    "max-dgram-reassembly": (22, "u16"),
    "default-ip-ttl": (23, "u8"),
    "path-mtu-aging-timeout": (24, "u32"),
    "interface-mtu": (26, "u16"),
    "all-subnets-local": (27, "bool"),
    "broadcast-address": (28, "ip"),
    "perform-mask-discovery": (29, "bool"),
    "mask-supplier": (30, "bool"),
    "router-discovery": (31, "bool"),
    "router-solicitation-address": (32, "ip"),
    "trailer-encapsulation": (34, "bool"),
    "arp-cache-timeout": (35, "u32"),
    "ieee802-3-encapsulation": (36, "bool"),
    "default-tcp-ttl": (37, "u8"),
    "tcp-keepalive-interval": (38, "u32"),
    "tcp-keepalive-garbage": (39, "bool"),
    "nis-domain": (40, "text"),
    "nis-servers": (41, "ips"),
    "ntp-servers": (42, "ips"),
    "netbios-name-servers": (44, "ips"),
    "netbios-dd-server": (45, "ips"),
    "netbios-node-type": (46, "u8"),
    "netbios-scope": (47, "text"),
    "font-servers": (48, "ips"),
    "x-display-manager": (49, "ips"),
    "vendor-class-identifier": (60, "text"),
    "nisplus-domain": (64, "text"),
    "nisplus-servers": (65, "ips"),
    "tftp-server-name": (66, "text"),
    "bootfile-name": (67, "text"),
    "mobile-ip-home-agent": (68, "ips"),
    "smtp-server": (69, "ips"),
    "pop-server": (70, "ips"),
    "nntp-server": (71, "ips"),
    "www-server": (72, "ips"),
    "finger-server": (73, "ips"),
    "irc-server": (74, "ips"),
    "streettalk-server": (75, "ips"),
    "streettalk-directory-assistance-server": (76, "ips"),
    "pcode": (100, "text"),
    "tcode": (101, "text"),
    "default-url": (114, "text"),
    "domain-search": (119, "domains"),
}
NAMES_BY_CODE: Mapping[int, str] = {code: name for name, (code, _) in DHCPD_OPTIONS.items()}

# ``option NAME code N = TYPE;``: the dhcpd types this importer reads (dhcp-options(5)).
DEFINITION_TYPES: Mapping[str, str] = {
    "ip-address": "ip",
    "array of ip-address": "ips",
    "text": "text",
    "string": "hex",
    "boolean": "bool",
    "unsigned integer 8": "u8",
    "unsigned integer 16": "u16",
    "unsigned integer 32": "u32",
    "signed integer 32": "i32",
    "domain-list": "domains",
    "domain-list compressed": "domains",
}


@dataclass(frozen=True, slots=True)
class DhcpdValue:
    """One value of a dhcpd option statement: its words (quoted or not), commas left out."""

    words: tuple[tuple[str, bool], ...]  # (text, quoted)


def to_text(code: int, kind: str, value: DhcpdValue) -> str:
    """The bootwright text of a dhcpd option value; ``ValueError`` says what is wrong."""
    words = value.words
    if not words:
        raise ValueError("the option has no value")
    if kind in ("text", "hex") and len(words) != 1:
        raise ValueError("expected one value (a quoted text)")
    if kind in ("ip", "u8", "u16", "u32", "i32", "bool") and len(words) != 1:
        raise ValueError(f"expected one value, found {len(words)}")
    octets: bytes
    if kind == "text" or (kind == "hex" and words[0][1]):
        octets = words[0][0].encode()
    elif kind == "hex":
        octets = BYTES.parse(words[0][0])
    else:
        texts = [w for w, _ in words]
        if kind in ("ip", "ips"):
            names = [t for t in texts if not _looks_like_ipv4(t)]
            if names:
                raise ValueError(
                    f"{', '.join(names)}: a name, not an IPv4 address (dhcpd resolves names when it "
                    "loads; give the address)"
                )
        codec = KIND_CODECS[kind]
        octets = codec.encode(codec.parse(", ".join(texts)))
    if code in OPTIONS:
        return format_option(code, decode_option(code, octets))
    return format_hex(octets)


def to_dhcpd(code: int, text: str) -> tuple[str, str, str | None]:
    """``(name, value, definition)`` of a bootwright option for dhcpd.conf.

    ``definition`` is an ``option NAME code N = string;`` line for a code
    dhcpd has no name for here (the value is then colon hex), else ``None``.
    """
    octets = encode_option(code, parse_config_value(code, text))
    name = NAMES_BY_CODE.get(code)
    if name is not None:
        kind = DHCPD_OPTIONS[name][1]
        try:
            return name, _render(kind, KIND_CODECS[kind].decode(octets)), None
        except DecodeError:
            pass  # octets the dhcpd type cannot hold: sent as a plain string below
    name = f"bootwright-option-{code}"
    return name, format_hex(octets) if octets else '""', f"option {name} code {code} = string;"


def _render(kind: str, value: Any) -> str:
    if kind == "ips":
        return ", ".join(map(str, value))
    if kind == "text":
        return quote(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "domains":
        return ", ".join(quote(v) for v in value)
    if kind == "hex":
        return format_hex(value)
    return str(value)


def quote(text: str) -> str:
    """A dhcpd.conf quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _looks_like_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)
