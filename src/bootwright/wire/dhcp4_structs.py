"""Structured DHCPv4 option codecs: client/machine ids, user class, sub-options, DNS names,
classless routes, FQDN (RFC 2132 §9.14, RFC 3004, RFC 3046, RFC 3397, RFC 3442, RFC 4578, RFC 4702).

Same contract as :mod:`bootwright.wire.dhcp4_codecs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from uuid import UUID

from bootwright.wire import DecodeError
from bootwright.wire.dhcp4_codecs import Codec, StringCodec, format_hex, parse_hex, split_items

__all__ = [
    "CLASSLESS_ROUTES",
    "CLIENT_FQDN",
    "CLIENT_ID",
    "DOMAIN_LIST",
    "MACHINE_ID",
    "USER_CLASS",
    "ClasslessRoutesCodec",
    "ClientFqdn",
    "ClientFqdnCodec",
    "ClientIdCodec",
    "ClientIdentifier",
    "DomainListCodec",
    "MachineId",
    "MachineIdCodec",
    "Route",
    "SubOptionsCodec",
    "UserClassCodec",
    "decode_domain_list",
    "encode_domain_list",
]


@dataclass(frozen=True, slots=True)
class ClientIdentifier:
    """Option 61 (RFC 2132 §9.14): a type octet and an identifier.

    ``type`` is an ARP hardware type (1 = Ethernet, then ``data`` is a MAC), 0
    for free-form data, or 255 for IAID + DUID (RFC 4361 §6.1).
    """

    type: int
    data: bytes

    @property
    def raw(self) -> bytes:
        """The option value octets: type then data."""
        return bytes((self.type,)) + self.data


class ClientIdCodec(Codec[ClientIdentifier]):
    """Client identifier, option 61 (RFC 2132 §9.14); at least the type octet."""

    __slots__ = ()

    def decode(self, raw: bytes) -> ClientIdentifier:
        """Type octet + data (RFC wants ≥ 2 octets; 1 is tolerated)."""
        if not raw:
            raise DecodeError("client identifier is empty")
        return ClientIdentifier(raw[0], raw[1:])

    def encode(self, value: ClientIdentifier) -> bytes:
        """Type octet + data."""
        if not 0 <= value.type <= 255:
            raise ValueError(f"client identifier type {value.type} is not an octet")
        return value.raw

    def format(self, value: ClientIdentifier) -> str:
        """All octets as hex, type first (``01:52:54:00:12:34:56``), like ISC dhcpd."""
        return format_hex(value.raw)

    def parse(self, text: str) -> ClientIdentifier:
        """Hex octets, type first."""
        raw = parse_hex(text)
        if not raw:
            raise ValueError("a client identifier needs at least its type octet")
        return ClientIdentifier(raw[0], raw[1:])


@dataclass(frozen=True, slots=True)
class MachineId:
    """Option 97 client machine identifier (RFC 4578 §2.3): type 0 + a 16-octet GUID."""

    type: int
    ident: bytes

    @property
    def uuid(self) -> UUID | None:
        """The GUID as a UUID, or ``None`` unless type 0 with 16 octets.

        Firmware sends the SMBIOS/EFI GUID with its first three fields
        little-endian (RFC 4578 §2.3 defers to EFI; iPXE ``dhcp.c`` does the
        same), so this equals the UUID ``dmidecode`` and ``qemu -uuid`` show.
        """
        if self.type != 0 or len(self.ident) != 16:
            return None
        return UUID(bytes_le=self.ident)


class MachineIdCodec(Codec[MachineId]):
    """Client machine identifier, option 97 (RFC 4578 §2.3)."""

    __slots__ = ()

    def decode(self, raw: bytes) -> MachineId:
        """Type octet + identifier (any length tolerated)."""
        if not raw:
            raise DecodeError("client machine identifier is empty")
        return MachineId(raw[0], raw[1:])

    def encode(self, value: MachineId) -> bytes:
        """Type octet + identifier."""
        return bytes((value.type,)) + value.ident

    def format(self, value: MachineId) -> str:
        """The UUID string for a GUID, else hex of all octets."""
        u = value.uuid
        return str(u) if u is not None else format_hex(self.encode(value))

    def parse(self, text: str) -> MachineId:
        """A UUID string (becomes type 0) or hex octets, type first."""
        t = text.strip()
        if len(t) in (36, 38):  # 8-4-4-4-12, optionally in braces
            try:
                return MachineId(0, UUID(t).bytes_le)
            except ValueError:
                pass
        raw = parse_hex(t)
        if not raw:
            raise ValueError("a machine identifier needs at least its type octet")
        return MachineId(raw[0], raw[1:])


class UserClassCodec(Codec[tuple[str, ...]]):
    """User class, option 77: RFC 3004 §4 length-prefixed items, or one raw string.

    iPXE (and older gPXE/Etherboot) send the bare text ``iPXE`` instead of
    ``\\x04iPXE``; when the octets are not a well-formed RFC 3004 list they are
    read as one item, which is what ISC dhcpd and dnsmasq match on.
    Encoding always writes the RFC 3004 form.
    """

    __slots__ = ()

    def decode(self, raw: bytes) -> tuple[str, ...]:
        """Decode both forms; non-UTF-8 text is malformed."""
        items: list[bytes] = []
        i, n = 0, len(raw)
        while i < n:
            k = raw[i]
            if k == 0 or i + 1 + k > n:
                items = [raw]  # RFC 3004 form does not fit: the raw form iPXE sends
                break
            items.append(raw[i + 1 : i + 1 + k])
            i += 1 + k
        try:
            return tuple(it.decode() for it in items)
        except UnicodeDecodeError:
            raise DecodeError("user class is not UTF-8 text") from None

    def encode(self, value: tuple[str, ...]) -> bytes:
        """RFC 3004 §4: each item is a length octet (1..255) and its octets."""
        out = bytearray()
        for item in value:
            b = item.encode()
            if not 1 <= len(b) <= 255:
                raise ValueError(f"user class item {item!r} must be 1..255 octets (RFC 3004 §4)")
            out.append(len(b))
            out += b
        return bytes(out)

    def format(self, value: tuple[str, ...]) -> str:
        """``iPXE`` or ``a, b``."""
        return ", ".join(value)

    def parse(self, text: str) -> tuple[str, ...]:
        """Items separated by commas."""
        return tuple(p.strip() for p in text.split(",") if p.strip())


class SubOptionsCodec(Codec[dict[int, bytes]]):
    """Encapsulated sub-options ``code, length, value`` as an ordered ``dict``.

    With ``pad_end`` the RFC 2132 §8.4 rules apply (vendor options 43, iPXE
    175): PAD (0) is skipped and END (255) stops; an END is written after a
    non-empty list. Without it (relay agent information, RFC 3046 §2.0) every
    code is a sub-option. Repeated codes are concatenated (as RFC 3396 does for
    options); values over 255 octets are split on encode.
    """

    __slots__ = ("names", "pad_end")

    def __init__(self, names: Mapping[int, str], *, pad_end: bool) -> None:
        """``names`` maps sub-option codes to the names used in text."""
        self.names = names
        self.pad_end = pad_end

    def decode(self, raw: bytes) -> dict[int, bytes]:
        """Decode; a sub-option running past the end is malformed."""
        out: dict[int, bytes] = {}
        i, n, pad_end = 0, len(raw), self.pad_end
        while i < n:
            code = raw[i]
            if pad_end:
                if code == 0:
                    i += 1
                    continue
                if code == 255:
                    break
            if i + 1 >= n:
                raise DecodeError(f"sub-option {code} at offset {i} has no length octet")
            j = i + 2 + raw[i + 1]
            if j > n:
                raise DecodeError(f"sub-option {code} at offset {i} runs past the end")
            value = raw[i + 2 : j]
            out[code] = out[code] + value if code in out else value
            i = j
        return out

    def encode(self, value: dict[int, bytes]) -> bytes:
        """Encode in order; ``ValueError`` for codes outside 0..255 (1..254 with ``pad_end``)."""
        out = bytearray()
        lo, hi = (1, 254) if self.pad_end else (0, 255)
        for code, v in value.items():
            if not lo <= code <= hi:
                raise ValueError(f"sub-option code {code} is outside {lo}..{hi}")
            v = bytes(v)
            for k in range(0, max(len(v), 1), 255):
                chunk = v[k : k + 255]
                out.append(code)
                out.append(len(chunk))
                out += chunk
        if self.pad_end and out:
            out.append(255)
        return bytes(out)

    def format(self, value: dict[int, bytes]) -> str:
        """``circuit-id=00:01, 151=0a`` (known names, else numbers; values as hex)."""
        names = self.names
        return ", ".join(f"{names.get(c, c)}={format_hex(v)}" for c, v in value.items())

    def parse(self, text: str) -> dict[int, bytes]:
        """``name=hex`` or ``code=hex`` items separated by commas."""
        by_name = {n: c for c, n in self.names.items()}
        out: dict[int, bytes] = {}
        for item in text.split(","):
            if not item.strip():
                continue
            key, sep, val = item.partition("=")
            key = key.strip()
            if not sep:
                raise ValueError(f"{item.strip()!r}: write sub-options as name=hex or code=hex")
            code = int(key, 0) if key[:1].isdigit() else by_name.get(key)
            if code is None:
                raise ValueError(f"unknown sub-option {key!r} (known: {', '.join(by_name)})")
            out[code] = parse_hex(val)
        return out


# --- DNS names (RFC 1035 §3.1 and §4.1.4 compression, as used by RFC 3397) -----------------


def _labels(name: str) -> list[bytes]:
    name = name.removesuffix(".")
    if not name:
        return []
    labels = []
    for label in name.split("."):
        try:
            b = label.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"DNS name {name!r} is not ASCII (use its IDNA A-label form)") from None
        if not 1 <= len(b) <= 63:  # RFC 1035 §2.3.4
            raise ValueError(f"bad DNS label {label!r} in {name!r} (1..63 octets)")
        labels.append(b)
    if sum(len(b) + 1 for b in labels) + 1 > 255:  # RFC 1035 §2.3.4
        raise ValueError(f"DNS name {name!r} is longer than 255 octets")
    return labels


def encode_domain_list(names: Iterable[str], *, compress: bool = True) -> bytes:
    """Encode names back to back, compressing repeated suffixes (RFC 3397 §2, RFC 1035 §4.1.4).

    Pointers are offsets from the start of the (reassembled) option value, as
    RFC 3397 §2 requires. Suffixes match exactly (case-sensitive), so decoding
    returns the names as given. Names are written without the trailing dot.
    """
    out = bytearray()
    seen: dict[tuple[bytes, ...], int] = {}
    for name in names:
        labels = _labels(name)
        for i, label in enumerate(labels):
            suffix = tuple(labels[i:])
            if compress:
                ptr = seen.get(suffix)
                if ptr is not None:
                    out += (0xC000 | ptr).to_bytes(2, "big")
                    break
                if len(out) < 0x4000:
                    seen[suffix] = len(out)
            out.append(len(label))
            out += label
        else:
            out.append(0)
    return bytes(out)


def _read_name(raw: bytes, pos: int) -> tuple[str, int]:
    """Read one possibly compressed name at ``pos``; return it and the offset after it."""
    labels: list[str] = []
    n = len(raw)
    limit = pos  # each pointer must go strictly below the previous one: no loops
    after = -1
    wire_len = 1
    while True:
        if pos >= n:
            raise DecodeError(f"DNS name at offset {pos} runs past the end")
        k = raw[pos]
        if k == 0:
            pos += 1
            break
        if k >= 0xC0:  # RFC 1035 §4.1.4 pointer
            if pos + 1 >= n:
                raise DecodeError(f"DNS compression pointer at offset {pos} is cut short")
            target = ((k & 0x3F) << 8) | raw[pos + 1]
            if target >= limit:
                raise DecodeError(f"DNS compression pointer at offset {pos} does not point backwards")
            if after < 0:
                after = pos + 2
            limit = pos = target
            continue
        if k > 63:  # 0x40 and 0x80 label types (RFC 6891 §5) are not names
            raise DecodeError(f"DNS label type {k:#x} at offset {pos} is not supported")
        end = pos + 1 + k
        if end > n:
            raise DecodeError(f"DNS label at offset {pos} runs past the end")
        chunk = raw[pos + 1 : end]
        if not chunk.isascii() or b"." in chunk:
            raise DecodeError(f"DNS label at offset {pos} is not plain ASCII")
        wire_len += k + 1
        if wire_len > 255:
            raise DecodeError(f"DNS name at offset {pos} is longer than 255 octets")
        labels.append(chunk.decode("ascii"))
        pos = end
    return ".".join(labels), (after if after >= 0 else pos)


def decode_domain_list(raw: bytes) -> tuple[str, ...]:
    """Decode back-to-back, possibly compressed names filling ``raw`` (RFC 3397 §2)."""
    names: list[str] = []
    pos, n = 0, len(raw)
    while pos < n:
        name, pos = _read_name(raw, pos)
        names.append(name)
    return tuple(names)


class DomainListCodec(Codec[tuple[str, ...]]):
    """Domain search list, option 119 (RFC 3397 §2), with compression."""

    __slots__ = ()

    def decode(self, raw: bytes) -> tuple[str, ...]:
        """See :func:`decode_domain_list`."""
        return decode_domain_list(raw)

    def encode(self, value: tuple[str, ...]) -> bytes:
        """See :func:`encode_domain_list`."""
        return encode_domain_list(value)

    def format(self, value: tuple[str, ...]) -> str:
        """``eng.apple.com, marketing.apple.com``."""
        return ", ".join(value)

    def parse(self, text: str) -> tuple[str, ...]:
        """Names separated by commas and/or blanks (a trailing dot is dropped)."""
        return tuple(p.removesuffix(".") for p in split_items(text))


# --- structured options -------------------------------------------------------------------------

Route = tuple[IPv4Network, IPv4Address]


class ClasslessRoutesCodec(Codec[tuple[Route, ...]]):
    """Classless static routes, option 121 (RFC 3442 §2): width, significant octets, router."""

    __slots__ = ()

    def decode(self, raw: bytes) -> tuple[Route, ...]:
        """Decode; host bits set past the prefix width are cleared."""
        routes: list[Route] = []
        i, n = 0, len(raw)
        while i < n:
            width = raw[i]
            if width > 32:
                raise DecodeError(f"route at offset {i}: prefix width {width} > 32")
            k = (width + 7) // 8
            end = i + 1 + k + 4
            if end > n:
                raise DecodeError(f"route at offset {i} runs past the end")
            dest = int.from_bytes(raw[i + 1 : i + 1 + k].ljust(4, b"\x00"), "big")
            net = IPv4Network((dest, width), strict=False)
            routes.append((net, IPv4Address(raw[i + 1 + k : end])))
            i = end
        return tuple(routes)

    def encode(self, value: tuple[Route, ...]) -> bytes:
        """Encode ``(network, router)`` pairs in order."""
        out = bytearray()
        for net, router in value:
            net = IPv4Network(net)
            w = net.prefixlen
            out.append(w)
            out += net.network_address.packed[: (w + 7) // 8]
            out += IPv4Address(router).packed
        return bytes(out)

    def format(self, value: tuple[Route, ...]) -> str:
        """``10.0.0.0/8 via 192.0.2.1, 0.0.0.0/0 via 192.0.2.254``."""
        return ", ".join(f"{net} via {gw}" for net, gw in value)

    def parse(self, text: str) -> tuple[Route, ...]:
        """``NET/LEN via ROUTER`` (or ``NET/LEN ROUTER``) items separated by commas."""
        routes: list[Route] = []
        for item in text.split(","):
            parts = [p for p in item.split() if p != "via"]
            if not parts:
                continue
            if len(parts) != 2:
                raise ValueError(f"{item.strip()!r}: write a route as 10.0.0.0/8 via 192.0.2.1")
            routes.append((IPv4Network(parts[0]), IPv4Address(parts[1])))
        return tuple(routes)


@dataclass(frozen=True, slots=True)
class ClientFqdn:
    """Option 81 (RFC 4702 §2): flags, two deprecated RCODE octets, and a name.

    ``name`` is kept as sent: DNS wire format when flag E (0x04) is set
    (RFC 4702 §2.3.1; no terminating root label means a partial name), else
    ASCII. :attr:`domain` gives it as text.
    """

    flags: int
    rcode1: int
    rcode2: int
    name: bytes

    @property
    def domain(self) -> str:
        """The name as text; a fully qualified wire name ends with ``.``. Raises :class:`DecodeError`."""
        if not self.flags & 0x04:
            return StringCodec().decode(self.name)
        if not self.name:
            return ""
        full = self.name.endswith(b"\x00")
        text, end = _read_name(self.name if full else self.name + b"\x00", 0)
        if end != len(self.name) + (0 if full else 1):
            raise DecodeError("FQDN option name has octets after its end")
        return text + "." if full else text


class ClientFqdnCodec(Codec[ClientFqdn]):
    """Client FQDN, option 81 (RFC 4702 §2); fields kept raw."""

    __slots__ = ()

    def decode(self, raw: bytes) -> ClientFqdn:
        """At least the three fixed octets."""
        if len(raw) < 3:
            raise DecodeError(f"FQDN option needs at least 3 octets, got {len(raw)}")
        return ClientFqdn(raw[0], raw[1], raw[2], raw[3:])

    def encode(self, value: ClientFqdn) -> bytes:
        """Flags, rcode1, rcode2, name."""
        try:
            return bytes((value.flags, value.rcode1, value.rcode2)) + value.name
        except ValueError:
            raise ValueError("FQDN flags and rcodes must be octets") from None

    def format(self, value: ClientFqdn) -> str:
        """``flags=0x05 rcode1=255 rcode2=255 name=host.example.com.`` (hex name if not text)."""
        try:
            name = value.domain
            if not name.isprintable() or " " in name or self._name(value.flags, name) != value.name:
                raise ValueError("not representable as text")
        except (DecodeError, ValueError):
            name = "0x" + value.name.hex()
        return f"flags={value.flags:#04x} rcode1={value.rcode1} rcode2={value.rcode2} name={name}"

    def parse(self, text: str) -> ClientFqdn:
        """The :meth:`format` form; ``name=`` may be text or ``0x`` hex."""
        fields = dict(p.partition("=")[::2] for p in text.split())
        try:
            flags = int(fields.get("flags", "0"), 0)
            r1 = int(fields.get("rcode1", "0"), 0)
            r2 = int(fields.get("rcode2", "0"), 0)
        except ValueError:
            raise ValueError(f"{text!r}: write flags=0x05 rcode1=0 rcode2=0 name=host.example.") from None
        return ClientFqdn(flags, r1, r2, self._name(flags, fields.get("name", "")))

    @staticmethod
    def _name(flags: int, text: str) -> bytes:
        if text.startswith("0x"):
            return parse_hex(text)
        if not flags & 0x04:
            try:
                return text.encode("ascii")
            except UnicodeEncodeError:
                raise ValueError(f"FQDN name {text!r} is not ASCII") from None
        if not text:
            return b""
        wire = encode_domain_list([text], compress=False)
        return wire if text.endswith(".") else wire[:-1]  # RFC 4702 §2.3.1 partial name


# --- shared instances (codecs hold no state) -----------------------------------------------------

CLIENT_ID: ClientIdCodec = ClientIdCodec()
MACHINE_ID: MachineIdCodec = MachineIdCodec()
USER_CLASS: UserClassCodec = UserClassCodec()
DOMAIN_LIST: DomainListCodec = DomainListCodec()
CLASSLESS_ROUTES: ClasslessRoutesCodec = ClasslessRoutesCodec()
CLIENT_FQDN: ClientFqdnCodec = ClientFqdnCodec()
