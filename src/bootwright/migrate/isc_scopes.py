"""The walk through a dhcpd.conf/dhcpd6.conf: includes, scopes, blocks, hosts, classes and ``if`` chains.

Part of the ISC importer (:mod:`.isc_conf`). :class:`ScopeWalk` reads the
file's tree (the inventory's reader, :func:`~bootwright.inventory.isc.read_tree`)
and hands every statement to its translation — ``option`` to
:mod:`.isc_options`, the other single-line statements to
:mod:`.isc_statements`, conditions to :mod:`.isc_conditions` — with the
:class:`~.isc_state.Scope` it is in. Blocks open scopes: ``subnet``/``subnet6``
collect their inherited settings, ``shared-network``/``group`` pass theirs
down, ``pool`` collects ranges and permits, ``host`` goes to the host reader,
``class``/``subclass`` become :class:`~.isc_state.ClassDecl` s, and every
scope's conditional statements become one program in dhcpd's execution order.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from typing import Any, Final

from bootwright.inventory.isc import Node, read_tree
from bootwright.migrate.isc_conditions import Conditions
from bootwright.migrate.isc_options import OptionStatements
from bootwright.migrate.isc_parse import Chain, Equal, ExprError, chains, parse_data, statement_text
from bootwright.migrate.isc_rules import Arm, Assign, Atom, If, Literal
from bootwright.migrate.isc_state import ClassDecl, Scope, line_of
from bootwright.migrate.isc_statements import IGNORED, Statements

MAX_INCLUDE_DEPTH: Final = 8  # includes within includes (every loop bounded)
_RECORD: Final = re.compile(r"(\boption\s+[^\s;{}]+\s+code\s+\d+\s*=\s*)\{([^{}]*)\}")


class ScopeWalk(OptionStatements, Conditions, Statements):
    """The importer's walk through the file's scopes (a mixin of :class:`~.isc_state.ImportState`)."""

    def walk_text(self, text: str, ctx: Scope) -> None:
        """Translate the statements of ``text`` (the file or an included one) in scope ``ctx``."""
        problems: list[Any] = []
        # A record type ("= {integer 32, integer 16, string}") is the one place braces do not open a block.
        text = _RECORD.sub(lambda m: f"{m.group(1)}({m.group(2)})", text)
        nodes = read_tree(text, problems)
        for p in problems:
            self.note(
                None, "untranslated", f"{p.message} (dhcpd refuses the file)", line=line_of(p.path), text="(syntax)"
            )
        self.body(nodes, ctx)

    def body(self, nodes: list[Node], ctx: Scope) -> None:
        """A scope's statements, blocks and ``if`` chains, in order."""
        for item in chains(nodes):
            if isinstance(item, Chain):
                self.chain(item, ctx)
            elif item.body is None:
                self.statement(item, ctx)
            else:
                self.block(item, ctx)

    def chain(self, chain: Chain, ctx: Scope) -> None:
        """An ``if``/``elsif``/``else`` chain: one :class:`~.isc_rules.If` in the scope's program."""
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
            inner = Scope("branch", parent=ctx)
            self.body(branch.body, inner)
            arms.append(Arm(dnf, inner.program, branch.line))
        ctx.program.append(If(arms))

    def include(self, node: Node, ctx: Scope) -> None:
        """``include "FILE";``: the file read through the reader and walked in the same scope."""
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

    def statement(self, node: Node, ctx: Scope) -> None:
        """A statement without a body: handed to its translation by its first word."""
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
        elif head in IGNORED:
            self.note(node, "ignored", IGNORED[head])
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

    # ----------------------------------------------------------------- blocks

    def block(self, node: Node, ctx: Scope) -> None:
        """A declaration with a body (``subnet``, ``group``, ``host``, ``class``, ``pool``…)."""
        words = [t.text for t in node.words]
        head = words[0].lower() if words and not node.words[0].quoted else ""
        if head == "subnet" and not self.v6 and len(words) == 4 and words[2].lower() == "netmask":
            self.subnet(node, ctx, f"{words[1]}/{words[3]}")
        elif head == "subnet6" and self.v6 and len(words) == 2:
            self.subnet(node, ctx, words[1])
        elif head in ("shared-network", "group") and ctx.kind in ("global", "shared-network", "group"):
            inner = Scope(head, parent=ctx, hosts=ctx.hosts.child())
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
            inner = Scope("pool", parent=ctx)
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

    def close_scope(self, node: Node, inner: Scope, slot: int) -> None:
        """The end of a shared-network or group: its pools, its program's condition, its subnets and hosts upward."""
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

    def subnet(self, node: Node, ctx: Scope, text: str) -> None:
        """A ``subnet``/``subnet6``: one subnet entry with the settings of the scopes around it and its own."""
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            self.note(node, "untranslated", f"not a subnet: {exc}")
            return
        inner = Scope("subnet", parent=ctx, hosts=ctx.hosts.child(), net=net)
        self.scope_units.append((None, []))
        slot = len(self.scope_units) - 1
        self.body(node.body or [], inner)
        entry: dict[str, Any] = {"prefix" if self.v6 else "subnet": str(net)}
        # Inherited parameters (shared-network, groups) first, the subnet's own over them.
        chain: list[Scope] = []
        up: Scope | None = ctx
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

    def host(self, node: Node, ctx: Scope) -> None:
        """A ``host`` block: to the host reader, except ``deny booting`` (an ignore rule) and ignored statements."""
        assert node.body is not None
        name = node.words[1].text
        kept: list[Node] = []
        for inner in node.body:
            words = [t.text.lower() for t in inner.words]
            if inner.body is None and words[:2] in (["deny", "booting"], ["ignore", "booting"]):
                unit = If([Arm([[Literal(Atom("host", frozenset({name})))]], [Assign({"ignore": True})], inner.line)])
                self.host_units.append(unit)
                self.ok()
            elif inner.body is None and words[:1] and words[0] in IGNORED:
                self.note(inner, "ignored", IGNORED[words[0]])
            elif self.v6 and inner.body is None and words[:1] == ["option"]:
                self.note(inner, "untranslated", "bootwright hosts carry DHCPv4 options only; set it on the subnet6")
            else:
                kept.append(inner)
        self.reader().host(replace(node, body=kept), ctx.hosts)
        ctx.host_names.append(name)
        self.ok()

    # ----------------------------------------------------------------- classes

    def klass(self, node: Node) -> None:
        """A ``class`` block: its ``match``, and its statements as the program membership runs."""
        name = node.words[1].text
        info = ClassDecl(name, node.line, self.file, None)
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
        ctx = Scope("class")
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

    def subclass(self, node: Node, ctx: Scope) -> None:
        """``subclass "CLASS" VALUE``: a member of a class with ``match EXPR;``, and its own statements."""
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
        inner = Scope("class")
        self.body(node.body or [], inner)
        info.subclass_dnfs.append(dnf)
        info.units.append(If([Arm(dnf, [*info.program, *inner.program], node.line)]))
        self.ok()


def _in(addr: str, sub: dict[str, Any]) -> bool:
    net = ipaddress.ip_network(sub.get("subnet") or sub["prefix"])
    return ipaddress.ip_address(addr) in net
