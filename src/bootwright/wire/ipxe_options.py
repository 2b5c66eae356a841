"""iPXE's encapsulated DHCPv4 options (option 175), as data.

Names and codes follow iPXE's ``src/include/ipxe/dhcp.h`` and the ``option
space ipxe`` declarations of seed 004's dhcpd.conf. Config files may name a
setting (``no-pxedhcp = 1``) or give its decimal code (``"176" = 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["int8", "uint8", "string", "hex"]


@dataclass(frozen=True, slots=True)
class IpxeOption:
    """One iPXE encapsulated option: its name, code and value type."""

    name: str
    code: int
    kind: Kind


_TABLE: tuple[IpxeOption, ...] = (
    IpxeOption("priority", 1, "int8"),  # DHCP_EB_PRIORITY
    IpxeOption("keep-san", 8, "uint8"),  # DHCP_EB_KEEP_SAN
    IpxeOption("skip-san-boot", 9, "uint8"),  # DHCP_EB_SKIP_SAN_BOOT
    IpxeOption("syslogs", 85, "string"),  # DHCP_EB_SYSLOGS
    IpxeOption("cert", 91, "hex"),  # DHCP_EB_CERT
    IpxeOption("privkey", 92, "hex"),  # DHCP_EB_KEY
    IpxeOption("trust", 90, "hex"),  # DHCP_EB_TRUST: SHA-256 fingerprints of trusted roots
    IpxeOption("crosscert", 93, "string"),  # DHCP_EB_CROSS_CERT
    IpxeOption("no-pxedhcp", 176, "uint8"),  # DHCP_EB_NO_PXEDHCP: skip waiting for ProxyDHCP
    IpxeOption("bus-id", 177, "hex"),  # DHCP_EB_BUS_ID
    IpxeOption("use-cached", 178, "uint8"),  # DHCP_EB_USE_CACHED
    IpxeOption("san-filename", 188, "string"),  # DHCP_EB_SAN_FILENAME
    IpxeOption("bios-drive", 189, "uint8"),  # DHCP_EB_BIOS_DRIVE
    IpxeOption("username", 190, "string"),  # DHCP_EB_USERNAME
    IpxeOption("password", 191, "string"),  # DHCP_EB_PASSWORD
    IpxeOption("reverse-username", 192, "string"),  # DHCP_EB_REVERSE_USERNAME
    IpxeOption("reverse-password", 193, "string"),  # DHCP_EB_REVERSE_PASSWORD
    IpxeOption("version", 235, "string"),  # DHCP_EB_VERSION
    # Feature indicators (DHCP_EB_FEATURE_*): clients send them, servers may match.
    IpxeOption("pxeext", 16, "uint8"),
    IpxeOption("iscsi", 17, "uint8"),
    IpxeOption("aoe", 18, "uint8"),
    IpxeOption("http", 19, "uint8"),
    IpxeOption("https", 20, "uint8"),
    IpxeOption("tftp", 21, "uint8"),
    IpxeOption("ftp", 22, "uint8"),
    IpxeOption("dns", 23, "uint8"),
    IpxeOption("bzimage", 24, "uint8"),
    IpxeOption("multiboot", 25, "uint8"),
    IpxeOption("slam", 26, "uint8"),
    IpxeOption("srp", 27, "uint8"),
    IpxeOption("nbi", 32, "uint8"),
    IpxeOption("pxe", 33, "uint8"),
    IpxeOption("elf", 34, "uint8"),
    IpxeOption("comboot", 35, "uint8"),
    IpxeOption("efi", 36, "uint8"),
    IpxeOption("fcoe", 37, "uint8"),
    IpxeOption("vlan", 38, "uint8"),
    IpxeOption("menu", 39, "uint8"),
    IpxeOption("sdi", 40, "uint8"),
    IpxeOption("nfs", 41, "uint8"),
)

IPXE_OPTIONS: tuple[IpxeOption, ...] = tuple(sorted(_TABLE, key=lambda o: o.code))
"""The one table of option 175 sub-options; ``wire.dhcp4_options`` names sub-options from it."""
IPXE_OPTIONS_BY_NAME: dict[str, IpxeOption] = {o.name: o for o in _TABLE}
IPXE_OPTIONS_BY_CODE: dict[int, IpxeOption] = {o.code: o for o in _TABLE}
# iPXE dhcp.h: the feature indicators (DHCP_EB_FEATURE_*) are the codes 0x10..0x2f; a build sends each
# feature it has as a one-octet sub-option of value 1 in every request's option 175 (iPXE dhcp.h DHCP_FEATURE).
IPXE_FEATURES: dict[str, int] = {o.name: o.code for o in _TABLE if 0x10 <= o.code <= 0x2F}
_FEATURE_NAMES: dict[int, str] = {code: name for name, code in IPXE_FEATURES.items()}


def ipxe_features(raw: bytes) -> frozenset[str]:
    """The feature names a client's option 175 announces (present with a non-zero value).

    Sub-options are ``code, length, value`` with PAD (0) and END (255) as in RFC 2132 §8.4;
    a truncated tail ends the walk (what came before still counts): a client's malformed
    option is not a reason to refuse it.
    """
    found: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        code = raw[i]
        if code == 0:
            i += 1
            continue
        if code == 255 or i + 1 >= n:
            break
        j = i + 2 + raw[i + 1]
        if j > n:
            break
        name = _FEATURE_NAMES.get(code)
        if name is not None and any(raw[i + 2 : j]):
            found.append(name)
        i = j
    return frozenset(found)


def lookup_ipxe_option(key: str) -> IpxeOption | None:
    """Find an option by name (``no-pxedhcp``) or decimal code (``"176"``)."""
    if key.isdigit():
        code = int(key)
        return IPXE_OPTIONS_BY_CODE.get(code) or (IpxeOption(f"option-{code}", code, "hex") if code < 255 else None)
    return IPXE_OPTIONS_BY_NAME.get(key.lower())


def ipxe_option_problem(key: str, value: int | str) -> str | None:
    """Why ``key = value`` is not a valid iPXE setting, or None if it is."""
    opt = lookup_ipxe_option(key)
    if opt is None:
        return f"unknown iPXE option {key!r}"
    if opt.kind == "int8" and not (isinstance(value, int) and -128 <= value <= 127):
        return f"{opt.name} takes an integer from -128 to 127"
    if opt.kind == "uint8" and not (isinstance(value, int) and 0 <= value <= 255):
        return f"{opt.name} takes an integer from 0 to 255"
    if opt.kind in ("string", "hex") and not isinstance(value, str):
        return f"{opt.name} takes a string"
    if opt.kind == "hex" and isinstance(value, str):
        digits = value.replace(":", "")
        if len(digits) % 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            return f"{opt.name} takes hex bytes like 01:02:ab"
    return None


def encode_ipxe_value(code: int, value: int | str) -> bytes:
    """The wire bytes of one sub-option's value (without code and length)."""
    opt = IPXE_OPTIONS_BY_CODE.get(code)
    kind: Kind = opt.kind if opt else "hex"
    if kind == "int8":
        return int(value).to_bytes(1, "big", signed=True)
    if kind == "uint8":
        return int(value).to_bytes(1, "big")
    if kind == "string":
        return str(value).encode()
    return bytes.fromhex(str(value).replace(":", ""))


def decode_ipxe_value(code: int, raw: bytes) -> int | str:
    """A sub-option's value from its wire bytes, as a config would write it; inverse of :func:`encode_ipxe_value`."""
    opt = IPXE_OPTIONS_BY_CODE.get(code)
    kind: Kind = opt.kind if opt else "hex"
    if kind == "int8":
        return int.from_bytes(raw, "big", signed=True)
    if kind == "uint8":
        return int.from_bytes(raw, "big")
    if kind == "string":
        return raw.decode("utf-8", "replace")
    return raw.hex(":")
