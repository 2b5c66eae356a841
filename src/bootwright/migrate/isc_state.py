"""The state one dhcpd.conf/dhcpd6.conf import shares, and the option names it knows.

Part of the ISC importer (:mod:`.isc_conf` has the entry points and the rule
of the importer). The importer is one object, :class:`ImportState`, whose
methods are grouped by topic into mixins in sibling modules — option
statements (:mod:`.isc_options`), conditions (:mod:`.isc_conditions`), the
single-line statements (:mod:`.isc_statements`), the scope walk
(:mod:`.isc_scopes`) and the assembled result (:mod:`.isc_assemble`). This
module holds what they all read and write:

* :class:`Scope`, the scope a statement is in, and :class:`ClassDecl`, a
  ``class`` declaration;
* the option-name table (``(space, name) → (code, type)``), seeded with the
  names dhcpd knows without a definition and grown by ``option … code N = …``
  definitions, because option statements, conditions (``option NAME``
  references) and the host reader all resolve names through it;
* the findings (:meth:`ImportState.note`) and the count of translated statements.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Final

from bootwright.inventory.dhcpd_options import DEFINITION_TYPES, DHCPD_OPTIONS
from bootwright.inventory.isc import HostReader, HostScope, Node
from bootwright.migrate.isc_parse import Data, statement_text
from bootwright.migrate.isc_rules import If, Literal, Program
from bootwright.migrate.result import Action, Imported, Reader

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


@dataclass(slots=True)
class Scope:
    """The scope a statement is in: where its parameters go and which program its conditions join."""

    kind: str  # global, shared-network, subnet, pool, group, class, branch
    settings: dict[str, Any] = field(default_factory=dict)
    program: Program = field(default_factory=list)
    hosts: HostScope = field(default_factory=HostScope)
    parent: Scope | None = None
    subnets: list[dict[str, Any]] = field(default_factory=list)  # declared inside (shared-network, group)
    host_names: list[str] = field(default_factory=list)
    pools: list[dict[str, Any]] = field(default_factory=list)  # pool/range entries of this scope (v4/v6)
    net: Any = None  # the subnet's network

    @property
    def conditional(self) -> bool:
        """Inside a class or an if-arm: statements become rule fields."""
        return self.kind in ("class", "branch")


@dataclass(slots=True)
class ClassDecl:
    """A ``class`` declaration: how clients become members, and what membership sets."""

    name: str
    line: int
    file: str
    dnf: list[list[Literal]] | None  # match if …; None: membership through subclasses only
    submatch: Data | None = None  # match EXPR;
    program: Program = field(default_factory=list)
    subclass_dnfs: list[list[list[Literal]]] = field(default_factory=list)
    units: list[If] = field(default_factory=list)


class ImportState:
    """One dhcpd.conf or dhcpd6.conf being imported, with its includes: what every part of the importer shares."""

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
        self.classes: dict[str, ClassDecl] = {}
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
        """Record a finding for ``node`` (or ``line``/``text``) in the file being read."""
        where = line if line is not None else (node.line if node is not None else None)
        shown = text if text is not None else (statement_text(node) if node is not None else "")
        saved = self.out.file
        self.out.file = self.file
        self.out.note(where, shown, action, message)
        self.out.file = saved

    def ok(self) -> None:
        """Count one statement translated exactly."""
        self.out.translated += 1

    def reader(self) -> HostReader:
        """The inventory's host reader of the file being read, knowing the options defined so far."""
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

    # ----------------------------------------------------------------- option names

    def resolve(self, name: str) -> tuple[str, str, int, str] | None:
        """``NAME`` or ``SPACE.NAME`` as (space, name, code, type); None when dhcpd would not know it."""
        space, dot, rest = name.partition(".")
        key = (space.lower(), rest) if dot else ("dhcp", name)
        found = self.names.get(key)
        if found is None:
            return None
        return key[0], key[1], found[0], found[1]


def line_of(path: str) -> int | None:
    """The line number a reader problem's path ends with (``… line N``), if any."""
    tail = path.split()[-1] if path else ""
    return int(tail) if tail.isdigit() else None


def is_ipv4(text: str) -> bool:
    """Whether ``text`` is an IPv4 address."""
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def is_ipv6(text: str) -> bool:
    """Whether ``text`` is an IPv6 address."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
