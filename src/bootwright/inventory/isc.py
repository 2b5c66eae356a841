"""ISC dhcpd ``host { }`` blocks: import (seed 003's include files) and export.

Accepted inside a block (dhcpd.conf(5), dhcpd6 host declarations)::

    host photosmart {
        hardware ethernet 10:60:4b:11:71:34;
        fixed-address 192.168.2.53;              # or fixed-address6 2001:db8::53;
        host-identifier option dhcp6.client-id 00:01:00:01:…;
        next-server 192.168.2.14;
        filename "efi-x64/shim.efi";
        option host-name "photosmart";           # the host's name, if given
    }

Blocks naming the same host (``option host-name``) are one host with several
MACs — how a multi-NIC machine is written for dhcpd, one block per NIC. dhcpd
allows one fixed address per block, so IPv4 and IPv6 are exported separately
(:func:`export_isc` for dhcpd.conf, :func:`export_isc6` for dhcpd6.conf).
Anything else is an error with its line number; nothing is imported then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bootwright.config import Problem
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.inventory.source import ImportedHost, ImportFormatError
from bootwright.model import Host

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{};,]|[^\s{};,"#]+|#[^\n]*|\n|[ \t\r\f\v]+')
_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    line: int
    quoted: bool = False


def _tokens(text: str) -> Iterator[_Tok]:
    line = 1
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ImportFormatError([Problem(f"line {line}", f"cannot read {text[pos:pos + 20]!r}")])
        tok = m.group(0)
        pos = m.end()
        if tok == "\n":
            line += 1
        elif tok.startswith('"'):
            yield _Tok(re.sub(r"\\(.)", r"\1", tok[1:-1]), line, quoted=True)
        elif not tok.startswith("#") and not tok.isspace():
            yield _Tok(tok, line)


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = list(_tokens(text))
        self.pos = 0
        self.last_line = self.toks[-1].line if self.toks else 1

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def next(self, what: str) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ImportFormatError([Problem(f"line {self.last_line}", f"the file ends where {what} was expected")])
        self.pos += 1
        return tok

    def expect(self, text: str) -> _Tok:
        tok = self.next(f"'{text}'")
        if tok.text != text or tok.quoted:
            raise ImportFormatError([Problem(f"line {tok.line}", f"expected '{text}', found {tok.text!r}")])
        return tok

    def statement(self) -> list[_Tok]:
        """Tokens up to (not including) the next ';'."""
        out: list[_Tok] = []
        while True:
            tok = self.next("';'")
            if tok.text == ";" and not tok.quoted:
                return out
            if tok.text in ("{", "}") and not tok.quoted:
                raise ImportFormatError([Problem(f"line {tok.line}", f"missing ';' before '{tok.text}'")])
            out.append(tok)


def parse_isc(text: str) -> list[ImportedHost]:
    """Hosts from ISC dhcpd host declarations; raise :class:`ImportFormatError` naming lines."""
    parser = _Parser(text)
    blocks: list[tuple[int, dict[str, Any]]] = []
    problems: list[Problem] = []
    while (tok := parser.peek()) is not None:
        if tok.text != "host" or tok.quoted:
            message = f"only 'host' declarations can be imported, found {tok.text!r}"
            raise ImportFormatError([Problem(f"line {tok.line}", message)])
        parser.next("host")
        name = parser.next("a host name")
        parser.expect("{")
        record: dict[str, Any] = {"name": name.text, "mac": []}
        while (inner := parser.peek()) is not None and inner.text != "}":
            try:
                _statement(record, parser.statement())
            except _StatementError as exc:
                problems.append(Problem(f"line {exc.line}", exc.message))
        parser.expect("}")
        blocks.append((name.line, record))
    if problems:
        raise ImportFormatError(problems)
    return _merge(blocks)


class _StatementError(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line, self.message = line, message


def _words(stmt: list[_Tok]) -> list[str]:
    return [t.text for t in stmt]


def _statement(record: dict[str, Any], stmt: list[_Tok]) -> None:
    if not stmt:
        return
    line = stmt[0].line
    words = _words(stmt)
    head = words[0].lower()

    def need(n: int, usage: str) -> None:
        if len(words) != n:
            raise _StatementError(line, f"expected '{usage};'")

    if head == "hardware":
        need(3, "hardware ethernet MAC")
        if words[1].lower() != "ethernet":
            raise _StatementError(line, f"only 'hardware ethernet' is supported, not {words[1]!r}")
        record["mac"].append(words[2])
    elif head in ("fixed-address", "fixed-address6"):
        if "," in words:
            raise _StatementError(line, f"{head} with several addresses is not supported; give one")
        need(2, f"{head} ADDRESS")
        key = "ipv4" if head == "fixed-address" else "ipv6"
        if key in record:
            raise _StatementError(line, f"a second {head} in one host")
        record[key] = words[1]
    elif head == "host-identifier":
        if len(words) != 4 or words[1] != "option" or words[2] != "dhcp6.client-id":
            raise _StatementError(line, "expected 'host-identifier option dhcp6.client-id HEX;'")
        record["duid"] = words[3].strip('"')
    elif head == "next-server":
        need(2, "next-server ADDRESS")
        record["next_server"] = words[1]
    elif head == "filename":
        need(2, 'filename "FILE"')
        record["bootfile"] = words[1]
    elif head == "option" and len(words) == 3 and words[1] == "host-name":
        record["host_name"] = (stmt[2].line, words[2])
    else:
        raise _StatementError(line, f"unsupported statement {' '.join(words)!r} in a host block")


def _merge(blocks: list[tuple[int, dict[str, Any]]]) -> list[ImportedHost]:
    """One host per name; blocks that share ``option host-name`` add MACs."""
    merged: dict[str, tuple[int, dict[str, Any]]] = {}
    problems: list[Problem] = []
    for line, record in blocks:
        named = record.pop("host_name", None)
        name = named[1] if named else record["name"]
        record["name"] = name
        if name not in merged:
            merged[name] = (line, record)
            continue
        first_line, first = merged[name]
        for key, value in record.items():
            if key == "mac":
                first["mac"] = first["mac"] + value
            elif key != "name" and first.setdefault(key, value) != value:
                message = f"host {name!r} has {key} {value!r} here but {first[key]!r} at line {first_line}"
                problems.append(Problem(f"line {line}", message))
    out: list[ImportedHost] = []
    for name, (line, record) in merged.items():
        if not record["mac"]:
            del record["mac"]
        try:
            out.append(ImportedHost(host_from_dict(record), line, set(record)))
        except HostInputError as exc:
            problems += [Problem(f"line {line}", f"host {name!r}: {p}") for p in exc.problems]
    if problems:
        raise ImportFormatError(problems)
    return out


def _name(text: str) -> str:
    return text if _SIMPLE_NAME.match(text) else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _block(name: str, lines: list[str], real_name: str | None = None) -> list[str]:
    body = [*lines]
    if real_name is not None:
        body.append(f'option host-name "{real_name}";')
    return [f"host {_name(name)} {{", *(f"\t{b}" for b in body), "}"]


def export_isc(hosts: list[Host]) -> str:
    """dhcpd.conf host blocks (IPv4): one block per MAC, extra NICs named ``NAME-nicN``."""
    out: list[str] = []
    for host in sorted(hosts, key=lambda h: h.name):
        common = []
        if host.ipv4:
            common.append(f"fixed-address {host.ipv4};")
        if host.next_server:
            common.append(f"next-server {host.next_server};")
        if host.bootfile:
            common.append(f'filename "{host.bootfile}";')
        for i, mac in enumerate(host.macs):
            name = host.name if i == 0 else f"{host.name}-nic{i + 1}"
            out += _block(name, [f"hardware ethernet {mac};", *common], host.name if i else None)
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
