"""ISC dhcpd.conf (``dhcpd -4``) and dhcpd6.conf (``dhcpd -6``) as a bootwright config, its hosts and findings.

Rule: every statement of the file (and of the files it includes) is either
translated — counted in ``Imported.translated`` — or reported as a
:class:`~bootwright.migrate.result.Finding` with its file and line; nothing is
dropped silently. Where a statement goes:

* parameters of the global scope → ``[dhcp4]``/``[dhcp6]``; of a subnet (and
  of the shared-network or group around it) → that ``[[subnet4]]``/``[[subnet6]]``
  (lease times, ``authoritative``, ``next-server``, routers, DNS, domain,
  NTP, option 175 ``ipxe.*`` settings, any other option by code);
* ``range``/``range6``/``pool``/``allow``/``deny`` → pools with ``allow``/``deny``;
* ``host`` blocks → :class:`~bootwright.model.Host` records, read by the
  inventory's own reader (:mod:`bootwright.inventory.isc`);
* ``filename``, ``next-server`` and the boot options inside ``if`` chains and
  ``class`` blocks → ``[[rule]]``s, in dhcpd's order (:mod:`.isc_rules`);
  ``[boot] builtin = false``, because dhcpd answers only what its file says.

dhcpd defaults that differ from bootwright's are written out: ``allow_bootp``
(dhcpd answers BOOTP by default) and ``[dhcp6] rapid_commit`` (dhcpd6 commits
rapidly only with ``option dhcp6.rapid-commit``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from typing import Any, Final

from bootwright.config import Config, check_semantics
from bootwright.inventory.dhcpd_options import DEFINITION_TYPES, DHCPD_OPTIONS
from bootwright.inventory.isc import HostReader, HostScope, Node, Token, merge_hosts, read_tree
from bootwright.migrate import isc_rules as rules
from bootwright.migrate.isc_parse import (
    And,
    Bool,
    Chain,
    Const,
    Data,
    Equal,
    Exists,
    ExprError,
    Hardware,
    Known,
    Not,
    OptionRef,
    Or,
    Substring,
    Unsupported,
    chains,
    parse_condition,
    parse_data,
    statement_text,
)
from bootwright.migrate.isc_rules import ANY, NEVER, Arm, Assign, Atom, If, Literal, Program
from bootwright.migrate.result import Action, Imported, Reader
from bootwright.wire.ipxe_options import IPXE_OPTIONS_BY_CODE, IpxeOption

MAX_INCLUDE_DEPTH: Final = 8
_RECORD: Final = re.compile(r"(\boption\s+[^\s;{}]+\s+code\s+\d+\s*=\s*)\{([^{}]*)\}")
MAX_DNF: Final = 64  # conjunctions one condition may expand to

# Option names dhcpd knows without a definition, beyond the ones a host may carry (dhcp-options(5)).
_V4_NAMES: Final[dict[str, tuple[int, str]]] = {
    **DHCPD_OPTIONS,
    "dhcp-lease-time": (51, "u32"),
    "dhcp-server-identifier": (54, "ip"),
    "dhcp-renewal-time": (58, "u32"),
    "dhcp-rebinding-time": (59, "u32"),
    "dhcp-client-identifier": (61, "hex"),
    "user-class": (77, "text"),
    "pxe-system-type": (93, "u16s"),
    "vendor-encapsulated-options": (43, "hex"),
}
_AGENT_NAMES: Final = {"circuit-id": 1, "remote-id": 2}
# dhcpd6's dhcp6 universe (common/tables.c), by the names dhcpd6.conf uses.
_V6_NAMES: Final[dict[str, tuple[int, str]]] = {
    "client-id": (1, "hex"),
    "preference": (7, "u8"),
    "rapid-commit": (14, "flag"),
    "user-class": (15, "hex"),
    "vendor-class": (16, "vendor"),
    "name-servers": (23, "ip6s"),
    "domain-search": (24, "domains"),
    "sntp-servers": (31, "ip6s"),
    "info-refresh-time": (32, "u32"),
    "ntp-servers": (56, "hex"),
    "bootfile-url": (59, "text"),
    "bootfile-param": (60, "hex"),
    "client-arch-type": (61, "u16s"),
}
# Statements with no effect on what a client is answered, and why.
_IGNORED: Final = {
    "log-facility": "bootwright logs to the journal or stderr (--log-format)",
    "lease-file-name": "bootwright keeps its leases in its state directory",
    "dhcpv6-lease-file-name": "bootwright keeps its leases in its state directory",
    "pid-file-name": "bootwright runs under systemd (bootwright systemd-unit)",
    "dhcpv6-pid-file-name": "bootwright runs under systemd (bootwright systemd-unit)",
    "omapi-port": "bootwright has a REST API instead of OMAPI (docs/api.md)",
    "ping-check": "a timing choice of dhcpd; bootwright does not ping before offering",
    "ping-timeout": "a timing choice of dhcpd; bootwright does not ping before offering",
    "db-time-format": "the lease file format of dhcpd",
    "update-static-leases": "a dynamic DNS setting",
    "ddns-domainname": "a dynamic DNS setting",
    "ddns-rev-domainname": "a dynamic DNS setting",
    "ddns-hostname": "a dynamic DNS setting",
    "ddns-updates": "a dynamic DNS setting",
    "update-optimization": "a dynamic DNS setting",
    "update-conflict-detection": "a dynamic DNS setting",
    "one-lease-per-client": "bootwright keeps one lease per client and subnet already",
}


@dataclass(slots=True)
class _Ctx:
    """The scope a statement is in: where its parameters go and which program its conditions join."""

    kind: str  # global, shared-network, subnet, pool, group, class, branch
    settings: dict[str, Any] = field(default_factory=dict)
    program: Program = field(default_factory=list)
    hosts: HostScope = field(default_factory=HostScope)
    parent: _Ctx | None = None
    subnets: list[dict[str, Any]] = field(default_factory=list)  # declared inside (shared-network, group)
    host_names: list[str] = field(default_factory=list)
    pools: list[dict[str, Any]] = field(default_factory=list)  # pool/range entries of this scope (v4/v6)
    net: Any = None  # the subnet's network

    @property
    def conditional(self) -> bool:
        """Inside a class or an if-arm: statements become rule fields."""
        return self.kind in ("class", "branch")


@dataclass(slots=True)
class _Class:
    name: str
    line: int
    file: str
    dnf: list[list[Literal]] | None  # match if …; None: membership through subclasses only
    submatch: Data | None = None  # match EXPR;
    program: Program = field(default_factory=list)
    subclass_dnfs: list[list[list[Literal]]] = field(default_factory=list)
    units: list[If] = field(default_factory=list)


class _Importer:
    """One dhcpd.conf or dhcpd6.conf, with its includes."""

    def __init__(self, family: int, file: str, read: Reader | None) -> None:
        self.v6 = family == 6
        self.family = family
        self.source = "dhcpd6" if self.v6 else "dhcpd"
        self.out = Imported(self.source, file)
        self.read = read
        self.names: dict[tuple[str, str], tuple[int, str]] = {("dhcp", k): v for k, v in _V4_NAMES.items()}
        self.names.update({("agent", k): (v, "hex") for k, v in _AGENT_NAMES.items()})
        self.names.update({("dhcp6", k): v for k, v in _V6_NAMES.items()})
        self.spaces = {"dhcp", "agent", "dhcp6"}
        self.file = file
        self.readers: dict[str, HostReader] = {}
        self.subnets: list[dict[str, Any]] = []
        self.scope_units: list[tuple[list[Literal] | None, Program]] = []
        self.classes: dict[str, _Class] = {}
        self.host_units: list[If] = []
        self.permits: list[tuple[dict[str, Any], str, str, int, str, str]] = []  # pool, allow/deny, class, line…
        self.including: list[str] = []
        self.rapid_commit = False
        self.allow_bootp = True
        self.condition_text = ""  # the condition being translated, for findings

    # ----------------------------------------------------------------- findings

    def note(
        self, node: Node | None, action: Action, message: str, line: int | None = None, text: str | None = None
    ) -> None:
        where = line if line is not None else (node.line if node is not None else None)
        shown = text if text is not None else (statement_text(node) if node is not None else "")
        saved = self.out.file
        self.out.file = self.file
        self.out.note(where, shown, action, message)
        self.out.file = saved

    def ok(self) -> None:
        self.out.translated += 1

    def reader(self) -> HostReader:
        if self.file not in self.readers:
            reader = HostReader()
            reader.names.update(
                {
                    name: v
                    for (space, name), v in self.names.items()
                    if space == "dhcp" and v[1] in DEFINITION_TYPES.values()
                }
            )
            self.readers[self.file] = reader
        return self.readers[self.file]

    # ----------------------------------------------------------------- walking

    def run(self, text: str) -> Imported:
        top = _Ctx("global")
        self.scope_units.append((None, top.program))
        self.walk_text(text, top)
        self.finish(top)
        return self.out

    def walk_text(self, text: str, ctx: _Ctx) -> None:
        problems: list[Any] = []
        # A record type ("= {integer 32, integer 16, string}") is the one place braces do not open a block.
        text = _RECORD.sub(lambda m: f"{m.group(1)}({m.group(2)})", text)
        nodes = read_tree(text, problems)
        for p in problems:
            self.note(
                None, "untranslated", f"{p.message} (dhcpd refuses the file)", line=_line_of(p.path), text="(syntax)"
            )
        self.body(nodes, ctx)

    def body(self, nodes: list[Node], ctx: _Ctx) -> None:
        for item in chains(nodes):
            if isinstance(item, Chain):
                self.chain(item, ctx)
            elif item.body is None:
                self.statement(item, ctx)
            else:
                self.block(item, ctx)

    def chain(self, chain: Chain, ctx: _Ctx) -> None:
        if ctx.kind == "pool":
            self.note(
                None,
                "untranslated",
                "conditions inside a pool are not translated: bootwright rules "
                "cannot name a pool; move the statements to the subnet",
                line=chain.line,
                text="if … { … }",
            )
            return
        arms: list[Arm] = []
        for branch in chain.branches:
            dnf = None if branch.condition is None else self.condition(branch.condition, branch.line)
            inner = _Ctx("branch", parent=ctx)
            self.body(branch.body, inner)
            arms.append(Arm(dnf, inner.program, branch.line))
        ctx.program.append(If(arms))

    def include(self, node: Node, ctx: _Ctx) -> None:
        words = node.words
        if len(words) != 2 or not words[1].quoted:
            self.note(node, "untranslated", 'expected include "FILE";')
            return
        path = words[1].text
        if self.read is None:
            self.note(node, "untranslated", "the included file was not read (no reader given): import it too")
            return
        if path in self.including or len(self.including) >= MAX_INCLUDE_DEPTH:
            self.note(node, "untranslated", "includes itself (or nests too deep): not read again")
            return
        try:
            text = self.read(path)
        except OSError as exc:
            self.note(
                node,
                "untranslated",
                f"cannot read the included file ({exc.strerror or exc}): give it to the import (or remove the include)",
            )
            return
        self.ok()
        saved = self.file
        self.including.append(path)
        self.file = path
        try:
            self.walk_text(text, ctx)
        finally:
            self.file = saved
            self.including.pop()

    # ----------------------------------------------------------------- statements

    def statement(self, node: Node, ctx: _Ctx) -> None:
        words = [t.text for t in node.words]
        head = words[0].lower() if not node.words[0].quoted else ""
        if head == "include":
            self.include(node, ctx)
        elif head == "option":
            self.option_statement(node, ctx)
        elif head in ("filename", "next-server"):
            self.boot_statement(node, ctx, head)
        elif head in ("allow", "deny", "ignore"):
            self.permit(node, ctx)
        elif head in ("range", "range6", "prefix6"):
            self.range(node, ctx, head)
        elif head == "subclass":
            self.subclass(node, ctx)
        elif head in _IGNORED:
            self.note(node, "ignored", _IGNORED[head])
        elif head == "ddns-update-style" and len(words) == 2 and words[1].lower() == "none":
            self.note(node, "ignored", "no dynamic DNS updates, as in bootwright")
        elif ctx.conditional:
            self.note(
                node,
                "untranslated",
                "bootwright rules set only the boot file, next-server, option 66, "
                "the vendor class echo, iPXE settings and ignore; set this on the subnet or the host",
            )
        elif ctx.kind == "pool":
            self.note(
                node,
                "untranslated",
                "pools carry only ranges and allow/deny in bootwright; move this statement to the subnet",
            )
        else:
            self.parameter(node, ctx, head, words)

    def parameter(self, node: Node, ctx: _Ctx, head: str, words: list[str]) -> None:
        settings = ctx.settings
        if (
            head in ("default-lease-time", "max-lease-time", "preferred-lifetime")
            and len(words) == 2
            and words[1].isdigit()
        ):
            key = {
                "default-lease-time": "valid_lifetime" if self.v6 else "lease_time",
                "max-lease-time": "max_lease_time",
                "preferred-lifetime": "preferred_lifetime",
            }[head]
            if self.v6 and head == "max-lease-time":
                self.note(
                    node,
                    "approximated",
                    "bootwright hands out the configured lifetimes whatever a client asks (no cap is needed)",
                )
                return
            if not self.v6 and head == "preferred-lifetime":
                self.note(node, "ignored", "a DHCPv6 parameter in a DHCPv4 file")
                return
            settings[key] = int(words[1])
            self.ok()
        elif head == "authoritative" and len(words) == 1:
            self.authoritative(node, ctx, True)
        elif head == "not" and [w.lower() for w in words] == ["not", "authoritative"]:
            self.authoritative(node, ctx, False)
        elif head == "server-identifier" and len(words) == 2 and not self.v6 and _ipv4(words[1]):
            settings["server"] = words[1]
            self.ok()
        elif head == "use-host-decl-names" and len(words) == 2 and words[1].lower() in ("on", "true"):
            self.ok()  # bootwright names hosts by their declaration (option 12) already
        elif head == "ddns-update-style":
            self.note(
                node,
                "untranslated",
                "bootwright does not update DNS from DHCP the dhcpd way; "
                "export zones (bootwright export) or use RFC 2136 updates (docs/dns.md)",
            )
        else:
            self.note(node, "untranslated", "not translated: bootwright has no such setting (dhcpd.conf(5))")

    def authoritative(self, node: Node, ctx: _Ctx, value: bool) -> None:
        if self.v6:
            self.note(
                node,
                "approximated",
                "bootwright's DHCPv6 server answers as dhcpd6 does when "
                "authoritative (it replies NotOnLink to addresses of other links)",
            )
            return
        ctx.settings["authoritative"] = value
        self.ok()

    def boot_statement(self, node: Node, ctx: _Ctx, head: str) -> None:
        words = node.words
        if len(words) != 2:
            self.note(node, "untranslated", f"expected '{head} VALUE;'")
            return
        value = words[1].text
        if self.v6:
            self.note(node, "ignored", f"{head} is a DHCPv4 parameter: dhcpd6 does not send it")
            return
        if head == "next-server":
            if not _ipv4(value):
                self.note(
                    node, "untranslated", f"{value!r} is a name: dhcpd resolves it when it loads; give the address"
                )
                return
            if ctx.conditional:
                ctx.program.append(Assign({"next_server": value}))
            else:
                ctx.settings["next_server"] = value
                if ctx.kind == "group":
                    ctx.hosts.values["next_server"] = value
        else:
            ctx.program.append(Assign({"bootfile": value}))
            if ctx.kind == "group":
                ctx.hosts.values["bootfile"] = value
        self.ok()

    # ----------------------------------------------------------------- options

    def resolve(self, name: str) -> tuple[str, str, int, str] | None:
        space, dot, rest = name.partition(".")
        key = (space.lower(), rest) if dot else ("dhcp", name)
        found = self.names.get(key)
        if found is None:
            return None
        return key[0], key[1], found[0], found[1]

    def option_statement(self, node: Node, ctx: _Ctx) -> None:
        words = [t.text for t in node.words]
        if len(words) == 3 and words[1].lower() == "space":
            self.spaces.add(words[2].lower())
            self.ok()
            return
        if len(words) >= 5 and words[2].lower() == "code" and words[4] == "=":
            self.definition(node, words)
            return
        if len(words) >= 3 and words[2] == "=":
            self.note(node, "untranslated", "an option computed from an expression is not translated; give its value")
            return
        found = self.resolve(words[1]) if len(words) >= 2 else None
        if found is None:
            self.note(
                node,
                "untranslated",
                f"option {words[1] if len(words) > 1 else ''!r} is not known "
                "(define it with 'option NAME code N = TYPE;' or set it by code in bootwright)",
            )
            return
        space, name, code, kind = found
        values = [t for t in node.words[2:] if not t.is_(",")]
        if self.v6:
            self.option6(node, ctx, space, code, kind, values)
        else:
            self.option4(node, ctx, space, name, code, values)

    def definition(self, node: Node, words: list[str]) -> None:
        space, dot, rest = words[1].partition(".")
        key = (space.lower(), rest) if dot else ("dhcp", words[1])
        if not words[3].isdigit():
            self.note(node, "untranslated", "expected 'option NAME code N = TYPE;'")
            return
        kind_text = " ".join(words[5:]).lower()
        kind = DEFINITION_TYPES.get(kind_text, kind_text)
        if kind_text.startswith("encapsulate"):
            kind = "encapsulate"
        elif kind_text == "array of unsigned integer 16":
            kind = "u16s"
        self.names[key] = (int(words[3]), kind)
        if key[0] == "dhcp" and kind in DEFINITION_TYPES.values():
            for reader in self.readers.values():
                reader.names[key[1]] = (int(words[3]), kind)
        self.ok()

    def option4(self, node: Node, ctx: _Ctx, space: str, name: str, code: int, values: list[Token]) -> None:
        texts = [t.text for t in values]
        if space == "ipxe" or (space not in ("dhcp", "agent") and space in self.spaces):
            self.ipxe_option(node, ctx, space, code, values)
            return
        if space != "dhcp":
            self.note(node, "untranslated", f"{space}.* options are set by the relay agent, not the server")
            return
        if ctx.conditional:
            rule_field = {67: "bootfile", 66: "tftp_server", 60: "vendor_class"}.get(code)
            if rule_field is None or len(values) != 1:
                self.note(
                    node,
                    "untranslated",
                    "bootwright rules set only the boot file (67), option 66 and the "
                    "vendor class echo (60); set this option on the subnet or the host",
                )
                return
            ctx.program.append(Assign({rule_field: texts[0]}))
            self.ok()
            return
        settings = ctx.settings
        if code == 67 and len(values) == 1:
            ctx.program.append(Assign({"bootfile": texts[0]}))
        elif code in (3, 6) and texts and all(_ipv4(t) for t in texts):
            settings["routers" if code == 3 else "dns"] = texts
        elif code == 15 and len(values) == 1:
            settings["domain_name"] = texts[0]
        elif code == 119 and texts:
            settings["domain_search"] = texts
        elif code == 42 and texts:
            settings["ntp_servers"] = texts  # names allowed: bootwright resolves them when serving
        elif code in (58, 59):
            self.note(
                node,
                "approximated",
                "bootwright sends T1/T2 at 1/2 and 7/8 of the lease time "
                "(RFC 2131 §4.4.5); there is no setting for them",
            )
            return
        else:
            scope = HostScope()
            reader = self.reader()
            before = len(reader.problems)
            reader.option(node, scope)
            if len(reader.problems) > before:
                problem = reader.problems.pop()
                self.note(node, "untranslated", problem.message)
                return
            settings.setdefault("options", {}).update(scope.options)
        if ctx.kind == "group":
            self.reader().option(node, ctx.hosts)
        self.ok()

    def ipxe_option(self, node: Node, ctx: _Ctx, space: str, code: int, values: list[Token]) -> None:
        wire = IPXE_OPTIONS_BY_CODE.get(code)
        if space != "ipxe" or len(values) != 1:
            self.note(
                node,
                "untranslated",
                f"options of space {space!r} are not translated (only the iPXE "
                "space, option 175, has a bootwright setting)",
            )
            return
        value = _ipxe_value(wire, values[0])
        if value is None:
            self.note(node, "untranslated", f"{values[0].text!r} is not a value for this iPXE setting")
            return
        key = wire.name if wire is not None else str(code)
        if ctx.conditional:
            ctx.program.append(Assign({f"ipxe:{key}": value}))
        else:
            ctx.settings.setdefault("ipxe", {})[key] = value
        self.ok()

    def option6(self, node: Node, ctx: _Ctx, space: str, code: int, kind: str, values: list[Token]) -> None:
        texts = [t.text for t in values]
        if space == "dhcp" and code in (58, 59) and len(texts) == 1 and texts[0].isdigit() and not ctx.conditional:
            # dhcpd6 takes T1/T2 of IA_NA from these DHCPv4 options (server/dhcpv6.c).
            ctx.settings["renew_time" if code == 58 else "rebind_time"] = int(texts[0])
            self.ok()
            return
        if space != "dhcp6":
            self.note(node, "untranslated", "not a DHCPv6 option: dhcpd6 does not send it")
            return
        if code == 59 and len(values) == 1:
            ctx.program.append(Assign({"bootfile": texts[0]}))
        elif code == 16:
            vendor = _vendor_class6(values)
            if vendor is None:
                self.note(node, "untranslated", "expected 'option dhcp6.vendor-class ENTERPRISE LENGTH \"TEXT\";'")
                return
            ctx.program.append(Assign({"vendor_class": vendor[1], "vendor_enterprise": vendor[0]}))
        elif ctx.conditional:
            self.note(
                node,
                "untranslated",
                "bootwright rules set only the boot file URL (59) and the vendor "
                "class echo (16); set this option on the subnet",
            )
            return
        elif code == 23 and texts and all(_ipv6(t) for t in texts):
            ctx.settings["dns"] = texts
        elif code == 24 and texts:
            ctx.settings["domain_search"] = texts
        elif code in (7, 32) and len(texts) == 1 and texts[0].isdigit():
            ctx.settings["preference" if code == 7 else "info_refresh_time"] = int(texts[0])
        elif code == 14 and not texts:
            if ctx.kind != "global":
                self.note(node, "approximated", "bootwright's rapid commit is global: [dhcp6] rapid_commit")
            self.rapid_commit = True
        elif code == 56 and texts and all(_ipv6(t) for t in texts):
            ctx.settings["ntp_servers"] = texts
        elif kind in ("text", "string") and len(values) == 1 and values[0].quoted:
            ctx.settings.setdefault("options", {})[str(code)] = texts[0]
        elif kind == "ip6s" and texts and all(_ipv6(t) for t in texts):
            ctx.settings.setdefault("options", {})[str(code)] = b"".join(
                ipaddress.IPv6Address(t).packed for t in texts
            ).hex(":")
        else:
            self.note(
                node,
                "untranslated",
                "this DHCPv6 option's value is not translated: set it by code in [dhcp6] options as hex octets",
            )
            return
        self.ok()

    # ----------------------------------------------------------------- pools and permits

    def range(self, node: Node, ctx: _Ctx, head: str) -> None:
        words = [t.text for t in node.words[1:]]
        target = ctx if ctx.kind in ("subnet", "pool") else None
        if target is None:
            self.note(node, "untranslated", f"{head} outside a subnet or pool")
            return
        if head == "prefix6":
            parts = " ".join(words).replace("/", " /").split()
            if len(parts) != 3 or not parts[2].startswith("/") or not parts[2][1:].isdigit():
                self.note(node, "untranslated", "expected 'prefix6 LOW HIGH /LENGTH;'")
                return
            self.pd_pool(node, ctx, {"start": parts[0], "end": parts[1], "length": int(parts[2][1:])})
            return
        entry: dict[str, Any] = {}
        if words[:1] == ["dynamic-bootp"]:
            entry["dynamic_bootp"] = True
            words = words[1:]
        if words[-1:] == ["temporary"]:
            self.temporary(node, ctx)
            return
        if len(words) == 1 and "/" in words[0]:
            try:
                net = ipaddress.ip_network(words[0], strict=False)
            except ValueError:
                self.note(node, "untranslated", f"{words[0]!r} is not a prefix")
                return
            words = [str(net.network_address), str(net.broadcast_address)]
        if len(words) == 1:
            words = words * 2
        if len(words) != 2 or not all((_ipv6 if self.v6 else _ipv4)(w) for w in words):
            self.note(node, "untranslated", f"expected '{head} LOW HIGH;'")
            return
        entry = {"start": words[0], "end": words[1], **entry}
        ctx.pools.append(entry)
        self.ok()

    def temporary(self, node: Node, ctx: _Ctx) -> None:
        sub = _subnet_ctx(ctx)
        if sub is None:
            self.note(node, "untranslated", "range6 … temporary outside a subnet6")
            return
        sub.settings["temporary"] = True
        sub.settings.setdefault("_lines", {})["temporary"] = (self.file, node.line, statement_text(node))
        self.ok()

    def pd_pool(self, node: Node, ctx: _Ctx, entry: dict[str, Any]) -> None:
        sub = _subnet_ctx(ctx)
        if sub is None:
            self.note(node, "untranslated", "prefix6 outside a subnet6")
            return
        sub.settings.setdefault("pd_pools", []).append(entry)
        sub.settings.setdefault("_lines", {})["pd_pools"] = (self.file, node.line, statement_text(node))
        self.ok()

    def permit(self, node: Node, ctx: _Ctx) -> None:
        words = [t.text.lower() if not t.quoted else t.text for t in node.words]
        verb, what = words[0], " ".join(words[1:])
        if what == "booting":
            if ctx.conditional:
                ctx.program.append(Assign({"ignore": verb != "allow"}))
                self.ok()
            elif verb == "allow":
                self.ok()  # the default
            else:
                self.note(
                    node,
                    "untranslated",
                    "deny booting outside a host, class or condition ignores every "
                    "client of the scope: remove the scope instead",
                )
            return
        if what == "bootp" and ctx.kind == "global":
            self.allow_bootp = verb == "allow"
            self.ok()
            return
        if what == "leasequery":
            self.note(
                node, "ignored", "bootwright does not answer LEASEQUERY (RFC 5007); clients are answered the same"
            )
            return
        if what in ("client-updates", "unknown-clients known-clients") or what.endswith("client-updates"):
            self.note(node, "ignored", "a dynamic DNS setting")
            return
        member = _member(words[1:], node.words[1:])
        if member is None:
            self.note(
                node,
                "untranslated",
                "not translated: bootwright pools allow or deny known, unknown and members of classes (rule:NAME)",
            )
            return
        if ctx.kind == "pool":
            self.permits.append((ctx.settings, verb, member, node.line, self.file, statement_text(node)))
        elif member in ("known", "unknown"):
            # dhcpd.conf(5): outside a pool, (deny|allow) unknown-clients applies to the scope's ranges.
            ctx.settings.setdefault("_permits", []).append((verb, member))
        else:
            self.note(node, "untranslated", "allow/deny members of a class works in a pool only")
            return
        self.ok()

    # ----------------------------------------------------------------- blocks

    def block(self, node: Node, ctx: _Ctx) -> None:
        words = [t.text for t in node.words]
        head = words[0].lower() if words and not node.words[0].quoted else ""
        if head == "subnet" and not self.v6 and len(words) == 4 and words[2].lower() == "netmask":
            self.subnet(node, ctx, f"{words[1]}/{words[3]}")
        elif head == "subnet6" and self.v6 and len(words) == 2:
            self.subnet(node, ctx, words[1])
        elif head in ("shared-network", "group") and ctx.kind in ("global", "shared-network", "group"):
            inner = _Ctx(head, parent=ctx, hosts=ctx.hosts.child())
            self.scope_units.append((None, []))
            slot = len(self.scope_units) - 1
            self.body(node.body or [], inner)
            self.close_scope(node, inner, slot)
            self.ok()
        elif head == "host" and len(words) == 2:
            self.host(node, ctx)
        elif head == "class" and len(words) == 2:
            self.klass(node)
        elif head == "subclass":
            self.subclass(node, ctx)
        elif head in ("pool", "pool6") and ctx.kind in ("subnet", "shared-network"):
            inner = _Ctx("pool", parent=ctx)
            self.body(node.body or [], inner)
            for pool in inner.pools:
                pool["_permits"] = inner.settings
            (ctx.pools if ctx.kind == "subnet" else ctx.settings.setdefault("_shared_pools", [])).extend(inner.pools)
            self.ok()
        elif head in ("elsif", "else"):
            self.note(node, "untranslated", f"{head} without an if before it (dhcpd refuses it)")
        else:
            self.note(
                node,
                "untranslated",
                "this declaration is not translated (failover, keys, zones, "
                "events and the like have no bootwright equivalent)",
            )

    def close_scope(self, node: Node, inner: _Ctx, slot: int) -> None:
        nets = [s["subnet" if not self.v6 else "prefix"] for s in inner.subnets]
        if inner.kind == "shared-network" and len(nets) > 1:
            self.note(
                node,
                "approximated",
                "bootwright answers a link from the subnet of its own address; "
                "the other subnets of this shared-network serve relayed clients only",
            )
        for pool in inner.settings.pop("_shared_pools", []):
            home = next((s for s in inner.subnets if _in(pool["start"], s)), None)
            if home is None:
                self.note(
                    node,
                    "untranslated",
                    f"the pool {pool['start']}–{pool['end']} is in none of the shared-network's subnets",
                )
            else:
                home.setdefault("_pools", []).append(pool)
        program = inner.program
        if inner.kind == "group" and not nets:
            program = [s for s in program if isinstance(s, If)]  # plain settings went to the hosts
            cond = [Literal(Atom("host", frozenset(inner.host_names)))] if inner.host_names else None
        else:
            cond = [Literal(Atom("subnet", frozenset(nets)))] if nets else None
        if program and cond is not None:
            self.scope_units[slot] = (cond, program)
        elif program:
            self.note(node, "untranslated", "conditions in a scope without subnets or hosts apply to no client")
        if inner.parent is not None:
            inner.parent.subnets.extend(inner.subnets)
            inner.parent.host_names.extend(inner.host_names)

    def subnet(self, node: Node, ctx: _Ctx, text: str) -> None:
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            self.note(node, "untranslated", f"not a subnet: {exc}")
            return
        inner = _Ctx("subnet", parent=ctx, hosts=ctx.hosts.child(), net=net)
        self.scope_units.append((None, []))
        slot = len(self.scope_units) - 1
        self.body(node.body or [], inner)
        entry: dict[str, Any] = {"prefix" if self.v6 else "subnet": str(net)}
        # Inherited parameters (shared-network, groups) first, the subnet's own over them.
        chain: list[_Ctx] = []
        up: _Ctx | None = ctx
        while up is not None and up.kind != "global":
            chain.append(up)
            up = up.parent
        for scope in [*reversed(chain), inner]:
            for key, value in scope.settings.items():
                if key in ("options", "ipxe"):
                    entry.setdefault(key, {}).update(value)
                elif not key.startswith("_"):
                    entry[key] = value
            for verb, member in scope.settings.get("_permits", []):
                entry.setdefault("_legacy", []).append((verb, member))
        entry["_lines"] = inner.settings.get("_lines", {})
        entry["_pools"] = inner.pools
        if inner.program:
            self.scope_units[slot] = ([Literal(Atom("subnet", frozenset({str(net)})))], inner.program)
        self.subnets.append(entry)
        ctx.subnets.append(entry)
        self.ok()

    def host(self, node: Node, ctx: _Ctx) -> None:
        assert node.body is not None
        name = node.words[1].text
        kept: list[Node] = []
        for inner in node.body:
            words = [t.text.lower() for t in inner.words]
            if inner.body is None and words[:2] in (["deny", "booting"], ["ignore", "booting"]):
                unit = If([Arm([[Literal(Atom("host", frozenset({name})))]], [Assign({"ignore": True})], inner.line)])
                self.host_units.append(unit)
                self.ok()
            elif inner.body is None and words[:1] and words[0] in _IGNORED:
                self.note(inner, "ignored", _IGNORED[words[0]])
            elif self.v6 and inner.body is None and words[:1] == ["option"]:
                self.note(inner, "untranslated", "bootwright hosts carry DHCPv4 options only; set it on the subnet6")
            else:
                kept.append(inner)
        self.reader().host(replace(node, body=kept), ctx.hosts)
        ctx.host_names.append(name)
        self.ok()

    # ----------------------------------------------------------------- classes

    def klass(self, node: Node) -> None:
        name = node.words[1].text
        info = _Class(name, node.line, self.file, None)
        body: list[Node] = []
        for inner in node.body or []:
            words = [t.text.lower() for t in inner.words]
            if inner.body is None and words[:2] == ["match", "if"]:
                info.dnf = self.condition(tuple(inner.words[2:]), inner.line)
                self.ok()
            elif inner.body is None and words[:1] == ["match"]:
                try:
                    info.submatch = parse_data(inner.words[1:])
                    self.ok()
                except ExprError as exc:
                    self.note(inner, "untranslated", f"{exc}")
            elif inner.body is None and words[:1] in (["spawn"], ["lease"]):
                self.note(inner, "untranslated", "spawning classes and lease limits are not translated")
            else:
                body.append(inner)
        ctx = _Ctx("class")
        self.body(body, ctx)
        info.program = ctx.program
        if name in self.classes:
            self.note(node, "untranslated", f"class {name!r} is declared twice; the later one is ignored")
            return
        self.classes[name] = info
        if info.dnf is not None:
            info.units.append(If([Arm(info.dnf, info.program, node.line)]))
        elif info.submatch is None:
            self.note(node, "untranslated", "a class without 'match' has no members here")
        self.ok()

    def subclass(self, node: Node, ctx: _Ctx) -> None:
        words = node.words
        info = self.classes.get(words[1].text) if len(words) == 3 else None
        if info is None or info.submatch is None:
            self.note(node, "untranslated", "expected 'subclass \"CLASS\" VALUE' after a class with 'match EXPR;'")
            return
        try:
            value = parse_data([words[2]])
        except ExprError as exc:
            self.note(node, "untranslated", str(exc))
            return
        self.condition_text = statement_text(node)
        dnf = self.dnf(Equal(info.submatch, value), node.line)
        inner = _Ctx("class")
        self.body(node.body or [], inner)
        info.subclass_dnfs.append(dnf)
        info.units.append(If([Arm(dnf, [*info.program, *inner.program], node.line)]))
        self.ok()

    # ----------------------------------------------------------------- conditions

    def condition(self, tokens: tuple[Token, ...], line: int) -> list[list[Literal]]:
        self.condition_text = " ".join(f'"{t.text}"' if t.quoted else t.text for t in tokens)
        try:
            expr = parse_condition(tokens)
        except ExprError as exc:
            self.note(
                None,
                "untranslated",
                f"{exc}; the branch never matches here",
                line=line,
                text=" ".join(t.text for t in tokens),
            )
            return [[Literal(NEVER)]]
        return self.dnf(expr, line)

    def dnf(self, expr: Bool, line: int, positive: bool = True) -> list[list[Literal]]:
        if isinstance(expr, Not):
            return self.dnf(expr.inner, line, not positive)
        if isinstance(expr, And | Or):
            parts = [self.dnf(item, line, positive) for item in expr.items]
            if isinstance(expr, Or) == positive:
                return [conj for part in parts for conj in part][:MAX_DNF]
            out: list[list[Literal]] = [[]]
            for part in parts:
                out = [a + b for a in out for b in part][:MAX_DNF]
            return out
        return [[Literal(self.atom(expr, line), positive)]]

    def atom(self, expr: Bool, line: int) -> Atom:
        if isinstance(expr, Known):
            return Atom("known", frozenset({True}))
        if isinstance(expr, Exists):
            return self.exists(expr.option, line)
        if isinstance(expr, Equal):
            left, right = expr.left, expr.right
            if isinstance(left, Const):
                left, right = right, left
            if isinstance(right, Const):
                found = self.compare(left, right, line)
                if found is not None:
                    return found
        text = expr.text if isinstance(expr, Unsupported) else self.condition_text
        self.note(
            None,
            "untranslated",
            "bootwright rules cannot test this; the test never holds in the imported rules",
            line=line,
            text=text,
        )
        return NEVER

    def field_of(self, ref: OptionRef) -> tuple[str, int] | None:
        found = self.resolve(f"{ref.space}.{ref.name}" if ref.space != "dhcp" else ref.name)
        if found is None:
            return None
        space, _, code, _ = found
        table = {
            ("dhcp", 93): "arch",
            ("dhcp", 60): "vendor_class",
            ("dhcp", 77): "user_class",
            ("dhcp", 61): "client_id",
            ("agent", 1): "circuit_id",
            ("agent", 2): "remote_id",
            ("dhcp6", 61): "arch",
            ("dhcp6", 16): "vendor_class",
            ("dhcp6", 15): "user_class",
            ("dhcp6", 1): "client_id",
        }
        if space == "ipxe":
            return "ipxe_feature", code
        name = table.get((space, code))
        return (name, code) if name else None

    def exists(self, ref: OptionRef, line: int) -> Atom:
        found = self.field_of(ref)
        name = found[0] if found else None
        if name == "arch":
            return Atom("no_arch", frozenset({False}))
        if name == "vendor_class":
            return Atom("vendor_class", frozenset({""}))
        if name == "user_class":
            return Atom("user_class", frozenset({ANY}))
        if name == "ipxe_feature" and found is not None and found[1] in IPXE_OPTIONS_BY_CODE:
            return Atom("ipxe_feature", frozenset({IPXE_OPTIONS_BY_CODE[found[1]].name}))
        self.note(
            None,
            "untranslated",
            "bootwright rules cannot test whether this option was sent; the test never holds in the imported rules",
            line=line,
            text=f"exists {ref.space}.{ref.name}",
        )
        return NEVER

    def compare(self, left: Data, const: Const, line: int) -> Atom | None:
        offset = 0
        length: int | None = None
        if isinstance(left, Substring):
            offset, length, left = left.offset, left.length, left.inner
        data = const.data
        if isinstance(left, Hardware):
            if offset == 0 and data[:1] == b"\x01":  # hardware type 1 (Ethernet), then the MAC
                data, offset = data[1:], 1
            if offset != 1 or not data or len(data) > 6:
                return None
            return Atom("mac", frozenset({data.hex(":")}))
        if not isinstance(left, OptionRef) or offset < 0:
            return None
        found = self.field_of(left)
        if found is None:
            return None
        name, code = found
        if name == "arch" and offset == 0 and length is None and data and len(data) % 2 == 0 and not const.quoted:
            return Atom("arch", frozenset(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)))
        if name == "vendor_class":
            skip = 6 if self.v6 else 0  # DHCPv6: enterprise number (4) and the data's length (2) first
            if offset != skip or (length is None and self.v6):
                return None
            text = data.decode(errors="replace")
            if length is None or length != len(data):
                what = "an exact comparison" if length is None else f"a {length}-octet substring"
                self.note(
                    None,
                    "approximated",
                    f"{what} is matched as the prefix {text!r} (bootwright's vendor_class matches prefixes)",
                    line=line,
                    text=self.condition_text,
                )
            return Atom("vendor_class", frozenset({text}))
        if name == "user_class":
            skip = 2 if self.v6 else 0  # DHCPv6: each user class is length-prefixed (RFC 8415 §21.15)
            if self.v6 and offset == 0 and length is None and len(data) >= 2:
                data = data[2 : 2 + int.from_bytes(data[:2], "big")]
            elif offset != skip:
                return None
            return Atom("user_class", frozenset({data.decode(errors="replace")}))
        if name == "ipxe_feature" and code in IPXE_OPTIONS_BY_CODE and offset == 0 and any(data):
            return Atom("ipxe_feature", frozenset({IPXE_OPTIONS_BY_CODE[code].name}))
        if name in ("client_id", "circuit_id", "remote_id") and offset == 0 and length is None:
            text = data.decode() if const.quoted and data.isascii() and ":" not in data.decode() else data.hex(":")
            return Atom(name, frozenset({text}))
        return None

    # ----------------------------------------------------------------- the result

    def finish(self, top: _Ctx) -> None:
        config = self.out.config
        section = {k: v for k, v in top.settings.items() if not k.startswith("_")}
        if self.v6:
            section["rapid_commit"] = self.rapid_commit
            config["dhcp6"] = section
        else:
            section["allow_bootp"] = self.allow_bootp
            config["dhcp4"] = section
        if top.pools:
            self.note(None, "untranslated", "ranges outside a subnet are not used", text="range")
        self.pools(top)
        subnets = [self.clean_subnet(s) for s in self.subnets]
        if subnets:
            config["subnet6" if self.v6 else "subnet4"] = subnets
        config["boot"] = {"builtin": False}
        config["rule"] = self.rule_table()
        for file, reader in self.readers.items():
            hosts, problems = merge_hosts(reader.blocks)
            for p in [*reader.problems, *problems]:
                self.out.findings.append(_finding(self.out, file, p.path, p.message))
            self.out.hosts += [h.host for h in hosts]
        self.drop_refused()

    def pools(self, top: _Ctx) -> None:
        membership = {name: self.member_rules(info) for name, info in self.classes.items()}
        for sub in self.subnets:
            for pool in sub.get("_pools", []):
                for verb, member in sub.get("_legacy", []):
                    pool.setdefault("deny" if verb != "allow" else "allow", []).append(member)
            for verb, member in [*top.settings.get("_permits", [])]:
                for pool in sub.get("_pools", []):
                    pool.setdefault("deny" if verb != "allow" else "allow", []).append(member)
        for settings, verb, member, line, file, text in self.permits:
            if member.startswith("class:"):
                names = membership.get(member[6:])
                if not names:
                    self.out.findings.append(
                        _finding(
                            self.out,
                            file,
                            f"line {line}",
                            f"class {member[6:]!r} cannot be written as rules (see its findings): pool not restricted",
                            text,
                        )
                    )
                    continue
                members = [f"rule:{n}" for n in names]
            else:
                members = [member]
            for sub in self.subnets:
                for pool in sub.get("_pools", []):
                    if pool.get("_permits") is settings:
                        pool.setdefault("allow" if verb == "allow" else "deny", []).extend(members)

    def clean_subnet(self, sub: dict[str, Any]) -> dict[str, Any]:
        pools = []
        for pool in sub.get("_pools", []):
            entry = {k: v for k, v in pool.items() if not k.startswith("_")}
            for key in ("allow", "deny"):
                if key in entry:
                    entry[key] = list(dict.fromkeys(entry[key]))
            pools.append(entry)
        out = {k: v for k, v in sub.items() if not k.startswith("_")}
        if pools:
            out["pools"] = pools
        return out

    def member_rules(self, info: _Class) -> list[str]:
        """Names of the non-final rules that say "member of this class"; [] when not expressible."""
        conjs: list[list[Literal]] = list(info.dnf or [])
        for dnf in info.subclass_dnfs:
            conjs += dnf
        if not conjs or any(not lit.positive and lit.atom.negated() is None for c in conjs for lit in c):
            return []
        return [info.name if i == 0 else f"{info.name}-{i + 1}" for i, _ in enumerate(conjs)]

    def rule_table(self) -> list[dict[str, Any]]:
        """Class membership rules (non-final) first, then the product of everything else as final rules."""
        family: rules.Conj = {"family": frozenset({self.family})}
        units: list[tuple[_Class | None, list[rules.Path]]] = []  # in dhcpd's execution order
        for cond, program in self.scope_units:
            if program:
                units.append((None, self.unit_paths(If([Arm([cond] if cond is not None else None, program, 0)]))))
        for info in reversed(self.classes.values()):  # dhcpd runs the first declared class last: it wins
            units += [(info, self.unit_paths(unit)) for unit in info.units]
        units = [(info, paths) for info, paths in units if any(p.fields for p in paths)]  # membership only
        fields = [set().union(*(p.fields for p in paths)) for _, paths in units]
        contributes: dict[str, dict[str, Any]] = {}  # class → the fields its non-final rules set
        finals: list[list[rules.Path]] = []
        for i, (owner, paths) in enumerate(units):
            others = set().union(*(f for j, f in enumerate(fields) if j != i))
            if (
                owner is not None
                and len(owner.units) == 1
                and self.member_rules(owner)
                and rules.class_like(paths)
                and not fields[i] & others
            ):
                contributes[owner.name] = next(p.fields for p in paths if p.fields)
            else:
                finals.append(paths)
        out: list[dict[str, Any]] = []
        names: set[str] = set()
        for name, info in self.classes.items():
            conjs = [*(info.dnf or []), *(c for dnf in info.subclass_dnfs for c in dnf)]
            for rule_name, literals in zip(self.member_rules(info), conjs, strict=False):
                match = rules.conjoin(family, self.literal_conj(literals) or {})
                if match is not None:
                    out.append(rules.rule_of(_unique(rule_name, names), match, contributes.get(name, {}), final=False))
        # A host's "deny booting" runs last in dhcpd (the host scope) and means no reply whatever else was set:
        # a final ignore rule ahead of everything is the same.
        for unit in self.host_units:
            for path in self.unit_paths(unit):
                match = rules.conjoin(family, path.conj)
                if path.fields and match is not None:
                    name = "ignore-" + "-".join(sorted(path.conj["host"]))
                    out.append(rules.rule_of(_unique(name, names), match, path.fields))
        for rule_name, conj, values in rules.final_rules(finals, self.source):
            match = rules.conjoin(family, conj)
            if match is not None:
                out.append(rules.rule_of(_unique(rule_name, names), match, values))
        for rule in out:
            if rule["match"].get("user_class") == [ANY]:
                rule["match"]["user_class"] = ["iPXE", "gPXE"]
                self.note(
                    None,
                    "approximated",
                    "'exists user-class' alone is matched as user class iPXE or "
                    "gPXE (bootwright rules match user classes by value)",
                    text=f"rule {rule['name']}",
                )
        return rules.merge_adjacent(out)

    def literal_conj(self, conj: list[Literal]) -> rules.Conj | None:
        out: rules.Conj | None = {}
        for lit in conj:
            atom = lit.atom if lit.positive else lit.atom.negated()
            if atom is None or atom.field == "never" or out is None:
                return None
            out = rules.conjoin(out, {atom.field: atom.values})
        return out

    def unit_paths(self, unit: If) -> list[rules.Path]:
        try:
            return rules.paths([unit])
        except rules.TooComplex as exc:
            self.note(
                None,
                "untranslated",
                f"{exc}: simplify the conditions",
                line=unit.arms[0].line or None,
                text="if … { … }",
            )
            return [rules.Path()]

    def drop_refused(self) -> None:
        """Keys the config model accepts but bootwright's validation refuses today (IA_TA, IA_PD): findings."""
        try:
            problems = list(check_semantics(Config.model_validate(self.out.config)))
        except ValueError:
            return
        for i, sub in enumerate(self.out.config.get("subnet6", [])):
            for key in ("temporary", "pd_pools"):
                refused = next((p for p in problems if p.path == f"subnet6[{i}].{key}"), None)
                if refused is None or key not in sub:
                    continue
                del sub[key]
                file, line, text = self.subnets[i].get("_lines", {}).get(key, (self.out.file, None, key))
                self.out.translated -= 1
                why = refused.message.split(";")[0].removeprefix("not implemented: ")
                self.out.findings.append(_finding(self.out, file, f"line {line}", f"not imported: {why}", text))


# --------------------------------------------------------------------------- helpers


def _finding(out: Imported, file: str, path: str, message: str, text: str = "(host declaration)") -> Any:
    saved = out.file
    out.file = file
    out.note(_line_of(path), text, "untranslated", message)
    out.file = saved
    return out.findings.pop()


def _line_of(path: str) -> int | None:
    tail = path.split()[-1] if path else ""
    return int(tail) if tail.isdigit() else None


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out = f"{name}-{n}"
        n += 1
    taken.add(out)
    return out


def _subnet_ctx(ctx: _Ctx) -> _Ctx | None:
    up: _Ctx | None = ctx
    while up is not None and up.kind != "subnet":
        up = up.parent
    return up


def _in(addr: str, sub: dict[str, Any]) -> bool:
    net = ipaddress.ip_network(sub.get("subnet") or sub["prefix"])
    return ipaddress.ip_address(addr) in net


def _ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _member(words: list[str], tokens: list[Token]) -> str | None:
    """A pool permit's member: known, unknown, class:NAME; None when bootwright has no such member."""
    what = " ".join(words)
    if what in ("unknown-clients", "unknown clients"):
        return "unknown"
    if what in ("known-clients", "known clients"):
        return "known"
    if len(words) == 3 and words[:2] == ["members", "of"]:
        return f"class:{tokens[2].text}"
    return None


def _ipxe_value(wire: IpxeOption | None, token: Token) -> int | str | None:
    kind = wire.kind if wire is not None else "hex"
    text = token.text
    if kind in ("int8", "uint8"):
        try:
            return int(text)
        except ValueError:
            return None
    if kind == "string":
        return text
    if token.quoted:
        return text.encode().hex(":")
    try:
        return bytes(int(p, 16) for p in text.split(":")).hex(":")
    except ValueError:
        return None


def _vendor_class6(values: list[Token]) -> tuple[int, str] | None:
    """``ENTERPRISE LENGTH "TEXT"`` (the record dhcpd6.conf writes for option 16) as (enterprise, text)."""
    if len(values) == 3 and values[0].text.isdigit() and values[2].quoted:
        return int(values[0].text), values[2].text
    if len(values) == 2 and values[0].text.isdigit() and values[1].quoted:
        return int(values[0].text), values[1].text
    return None


def import_dhcpd(text: str, file: str, read: Reader | None = None) -> Imported:
    """An ISC dhcpd.conf (``dhcpd -4``) as bootwright config, hosts and findings; ``read`` reads includes."""
    return _Importer(4, file, read).run(text)


def import_dhcpd6(text: str, file: str, read: Reader | None = None) -> Imported:
    """An ISC dhcpd6.conf (``dhcpd -6``) as bootwright config, hosts and findings; ``read`` reads includes."""
    return _Importer(6, file, read).run(text)
