"""The configuration model: each section of the TOML file as a frozen pydantic model.

Field types and per-field validators live here, with the tables of what a
config may not set (options the server writes itself); what needs several
fields at once is :mod:`.checks`, reading a file is :mod:`.load`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from bootwright.model import InvalidMac, normalize_mac
from bootwright.wire import DecodeError
from bootwright.wire.dhcp4_options import encode_option, option_name, parse_config_value
from bootwright.wire.dhcp6 import option_name as option_name6
from bootwright.wire.dhcp6 import parse_config_option
from bootwright.wire.passhash import PasswordHash

# Placeholders that rule and host boot file strings may use; filled in per reply
# from the address the reply is sent from (see policy.ServerContext).
BOOTFILE_PLACEHOLDERS = ("server", "http", "tftp", "mac", "arch_file")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

# A host name is used in DNS zones, /etc/hosts and dhcpd host blocks (RFC 1123 §2.1, plus '_').
HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?$")
HOST_NAME_RULE = "not a usable host name (letters, digits, '-', '_' and '.'; no spaces)"

# DHCPv4 options the server writes itself in every reply; a value under ``options`` would be
# dropped or replaced (engine/dhcp4/reply.py), so it is refused with what to set instead.
SERVER_OPTIONS: dict[int, str] = {
    0: "pad (RFC 2132 §3.1) is not an option",
    255: "end (RFC 2132 §3.2) is not an option",
    51: "the lease time is set per reply: use 'lease_time'",
    52: "option overload (RFC 2132 §9.3) is decided per reply",
    53: "the message type (RFC 2132 §9.6) is set per reply",
    54: "the server identifier is set per reply: use the subnet's 'server' or server.address4",
    58: "T1 is set per reply from 'lease_time' (RFC 2131 §4.4.5)",
    59: "T2 is set per reply from 'lease_time' (RFC 2131 §4.4.5)",
}

# DHCPv6 options bootwright writes itself, or that have a named key, or that a server never
# sends (client or relay options): a value under ``[dhcp6] options`` is refused with what to do.
_BY_RULE6 = "is set per client through [[rule]] (docs/configuration.md)"
SERVER_OPTIONS6: dict[int, str] = {
    1: "the client identifier is the client's own (RFC 8415 §21.2)",
    2: "the server identifier is this server's DUID (RFC 8415 §21.3)",
    3: "IA_NA is built per reply from the pools: use subnet6 pools",
    4: "IA_TA is answered per reply (RFC 8415 §21.5)",
    5: "IA addresses are built per reply from the pools and host addresses",
    6: "the option request is a client's option (RFC 8415 §21.7)",
    7: "use dhcp6.preference",
    8: "elapsed time is a client's option (RFC 8415 §21.9)",
    9: "relay messages are built per reply (RFC 8415 §21.10)",
    11: "authentication is not supported (RFC 8415 §21.11)",
    12: "this server answers multicast only: it never sends Server Unicast (RFC 8415 §21.12)",
    13: "status codes are set per reply (RFC 8415 §21.13)",
    14: "rapid commit is decided per reply: use dhcp6.rapid_commit",
    16: f"the vendor class {_BY_RULE6}",
    17: f"vendor options {_BY_RULE6}",
    18: "the interface-id is a relay's option (RFC 8415 §21.18)",
    19: "reconfigure is not supported (RFC 8415 §21.19)",
    20: "reconfigure is not supported (RFC 8415 §21.20)",
    23: "use dhcp6.dns",
    24: "use dhcp6.domain_search",
    25: "prefix delegation is answered per reply (docs/ipv6.md)",
    26: "prefix delegation is answered per reply (docs/ipv6.md)",
    32: "use dhcp6.info_refresh_time",
    37: "the remote-id is a relay's option (RFC 4649)",
    43: "the echo request is a relay's option (RFC 4994)",
    56: "use dhcp6.ntp_servers",
    59: f"the boot file URL {_BY_RULE6} (bootfile)",
    60: f"boot file parameters {_BY_RULE6}",
    61: "the client architecture is a client's option (RFC 5970 §3.3)",
    62: "the network interface identifier is a client's option (RFC 5970 §3.4)",
    79: "the client link-layer address is a relay's option (RFC 6939)",
}


def option_problem(key: str, text: str) -> str | None:
    """Why ``options = { key = text }`` would not be sent (the engine would drop it), or None."""
    if not key.isdigit():
        return f"{key!r} is not an option code: write the decimal code (e.g. \"66\" for tftp-server-name)"
    code = int(key)
    if not 0 <= code <= 255:
        return f"option code {code} is outside 1..254 (RFC 2132 §2)"
    if code in SERVER_OPTIONS:
        return f"option {code} ({option_name(code)}): {SERVER_OPTIONS[code]}"
    try:
        encode_option(code, parse_config_value(code, text))
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def option6_problem(key: str, text: str) -> str | None:
    """Why ``[dhcp6] options = { key = text }`` would not be sent, or None (wire/dhcp6.parse_config_option)."""
    if not key.isdigit():
        return f"{key!r} is not an option code: write the decimal code (e.g. \"82\" for sol-max-rt)"
    code = int(key)
    if code in SERVER_OPTIONS6:
        return f"option {code} ({option_name6(code)}): {SERVER_OPTIONS6[code]}"
    try:
        parse_config_option(code, text)
    except ValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration: where (key path, TOML line when known), and what."""

    path: str
    message: str
    line: int | None = None  # 1-based line of the key in the TOML file (see :func:`key_lines`)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def located(self, source: str) -> str:
        """``site.toml:12: subnet4[0].pools[0]: …`` (compiler style, so editors jump to the line)."""
        return f"{source}:{self.line}: {self}" if self.line else f"{source}: {self}"


class ConfigError(Exception):
    """A configuration file that cannot be used, with every problem found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        """All problems, one per line, each prefixed with the file name (and line)."""
        return "\n".join(p.located(self.source) for p in self.problems)


def _as_list(value: Any) -> Any:
    """Let a single value stand where a list is expected (``mac = "…"``)."""
    if isinstance(value, str | int):
        return [value]
    return value


def _mac(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a MAC address must be a string")
    try:
        return normalize_mac(value)
    except InvalidMac as exc:
        raise ValueError(str(exc)) from None


Mac = Annotated[str, BeforeValidator(_mac)]
StrList = Annotated[list[str], BeforeValidator(_as_list)]
IntList = Annotated[list[int], BeforeValidator(_as_list)]
MacList = Annotated[list[Mac], BeforeValidator(_as_list)]
Seconds = Annotated[int, Field(ge=0, le=0xFFFFFFFF)]


class Section(BaseModel):
    """Base for every table: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- server


class ServerSection(Section):
    """Where bootwright listens and which addresses it calls its own."""

    # Interfaces to serve on; empty means every interface that carries a configured subnet.
    interfaces: StrList = []
    # Our address per family, used for {server} in boot files and as the DHCPv4
    # server identifier (RFC 2132 §9.7) where a subnet does not name its own.
    address4: IPv4Address | None = None
    address6: IPv6Address | None = None
    log_format: Literal["text", "json"] = "text"


# --------------------------------------------------------------------------- DHCPv4


class Pool4(Section):
    """An address range handed out dynamically (ISC dhcpd ``range``)."""

    start: IPv4Address
    end: IPv4Address
    # ISC dhcpd ``range dynamic-bootp``: BOOTP clients (RFC 951) may get these too.
    dynamic_bootp: bool = False
    # Who may take an address from this pool (ISC dhcpd ``allow``/``deny`` in a pool, Kea's
    # ``client-class``): members are "known", "unknown", "rule:NAME" (the client matched that
    # rule, final or not) and "group:NAME" (a host group). allow empty: everyone; deny wins.
    allow: StrList = []
    deny: StrList = []


def _pool_range(value: Any) -> Any:
    """Accept ``"192.0.2.10-192.0.2.99"`` (or ``"2001:db8::10-2001:db8::99"``) as shorthand for a pool table."""
    if isinstance(value, str):
        start, sep, end = value.partition("-")
        if not sep:
            raise ValueError(f"{value!r} is not a range: write it as 'FIRST-LAST'")
        return {"start": start.strip(), "end": end.strip()}
    return value


class Dhcp4Common(Section):
    """Settings that may be given globally (``[dhcp4]``) or per subnet."""

    authoritative: bool | None = None  # NAK foreign-subnet requests (RFC 2131 §4.3.2)
    lease_time: Seconds | None = None  # option 51 default (ISC default-lease-time)
    max_lease_time: Seconds | None = None  # cap on a client-requested option 51
    routers: list[IPv4Address] | None = None  # option 3
    dns: list[IPv4Address] | None = None  # option 6
    domain_name: str | None = None  # option 15
    domain_search: list[str] | None = None  # option 119 (RFC 3397)
    ntp_servers: StrList | None = None  # option 42; names are resolved when serving
    next_server: IPv4Address | None = None  # siaddr (RFC 2131 §2)
    # iPXE encapsulated options, option 175 (iPXE src/include/ipxe/dhcp.h), by name or code.
    ipxe: dict[str, int | str] | None = None
    # Further options by decimal code, values as text (e.g. "203" = "iqn.2010-04.org.ipxe:host").
    options: dict[str, str] | None = None


class Dhcp4Section(Dhcp4Common):
    """Global DHCPv4 service settings (``[dhcp4]``)."""

    enabled: bool = True
    port: int = Field(default=67, ge=1, le=65535)
    # ISC dhcpd ``allow bootp``: answer BOOTREQUESTs without a DHCP message type.
    allow_bootp: bool = False
    # Requests per second accepted from one MAC before it is rate-limited.
    per_mac_rate: float = Field(default=20.0, gt=0)
    # The PXE boot server port (PXE 2.1 §2.2.3): UEFI firmware asks a proxyDHCP server
    # for its boot file there (a DHCPREQUEST from the client's port 4011). Only with a proxy subnet.
    proxy_port: int = Field(default=4011, ge=1, le=65535)
    # How a proxy-only interface hears port 67: "auto" binds it when free and otherwise receives through
    # a packet socket (another DHCP server on this host holds it); "packet" never binds it, so a DHCP
    # server on this host that starts after bootwright (libvirt's dnsmasq) still can.
    proxy_listen: Literal["auto", "packet"] = "auto"
    # At start, send one DISCOVER on every served interface and warn about other DHCP servers there
    # (a second server beside a full subnet; a foreign PXEClient on a proxy link). docs/probe.md.
    probe_at_start: bool = True


class Subnet4(Dhcp4Common):
    """One IPv4 subnet (ISC dhcpd ``subnet … netmask …``)."""

    subnet: IPv4Network
    interface: str | None = None
    # Our own address on this subnet (server identifier, {server}); defaults to server.address4.
    server: IPv4Address | None = None
    pools: list[Annotated[Pool4, BeforeValidator(_pool_range)]] = []
    # "full": bootwright is the link's DHCP server. "proxy": another server gives the addresses and
    # bootwright answers only booting clients with the boot part (proxyDHCP, PXE 2.1 §2.2.2;
    # dnsmasq ``dhcp-range=…,proxy``): no pools, never an address, never a NAK (docs/proxy.md).
    mode: Literal["full", "proxy"] = "full"


# --------------------------------------------------------------------------- DHCPv6 + RA


class Pool6(Section):
    """An IA_NA address range (ISC dhcpd6 ``range6``)."""

    start: IPv6Address
    end: IPv6Address
    allow: StrList = []  # as Pool4.allow
    deny: StrList = []  # as Pool4.deny


class PdPool(Section):
    """Prefixes delegated with IA_PD (RFC 8415 §6.3; ISC dhcpd6 ``prefix6``)."""

    start: IPv6Address
    end: IPv6Address
    length: int = Field(ge=1, le=128)


class RouterAdvert(Section):
    """Router advertisements for a subnet6 (radvd / BIRD radv role, RFC 4861 §6.2.1)."""

    enabled: bool = True
    managed: bool = False  # M flag: addresses from DHCPv6 (RFC 4861 §4.2)
    other: bool = False  # O flag: other configuration from DHCPv6
    min_interval: float | None = Field(default=None, ge=3)  # MinRtrAdvInterval, default 0.33 × max
    max_interval: float = Field(default=600, ge=4, le=1800)  # MaxRtrAdvInterval
    router_lifetime: int | None = Field(default=None, ge=0, le=9000)  # AdvDefaultLifetime, default 3 × max
    router_preference: Literal["low", "medium", "high"] = "medium"  # RFC 4191 §2.2
    hop_limit: int = Field(default=64, ge=0, le=255)  # AdvCurHopLimit
    reachable_time: int = Field(default=0, ge=0, le=3_600_000)  # ms
    retrans_timer: int = Field(default=0, ge=0)  # ms
    mtu: int | None = Field(default=None, ge=1280)  # MTU option (RFC 4861 §4.6.4)
    on_link: bool = True  # L flag of the prefix information
    autonomous: bool = True  # A flag: SLAAC allowed
    router_address: bool = False  # R flag (RFC 6275 §7.2, radvd AdvRouterAddr)
    prefix_valid_lifetime: Seconds = 86400
    prefix_preferred_lifetime: Seconds = 14400
    rdnss: list[IPv6Address] | None = None  # RFC 8106 §5.1; default: the subnet's DNS
    dnssl: list[str] | None = None  # RFC 8106 §5.2; default: the subnet's domain search
    # Answer a Router Solicitation from a unicast source with a unicast RA (RFC 4861 §6.2.6 allows
    # it; RFC 7772 §5.1.1, radvd AdvRASolicitedUnicast, on by default): a booting host is not held
    # back by the three seconds between multicast RAs, and other hosts are not woken.
    solicited_unicast: bool = True


class Dhcp6Common(Section):
    """DHCPv6 settings given globally (``[dhcp6]``) or per subnet6."""

    dns: list[IPv6Address] | None = None  # option 23 (RFC 3646)
    domain_search: list[str] | None = None  # option 24 (RFC 3646)
    preference: int | None = Field(default=None, ge=0, le=255)  # option 7 (RFC 8415 §21.8)
    info_refresh_time: Seconds | None = None  # option 32 (RFC 8415 §21.23)
    valid_lifetime: Seconds | None = None  # IAADDR valid (ISC default-lease-time)
    preferred_lifetime: Seconds | None = None  # IAADDR preferred
    renew_time: Seconds | None = None  # T1 (RFC 8415 §21.4)
    rebind_time: Seconds | None = None  # T2
    ntp_servers: StrList | None = None  # option 56 (RFC 5908): addresses as NTP_SUBOPTION_SRV_ADDR, names as FQDN
    # Any other DHCPv6 option by decimal code, as [dhcp4] options (text, or hex octets "0a:0b");
    # sent when the client asks for it in its ORO (RFC 8415 §21.7) or always for codes the client cannot ask.
    options: dict[str, str] | None = None


class Dhcp6Section(Dhcp6Common):
    """Global DHCPv6 service settings (``[dhcp6]``)."""

    enabled: bool = True
    rapid_commit: bool = True  # RFC 8415 §18.3.1
    # Enterprise number echoed in option 16 when the client's own is unknown (343 = Intel / EDK2).
    vendor_enterprise: int = Field(default=343, ge=0, le=0xFFFFFFFF)


class Subnet6(Dhcp6Common):
    """One IPv6 prefix: stateful (pools) or stateless (none), with its RA."""

    prefix: IPv6Network
    interface: str | None = None
    server: IPv6Address | None = None
    pools: list[Annotated[Pool6, BeforeValidator(_pool_range)]] = []
    temporary: bool = False  # IA_TA (RFC 8415 §21.5), ISC ``range6 … temporary``
    pd_pools: list[PdPool] = []
    ra: RouterAdvert | None = None


# --------------------------------------------------------------------------- TFTP / HTTP


class TftpSection(Section):
    """The TFTP service (RFC 1350 with RFC 2347/2348/2349/7440 options)."""

    enabled: bool = True
    port: int = Field(default=69, ge=1, le=65535)
    root: Path | None = None  # default: the global root
    max_blksize: int = Field(default=65464, ge=512, le=65464)  # RFC 2348
    max_windowsize: int = Field(default=64, ge=1, le=65535)  # RFC 7440
    # Cap blksize so DATA fits the path MTU unfragmented (dnsmasq --tftp-mtu); off: the client's choice.
    blksize_mtu: bool = False
    timeout: float = Field(default=1.0, gt=0, le=255)  # RFC 2349 default when the client asks none
    retries: int = Field(default=5, ge=1, le=100)
    per_client: int = Field(default=11, ge=1)  # xinetd per_source
    max_transfers: int = Field(default=1000, ge=1)
    rate: float = Field(default=100, gt=0)  # new transfers per second (xinetd cps first field)
    rate_pause: float = Field(default=2, ge=0)  # seconds refused after exceeding it (cps second field)
    # tftp-hpa ``-m`` remap rules, one rule per string: "r ^/tftpboot/ ''" etc.
    remap: StrList = []
    # A tftp-hpa remap file (in.tftpd -m FILE, tftpd(8) "FILENAME REMAPPING"), applied after the rules above;
    # relative: next to this config file. Read at start and on every reload (docs/tftp.md).
    remap_file: Path | None = None
    # Directories (relative to the root) where write requests are allowed.
    write_dirs: StrList = []


class HttpSection(Section):
    """The HTTP service: files from the root, iPXE scripts, later the API."""

    enabled: bool = True
    port: int = Field(default=80, ge=1, le=65535)
    root: Path | None = None
    # Client networks allowed to fetch anything (Apache ``Require ip``); empty = all.
    allow: list[IPv4Network | IPv6Network] = []
    # Script paths under the HTTP root → the target or menu rendered there for the client.
    scripts: dict[str, str] = {}
    # URL prefix → directory (nginx ``alias``, Apache ``Alias``): { "/tftpboot/" = "" } serves the root under
    # /tftpboot/ too. A relative directory lies under the HTTP root ("" is the root); one outside it must be
    # written as an absolute path. docs/http.md "Aliases".
    aliases: dict[str, str] = {}
    # Addresses to listen on; empty = every address, IPv4 and IPv6 (0.0.0.0 and ::).
    listen: list[IPv4Address | IPv6Address] = []
    # Seconds an idle connection (or one still sending its request) stays open, and a
    # file transfer may make no progress, before it is closed (slow-client guard).
    timeout: float = Field(default=30.0, gt=0, le=3600)
    # Concurrent connections; beyond this new ones get 503 and are closed.
    max_connections: int = Field(default=1024, ge=1, le=1_000_000)
    # TLS for the API and UI (docs/api.md): with both set the same app is also served over
    # HTTPS on tls_port, on the same addresses; plain HTTP stays for firmware.
    tls_cert: Path | None = None  # PEM certificate chain, server certificate first
    tls_key: Path | None = None  # PEM private key (unencrypted) of that certificate
    tls_port: int = Field(default=443, ge=1, le=65535)

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[tuple[str, ...], str] = {}
        for prefix, directory in value.items():
            problem = alias_problem(prefix, directory)
            if problem is not None:
                raise ValueError(f"{prefix!r} = {directory!r}: {problem}")
            segments = alias_segments(prefix)
            if segments in seen:
                raise ValueError(f"{prefix!r} and {seen[segments]!r} are the same URL prefix")
            seen[segments] = prefix
        return value


def alias_segments(prefix: str) -> tuple[str, ...]:
    """The path segments of an ``[http] aliases`` URL prefix (``"/tftpboot/"`` → ``("tftpboot",)``)."""
    return tuple(part for part in prefix.split("/") if part)


def alias_problem(prefix: str, directory: str) -> str | None:
    """Why an ``[http] aliases`` entry cannot be served, else ``None`` (no way out of its directory)."""
    if not prefix.startswith("/"):
        return "the URL prefix must start with '/' (\"/tftpboot/\")"
    if not alias_segments(prefix):
        return "'/' is the whole site: set http.root instead"
    for text, what in ((prefix, "URL prefix"), (directory, "directory")):
        parts = text.split("/")
        if "\\" in text or any(part in (".", "..") for part in parts) or re.search(r"[\x00-\x1f\x7f]", text):
            return f"the {what} must not contain '.' or '..' segments, backslashes or control characters"
    if directory.startswith("~"):
        return "write the directory as an absolute path (no '~')"
    return None


class SyslogSection(Section):
    """The syslog receiver (docs/syslog.md): iPXE's and netconsole's lines into the machines' timelines."""

    enabled: bool = False
    port: int = Field(default=514, ge=1, le=65535)
    # Addresses to listen on; empty = every address, IPv4 and IPv6 (0.0.0.0 and ::).
    listen: list[IPv4Address | IPv6Address] = []
    # Longest datagram taken, in octets; longer ones are dropped (RFC 5424 §6.1: a receiver
    # MUST take 480 and SHOULD take 2048).
    max_message: int = Field(default=2048, ge=480, le=65507)
    # Lines per second from one source address, and the burst above it, before lines are dropped.
    rate: float = Field(default=20.0, gt=0)
    burst: int = Field(default=100, ge=1)


# --------------------------------------------------------------------------- NFS


class NfsExport(Section):
    """One ``[nfs] exports`` entry: a directory under the root, served over NFS (docs/nfs.md)."""

    path: str  # relative to the root ("showmax"); clients mount the absolute server path, <root>/<path>
    read_only: bool = True
    # Client networks that may mount it; empty: the config's subnet4/subnet6 networks (any client without them).
    clients: list[IPv4Network | IPv6Network] = []


class NfsSection(Section):
    """NFS exports of directories under the root, for kernels that mount their root over NFS (docs/nfs.md)."""

    enabled: bool = False
    # "kernel": the host's nfsd, through exportfs; "ganesha": NFS-Ganesha (user space), started and supervised
    # by bootwright; "auto": the kernel's when /proc/fs/nfsd exists and exportfs is installed, else Ganesha.
    backend: Literal["auto", "ganesha", "kernel"] = "auto"
    exports: list[NfsExport] = []


# --------------------------------------------------------------------------- boot policy


class RuleMatch(Section):
    """Conditions of one rule; all given conditions must hold (AND), lists are OR."""

    family: Literal[4, 6] | None = None
    arch: IntList | None = None  # DHCPv4 option 93 / DHCPv6 option 61 values
    no_arch: bool | None = None  # true: the client sent no architecture at all
    vendor_class: StrList | None = None  # prefixes of option 60 / option 16 text
    user_class: StrList | None = None  # option 77 / option 15 entries (exact)
    host: StrList | None = None  # host names
    group: StrList | None = None  # host groups
    mac: StrList | None = None  # MAC prefixes, e.g. an OUI "52:54:00"
    known: bool | None = None  # the client is (true) / is not (false) a configured host
    # Relay agent information (RFC 3046 option 82 sub-options 1 and 2; DHCPv6: the relay's
    # interface-id option 18 and remote-id option 37, RFC 4649 — enterprise number stripped),
    # and the client identifier (DHCPv4 option 61, DHCPv6 DUID). A value written as colon-separated
    # hex octets ("01:52:54:00:12:34:56") is compared as bytes, anything else as UTF-8 text.
    circuit_id: StrList | None = None
    remote_id: StrList | None = None
    client_id: StrList | None = None
    # iPXE feature indicators the client announces in option 175 (names of wire/ipxe_options,
    # e.g. "https", "efi", "bzimage"): all must be present.
    ipxe_feature: StrList | None = None
    subnet: list[IPv4Network | IPv6Network] | None = None  # subnet the request is answered in


class Rule(Section):
    """One boot rule: conditions, then what to tell the client. First final match wins."""

    name: str
    match: RuleMatch = RuleMatch()
    bootfile: str | None = None  # v4 file / option 67; v6 option 59 URL
    next_server: IPv4Address | None = None  # v4 siaddr
    tftp_server: str | None = None  # v4 option 66
    vendor_class: str | None = None  # echo in option 60 / option 16 (e.g. "HTTPClient")
    vendor_enterprise: int | None = Field(default=None, ge=0, le=0xFFFFFFFF)
    ipxe: dict[str, int | str] = {}
    script: str | None = None  # target or menu rendered for this client's iPXE script
    # No DHCP reply at all to a matching client (dnsmasq ``dhcp-ignore``, ISC ``deny booting`` /
    # ``ignore booting``): it stays free for another server. An ignore rule is final.
    ignore: bool = False
    # false: like an ISC dhcpd class, apply what this rule sets and keep evaluating.
    final: bool = True


class TargetVariant(Section):
    """Per-platform overrides of a boot target (``[targets.x.efi]``, ``[targets.x.pcbios]``)."""

    kernel: str | None = None
    initrd: StrList | None = None
    cmdline: str | None = None
    chain: str | None = None
    efi: str | None = None


class Target(Section):
    """A named thing to boot: a kernel, a chain URL, a SAN disk, an EFI binary, …"""

    label: str | None = None
    kernel: str | None = None
    initrd: StrList = []
    cmdline: str = ""
    bootif: bool = False  # append BOOTIF=01-${netX/mac:hexhyp}
    chain: str | None = None
    sanboot: str | None = None
    efi: str | None = None  # an EFI program to fetch and start (e.g. the EFI shell)
    config: bool = False  # iPXE's interactive ``config`` tool
    shell: bool = False
    exit: bool = False  # leave iPXE: the firmware boots the next device (local disk)
    ipxe: StrList = []  # raw iPXE lines, run as they are
    message: str | None = None  # echoed before booting
    variants: dict[Literal["efi", "pcbios"], TargetVariant] = {}

    def for_platform(self, platform: str | None) -> Target:
        """This target with its ``[targets.x.efi]`` / ``[targets.x.pcbios]`` overrides applied."""
        override: TargetVariant | None = self.variants.get(platform)  # type: ignore[call-overload]
        if override is None:
            return self
        changes = {k: v for k, v in override.model_dump().items() if v is not None}
        return self.model_copy(update=changes)

    def kind(self) -> str:
        """What this target does, for summaries and rendering."""
        for name in ("kernel", "chain", "sanboot", "efi"):
            if getattr(self, name):
                return name
        for name in ("config", "shell", "exit"):
            if getattr(self, name):
                return name
        return "ipxe" if self.ipxe else "empty"


class MenuItem(Section):
    """One line of a menu: an entry pointing at a target or menu, or a gap."""

    target: str | None = None
    label: str | None = None
    key: str | None = None
    platform: Literal["efi", "pcbios"] | None = None  # show the item only on this platform
    gap: str | None = None  # a separator line (``item --gap``)


class Menu(Section):
    """An iPXE menu (seed 002's script.ipxe, seed 001's menu.ipxe)."""

    title: str | None = None
    items: list[MenuItem]
    default: str | None = None  # target name chosen on timeout
    # Milliseconds until ``default`` (or the first item) is chosen (iPXE ``choose
    # --timeout``). Unset (or 0, iPXE's "no timeout") waits for a key, as iPXE's
    # ``choose``, GRUB's ``timeout=-1`` and pxelinux's ``TIMEOUT 0`` do.
    timeout: int | None = Field(default=None, ge=0)
    prelude: StrList = []  # raw iPXE lines before anything else (seed 002: kbmap, cpuid)
    # URLs tried before showing the menu (seed 002's per-MAC scripts); a script that
    # returns success goes to the menu, one that fails falls through to the next.
    per_host_chain: StrList = []
    failed_message: str = "Boot failed. Read the screen above; back to the menu in 10 seconds."
    failed_sleep: int = Field(default=10, ge=0)


# Cipher suites pyghmi (the IPMI driver) speaks: 17 (HMAC-SHA256, AES) and 3 (HMAC-SHA1, AES), IPMI 2.0 §22.15.
IPMI_CIPHER_SUITES = (3, 17)
REDFISH_SYSTEMS = "/redfish/v1/Systems/"
_BMC_ADDRESS = re.compile(r"^(https?://)?[^\s/]+/?$")


class BmcEntry(Section):
    """A host's BMC (``bmc = { driver = "ipmi", address = "…", … }``; docs/power.md)."""

    driver: Literal["ipmi", "redfish"]
    address: str  # host name or address; Redfish also takes http(s)://host[:port]
    port: int | None = Field(default=None, ge=1, le=65535)
    username: str = ""
    # Write-only through CLI/API (kept in the state store, never shown); in a config file prefer the two below.
    password: str | None = Field(default=None, repr=False)
    password_file: Path | None = None  # read each time the BMC is used
    password_env: str | None = None  # an environment variable of the process that talks to the BMC
    system: str | None = None  # Redfish only: /redfish/v1/Systems/<id> (default: the only system)
    cipher_suite: int = 3  # IPMI only
    verify_tls: bool = True  # Redfish only

    @field_validator("address")
    @classmethod
    def _address_is_a_host(cls, value: str) -> str:
        if not _BMC_ADDRESS.match(value):
            raise ValueError(f"{value!r} is not a BMC address (a host name or address; Redfish also takes a "
                             "URL like https://10.0.0.5)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> BmcEntry:
        secrets = [k for k in ("password", "password_file", "password_env") if getattr(self, k) is not None]
        if len(secrets) > 1:
            raise ValueError(f"give one of password, password_file, password_env (got {', '.join(secrets)})")
        given = self.model_fields_set
        if self.driver == "ipmi":
            for key in ("system", "verify_tls"):
                if key in given:
                    raise ValueError(f"{key} is a Redfish setting; this BMC's driver is ipmi")
            if "://" in self.address:
                raise ValueError(f"an IPMI BMC address is a host name or address, not a URL ({self.address})")
            if self.cipher_suite not in IPMI_CIPHER_SUITES:
                raise ValueError(f"cipher_suite {self.cipher_suite} is not supported (the IPMI driver speaks "
                                 f"{' and '.join(map(str, IPMI_CIPHER_SUITES))})")
        else:
            if "://" in self.address and self.port is not None:
                raise ValueError("give the port inside the URL address (https://host:port), not as port")
            if "cipher_suite" in given:
                raise ValueError("cipher_suite is an IPMI setting; this BMC's driver is redfish")
            if self.system is not None and not (self.system.startswith(REDFISH_SYSTEMS)
                                                and len(self.system) > len(REDFISH_SYSTEMS)):
                raise ValueError(f"system {self.system!r} is not a Redfish system path "
                                 f"(like {REDFISH_SYSTEMS}1)")
        return self


class HostEntry(Section):
    """A known machine (ISC dhcpd ``host { hardware ethernet …; fixed-address …; }``)."""

    name: str
    mac: MacList = []
    ipv4: IPv4Address | None = None
    ipv6: IPv6Address | None = None
    duid: str | None = None  # hex, colons optional
    groups: StrList = []
    target: str | None = None
    next_server: IPv4Address | None = None
    bootfile: str | None = None
    vars: dict[str, str] = {}
    # The menu entry preselected for this host (seed 001's per-host ``set menu-default``):
    # a target name of the menu it boots; the menu's own default otherwise.
    menu_default: str | None = None
    bmc: BmcEntry | None = None
    # DHCPv4 options of this host by decimal code, as ``[dhcp4] options`` (same values, same checks);
    # they win over the subnet's and the global ones (ISC dhcpd options inside a host block).
    options: dict[str, str] = {}

    @field_validator("options")
    @classmethod
    def _options_are_sendable(cls, value: dict[str, str]) -> dict[str, str]:
        found = [f"{key}: {problem}" for key, text in value.items() if (problem := option_problem(key, text))]
        if found:
            raise ValueError("; ".join(found))
        return value

    @field_validator("duid")
    @classmethod
    def _duid_is_hex(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = value.replace(":", "").replace("-", "").lower()
        if not digits or len(digits) % 2 or not re.fullmatch(r"[0-9a-f]+", digits):
            raise ValueError(f"{value!r} is not a DUID in hex (e.g. 00:03:00:01:52:54:00:12:34:56)")
        return digits


class ApiUser(Section):
    """One ``[[api.user]]``: a name and password that log in to the web UI, with a role (docs/ui.md)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")
    # scrypt$N$r$p$salt$key, made by `bootwright hash-password` (format: wire/passhash.py).
    password_hash: str = Field(repr=False)
    # "admin" changes things; "read" only reads (a write is 403).
    role: Literal["admin", "read"] = "read"

    @field_validator("password_hash")
    @classmethod
    def _is_a_hash(cls, value: str) -> str:
        try:
            PasswordHash.decode(value)
        except DecodeError as exc:
            raise ValueError(f"not a password hash: {exc}; make one with 'bootwright hash-password'") from None
        return value


class ApiSection(Section):
    """The REST API under ``/api/`` (docs/api.md): who may reach it, who reads without a login, who logs in."""

    enabled: bool = True
    # Client networks allowed to use the API, UI and /metrics at all; writes also need admin credentials.
    admin_networks: list[IPv4Network | IPv6Network] = [IPv4Network("127.0.0.0/8"), IPv6Network("::1/128")]
    # Of those, the clients that read without credentials; elsewhere reads need the token or a login.
    anonymous_read_networks: list[IPv4Network | IPv6Network] = [IPv4Network("127.0.0.0/8"), IPv6Network("::1/128")]
    # The bearer token for writes; default: api-token in the state directory (created 0600 on first start).
    token_file: Path | None = None
    user: list[ApiUser] = []  # [[api.user]]: UI logins by name and password


class Hook(Section):
    """One ``[[hook]]``: a command run, or a URL POSTed, for events of the listed kinds (docs/hooks.md)."""

    # Event kinds (model.EventKind values), or prefixes ending in '*' ("dhcp4.*"; "*" is every kind).
    events: StrList
    command: list[str] | None = None  # argv, run without a shell; the event as JSON on stdin, BOOTWRIGHT_* vars
    url: str | None = None  # http:// or https://: the event POSTed as JSON
    headers: dict[str, str] = Field(default={}, repr=False)  # extra request headers (Authorization) for url
    timeout: float = Field(default=10.0, gt=0, le=3600)  # seconds; then the command's process group is killed
    hosts: StrList = []  # only events of these hosts (by name) ...
    groups: StrList = []  # ... or of hosts in these groups; both empty: every event
    max_pending: int = Field(default=1000, ge=1, le=1_000_000)  # runs queued or running; beyond: dropped


TsigAlgorithm = Literal["hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5"]
"""TSIG algorithms ``[ddns] key_algorithm`` takes (RFC 8945 §6: hmac-sha256 is mandatory to implement)."""


class DdnsSection(Section):
    """``[ddns]``: RFC 2136 updates, signed with TSIG (RFC 8945), to an existing DNS server (docs/dns.md)."""

    enabled: bool = False
    server: IPv4Address | IPv6Address | None = None  # the zones' primary (or a server forwarding updates)
    port: int = Field(default=53, ge=1, le=65535)
    forward_zone: str | None = None  # A/AAAA (and DHCID) records: "lab.example."
    reverse_zones: StrList = []  # PTR records; empty: one per subnet, on its octet/nibble boundary
    key_name: str | None = None  # TSIG key name; none: updates go unsigned (an allow-update by address)
    key_algorithm: TsigAlgorithm = "hmac-sha256"
    key_secret_file: Path | None = None  # the secret: base64, or a `tsig-keygen` key clause; read at start
    key_secret_env: str | None = None  # ... or an environment variable holding it (base64)
    ttl: int = Field(default=300, ge=0, le=2_147_483_647)  # of every record written (RFC 2181 §8)
    leases: bool = True  # names of leased clients (option 12 / option 39); inventory hosts always
    # RFC 4703 conflict resolution by DHCID (RFC 4701) records, as Kea's ddns-conflict-resolution-mode.
    conflict: Literal["check-with-dhcid", "check-exists-with-dhcid", "no-check-with-dhcid"] = "check-with-dhcid"
    timeout: float = Field(default=3.0, gt=0, le=60)  # seconds to wait for one answer
    retries: int = Field(default=4, ge=0, le=20)  # further attempts of an update that timed out or SERVFAILed


class BootSection(Section):
    """Boot behaviour outside the rules."""

    # After the rules, answer by the built-in architecture table (policy.ARCH_TABLE).
    builtin: bool = True
    # Override built-in file names per architecture code: {"11" = "arm64/ipxe.efi"}.
    files: dict[str, str] = {}
    # Target or menu served to iPXE clients that no rule or host gives one.
    default: str | None = None
    # The system's iPXE package: a built-in boot program missing from the root is served from here
    # (boot/programs.py, docs/configuration.md "An empty root still boots"); "" or false: never.
    ipxe_dir: str = "/usr/lib/ipxe"

    @field_validator("ipxe_dir", mode="before")
    @classmethod
    def _ipxe_dir(cls, value: object) -> object:
        if value is False:
            return ""
        if value is True or (isinstance(value, str) and value and not value.startswith("/")):
            raise ValueError(
                f'{value!r} is not an absolute directory (Debian\'s iPXE package: "/usr/lib/ipxe"; '
                '"" or false turns the fallback off)'
            )
        return value


class Config(Section):
    """A whole bootwright configuration file."""

    root: Path | None = None
    state_dir: Path | None = None
    server: ServerSection = ServerSection()
    dhcp4: Dhcp4Section = Dhcp4Section()
    subnet4: list[Subnet4] = []
    dhcp6: Dhcp6Section = Dhcp6Section()
    subnet6: list[Subnet6] = []
    tftp: TftpSection = TftpSection()
    http: HttpSection = HttpSection()
    syslog: SyslogSection = SyslogSection()
    nfs: NfsSection = NfsSection()
    api: ApiSection = ApiSection()
    boot: BootSection = BootSection()
    rule: list[Rule] = []
    targets: dict[str, Target] = {}
    menus: dict[str, Menu] = {}
    host: list[HostEntry] = []
    hook: list[Hook] = []
    ddns: DdnsSection = DdnsSection()

    def script_names(self) -> set[str]:
        """Names a rule, host or menu may point at: every target and every menu."""
        return set(self.targets) | set(self.menus)
