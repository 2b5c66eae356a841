"""The one configuration model: a TOML file validated on load.

``load_config(path)`` returns a frozen :class:`Config` or raises
:class:`ConfigError` whose ``problems`` each name the file, the key path
(``subnet4[0].pools[0]``) and what is wrong, so the CLI can print them and
exit 2 without a traceback. The layout of the file is documented in
``docs/configuration.md``; every seed set-up has an example in ``examples/``.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from bootwright.model import EventKind, InvalidMac, normalize_mac
from bootwright.wire import DecodeError
from bootwright.wire.dhcp4_options import encode_option, option_name, parse_config_value
from bootwright.wire.dhcp4_structs import encode_domain_list
from bootwright.wire.dhcp6 import NtpServer, parse_config_option
from bootwright.wire.dhcp6 import option_name as option_name6
from bootwright.wire.ipxe_options import IPXE_FEATURES, IPXE_OPTIONS_BY_NAME, ipxe_option_problem
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


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedConfig:
    """A config file that parsed into the model, with its text (for line numbers) and name."""

    config: Config
    source: str
    text: str


def read_config(path: str | Path) -> LoadedConfig:
    """Read and parse a config file into the model; raise :class:`ConfigError` on syntax/model errors.

    The cross-field checks are left to the caller's validation
    (``bootwright.boot.validation.validate``), which reports them together with
    template, host and inventory problems in one round.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, [Problem("", f"cannot read the file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [Problem("", f"not UTF-8 text (byte {exc.start})")]) from None
    config = relative_to(parse_model(text, source), Path(path).resolve().parent)
    return LoadedConfig(config, source, text)


def relative_to(config: Config, base: Path) -> Config:
    """``config`` with its relative paths (roots, state_dir, token_file, TLS files, BMC password files, hook
    programs named with a '/') taken from ``base``.

    A config file's relative paths mean "next to this file", whatever the
    working directory (under systemd it is ``/``): what nginx (prefix) and Kea
    (the config file's directory) do. Paths given on the command line keep
    meaning the working directory, as every CLI's do.
    """

    def rebase(value: Path | None) -> Path | None:
        return base / value if value is not None and not value.is_absolute() else value

    def rebase_host(host: HostEntry) -> HostEntry:
        if host.bmc is None or host.bmc.password_file is None or host.bmc.password_file.is_absolute():
            return host
        return host.model_copy(update={"bmc": host.bmc.model_copy(
            update={"password_file": rebase(host.bmc.password_file)})})

    def rebase_hook(hook: Hook) -> Hook:
        # A program named with a '/' is a path; a bare name is looked up in PATH, as a shell would.
        if not hook.command or "/" not in hook.command[0] or PurePath(hook.command[0]).is_absolute():
            return hook
        return hook.model_copy(update={"command": [str(base / hook.command[0]), *hook.command[1:]]})

    http = config.http
    return config.model_copy(
        update={
            "root": rebase(config.root),
            "state_dir": rebase(config.state_dir),
            "tftp": config.tftp.model_copy(
                update={"root": rebase(config.tftp.root), "remap_file": rebase(config.tftp.remap_file)}
            ),
            "http": http.model_copy(update={"root": rebase(http.root), "tls_cert": rebase(http.tls_cert),
                                            "tls_key": rebase(http.tls_key)}),
            "api": config.api.model_copy(update={"token_file": rebase(config.api.token_file)}),
            "host": [rebase_host(h) for h in config.host],
            "hook": [rebase_hook(h) for h in config.hook],
            "ddns": config.ddns.model_copy(update={"key_secret_file": rebase(config.ddns.key_secret_file)}),
        }
    )


def load_config(path: str | Path) -> Config:
    """Read, parse and validate a config file; raise :class:`ConfigError` if unusable."""
    loaded = read_config(path)
    return _checked(loaded.config, loaded.text, loaded.source)


def parse_model(text: str, source: str = "<config>") -> Config:
    """Parse TOML text into the model (types, unknown keys), without the cross-field checks."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(source, [Problem("", f"TOML syntax: {exc}", line)]) from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, with_lines(list(_pydantic_problems(exc)), text)) from None


def parse_config(text: str, source: str = "<config>") -> Config:
    """Parse and validate TOML text; ``source`` names it in errors."""
    return _checked(parse_model(text, source), text, source)


def _checked(config: Config, text: str, source: str) -> Config:
    problems = list(check_semantics(config))
    if problems:
        raise ConfigError(source, with_lines(problems, text))
    return config


# --------------------------------------------------------------------------- line numbers

# tomllib keeps no positions; this locator reads the table headers and ``key =`` lines
# of the text, which is all a key path (``subnet4[1].pools[0]``) needs.
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_BARE = r'(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')'
_KEY = re.compile(rf"^\s*({_BARE}(?:\s*\.\s*{_BARE})*)\s*=(.*)$")
_INLINE_KEY = re.compile(r'[{,]\s*([A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')\s*=')
_PART = re.compile(r'"[^"]*"|\'[^\']*\'|[^.\s]+')


def _dotted(text: str) -> list[str]:
    return [p.strip("\"'") for p in _PART.findall(text)]


def key_lines(text: str) -> dict[str, int]:
    """Key path (``subnet4[0].options.abc``, ``targets.inst``) → 1-based line where it is written."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}  # array-of-tables path → last index
    prefix = ""
    array_key: str | None = None  # a multi-line ``key = [`` being read
    array_index = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if array_key is not None:
            if stripped.startswith("]"):
                array_key = None
                continue
            lines.setdefault(f"{array_key}[{array_index}]", number)
            for key in _INLINE_KEY.findall(stripped):
                lines.setdefault(f"{array_key}[{array_index}].{key.strip(chr(34) + chr(39))}", number)
            array_index += 1
            if stripped.rstrip(",").rstrip().endswith("]") and not stripped.startswith(("{", '"', "'")):
                array_key = None
            continue
        header = _HEADER.match(stripped)
        if header and not _KEY.match(stripped):
            path = ""
            parts = _dotted(header.group(2))
            for i, part in enumerate(parts):
                path = f"{path}.{part}" if path else part
                if i < len(parts) - 1 and path in counts:
                    path = f"{path}[{counts[path]}]"
            if header.group(1) == "[[":
                counts[path] = counts.get(path, -1) + 1
                path = f"{path}[{counts[path]}]"
            prefix = path
            lines.setdefault(path, number)
            continue
        match = _KEY.match(raw)
        if not match:
            continue
        key = ".".join(_dotted(match.group(1)))
        path = f"{prefix}.{key}" if prefix else key
        lines.setdefault(path, number)
        value = match.group(2).split("#")[0].strip() if not match.group(2).strip().startswith(("'", '"')) else ""
        for inner in _INLINE_KEY.findall(match.group(2)):
            lines.setdefault(f"{path}.{inner.strip(chr(34) + chr(39))}", number)
        if value == "[" or (value.startswith("[") and value.count("[") > value.count("]")):
            array_key, array_index = path, 0
    return lines


_LAST_PART = re.compile(r"(\.[^.\[]+|\[\d+\])$")


def line_of(path: str, lines: dict[str, int]) -> int | None:
    """The line of ``path`` or of the nearest enclosing key that is written in the file."""
    while path:
        if path in lines:
            return lines[path]
        shorter = _LAST_PART.sub("", path)
        if shorter == path:
            break
        path = shorter
    return None


def with_lines(problems: Iterable[Problem], text: str | None) -> list[Problem]:
    """``problems`` with the TOML line of each key path filled in (when ``text`` is given)."""
    if text is None:
        return list(problems)
    lines = key_lines(text)
    return [p if p.line is not None else Problem(p.path, p.message, line_of(p.path, lines)) for p in problems]


def _loc_path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("function-") or part in ("str", "int", "list[str]"):
            continue  # pydantic's names for union members / validators, not keys
        else:
            out += f".{part}" if out else part
    return out


def _pydantic_problems(exc: ValidationError) -> Iterator[Problem]:
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False):
        path = _loc_path(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/configuration.md)"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        # A whole table is not echoed (it may hold a BMC password), nor a password itself.
        secret = path.rsplit(".", 1)[-1] in ("password", "password_hash") or isinstance(err.get("input"), dict | list)
        if "input" in err and err["type"] not in ("missing", "extra_forbidden") and not secret:
            shown = repr(err["input"])
            if len(shown) < 60 and shown not in msg:
                msg = f"{msg} (got {shown})"
        if (path, msg) not in seen:
            seen.add((path, msg))
            yield Problem(path, msg)


# --------------------------------------------------------------------------- semantic checks


def check_semantics(config: Config) -> Iterator[Problem]:
    """Cross-field checks pydantic cannot express: ranges, references, duplicates."""
    yield from _check_subnets4(config)
    yield from _check_subnets6(config)
    yield from _check_options(config)
    yield from _check_domains(config)
    yield from _check_references(config)
    yield from check_match_values(config)
    yield from _check_hosts(config)
    yield from _check_http_tls(config.http)
    yield from _check_hooks(config.hook)
    yield from _check_api_users(config.api.user)
    yield from check_paths(config.root, config.state_dir, config)
    yield from _check_nfs(config.nfs)
    yield from _check_ddns(config.ddns)


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


def _check_options(config: Config) -> Iterator[Problem]:
    tables = [("dhcp4.options", config.dhcp4.options)]
    tables += [(f"subnet4[{i}].options", s.options) for i, s in enumerate(config.subnet4)]
    for where, options in tables:
        for key, text in (options or {}).items():
            problem = option_problem(key, text)
            if problem:
                yield Problem(f"{where}.{key}", problem)
    scopes6: list[tuple[str, Dhcp6Common]] = [("dhcp6", config.dhcp6)]
    scopes6 += [(f"subnet6[{i}]", s) for i, s in enumerate(config.subnet6)]
    for where, scope in scopes6:
        for key, text in (scope.options or {}).items():
            problem = option6_problem(key, text)
            if problem:
                yield Problem(f"{where}.options.{key}", problem)
        for j, server in enumerate(scope.ntp_servers or []):
            try:
                NtpServer.of([server])  # RFC 5908 §4: IPv6 addresses and names only
            except ValueError as exc:
                yield Problem(f"{where}.ntp_servers[{j}]", str(exc))


def _check_domains(config: Config) -> Iterator[Problem]:
    """Domain lists as options 119 (RFC 3397), 24 (RFC 3646) and the RA DNSSL (RFC 8106 §5.2)."""
    lists: list[tuple[str, list[str] | None]] = [("dhcp4.domain_search", config.dhcp4.domain_search),
                                                 ("dhcp6.domain_search", config.dhcp6.domain_search)]
    lists += [(f"subnet4[{i}].domain_search", s.domain_search) for i, s in enumerate(config.subnet4)]
    for i, sub in enumerate(config.subnet6):
        lists.append((f"subnet6[{i}].domain_search", sub.domain_search))
        if sub.ra is not None:
            lists.append((f"subnet6[{i}].ra.dnssl", sub.ra.dnssl))
    for where, names in lists:
        for j, name in enumerate(names or []):
            try:
                encode_domain_list([name], compress=False)
            except ValueError as exc:
                yield Problem(f"{where}[{j}]", f"{exc}: not a domain name (RFC 1035 §2.3.1)")


def check_paths(root: PurePath | None, state_dir: PurePath | None, config: Config | None = None) -> Iterator[Problem]:
    """``state_dir`` must not be inside a served root (it holds ``api-token`` and ``state.db``).

    Compared as written (pure): the CLI passes resolved paths. A root inside the state
    directory is refused too, so that neither can grow into the other.
    """
    if state_dir is None:
        return
    roots: list[tuple[str, PurePath | None]] = [("root", root)]
    if config is not None:
        roots += [("tftp.root", config.tftp.root), ("http.root", config.http.root)]
        roots += [(f"http.aliases.{p!r}", PurePath(d)) for p, d in config.http.aliases.items() if d.startswith("/")]
    for key, served in roots:
        if served is None:
            continue
        if state_dir == served or state_dir.is_relative_to(served):
            yield Problem("state_dir", f"{state_dir} is inside {key} {served}: TFTP/HTTP would publish state.db "
                          "and the API token; keep the state directory outside every served root")
        elif served.is_relative_to(state_dir):
            yield Problem(key, f"{served} is inside state_dir {state_dir}: keep the served files and the state "
                          "directory apart")


def _check_nfs(nfs: NfsSection) -> Iterator[Problem]:
    """Export paths stay under the root, once each; an enabled ``[nfs]`` exports something."""
    seen: dict[str, int] = {}
    for i, export in enumerate(nfs.exports):
        where = f"nfs.exports[{i}].path"
        parts = PurePath(export.path).parts
        if PurePath(export.path).is_absolute() or ".." in parts:
            yield Problem(where, f"{export.path!r} is not a directory under the root: write it relative to the "
                          'root, without ".." (e.g. "showmax" for <root>/showmax)')
        elif any(c in export.path for c in '"\n\\') or not export.path.isprintable():
            yield Problem(where, f"{export.path!r}: quotes, backslashes and control characters are not allowed")
        else:
            key = PurePath(export.path).as_posix()
            if key in seen:
                yield Problem(where, f"{export.path!r} is also nfs.exports[{seen[key]}]")
            seen.setdefault(key, i)
    if nfs.enabled and not nfs.exports:
        yield Problem("nfs.exports", 'NFS is enabled but exports nothing: add exports = [{ path = "…" }]')


def _check_subnets4(config: Config) -> Iterator[Problem]:
    nets: list[tuple[int, IPv4Network]] = []
    for i, sub in enumerate(config.subnet4):
        where = f"subnet4[{i}]"
        for j, other in nets:
            if sub.subnet.overlaps(other):
                yield Problem(f"{where}.subnet", f"{sub.subnet} overlaps subnet4[{j}] ({other})")
        nets.append((i, sub.subnet))
        for j, pool in enumerate(sub.pools):
            yield from _check_range(f"{where}.pools[{j}]", pool.start, pool.end, sub.subnet)
        yield from _overlapping_pools(where, [(j, p.start, p.end) for j, p in enumerate(sub.pools)])
        if sub.mode == "proxy":
            yield from _check_proxy4(where, sub)
        for key in ("server", "next_server"):
            addr = getattr(sub, key)
            if addr is not None and key == "server" and addr not in sub.subnet:
                yield Problem(f"{where}.{key}", f"{addr} is outside {sub.subnet}")
        for j, router in enumerate(sub.routers or []):
            if router not in sub.subnet:
                yield Problem(f"{where}.routers[{j}]", f"{router} is outside {sub.subnet}")


def _check_proxy4(where: str, sub: Subnet4) -> Iterator[Problem]:
    """A proxy subnet gives no addresses and no lease settings: another server on the link does."""
    if sub.pools:
        yield Problem(f"{where}.pools", "a proxy subnet hands out no addresses (the link's own DHCP server "
                      "does); remove the pools, or set mode = \"full\" to be the link's DHCP server")
    if sub.authoritative:
        yield Problem(f"{where}.authoritative", "a proxy never NAKs a client (the addresses are another "
                      "server's); remove authoritative")


def _overlapping_pools(
    where: str, pools: Sequence[tuple[int, IPv4Address | IPv6Address, IPv4Address | IPv6Address]]
) -> Iterator[Problem]:
    """Pools of one subnet (index, start, end) that share an address: ISC dhcpd and Kea refuse them."""
    for n, (j, start, end) in enumerate(pools):
        for k, other_start, other_end in pools[:n]:
            if int(start) <= int(other_end) and int(other_start) <= int(end):
                yield Problem(f"{where}.pools[{j}]", f"overlaps {where}.pools[{k}]")


def _check_range(
    where: str,
    start: IPv4Address | IPv6Address,
    end: IPv4Address | IPv6Address,
    net: IPv4Network | IPv6Network,
) -> Iterator[Problem]:
    for addr in (start, end):
        if addr not in net:
            yield Problem(where, f"{addr} is outside {net}")
            return
    if int(start) > int(end):
        yield Problem(where, f"the range starts ({start}) after it ends ({end})")
    elif (
        isinstance(net, IPv4Network)
        and net.prefixlen < 31
        and (start == net.network_address or end == net.broadcast_address)
    ):
        yield Problem(where, f"includes the network or broadcast address of {net}")


def _check_subnets6(config: Config) -> Iterator[Problem]:
    prefixes: list[tuple[int, IPv6Network]] = []
    for i, sub in enumerate(config.subnet6):
        where = f"subnet6[{i}]"
        # Kea refuses overlapping subnets ("subnet … overlaps with existing subnet"), as subnet4 does here.
        for j, other in prefixes:
            if sub.prefix.overlaps(other):
                yield Problem(f"{where}.prefix", f"{sub.prefix} overlaps subnet6[{j}] ({other})")
        prefixes.append((i, sub.prefix))
        usable: list[tuple[int, IPv6Address, IPv6Address]] = []
        for j, pool in enumerate(sub.pools):
            for addr in (pool.start, pool.end):
                if addr not in sub.prefix:
                    yield Problem(f"{where}.pools[{j}]", f"{addr} is outside {sub.prefix}")
                    break
            else:
                if int(pool.start) > int(pool.end):
                    yield Problem(f"{where}.pools[{j}]", f"the range starts ({pool.start}) after it ends")
                else:
                    usable.append((j, pool.start, pool.end))
        yield from _overlapping_pools(where, usable)
        # Accepted by the model (they are ISC dhcpd6 keywords) but the DHCPv6 engine answers IA_NA only.
        if sub.temporary:
            yield Problem(f"{where}.temporary", "not implemented: bootwright does not hand out temporary "
                          "addresses (IA_TA, RFC 8415 §21.5); remove the key")
        if sub.pd_pools:
            yield Problem(f"{where}.pd_pools", "not implemented: bootwright does not delegate prefixes "
                          "(IA_PD, RFC 8415 §21.21); remove the key")
        ra = sub.ra
        if ra is not None:
            # RFC 4861 §6.2.1: MinRtrAdvInterval ≥ 3 and ≤ 0.75 × MaxRtrAdvInterval,
            # AdvDefaultLifetime 0 or between MaxRtrAdvInterval and 9000.
            if ra.min_interval is not None and ra.min_interval > 0.75 * ra.max_interval:
                yield Problem(
                    f"{where}.ra.min_interval",
                    f"{ra.min_interval} exceeds 0.75 × max_interval ({0.75 * ra.max_interval:g}), RFC 4861 §6.2.1",
                )
            if ra.router_lifetime not in (None, 0) and ra.router_lifetime < ra.max_interval:
                yield Problem(
                    f"{where}.ra.router_lifetime",
                    f"{ra.router_lifetime} is below max_interval ({ra.max_interval:g}), RFC 4861 §6.2.1",
                )
            if ra.prefix_preferred_lifetime > ra.prefix_valid_lifetime:
                yield Problem(f"{where}.ra.prefix_preferred_lifetime", "exceeds prefix_valid_lifetime")
        if sub.server is not None and sub.server not in sub.prefix:
            yield Problem(f"{where}.server", f"{sub.server} is outside {sub.prefix}")


def check_placeholders(where: str, text: str | None) -> Iterator[Problem]:
    """Unknown ``{placeholders}`` in a boot file string (see :data:`BOOTFILE_PLACEHOLDERS`)."""
    if text is None:
        return
    for name in _PLACEHOLDER.findall(text):
        if name not in BOOTFILE_PLACEHOLDERS:
            allowed = ", ".join("{" + n + "}" for n in BOOTFILE_PLACEHOLDERS)
            yield Problem(where, f"unknown placeholder {{{name}}} (allowed: {allowed})")


def _check_references(config: Config) -> Iterator[Problem]:
    names = config.script_names()
    known = ", ".join(sorted(names)) or "none defined"
    overlap = set(config.targets) & set(config.menus)
    for name in sorted(overlap):
        yield Problem(f"menus.{name}", "a target has the same name; names must be unique")
    seen_rules: set[str] = set()
    for i, rule in enumerate(config.rule):
        where = f"rule[{i}]"
        if rule.name in seen_rules:
            yield Problem(f"{where}.name", f"rule name {rule.name!r} is used twice")
        seen_rules.add(rule.name)
        if rule.script is not None and rule.script not in names:
            yield Problem(f"{where}.script", f"no target or menu named {rule.script!r} ({known})")
        yield from check_placeholders(f"{where}.bootfile", rule.bootfile)
        yield from _check_ipxe_names(f"{where}.ipxe", rule.ipxe)
    yield from _check_ipxe_names("dhcp4.ipxe", config.dhcp4.ipxe or {})
    for i, sub in enumerate(config.subnet4):
        yield from _check_ipxe_names(f"subnet4[{i}].ipxe", sub.ipxe or {})
    for path, script in config.http.scripts.items():
        if script not in names:
            yield Problem(f"http.scripts.{path}", f"no target or menu named {script!r} ({known})")
    if config.boot.default is not None and config.boot.default not in names:
        yield Problem("boot.default", f"no target or menu named {config.boot.default!r} ({known})")
    for code in config.boot.files:
        if not code.isdigit() or int(code) > 0xFFFF:
            yield Problem(f"boot.files.{code}", "keys are architecture codes in decimal (0–65535)")
    for mname, menu in config.menus.items():
        items = [it.target for it in menu.items if it.target]
        for j, item in enumerate(menu.items):
            where = f"menus.{mname}.items[{j}]"
            if (item.target is None) == (item.gap is None):
                yield Problem(where, "an item needs exactly one of 'target' or 'gap'")
            elif item.target is not None and item.target not in names:
                yield Problem(f"{where}.target", f"no target or menu named {item.target!r} ({known})")
        if menu.default is not None and menu.default not in items:
            yield Problem(f"menus.{mname}.default", f"{menu.default!r} is not an item of this menu")
    for tname, target in config.targets.items():
        kinds = [k for k in ("kernel", "chain", "sanboot", "efi") if getattr(target, k)]
        kinds += [k for k in ("config", "shell", "exit") if getattr(target, k)]
        if len(kinds) > 1:
            yield Problem(f"targets.{tname}", f"sets {' and '.join(kinds)}; a target does one thing")
        if not kinds and not target.ipxe and not target.variants:
            yield Problem(
                f"targets.{tname}", "does nothing: set kernel, chain, sanboot, efi, config, shell, exit or ipxe"
            )
        if target.initrd and not (target.kernel or any(v.kernel for v in target.variants.values())):
            yield Problem(f"targets.{tname}.initrd", "an initrd needs a kernel")


def _check_ipxe_names(where: str, settings: dict[str, int | str]) -> Iterator[Problem]:
    for key, value in settings.items():
        problem = ipxe_option_problem(key, value)
        if problem:
            names = ", ".join(sorted(IPXE_OPTIONS_BY_NAME))
            yield Problem(f"{where}.{key}", f"{problem} (known names: {names})")


_HEX_OCTETS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})+$")
_HEX_LIKE = re.compile(r"^[0-9A-Za-z]{1,2}(:[0-9A-Za-z]{1,2})+$")
POOL_MEMBERS = ("known", "unknown", "rule:NAME", "group:NAME")


def match_octets(text: str) -> bytes:
    """A ``circuit_id``/``remote_id``/``client_id`` value as octets: ``"01:52:54"`` (two or more
    colon-separated hex octets) as those bytes, any other text as its UTF-8 encoding."""
    if _HEX_OCTETS.match(text):
        return bytes.fromhex(text.replace(":", ""))
    return text.encode()


def check_match_values(config: Config) -> Iterator[Problem]:
    """Rule match values that would never match as meant, and pool permits naming nothing."""
    rules = {r.name for r in config.rule}
    for i, rule in enumerate(config.rule):
        m = rule.match
        for key in ("circuit_id", "remote_id", "client_id"):
            for j, text in enumerate(getattr(m, key) or ()):
                if not text:
                    yield Problem(f"rule[{i}].match.{key}[{j}]", 'empty: give the octets ("01:02:0a") or the text')
                elif _HEX_LIKE.match(text) and not _HEX_OCTETS.match(text):
                    yield Problem(
                        f"rule[{i}].match.{key}[{j}]",
                        f"{text!r} looks like hex octets but is not: write "
                        'two hex digits per octet ("01:52:54:00:12:34:56")',
                    )
        for j, name in enumerate(m.ipxe_feature or ()):
            if name not in IPXE_FEATURES:
                yield Problem(
                    f"rule[{i}].match.ipxe_feature[{j}]",
                    f"unknown iPXE feature {name!r} (known: {', '.join(sorted(IPXE_FEATURES))})",
                )
    for where, member in pool_permits(config):
        kind, _, name = member.partition(":")
        if member in ("known", "unknown") or (kind == "group" and name):
            continue
        if kind == "rule" and name:
            if name not in rules:
                yield Problem(where, f"no rule named {name!r} ({', '.join(sorted(rules)) or 'none defined'})")
            continue
        yield Problem(where, f"{member!r} is not a pool member: write one of {', '.join(POOL_MEMBERS)}")


def pool_permits(config: Config) -> Iterator[tuple[str, str]]:
    """Every pool ``allow``/``deny`` member with its key path (``subnet4[0].pools[1].allow[0]``)."""
    pools: list[tuple[str, Pool4 | Pool6]] = [
        (f"subnet4[{i}].pools[{j}]", p) for i, s in enumerate(config.subnet4) for j, p in enumerate(s.pools)
    ]
    pools += [(f"subnet6[{i}].pools[{j}]", p) for i, s in enumerate(config.subnet6) for j, p in enumerate(s.pools)]
    for where, pool in pools:
        for key in ("allow", "deny"):
            for k, member in enumerate(getattr(pool, key)):
                yield f"{where}.{key}[{k}]", member


def _check_hosts(config: Config) -> Iterator[Problem]:
    names = config.script_names()
    seen_names: dict[str, int] = {}
    seen_macs: dict[str, int] = {}
    seen_addrs: dict[IPv4Address | IPv6Address, int] = {}  # an IPv4 address never equals an IPv6 one
    for i, host in enumerate(config.host):
        where = f"host[{i}]"
        if not HOST_NAME.match(host.name):
            yield Problem(f"{where}.name", f"{host.name!r} is {HOST_NAME_RULE}")
        if host.name in seen_names:
            yield Problem(f"{where}.name", f"{host.name!r} is also host[{seen_names[host.name]}]")
        seen_names.setdefault(host.name, i)
        for mac in host.mac:
            if mac in seen_macs and seen_macs[mac] != i:
                yield Problem(f"{where}.mac", f"{mac} is also the MAC of host[{seen_macs[mac]}]")
            seen_macs.setdefault(mac, i)
        for key, addr in (("ipv4", host.ipv4), ("ipv6", host.ipv6)):
            if addr is None:
                continue
            if addr in seen_addrs:
                yield Problem(f"{where}.{key}", f"{addr} is also the address of host[{seen_addrs[addr]}]")
            seen_addrs.setdefault(addr, i)
            problem = address_problem(config, addr)
            if problem:
                yield Problem(f"{where}.{key}", problem)
        if host.target is not None and host.target not in names:
            yield Problem(f"{where}.target", f"no target or menu named {host.target!r}")
        if not host.mac and host.duid is None:
            yield Problem(where, "a host needs a 'mac' or a 'duid' to be recognised")
        yield from check_placeholders(f"{where}.bootfile", host.bootfile)
        if (message := menu_default_problem(config, host.target, host.menu_default)) is not None:
            yield Problem(f"{where}.menu_default", message)


def menu_default_problem(config: Config, target: str | None, wanted: str | None) -> str | None:
    """Why a host's ``menu_default`` (``wanted``) would preselect nothing, or None.

    It must name an item of the menu the host boots: its ``target`` when that is a menu,
    otherwise (the rules choose) an item of some menu. Config hosts are checked here
    (``host[i].menu_default``), inventory hosts by ``boot/validation.host_problems``.
    """
    if wanted is None:
        return None
    if target is not None and target not in config.menus:
        if target not in config.targets:
            return None  # the unknown target is reported on its own
        return f"the host boots target {target!r}, not a menu: set 'target' to a menu or remove menu_default"
    names = [target] if target is not None else sorted(config.menus)
    if not names:
        return f"no menu is defined, so {wanted!r} preselects nothing"
    items = {i.target for n in names for i in config.menus[n].items if i.target}
    if wanted in items:
        return None
    where = f"menu {target!r}" if target is not None else "any menu"
    return f"{wanted!r} is not an item of {where} (items: {', '.join(sorted(items)) or 'none'})"


def _check_http_tls(http: HttpSection) -> Iterator[Problem]:
    """Both TLS files or neither, on a port of its own (the files themselves: ``web/tls.py``, at check and start)."""
    if (http.tls_cert is None) != (http.tls_key is None):
        have, need = ("tls_cert", "tls_key") if http.tls_key is None else ("tls_key", "tls_cert")
        yield Problem(f"http.{have}", f"TLS needs http.{need} too (the certificate and its private key)")
    elif http.tls_cert is not None and http.tls_port == http.port:
        yield Problem("http.tls_port", f"{http.tls_port} is also http.port: plain HTTP and HTTPS need a port each")


def _check_api_users(users: Sequence[ApiUser]) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, user in enumerate(users):
        if user.name in seen:
            yield Problem(f"api.user[{i}].name", f"{user.name!r} is also api.user[{seen[user.name]}]: names are unique")
        seen.setdefault(user.name, i)


def event_patterns(entries: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """A hook's ``events``: the exact kinds, and the prefixes of the entries ending in ``*`` ("" for "*").

    The one rule of what a hook's ``events`` entry matches (``net/hooks.py`` matches events by it).
    """
    exact = frozenset(e for e in entries if not e.endswith("*"))
    prefixes = tuple(dict.fromkeys(e[:-1] for e in entries if e.endswith("*")))
    return exact, prefixes


def _check_ddns(ddns: DdnsSection) -> Iterator[Problem]:
    """Zones and key names are DNS names; reverse zones are ``.arpa`` zones; one secret source with a key."""
    names = [("forward_zone", ddns.forward_zone), ("key_name", ddns.key_name)]
    names += [(f"reverse_zones[{i}]", z) for i, z in enumerate(ddns.reverse_zones)]
    for key, name in names:
        if name is None:
            continue
        try:
            encode_domain_list([name.rstrip(".")], compress=False)
        except ValueError as exc:
            yield Problem(f"ddns.{key}", f"{name!r}: {exc}: not a domain name (RFC 1035 §2.3.1)")
    for i, zone in enumerate(ddns.reverse_zones):
        if not zone.rstrip(".").lower().endswith((".in-addr.arpa", ".ip6.arpa")):
            yield Problem(f"ddns.reverse_zones[{i}]", f"{zone!r} is no reverse zone: give an in-addr.arpa or "
                          'ip6.arpa zone, e.g. "2.0.192.in-addr.arpa."')
    sources = [k for k in ("key_secret_file", "key_secret_env") if getattr(ddns, k) is not None]
    if ddns.key_name is not None and len(sources) != 1:
        yield Problem("ddns.key_name", "a TSIG key needs its secret from exactly one of key_secret_file (a file "
                      "holding it) or key_secret_env (an environment variable); never inline")
    if ddns.key_name is None and sources:
        yield Problem(f"ddns.{sources[0]}", "a secret without key_name: name the key as the DNS server knows it")
    if ddns.enabled and ddns.server is None:
        yield Problem("ddns.server", 'updates need the DNS server\'s address: server = "192.0.2.53"')
    if ddns.enabled and ddns.forward_zone is None:
        yield Problem("ddns.forward_zone", 'updates need the zone the names go in: forward_zone = "lab.example."')


def _check_hooks(hooks: Sequence[Hook]) -> Iterator[Problem]:
    kinds = [str(k) for k in EventKind]
    services = ", ".join(sorted({k.split(".", 1)[0] + ".*" for k in kinds}))
    for i, hook in enumerate(hooks):
        where = f"hook[{i}]"
        if not hook.events:
            yield Problem(f"{where}.events", "lists no event kind: name at least one (e.g. \"dhcp4.ack\")")
        for j, entry in enumerate(hook.events):
            if "*" in entry[:-1]:
                yield Problem(f"{where}.events[{j}]", f"{entry!r}: '*' may only end an entry (\"dhcp4.*\")")
            elif entry.endswith("*"):
                if not any(k.startswith(entry[:-1]) for k in kinds):
                    yield Problem(f"{where}.events[{j}]", f"{entry!r} matches no event kind (kinds are "
                                  f"<service>.<step>: {services}; docs/hooks.md lists them)")
            elif entry not in kinds:
                close = difflib.get_close_matches(entry, kinds, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                yield Problem(f"{where}.events[{j}]", f"unknown event kind {entry!r} ({hint}kinds are "
                              f"<service>.<step>: {services}; docs/hooks.md lists them)")
        if (hook.command is None) == (hook.url is None):
            yield Problem(where, "a hook needs exactly one of 'command' (a program and its arguments) or 'url'")
        if hook.command is not None and (not hook.command or not hook.command[0]):
            yield Problem(f"{where}.command", "names no program: [\"/usr/local/bin/on-lease\", \"arg\", …]")
        if hook.url is not None and not re.match(r"(?i)https?://[^/?#\s]+", hook.url):
            yield Problem(f"{where}.url", "not an http:// or https:// URL")
        if hook.headers and hook.url is None:
            yield Problem(f"{where}.headers", "request headers go with 'url' (a command gets none)")


def address_problem(config: Config, addr: IPv4Address | IPv6Address) -> str | None:
    """Why a host's fixed address cannot be handed out under ``config``, or None."""
    if isinstance(addr, IPv4Address):
        if not config.subnet4:
            return None
        sub = next((s.subnet for s in config.subnet4 if addr in s.subnet), None)
        if sub is None:
            return f"{addr} is outside every subnet4 ({', '.join(str(s.subnet) for s in config.subnet4)})"
        # RFC 950 / RFC 919: all-zeros and all-ones host parts (not on /31, RFC 3021, or /32).
        if sub.prefixlen < 31 and addr in (sub.network_address, sub.broadcast_address):
            return f"{addr} is the network or broadcast address of {sub}"
        return None
    if config.subnet6 and not any(addr in s.prefix for s in config.subnet6):
        return f"{addr} is outside every subnet6 ({', '.join(str(s.prefix) for s in config.subnet6)})"
    return None


def ip_text(addr: IPv4Address | IPv6Address | str) -> str:
    """An address as it appears inside a URL: IPv6 literals bracketed (RFC 3986 §3.2.2)."""
    parsed = ipaddress.ip_address(str(addr).strip("[]"))
    return f"[{parsed}]" if parsed.version == 6 else str(parsed)
