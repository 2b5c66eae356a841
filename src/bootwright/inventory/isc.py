"""ISC dhcpd ``host { }`` and ``group { }`` blocks: import (seed 003's include files) and export.

Rule: a file is read in one pass and every problem is reported, each with its
line; nothing stops at the first one. The text is first cut into statements and
blocks (a missing ``;`` or ``}`` is reported and the reading goes on), then
each declaration is interpreted, and the hosts that could be read are returned
beside the problems so the inventory checks them too.

Accepted (dhcpd.conf(5), dhcpd6 host declarations)::

    option arch code 93 = unsigned integer 16;   # option definitions, at the top
    group {                                      # settings inherited by the hosts inside
        next-server 192.168.2.14;
        filename "efi-x64/shim.efi";
        option domain-name-servers 192.168.2.10;
        host photosmart {
            hardware ethernet 10:60:4b:11:71:34;
            fixed-address 192.168.2.53;          # or fixed-address6 2001:db8::53;
            host-identifier option dhcp6.client-id 00:01:00:01:…;
            option routers 192.168.2.1;          # any option dhcpd knows by name (dhcpd_options.py)
            option host-name "photosmart";       # the host's name, if given
        }
    }

A host's own statements win over its groups', an inner group's over an outer
one's (dhcpd's scoping). Blocks naming the same host (``option host-name``)
are one host with several MACs — how a multi-NIC machine is written for dhcpd,
one block per NIC. dhcpd allows one fixed address per block, so IPv4 and IPv6
are exported separately (:func:`export_isc` for dhcpd.conf, :func:`export_isc6`
for dhcpd6.conf). Anything else is reported with its line; nothing is
imported then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bootwright.config import Problem, option_problem
from bootwright.inventory.dhcpd_options import DEFINITION_TYPES, DHCPD_OPTIONS, DhcpdValue, quote, to_dhcpd, to_text
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.inventory.source import ImportedHost, ParsedFile
from bootwright.model import Host

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{};,]|[^\s{};,"#]+|#[^\n]*|\n|[ \t\r\f\v]+')
_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# Keys an ISC file can carry: a sync sets these as the file says and keeps the others (target, vars, …).
ISC_KEYS = ("mac", "ipv4", "ipv6", "duid", "next_server", "bootfile", "options")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a dhcpd.conf (quotes removed, ``quoted`` kept) and its line; also read by ``migrate/isc_parse``."""

    text: str
    line: int
    quoted: bool = False

    def is_(self, text: str) -> bool:
        """True for the unquoted punctuation or keyword ``text``."""
        return self.text == text and not self.quoted


@dataclass(slots=True)
class Node:
    """A statement (``body is None``) or a block: its words, the line it starts on."""

    words: list[Token]
    line: int
    body: list[Node] | None = None


def _tokens(text: str, problems: list[Problem]) -> Iterator[Token]:
    line = 1
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # an unterminated string: report it and read on from the next line
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            shown = text[pos : min(end, pos + 20)]
            problems.append(Problem(f"line {line}", f"cannot read {shown!r} (a '\"' not closed?)"))
            pos = end
            continue
        tok = m.group(0)
        pos = m.end()
        if tok == "\n":
            line += 1
        elif tok.startswith('"'):
            yield Token(re.sub(r"\\(.)", r"\1", tok[1:-1]), line, quoted=True)
        elif not tok.startswith("#") and not tok.isspace():
            yield Token(tok, line)


def read_tree(text: str, problems: list[Problem]) -> list[Node]:
    """Statements and blocks; a missing ``;``, ``{`` or ``}`` is a problem, never a stop."""
    top = Node([], 1, [])
    stack = [top]
    words: list[Token] = []
    last = 1
    for tok in _tokens(text, problems):
        last = tok.line
        body = stack[-1].body
        assert body is not None
        if tok.is_(";"):
            if words:
                body.append(Node(words, words[0].line))
            words = []
        elif tok.is_("{"):
            node = Node(words, words[0].line if words else tok.line, [])
            body.append(node)
            stack.append(node)
            words = []
        elif tok.is_("}"):
            if words:  # read as the statement it was meant to be, so it causes no second problem
                problems.append(Problem(f"line {tok.line}", f"missing ';' before '}}' (after {words[-1].text!r})"))
                body.append(Node(words, words[0].line))
                words = []
            if len(stack) == 1:
                problems.append(Problem(f"line {tok.line}", "a '}' that closes no block"))
            else:
                stack.pop()
        else:
            words.append(tok)
    if words:
        problems.append(Problem(f"line {last}", "the file ends where ';' was expected"))
    for node in reversed(stack[1:]):
        problems.append(
            Problem(
                f"line {last}", f"the file ends where '}}' was expected (the block at line {node.line} is not closed)"
            )
        )
    assert top.body is not None
    return top.body


@dataclass(slots=True)
class HostScope:
    """Settings a group passes to the hosts inside it (dhcpd.conf(5) scoping)."""

    values: dict[str, Any] = field(default_factory=dict)  # next_server, bootfile
    options: dict[str, str] = field(default_factory=dict)  # by code

    def child(self) -> HostScope:
        """A copy for an inner scope: its own statements win over these."""
        return HostScope(dict(self.values), dict(self.options))


class HostReader:
    """Interprets the tree of one file: hosts, groups, option definitions; every problem kept."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.blocks: list[tuple[int, dict[str, Any], set[str]]] = []
        self.names: dict[str, tuple[int, str]] = dict(DHCPD_OPTIONS)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(f"line {line}", message))

    def file(self, nodes: list[Node]) -> None:
        for node in nodes:
            if node.body is None:
                if _words(node)[:1] == ["option"] and "code" in _words(node):
                    self.definition(node)
                else:
                    self.problem(
                        node.line,
                        f"{' '.join(_words(node))!r} at the top of the file applies to the "
                        "scope that includes it: put it in the config ([dhcp4] or the subnet), or put "
                        "the hosts it is meant for in a group { }",
                    )
            else:
                self.declaration(node, HostScope(), "the file")

    def definition(self, node: Node) -> None:
        """``option NAME code N = TYPE;``: a name for a code (seed 003's ``option arch``)."""
        words = _words(node)
        ok = len(words) >= 6 and words[2] == "code" and words[3].isdigit() and words[4] == "="
        kind = DEFINITION_TYPES.get(" ".join(words[5:])) if ok else None
        if not ok:
            self.problem(node.line, "expected 'option NAME code N = TYPE;'")
        elif kind is None:
            known = ", ".join(DEFINITION_TYPES)
            self.problem(node.line, f"option type {' '.join(words[5:])!r} is not supported (known: {known})")
        elif not 1 <= int(words[3]) <= 254:
            self.problem(node.line, f"option code {words[3]} is outside 1..254 (RFC 2132 §2)")
        else:
            self.names[words[1]] = (int(words[3]), kind)

    def declaration(self, node: Node, scope: HostScope, inside: str) -> None:
        words = _words(node)
        head = words[0].lower() if words else ""
        assert node.body is not None
        if head == "group" and len(words) <= 2:
            self.group(node.body, scope.child())
        elif head == "host" and len(words) == 2:
            if inside.startswith("host"):
                self.problem(node.line, f"a host declaration inside {inside} (a '}}' missing before line {node.line}?)")
            self.host(node, scope)
        elif head == "host":
            self.problem(node.line, "expected 'host NAME {'")
        else:
            what = " ".join(words) or "a block without a name"
            self.problem(
                node.line,
                f"only 'host' and 'group' declarations can be imported, found {what!r} "
                "(bootwright import reads a whole dhcpd.conf)",
            )

    def group(self, body: list[Node], scope: HostScope) -> None:
        # dhcpd applies a scope's parameters to every declaration in it, wherever they are written.
        for node in body:
            if node.body is None:
                self.parameter(node, scope, "a group")
        for node in body:
            if node.body is not None:
                self.declaration(node, scope, "a group")

    def parameter(self, node: Node, scope: HostScope, inside: str) -> bool:
        """Apply a ``next-server``/``filename``/``option`` statement to ``scope``; False when it is none of them."""
        words = _words(node)
        head = words[0].lower()
        if head == "next-server":
            if self.need(node, 2, "next-server ADDRESS"):
                scope.values["next_server"] = words[1]
        elif head == "filename":
            if self.need(node, 2, 'filename "FILE"'):
                scope.values["bootfile"] = words[1]
        elif head == "option" and len(words) >= 2 and words[1] != "host-name":
            self.option(node, scope)
        elif head == "use-host-decl-names" and len(words) == 2 and words[1].lower() in ("on", "true"):
            pass  # bootwright names every host by its declaration already (option 12 = the host's name)
        elif inside != "a host":
            self.problem(node.line, f"unsupported statement {' '.join(words)!r} in {inside}")
        else:
            return False
        return True

    def need(self, node: Node, n: int, usage: str) -> bool:
        if len(node.words) != n:
            self.problem(node.line, f"expected '{usage};'")
            return False
        return True

    def option(self, node: Node, scope: HostScope) -> None:
        """``option NAME VALUE[, VALUE…];`` as bootwright option text by code."""
        toks = node.words
        name = toks[1].text
        if len(toks) > 2 and toks[2].is_("="):
            self.problem(node.line, f"option {name} = EXPRESSION is not supported per host; give a plain value")
            return
        known = self.names.get(name)
        if known is None:
            self.problem(
                node.line,
                f"option {name!r} is not known to the importer: define it ('option {name} "
                'code N = TYPE;\') or set it by code in bootwright (options = { "N" = … })',
            )
            return
        code, kind = known
        value = DhcpdValue(tuple((t.text, t.quoted) for t in toks[2:] if not t.is_(",")))
        try:
            text = to_text(code, kind, value)
        except ValueError as exc:
            self.problem(node.line, f"option {name}: {exc}")
            return
        problem = option_problem(str(code), text)
        if problem:
            self.problem(node.line, problem)
            return
        scope.options[str(code)] = text

    def host(self, node: Node, scope: HostScope) -> None:
        assert node.body is not None
        name = node.words[1]
        own = scope.child()
        record: dict[str, Any] = {"name": name.text, "mac": []}
        for inner in node.body:
            if inner.body is not None:
                self.problem(inner.line, f"a block inside host {name.text!r} ('}}' missing?)")
            elif not self.parameter(inner, own, "a host"):
                self.host_statement(record, inner)
        record.update(own.values)  # the host's own and its groups' (inherited) settings
        if own.options:
            record["options"] = own.options
        keys = {k for k in record if k not in ("mac", "host_name") or record[k]}
        self.blocks.append((name.line, record, keys))

    def host_statement(self, record: dict[str, Any], node: Node) -> None:
        words = _words(node)
        head = words[0].lower()
        line = node.line
        if head == "hardware":
            if self.need(node, 3, "hardware ethernet MAC"):
                if words[1].lower() != "ethernet":
                    self.problem(line, f"only 'hardware ethernet' is supported, not {words[1]!r}")
                else:
                    record["mac"].append(words[2])
        elif head in ("fixed-address", "fixed-address6"):
            key = "ipv4" if head == "fixed-address" else "ipv6"
            if "," in words:
                self.problem(line, f"{head} with several addresses is not supported; give one")
            elif key in record:
                self.problem(line, f"a second {head} in one host")
            elif self.need(node, 2, f"{head} ADDRESS"):
                record[key] = words[1]
        elif head == "host-identifier":
            if len(words) != 4 or words[1] != "option" or words[2] != "dhcp6.client-id":
                self.problem(line, "expected 'host-identifier option dhcp6.client-id HEX;'")
            else:
                record["duid"] = words[3]
        elif head == "option" and len(words) == 3 and words[1] == "host-name":
            record["host_name"] = (node.words[2].line, words[2])
        else:
            self.problem(line, f"unsupported statement {' '.join(words)!r} in a host block")


def _words(node: Node) -> list[str]:
    return [t.text for t in node.words]


def read_isc(text: str) -> ParsedFile:
    """Hosts from ISC dhcpd host and group declarations, and every problem of the file (``line N``)."""
    problems: list[Problem] = []
    reader = HostReader()
    reader.file(read_tree(text, problems))
    problems += reader.problems
    hosts, merged = merge_hosts(reader.blocks)
    problems += merged
    problems.sort(key=lambda p: int(p.path.split()[-1]))
    return ParsedFile(hosts, problems)


def parse_isc(text: str) -> list[ImportedHost]:
    """Hosts from ISC dhcpd declarations; raise :class:`ImportFormatError` naming every bad line."""
    return read_isc(text).hosts_or_raise()


def merge_hosts(blocks: list[tuple[int, dict[str, Any], set[str]]]) -> tuple[list[ImportedHost], list[Problem]]:
    """One host per name; blocks that share ``option host-name`` add MACs."""
    merged: dict[str, tuple[int, dict[str, Any], set[str]]] = {}
    problems: list[Problem] = []
    for line, record, keys in blocks:
        named = record.pop("host_name", None)
        name = named[1] if named else record["name"]
        record["name"] = name
        if name not in merged:
            merged[name] = (line, record, set(keys) - {"host_name"})
            continue
        first_line, first, first_keys = merged[name]
        first_keys |= keys - {"host_name"}
        for key, value in record.items():
            if key == "mac":
                first["mac"] = first["mac"] + value
            elif key != "name" and first.setdefault(key, value) != value:
                message = f"host {name!r} has {key} {value!r} here but {first[key]!r} at line {first_line}"
                problems.append(Problem(f"line {line}", message))
    out: list[ImportedHost] = []
    for name, (line, record, keys) in merged.items():
        if not record["mac"]:
            del record["mac"]
        try:
            out.append(ImportedHost(host_from_dict(record), line, keys & set(record) | {"name"}))
        except HostInputError as exc:
            problems += [Problem(f"line {line}", f"host {name!r}: {p}") for p in exc.problems]
    return out, problems


def _name(text: str) -> str:
    return text if _SIMPLE_NAME.match(text) else quote(text)


def _block(name: str, lines: list[str], real_name: str | None = None) -> list[str]:
    body = [*lines]
    if real_name is not None:
        body.append(f"option host-name {quote(real_name)};")
    return [f"host {_name(name)} {{", *(f"\t{b}" for b in body), "}"]


def _options(host: Host, definitions: dict[str, None]) -> list[str]:
    lines = []
    for code, text in host.options:
        name, value, definition = to_dhcpd(code, text)
        if definition is not None:
            definitions[definition] = None
        lines.append(f"option {name} {value};")
    return lines


def export_isc(hosts: list[Host]) -> str:
    """dhcpd.conf host blocks (IPv4): one block per MAC, extra NICs named ``NAME-nicN``; options by dhcpd name."""
    out: list[str] = []
    definitions: dict[str, None] = {}
    for host in sorted(hosts, key=lambda h: h.name):
        common = []
        if host.ipv4:
            common.append(f"fixed-address {host.ipv4};")
        if host.next_server:
            common.append(f"next-server {host.next_server};")
        if host.bootfile:
            common.append(f"filename {quote(host.bootfile)};")
        common += _options(host, definitions)
        for i, mac in enumerate(host.macs):
            name = host.name if i == 0 else f"{host.name}-nic{i + 1}"
            out += _block(name, [f"hardware ethernet {mac};", *common], host.name if i else None)
    out = [*definitions, *out]
    return "\n".join(out) + ("\n" if out else "")


def export_isc6(hosts: list[Host]) -> str:
    """dhcpd6.conf host blocks for hosts with a fixed IPv6 address, by DUID or else by MAC."""
    out: list[str] = []
    for host in sorted(hosts, key=lambda h: h.name):
        if not host.ipv6:
            continue
        if host.duid is not None:
            ids = [f"host-identifier option dhcp6.client-id {host.duid.hex(':')};"]
        else:
            ids = [f"hardware ethernet {mac};" for mac in host.macs]
        for i, ident in enumerate(ids):
            name = host.name if i == 0 else f"{host.name}-nic{i + 1}"
            out += _block(name, [ident, f"fixed-address6 {host.ipv6};"], host.name if i else None)
    return "\n".join(out) + ("\n" if out else "")
