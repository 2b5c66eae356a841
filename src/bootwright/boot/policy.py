"""The boot decision: who is this client, and what should it boot?

Pure: ``BootPolicy.from_config(config)`` compiles the rules, hosts and the
built-in architecture table once; ``policy.decide(client, ctx)`` then answers
each request with a :class:`~bootwright.model.BootAnswer`. The DHCP engines,
the HTTP script endpoints and ``bootwright explain`` all call the same code, so
what ``explain`` prints is what the server does.

Rules are evaluated in order like the if/else chains of ISC dhcpd: the first
*final* rule that matches decides. A rule with ``final = false`` behaves like a
dhcpd ``class``: it contributes what it sets and evaluation continues. When no
final rule matches and ``boot.builtin`` is on, the built-in table
(:data:`ARCH_TABLE`) answers by client architecture — for network-boot clients
only (:func:`is_boot_client`): an operating system renewing its lease gets no
boot file unless a rule or its host entry gives it one, as a dhcpd
``class "pxeclients"`` or dnsmasq ``tag:`` configuration behaves.

A matching rule with ``ignore = true`` is final and answers "no reply at all"
(:attr:`BootAnswer.ignored`). Every rule is tried, whichever decided:
:attr:`BootAnswer.matched` names all whose conditions hold, which is what pool
``allow``/``deny`` ``rule:NAME`` permits read (:class:`PoolAccess`, :meth:`BootPolicy.members`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Network
from typing import Final, Literal
from urllib.parse import urlsplit

from bootwright.config import BmcEntry, Config, HostEntry, Pool4, Pool6, Rule, Subnet4, match_octets
from bootwright.model import Bmc, BootAnswer, ClientInfo, Host, IpxeSetting, Platform, normalize_mac
from bootwright.wire.ipxe_options import lookup_ipxe_option

# Path of the entry script iPXE clients are pointed at by the built-in rules.
ENTRY_SCRIPT = "boot.ipxe"
# Prefix of per-host scripts: /boot/<mac>.ipxe (stable URL, see the HTTP issue).
HOST_SCRIPT_PREFIX = "boot/"
# Vendor class (DHCPv4 option 60 / DHCPv6 option 16) prefixes of booting firmware:
# PXE (Intel PXE 2.1 §2.4, "PXEClient:Arch:xxxxx:UNDI:yyyzzz") and UEFI HTTP boot
# (UEFI 2.x §24.7, "HTTPClient:Arch:xxxxx:UNDI:yyyzzz").
PXE_CLIENT: Final = "PXEClient"
HTTP_CLIENT: Final = "HTTPClient"

Stack = Literal["pcbios", "efi", "uboot", "other"]


@dataclass(frozen=True, slots=True)
class ArchInfo:
    """One processor architecture type (IANA registry, RFC 4578 §2.1, RFC 5970 §3.3)."""

    code: int
    name: str
    stack: Stack
    http: bool
    file: str | None


def _a(code: int, name: str, stack: Stack, http: bool, file: str | None) -> tuple[int, ArchInfo]:
    return code, ArchInfo(code, name, stack, http, file)


# IANA "Processor Architecture Types" (DHCPv6 option 61 / DHCPv4 option 93) with
# the iPXE binary each one should chain-load. File names follow Debian's ipxe
# package (/usr/lib/ipxe) where it has one; override per site with [boot.files].
ARCH_TABLE: dict[int, ArchInfo] = dict(
    (
        _a(0, "x86 BIOS", "pcbios", False, "undionly.kpxe"),
        _a(1, "NEC/PC98 (deprecated)", "other", False, None),
        _a(2, "Itanium", "other", False, None),
        _a(3, "DEC Alpha (deprecated)", "other", False, None),
        _a(4, "Arc x86 (deprecated)", "other", False, None),
        _a(5, "Intel Lean Client (deprecated)", "other", False, None),
        _a(6, "x86 UEFI", "efi", False, "ipxe32.efi"),
        _a(7, "x64 UEFI", "efi", False, "ipxe.efi"),
        _a(8, "EFI Xscale (deprecated)", "other", False, None),
        # 9 is EBC in the registry, but old iPXE and OVMF sent it for x64 UEFI
        # (RFC 4578 erratum 4017; seed 003 lists both), so it gets the x64 binary.
        _a(9, "x64 UEFI (sent as EBC by old iPXE/OVMF)", "efi", False, "ipxe.efi"),
        _a(10, "ARM 32-bit UEFI", "efi", False, "ipxe-arm32.efi"),
        _a(11, "ARM 64-bit UEFI", "efi", False, "ipxe-arm64.efi"),
        _a(12, "PowerPC Open Firmware", "other", False, None),
        _a(13, "PowerPC ePAPR", "other", False, None),
        _a(14, "POWER OPAL v3", "other", False, None),
        _a(15, "x86 UEFI HTTP", "efi", True, "ipxe32.efi"),
        _a(16, "x64 UEFI HTTP", "efi", True, "ipxe.efi"),
        _a(17, "EBC UEFI HTTP", "efi", True, None),
        _a(18, "ARM 32-bit UEFI HTTP", "efi", True, "ipxe-arm32.efi"),
        _a(19, "ARM 64-bit UEFI HTTP", "efi", True, "ipxe-arm64.efi"),
        _a(20, "x86 BIOS HTTP", "pcbios", True, "ipxe.lkrn"),
        _a(21, "ARM 32-bit U-Boot", "uboot", False, None),
        _a(22, "ARM 64-bit U-Boot", "uboot", False, None),
        _a(23, "ARM 32-bit U-Boot HTTP", "uboot", True, None),
        _a(24, "ARM 64-bit U-Boot HTTP", "uboot", True, None),
        _a(25, "RISC-V 32-bit UEFI", "efi", False, None),
        _a(26, "RISC-V 32-bit UEFI HTTP", "efi", True, None),
        _a(27, "RISC-V 64-bit UEFI", "efi", False, "ipxe-riscv64.efi"),
        _a(28, "RISC-V 64-bit UEFI HTTP", "efi", True, "ipxe-riscv64.efi"),
        _a(29, "RISC-V 128-bit UEFI", "efi", False, None),
        _a(30, "RISC-V 128-bit UEFI HTTP", "efi", True, None),
        _a(31, "s390 Basic", "other", False, None),
        _a(32, "s390 Extended", "other", False, None),
        _a(33, "MIPS 32-bit UEFI", "efi", False, None),
        _a(34, "MIPS 64-bit UEFI", "efi", False, None),
        _a(35, "Sunway 32-bit UEFI", "efi", False, None),
        _a(36, "Sunway 64-bit UEFI", "efi", False, None),
        _a(37, "LoongArch 32-bit UEFI", "efi", False, None),
        _a(38, "LoongArch 32-bit UEFI HTTP", "efi", True, None),
        _a(39, "LoongArch 64-bit UEFI", "efi", False, None),
        _a(40, "LoongArch 64-bit UEFI HTTP", "efi", True, None),
        _a(41, "ARM rpiboot", "other", False, None),
    )
)


def is_boot_client(client: ClientInfo) -> bool:
    """True for a network-boot client: PXE or UEFI HTTP boot firmware, iPXE, or one that names its architecture.

    The signals are a ``PXEClient``/``HTTPClient`` vendor class, user class
    ``iPXE``/``gPXE`` (iPXE sends it in every request), and a client
    architecture (DHCPv4 option 93, RFC 4578 §2.1; DHCPv6 option 61, RFC 5970
    §3.3), which only boot firmware sends. A plain OS DHCP client sends none.
    """
    vendor = client.vendor_class or ""
    return bool(client.arches) or client.is_ipxe or vendor.startswith((PXE_CLIENT, HTTP_CLIENT))


def platform_of(client: ClientInfo) -> Platform | None:
    """iPXE's ``${platform}`` for a client: known from the request or from its arch."""
    if client.platform is not None:
        return client.platform
    for code in client.arches:
        info = ARCH_TABLE.get(code)
        if info is not None:
            if info.stack == "pcbios":
                return "pcbios"
            if info.stack == "efi":
                return "efi"
    return None


@dataclass(frozen=True, slots=True)
class ServerContext:
    """Where a reply comes from: our address on the client's link and our ports.

    ``server`` (the address as written in a URL, IPv6 bracketed), ``http`` and
    ``tftp`` (base URLs with non-default ports) are derived once at
    construction: they are read for every reply and every script request.
    """

    address: str | None = None
    http_port: int = 80
    tftp_port: int = 69
    subnet: IPv4Network | IPv6Network | None = None
    # Every address we call our own, to tell our script URLs from foreign ones.
    own_addresses: frozenset[str] = frozenset()
    server: str | None = field(init=False, compare=False, repr=False)
    http: str | None = field(init=False, compare=False, repr=False)
    tftp: str | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        server: str | None = None
        if self.address is not None:
            addr = ipaddress.ip_address(self.address)
            server = f"[{addr}]" if addr.version == 6 else str(addr)  # RFC 3986 §3.2.2
        http_port = "" if self.http_port == 80 else f":{self.http_port}"
        tftp_port = "" if self.tftp_port == 69 else f":{self.tftp_port}"
        object.__setattr__(self, "server", server)
        object.__setattr__(self, "http", f"http://{server}{http_port}" if server else None)
        object.__setattr__(self, "tftp", f"tftp://{server}{tftp_port}" if server else None)


@dataclass(frozen=True, slots=True)
class HostIndex:
    """Hosts by MAC and by DUID, for constant-time lookups per packet."""

    by_mac: dict[str, Host] = field(default_factory=dict)
    by_duid: dict[bytes, Host] = field(default_factory=dict)
    by_name: dict[str, Host] = field(default_factory=dict)

    @classmethod
    def build(cls, hosts: list[Host]) -> HostIndex:
        """Index hosts; the config check has already refused duplicates."""
        index = cls()
        for host in hosts:
            index.by_name[host.name] = host
            for mac in host.macs:
                index.by_mac[mac] = host
            if host.duid is not None:
                index.by_duid[host.duid] = host
        return index

    def find(self, client: ClientInfo) -> Host | None:
        """The host a client is, by DUID first (v6), then by MAC."""
        if client.duid is not None:
            host = self.by_duid.get(client.duid)
            if host is not None:
                return host
        if client.mac is not None:
            return self.by_mac.get(client.mac)
        return None


def host_from_entry(entry: HostEntry) -> Host:
    """A validated ``[[host]]`` entry (or an inventory record parsed as one) as a :class:`Host`."""
    return Host(
        name=entry.name,
        macs=tuple(entry.mac),
        ipv4=str(entry.ipv4) if entry.ipv4 else None,
        ipv6=str(entry.ipv6) if entry.ipv6 else None,
        duid=bytes.fromhex(entry.duid) if entry.duid else None,
        groups=tuple(entry.groups),
        target=entry.target,
        next_server=str(entry.next_server) if entry.next_server else None,
        bootfile=entry.bootfile,
        variables=tuple(sorted(entry.vars.items())),
        bmc=bmc_from_entry(entry.bmc) if entry.bmc else None,
        options=tuple(sorted((int(code), text) for code, text in entry.options.items())),
        menu_default=entry.menu_default,
    )


def bmc_from_entry(entry: BmcEntry) -> Bmc:
    """A validated ``bmc = {…}`` table as a :class:`Bmc`."""
    return Bmc(
        driver=entry.driver, address=entry.address, port=entry.port, username=entry.username,
        password=entry.password, password_file=str(entry.password_file) if entry.password_file else None,
        password_env=entry.password_env, system=entry.system, cipher_suite=entry.cipher_suite,
        verify_tls=entry.verify_tls,
    )


def hosts_from_config(config: Config) -> list[Host]:
    """The config file's ``[[host]]`` entries as :class:`Host` records."""
    return [host_from_entry(h) for h in config.host]


def _octets(values: list[str] | None) -> frozenset[bytes] | None:
    return frozenset(match_octets(v) for v in values) if values is not None else None


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    """A rule with its match values in the form requests carry them, compiled once."""

    rule: Rule
    mac_prefixes: tuple[str, ...]
    ipxe: tuple[IpxeSetting, ...]
    circuit_ids: frozenset[bytes] | None = None
    remote_ids: frozenset[bytes] | None = None
    client_ids: frozenset[bytes] | None = None
    features: frozenset[str] | None = None

    @classmethod
    def of(cls, rule: Rule) -> _CompiledRule:
        """Compile ``rule``: MAC prefixes normalised, relay and client-id values as octets."""
        m = rule.match
        return cls(
            rule, tuple(_mac_prefix(p) for p in m.mac or ()), resolve_ipxe_settings(rule.ipxe),
            _octets(m.circuit_id), _octets(m.remote_id), _octets(m.client_id),
            frozenset(m.ipxe_feature) if m.ipxe_feature is not None else None,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PoolAccess:
    """Who may take an address from one pool (``allow``/``deny`` of a ``[[subnet4]]``/``[[subnet6]]`` pool).

    ISC dhcpd pool permit lists (dhcpd.conf(5) "PERMIT LISTS": ``allow members of "c"``,
    ``deny unknown-clients``) and Kea's pool ``client-class``: members are ``known``,
    ``unknown``, ``rule:NAME`` and ``group:NAME`` (:meth:`BootPolicy.members`). An empty
    ``allow`` admits everyone; a client named by ``deny`` is refused whatever ``allow`` says.
    """

    allow: frozenset[str]
    deny: frozenset[str]

    @classmethod
    def of(cls, pool: Pool4 | Pool6) -> PoolAccess | None:
        """The pool's permits; ``None`` for a pool open to every client."""
        if not pool.allow and not pool.deny:
            return None
        return cls(frozenset(pool.allow), frozenset(pool.deny))

    def permits(self, members: frozenset[str]) -> bool:
        """Whether a client with these memberships may take an address here."""
        if not self.deny.isdisjoint(members):
            return False  # deny wins (dhcpd: a prohibit list match refuses the pool)
        return not self.allow or not self.allow.isdisjoint(members)


def _mac_prefix(text: str) -> str:
    digits = text.lower().replace("-", "").replace(":", "").replace(".", "")
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


@dataclass(frozen=True, slots=True)
class _Partial:
    """Fields accumulated while evaluating rules; None means 'not set yet'."""

    bootfile: str | None = None
    next_server: str | None = None
    tftp_server: str | None = None
    vendor_class: str | None = None
    vendor_enterprise: int | None = None
    script: str | None = None
    ipxe: tuple[IpxeSetting, ...] = ()

    def apply(self, rule: _CompiledRule) -> _Partial:
        r = rule.rule
        merged = {s.code: s for s in self.ipxe}
        merged.update({s.code: s for s in rule.ipxe})
        return _Partial(
            bootfile=r.bootfile if r.bootfile is not None else self.bootfile,
            next_server=str(r.next_server) if r.next_server is not None else self.next_server,
            tftp_server=r.tftp_server if r.tftp_server is not None else self.tftp_server,
            vendor_class=r.vendor_class if r.vendor_class is not None else self.vendor_class,
            vendor_enterprise=r.vendor_enterprise if r.vendor_enterprise is not None else self.vendor_enterprise,
            script=r.script if r.script is not None else self.script,
            ipxe=tuple(sorted(merged.values(), key=lambda s: s.code)),
        )


class BootPolicy:
    """The compiled boot decision for one configuration."""

    def __init__(self, config: Config, hosts: list[Host] | None = None) -> None:
        self.config = config
        self.hosts = HostIndex.build(hosts if hosts is not None else hosts_from_config(config))
        self.rules = tuple(_CompiledRule.of(r) for r in config.rule)
        self.files = {code: info.file for code, info in ARCH_TABLE.items()}
        self.files.update({int(k): v for k, v in config.boot.files.items()})
        self.scripts = {p.lstrip("/"): name for p, name in config.http.scripts.items()}

    @classmethod
    def from_config(cls, config: Config) -> BootPolicy:
        """Compile a validated config (hosts from the config file)."""
        return cls(config)

    # ----------------------------------------------------------------- matching

    def _matches(self, cr: _CompiledRule, client: ClientInfo, host: Host | None, ctx: ServerContext) -> bool:
        m = cr.rule.match
        if m.family is not None and m.family != client.family:
            return False
        if m.arch is not None and not any(a in m.arch for a in client.arches):
            return False
        if m.no_arch is not None and m.no_arch != (not client.arches):
            return False
        if m.vendor_class is not None:
            vc = client.vendor_class
            if vc is None or not any(vc.startswith(p) for p in m.vendor_class):
                return False
        if m.user_class is not None and not any(uc in m.user_class for uc in client.user_classes):
            return False
        if m.known is not None and m.known != (host is not None):
            return False
        if m.host is not None and (host is None or host.name not in m.host):
            return False
        if m.group is not None and (host is None or not set(host.groups) & set(m.group)):
            return False
        if cr.mac_prefixes and (client.mac is None or not client.mac.startswith(cr.mac_prefixes)):
            return False
        if cr.features is not None and not cr.features <= client.ipxe_features:
            return False  # every named feature must be announced
        if cr.client_ids is not None and client.client_id not in cr.client_ids:
            return False
        if cr.circuit_ids is not None or cr.remote_ids is not None:
            relay = client.relay
            if relay is None:
                return False
            # v4: option 82 sub-option 1 (RFC 3046 §3.1); v6: the relay's interface-id (RFC 8415 §21.18).
            circuit = relay.circuit_id if relay.circuit_id is not None else relay.interface_id
            if cr.circuit_ids is not None and circuit not in cr.circuit_ids:
                return False
            if cr.remote_ids is not None and relay.remote_id not in cr.remote_ids:
                return False
        if m.subnet is not None:
            net = ctx.subnet
            if net is None or not any(
                net.version == s.version and net.subnet_of(s)  # type: ignore[arg-type]
                for s in m.subnet
            ):
                return False
        return True

    # ----------------------------------------------------------------- deciding

    def decide(self, client: ClientInfo, ctx: ServerContext, host: Host | None = None) -> BootAnswer:
        """The boot answer for one request; ``host`` defaults to a lookup by MAC/DUID."""
        if host is None:
            host = self.hosts.find(client)
        warnings: list[str] = []
        unknown = [a for a in client.arches if a not in ARCH_TABLE]
        if unknown:
            warnings.append(
                "architecture " + ", ".join(str(a) for a in unknown) + " is not in the IANA registry table"
            )
        partial = _Partial()
        rule_name: str | None = None
        decided = False
        matched: list[str] = []
        for cr in self.rules:
            if not self._matches(cr, client, host, ctx):
                continue
            matched.append(cr.rule.name)  # every rule is tried: pools admit by rule:NAME whatever decided
            if decided:
                continue
            if cr.rule.ignore:  # dnsmasq dhcp-ignore, dhcpd "ignore booting": final, nothing else applies
                return BootAnswer(family=client.family, rule=cr.rule.name, host=host.name if host else None,
                                  ignored=True, matched=tuple(matched))  # fmt: skip
            partial = partial.apply(cr)
            rule_name = cr.rule.name
            decided = cr.rule.final
        if not decided and self.config.boot.builtin:
            if is_boot_client(client):
                partial, rule_name = self._builtin(client, partial, ctx, warnings)
            elif rule_name is None:
                rule_name = "builtin:not-booting"  # no PXE/HTTP boot/iPXE signal: no boot file
        if host is not None:
            partial = replace(
                partial,
                bootfile=host.bootfile or partial.bootfile,
                next_server=host.next_server or partial.next_server,
                script=host.target or partial.script,
            )
        bootfile = self._fill(partial.bootfile, client, ctx, warnings)
        script = partial.script
        if script is None and client.is_ipxe and bootfile is not None:
            script = self._script_for_url(bootfile)
        vendor_enterprise = partial.vendor_enterprise
        if partial.vendor_class is not None and client.family == 6 and vendor_enterprise is None:
            vendor_enterprise = client.vendor_enterprise
            if vendor_enterprise is None:
                vendor_enterprise = self.config.dhcp6.vendor_enterprise
        ipxe = partial.ipxe
        next_server = partial.next_server
        if client.family == 4:
            ipxe = self._with_global_ipxe(ipxe, ctx)
            if next_server is None:
                # ISC dhcpd scoping: a subnet's next-server, else the global one.
                sub = self._subnet4(ctx)
                default = (sub.next_server if sub else None) or self.config.dhcp4.next_server
                next_server = str(default) if default is not None else None
        return BootAnswer(
            family=client.family,
            rule=rule_name,
            host=host.name if host else None,
            bootfile=bootfile,
            next_server=next_server if client.family == 4 else None,
            tftp_server=partial.tftp_server if client.family == 4 else None,
            vendor_class=partial.vendor_class,
            vendor_enterprise=vendor_enterprise if client.family == 6 else None,
            ipxe=ipxe if client.family == 4 else (),
            script=script,
            warnings=tuple(warnings),
            matched=tuple(matched),
        )

    # ----------------------------------------------------------------- pools

    def members(self, answer: BootAnswer) -> frozenset[str]:
        """What a client is a member of, for pool ``allow``/``deny``: ``known`` or ``unknown``
        (a host of the config or inventory, dhcpd ``known-clients``), ``rule:NAME`` for every
        rule it matched, ``group:NAME`` for its host's groups."""
        host = self.hosts.by_name.get(answer.host) if answer.host is not None else None
        out = {"known" if host is not None else "unknown"}
        out.update("rule:" + name for name in answer.matched)
        if host is not None:
            out.update("group:" + g for g in host.groups)
        return frozenset(out)

    def usable_pools(self, pools: Sequence[Pool4 | Pool6], answer: BootAnswer) -> list[int]:
        """Indexes of the ``pools`` (of one subnet) this client may take an address from."""
        members = self.members(answer)
        out = []
        for i, pool in enumerate(pools):
            access = PoolAccess.of(pool)
            if access is None or access.permits(members):
                out.append(i)
        return out

    def _subnet4(self, ctx: ServerContext) -> Subnet4 | None:
        return next((s for s in self.config.subnet4 if ctx.subnet is not None and s.subnet == ctx.subnet), None)

    def _with_global_ipxe(self, rule_ipxe: tuple[IpxeSetting, ...], ctx: ServerContext) -> tuple[IpxeSetting, ...]:
        merged: dict[int, IpxeSetting] = {}
        layers = [self.config.dhcp4.ipxe or {}]
        sub = self._subnet4(ctx)
        if sub is not None:
            layers.append(sub.ipxe or {})
        for layer in layers:
            merged.update({s.code: s for s in resolve_ipxe_settings(layer)})
        merged.update({s.code: s for s in rule_ipxe})
        return tuple(sorted(merged.values(), key=lambda s: s.code))

    def _builtin(
        self, client: ClientInfo, partial: _Partial, ctx: ServerContext, warnings: list[str]
    ) -> tuple[_Partial, str]:
        """Answer from the architecture table; fields a non-final rule set are kept."""
        if client.is_ipxe:
            return (
                replace(
                    partial,
                    bootfile=partial.bootfile or "{http}/" + ENTRY_SCRIPT,
                    script=partial.script or self.config.boot.default,
                ),
                "builtin:ipxe",
            )
        info = next((ARCH_TABLE[a] for a in client.arches if a in ARCH_TABLE), None)
        name = "builtin:pxe"
        if info is None:
            info = ARCH_TABLE[0]
            name = "builtin:default"
            if client.arches:
                warnings.append(f"answered as {info.name} by the default rule")
        http = info.http or (client.vendor_class or "").startswith(HTTP_CLIENT)
        file = self.files.get(info.code)
        if file is None:
            warnings.append(f"no boot program for architecture {info.code} ({info.name}); set boot.files.{info.code}")
            return partial, name
        if http:
            return (
                replace(
                    partial,
                    bootfile=partial.bootfile or "{http}/" + file,
                    vendor_class=partial.vendor_class or HTTP_CLIENT,
                ),
                "builtin:http",
            )
        if client.family == 6:
            return replace(partial, bootfile=partial.bootfile or "{tftp}/" + file), name
        return (
            replace(partial, bootfile=partial.bootfile or file, next_server=partial.next_server or ctx.address),
            name,
        )

    def _fill(self, text: str | None, client: ClientInfo, ctx: ServerContext, warnings: list[str]) -> str | None:
        """Replace ``{server}``, ``{http}``, ``{tftp}``, ``{mac}``, ``{arch_file}`` in a boot file."""
        if text is None or "{" not in text:
            return text
        arch_file = next((self.files.get(a) for a in client.arches if self.files.get(a)), None)
        values = {
            "server": ctx.server,
            "http": ctx.http,
            "tftp": ctx.tftp,
            "mac": client.mac,
            "arch_file": arch_file or self.files.get(0),
        }
        out = text
        for key, value in values.items():
            token = "{" + key + "}"
            if token in out:
                if value is None:
                    warnings.append(f"{token} in {text!r} has no value for this client (no server address known?)")
                    continue
                out = out.replace(token, value)
        return out

    def _script_for_url(self, url: str) -> str | None:
        """The target or menu an iPXE client gets when it fetches ``url`` from us."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return None
        path = parts.path.lstrip("/")
        if path in self.scripts:
            return self.scripts[path]
        if path == ENTRY_SCRIPT or path.startswith(HOST_SCRIPT_PREFIX):
            return self.config.boot.default
        return None

    def is_own_script_url(self, url: str | None, ctx: ServerContext) -> bool:
        """True when ``url`` is one of our dynamic iPXE script endpoints."""
        if url is None:
            return False
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        path = parts.path.lstrip("/")
        if path in self.scripts:
            return True
        host = (parts.hostname or "").strip("[]")
        ours = host in ctx.own_addresses or (ctx.address is not None and host == ctx.address)
        return ours and (path == ENTRY_SCRIPT or path.startswith(HOST_SCRIPT_PREFIX))


def normalize_client_mac(text: str | None) -> str | None:
    """Normalise an optional MAC text (helper for adaptors building ClientInfo)."""
    return normalize_mac(text) if text else None


def resolve_ipxe_settings(settings: dict[str, int | str]) -> tuple[IpxeSetting, ...]:
    """Validated config settings as :class:`IpxeSetting` records, ordered by code."""
    out: list[IpxeSetting] = []
    for key, value in settings.items():
        opt = lookup_ipxe_option(key)
        if opt is None:
            raise ValueError(f"unknown iPXE option {key!r}")
        out.append(IpxeSetting(opt.code, opt.name, value))
    return tuple(sorted(out, key=lambda s: s.code))
