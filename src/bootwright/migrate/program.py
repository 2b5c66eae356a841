"""The boot decision written out as data other servers can run: ordered steps of conditions and answers (pure).

Rule: every exporter takes the boot decision from here, never re-derives it.
bootwright's decision (``boot/policy.py``) is: the rules in order — a matching
non-final rule contributes what it sets and evaluation goes on (later values
win), the first matching final rule decides; when none decided and
``boot.builtin`` is on, the architecture table (``ARCH_TABLE``) answers boot
clients, keeping what a non-final rule already set; a host's own bootfile and
next-server win over all of it. A :class:`Program` holds, for one family and
one subnet, the config's rules that can apply there (``match.family`` and
``match.subnet`` decided here), then the built-in table as explicit final
steps (the iPXE entry script first, one step per group of architectures with
the same answer, the default for other boot clients last), every ``{server}``,
``{http}`` and ``{tftp}`` filled in with the server address of that subnet.

The exporters render :class:`Atom` conditions in their own language and keep
the order; what no format can say is noted here once, with its key path
(``{mac}`` and ``{arch_file}`` are per-client values no peer's config computes,
a rule's ``script`` is chosen by bootwright's HTTP service when iPXE fetches
the URL). Where a peer only approximates a condition, its exporter notes it.

Beside the decision, the scope settings every exporter reads alike live here
too: which named DHCPv6 options a scope sets, in order (:func:`dhcp6_settings`),
and which NTP servers a peer that sends addresses only can carry
(:func:`ntp_addresses`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Literal

from bootwright.boot.policy import ARCH_TABLE, ENTRY_SCRIPT, HTTP_CLIENT, PXE_CLIENT, ServerContext
from bootwright.boot.policy import resolve_ipxe_settings as _ipxe_settings
from bootwright.boot.reply import server_context
from bootwright.config import Config, Dhcp6Common, Rule, Subnet4, Subnet6
from bootwright.model import Host, IpxeSetting
from bootwright.wire.dhcp4_codecs import parse_octets
from bootwright.wire.ipxe_options import lookup_ipxe_option

AtomKind = Literal[
    "arch",  # option 93 / 61 holds one of ``values`` (ints)
    "has_arch",  # values[0]: the client sent (True) / did not send (False) an architecture
    "vendor",  # option 60 / 16 text starts with one of ``values``
    "user_class",  # option 77 / 15 holds one of ``values`` exactly
    "mac_prefix",  # the MAC starts with one of ``values`` ("52:54:00")
    "client",  # the client is one of ``values``: ("mac", "52:54:…") or ("duid", "00:01:…") pairs
    "known",  # values[0]: the client is (True) / is not (False) a host of the inventory
    "circuit_id",  # relay option 82.1 (v6: interface-id, option 18) is one of ``values`` (bytes)
    "remote_id",  # relay option 82.2 (v6: remote-id, option 37) is one of ``values`` (bytes)
    "client_id",  # option 61 (v6: the DUID) is one of ``values`` (bytes)
    "ipxe_feature",  # every option 175 sub-option code of ``values`` is present
    "boot_client",  # PXEClient/HTTPClient vendor class or an architecture (policy.is_boot_client, iPXE aside)
]
Note = Callable[[str, str], None]  # (key path, message): Exported.note


@dataclass(frozen=True, slots=True)
class Atom:
    """One condition of a step; a step holds when all its atoms hold (a list inside an atom is OR)."""

    kind: AtomKind
    values: tuple[object, ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    """One rule (or built-in table entry): when it applies and what it sets (``None``: nothing)."""

    path: str  # config key path: "rule[3]" or "boot.builtin"
    name: str  # a name for classes and tags: the rule's, or "builtin-…"
    when: tuple[Atom, ...]
    final: bool
    bootfile: str | None = None
    next_server: str | None = None
    tftp_server: str | None = None
    vendor_class: str | None = None
    vendor_enterprise: int | None = None  # v6 only
    ipxe: tuple[IpxeSetting, ...] = ()
    ignore: bool = False

    def sets_anything(self) -> bool:
        """True when the step gives the client something (or ignores it)."""
        return (
            self.ignore
            or any(v is not None for v in (self.bootfile, self.next_server, self.tftp_server, self.vendor_class))
            or bool(self.ipxe)
        )


@dataclass(frozen=True, slots=True)
class Program:
    """The whole boot decision for one family in one subnet (module docstring)."""

    family: int
    context: ServerContext
    rules: tuple[Step, ...]
    builtin: tuple[Step, ...]  # empty when boot.builtin is off

    def reapplied(self) -> tuple[Step, ...]:
        """Non-final rules whose bootfile, next-server or vendor class must win over the built-in table.

        The table keeps a field a non-final rule set (``partial.bootfile or …``),
        so a format that runs statements in order re-applies these after it.
        """
        return tuple(s for s in self.rules if not s.final and (s.bootfile or s.next_server or s.vendor_class))


def context(config: Config, family: int, subnet: Subnet4 | Subnet6 | None, servers: dict[int, str]) -> ServerContext:
    """Our address in ``subnet`` as bootwright's replies use it, or the ``--server`` address of that family."""
    given = servers.get(family)
    if given is None:
        return server_context(config, family, subnet)
    net = subnet.subnet if isinstance(subnet, Subnet4) else subnet.prefix if isinstance(subnet, Subnet6) else None
    return ServerContext(address=given, http_port=config.http.port, tftp_port=config.tftp.port, subnet=net)


def servers_by_family(addresses: list[str]) -> dict[int, str]:
    """``--server`` values by family (the last of each wins); ``ValueError`` for one that is no address."""
    out: dict[int, str] = {}
    for text in addresses:
        addr = ip_address(text.strip("[]"))
        out[addr.version] = str(addr)
    return out


def fill(text: str | None, ctx: ServerContext, path: str, note: Note) -> str | None:
    """``text`` with ``{server}``, ``{http}``, ``{tftp}`` filled in; other placeholders are noted and kept."""
    if text is None or "{" not in text:
        return text
    out = text
    for key, value in (("server", ctx.server), ("http", ctx.http), ("tftp", ctx.tftp)):
        token = "{" + key + "}"
        if token in out:
            if value is None:
                note(path, f"{token} has no value: no server address is known for this subnet; give --server ADDRESS")
                continue
            out = out.replace(token, value)
    for key in ("mac", "arch_file"):
        if "{" + key + "}" in out:
            note(path, f"{{{key}}} is filled in per client by bootwright; the export hands out {out!r} as written")
    return out


def ntp_addresses(servers: Sequence[str] | None, path: str, note: Note, why: str) -> list[str]:
    """The ``ntp_servers`` written as IPv4 addresses, for a peer that sends only those in option 42
    (RFC 2132 §8.3) where bootwright resolves names; the names left out are noted once (``why``)."""
    addresses = [n for n in servers or () if n.replace(".", "").isdigit()]
    if len(addresses) < len(servers or ()):
        note(f"{path}.ntp_servers", why)
    return addresses


def dhcp6_settings(scope: Dhcp6Common) -> list[tuple[str, list[str]]]:
    """The named DHCPv6 options ``scope`` ([dhcp6] or a subnet6) sets, in the order every exporter writes
    them, each as (config key, its values as text): ``dns`` (23), ``domain_search`` (24, RFC 3646),
    ``preference`` (7, RFC 8415 §21.8), ``info_refresh_time`` (32, §21.23). ``options`` by code come after."""
    out: list[tuple[str, list[str]]] = []
    if scope.dns:
        out.append(("dns", [str(a) for a in scope.dns]))
    if scope.domain_search:
        out.append(("domain_search", list(scope.domain_search)))
    if scope.preference is not None:
        out.append(("preference", [str(scope.preference)]))
    if scope.info_refresh_time is not None:
        out.append(("info_refresh_time", [str(scope.info_refresh_time)]))
    return out


def client_ids(atom: Atom) -> list[tuple[str, str]]:
    """The values of a ``client`` or ``mac_prefix`` atom as (kind, text): "mac", "duid" or "prefix"."""
    if atom.kind == "mac_prefix":
        return [("prefix", str(v)) for v in atom.values]
    pairs: list[tuple[str, str]] = []
    for value in atom.values:
        assert isinstance(value, tuple)
        pairs.append((str(value[0]), str(value[1])))
    return pairs


def mac_prefix(text: str) -> str:
    """A MAC prefix as ``aa:bb:cc`` (how ``match.mac`` is compared: ``-``, ``.`` and ``:`` ignored)."""
    digits = text.lower().replace("-", "").replace(":", "").replace(".", "")
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))


def _ids(hosts: list[Host], family: int) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for host in hosts:
        if family == 6 and host.duid is not None:
            out.append(("duid", host.duid.hex(":")))
        out += [("mac", mac) for mac in host.macs]
    return tuple(out)


def rule_atoms(config: Config, rule: Rule, hosts: list[Host], family: int) -> tuple[Atom, ...] | None:
    """The conditions of ``rule`` as atoms; ``None`` when it can never match (names no host of the inventory)."""
    m = rule.match
    atoms: list[Atom] = []
    if m.arch is not None:
        atoms.append(Atom("arch", tuple(m.arch)))
    if m.no_arch is not None:
        atoms.append(Atom("has_arch", (not m.no_arch,)))
    if m.vendor_class is not None:
        atoms.append(Atom("vendor", tuple(m.vendor_class)))
    if m.user_class is not None:
        atoms.append(Atom("user_class", tuple(m.user_class)))
    if m.mac is not None:
        atoms.append(Atom("mac_prefix", tuple(mac_prefix(p) for p in m.mac)))
    if m.known is not None:
        atoms.append(Atom("known", (m.known,)))
    for key in ("host", "group"):
        names = getattr(m, key)
        if names is None:
            continue
        members = [h for h in hosts if (h.name in names if key == "host" else set(h.groups) & set(names))]
        ids = _ids(members, family)
        if not ids:
            return None
        atoms.append(Atom("client", ids))
    for key in ("circuit_id", "remote_id", "client_id"):
        values = getattr(m, key)
        if values is not None:
            atoms.append(Atom(key, tuple(parse_octets(v) for v in values)))  # type: ignore[arg-type]
    if m.ipxe_feature is not None:
        if family == 6:
            return None  # iPXE announces its features (option 175) over DHCPv4 only: never a DHCPv6 match
        codes = []
        for name in m.ipxe_feature:
            opt = lookup_ipxe_option(name)
            codes.append(opt.code if opt is not None else name)
        atoms.append(Atom("ipxe_feature", tuple(codes)))
    return tuple(atoms)


def _applies(rule: Rule, family: int, subnet: Subnet4 | Subnet6 | None) -> bool:
    m = rule.match
    if m.family is not None and m.family != family:
        return False
    if m.subnet is None:
        return True
    net = subnet.subnet if isinstance(subnet, Subnet4) else subnet.prefix if isinstance(subnet, Subnet6) else None
    return net is not None and any(
        net.version == s.version and net.subnet_of(s)  # type: ignore[arg-type]
        for s in m.subnet
    )


def _rule_step(
    config: Config, i: int, rule: Rule, hosts: list[Host], family: int, ctx: ServerContext, note: Note
) -> Step | None:
    where = f"rule[{i}]"
    atoms = rule_atoms(config, rule, hosts, family)
    if atoms is None:
        if family == 6 and rule.match.ipxe_feature is not None:
            note(f"{where}.match.ipxe_feature", "iPXE sends feature indicators (option 175) in DHCPv4 only: "
                 "the rule never matches a DHCPv6 client, and is left out")  # fmt: skip
        return None  # never matches, in bootwright either (only hosts the inventory lacks; 175 over DHCPv6)
    if rule.script is not None:
        note(
            f"{where}.script",
            "the iPXE script is chosen by bootwright's HTTP service when iPXE fetches its URL; "
            "keep bootwright serving HTTP (or serve the script yourself)",
        )
    v4 = family == 4
    return Step(
        path=where,
        name=rule.name,
        when=atoms,
        final=rule.final or rule.ignore,
        bootfile=fill(rule.bootfile, ctx, f"{where}.bootfile", note),
        next_server=str(rule.next_server) if v4 and rule.next_server is not None else None,
        tftp_server=rule.tftp_server if v4 else None,
        vendor_class=rule.vendor_class,
        vendor_enterprise=None
        if v4
        else (
            rule.vendor_enterprise
            if rule.vendor_enterprise is not None
            else config.dhcp6.vendor_enterprise
            if rule.vendor_class
            else None
        ),
        ipxe=_ipxe_settings(rule.ipxe) if v4 else (),
        ignore=rule.ignore,
    )


def builtin_steps(config: Config, family: int, ctx: ServerContext, note: Note) -> tuple[Step, ...]:
    """The architecture table as final steps, in the order ``BootPolicy._builtin`` decides."""
    path = "boot.builtin"
    files = {code: info.file for code, info in ARCH_TABLE.items()}
    files.update({int(k): v for k, v in config.boot.files.items()})
    if ctx.http is None:
        note(
            path,
            "no server address is known, so the built-in answers (which name this server) are left out; "
            "give --server ADDRESS or set server.address4/address6",
        )
        return ()
    enterprise = None if family == 4 else config.dhcp6.vendor_enterprise
    http_client = Atom("vendor", (HTTP_CLIENT,))

    def http(name: str, when: tuple[Atom, ...], file: str) -> Step:
        return Step(
            path,
            name,
            when,
            True,
            bootfile=f"{ctx.http}/{file}",
            vendor_class=HTTP_CLIENT,
            vendor_enterprise=enterprise,
        )

    def pxe(name: str, when: tuple[Atom, ...], file: str) -> Step:
        if family == 6:
            return Step(path, name, when, True, bootfile=f"{ctx.tftp}/{file}")
        return Step(path, name, when, True, bootfile=file, next_server=ctx.address)

    steps = [
        Step(path, "builtin-ipxe", (Atom("user_class", ("iPXE", "gPXE")),), True, bootfile=f"{ctx.http}/{ENTRY_SCRIPT}")
    ]
    groups: dict[tuple[str, str | None], list[int]] = {}
    for code, info in ARCH_TABLE.items():
        file = files.get(code)
        key = ("none", None) if file is None else ("http" if info.http else "pxe", file)
        groups.setdefault(key, []).append(code)
    for (kind, file), codes in groups.items():
        arch = Atom("arch", tuple(codes))
        label = f"builtin-arch-{codes[0]}"
        if file is None:
            steps.append(Step(path, label, (arch,), True))  # no boot program for these: nothing, as bootwright
        elif kind == "http":
            steps.append(http(label, (arch,), file))
        else:
            steps += [http(f"{label}-http", (arch, http_client), file), pxe(label, (arch,), file)]
    default = files.get(0)
    boot_client = Atom("boot_client")
    if default is None:
        steps.append(Step(path, "builtin-default", (boot_client,), True))
    else:
        steps += [
            http("builtin-default-http", (http_client,), default),
            pxe("builtin-default", (boot_client,), default),
        ]
    if family == 6 and any(s.vendor_class for s in steps):
        note(
            "dhcp6.vendor_enterprise",
            f"bootwright echoes the HTTPClient vendor class with the client's own "
            f"enterprise number; the export always sends {config.dhcp6.vendor_enterprise}",
        )
    return tuple(steps)


def program(
    config: Config,
    hosts: list[Host],
    family: int,
    subnet: Subnet4 | Subnet6 | None,
    servers: dict[int, str],
    note: Note,
) -> Program:
    """The boot decision for ``family`` in ``subnet`` (``None``: outside every subnet) as steps."""
    ctx = context(config, family, subnet, servers)
    rules = []
    for i, rule in enumerate(config.rule):
        if _applies(rule, family, subnet):
            step = _rule_step(config, i, rule, hosts, family, ctx, note)
            if step is not None:
                rules.append(step)
    builtin = builtin_steps(config, family, ctx, note) if config.boot.builtin else ()
    return Program(family, ctx, tuple(rules), builtin)


def member_atoms(config: Config, hosts: list[Host], family: int, member: str) -> tuple[Atom, ...] | None:
    """A pool ``allow``/``deny`` member ("known", "unknown", "rule:NAME", "group:NAME") as a condition.

    ``None``: a member no client can be (an unknown rule, a group without hosts).
    """
    if member in ("known", "unknown"):
        return (Atom("known", (member == "known",)),)
    kind, _, name = member.partition(":")
    if kind == "group":
        ids = _ids([h for h in hosts if name in h.groups], family)
        return (Atom("client", ids),) if ids else None
    if kind == "rule":
        rule = next((r for r in config.rule if r.name == name), None)
        return rule_atoms(config, rule, hosts, family) if rule is not None else None
    return None


def host_boot(
    config: Config, host: Host, servers: dict[int, str], path: str, note: Note
) -> tuple[str | None, str | None]:
    """A host's own (bootfile, next-server), placeholders filled in for the subnet of its IPv4 address."""
    if host.bootfile is None:
        return None, host.next_server
    subnet = None
    if host.ipv4:
        subnet = next((s for s in config.subnet4 if IPv4Address(host.ipv4) in s.subnet), None)
    ctx = context(config, 4, subnet or (config.subnet4[0] if config.subnet4 else None), servers)
    return fill(host.bootfile, ctx, path, note), host.next_server


def host_boot6(config: Config, host: Host, servers: dict[int, str], path: str, note: Note) -> str | None:
    """A host's own boot file URL for DHCPv6 (option 59), filled in for the subnet6 of its address."""
    if host.bootfile is None:
        return None
    subnet = None
    if host.ipv6:
        subnet = next((s for s in config.subnet6 if IPv6Address(host.ipv6) in s.prefix), None)
    ctx = context(config, 6, subnet or (config.subnet6[0] if config.subnet6 else None), servers)
    return fill(host.bootfile, ctx, path, note)


PXE_VENDOR = PXE_CLIENT
"""The PXE vendor class prefix (re-exported for the exporters' boot-client conditions)."""
