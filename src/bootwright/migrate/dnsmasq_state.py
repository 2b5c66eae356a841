"""The lines of a dnsmasq.conf and the state one import shares (pure).

Part of the dnsmasq importer (:mod:`.dnsmasq_conf` has the entry point and the
rule of the importer). This module holds what its parts all read and write:

* :class:`Line`, one ``key=value`` line, and :func:`read_lines`, the file's
  lines with ``conf-file``/``conf-dir`` replaced by the included files' lines;
* :class:`State`, what the import collects — tags and what sets them,
  subnets, hosts and the rules in the making;
* the findings (:func:`note`) and the small readers of a line's fields
  (:func:`split_fields`, :func:`tag_fields`, :func:`lease_seconds`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from bootwright.migrate.result import Finding, Imported, Reader

_LEASE = re.compile(r"^(\d+)([smhdw]?)$|^infinite$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(slots=True)
class Line:
    """One ``key=value`` line of a dnsmasq file (``--`` taken off the key), with where it stands."""

    file: str
    line: int
    key: str
    value: str
    raw: str


@dataclass(slots=True)
class State:
    """What one import collects before :func:`~.dnsmasq_conf.import_dnsmasq` assembles the result."""

    out: Imported
    tags: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # tag → alternatives (AND inside)
    host_tags: set[str] = field(default_factory=set)  # tags set by dhcp-host lines
    other_tags: set[str] = field(default_factory=set)  # tags set by anything else
    subnet4: dict[IPv4Network, dict[str, Any]] = field(default_factory=dict)
    subnet6: dict[IPv6Network, dict[str, Any]] = field(default_factory=dict)
    range_tags: dict[str, IPv4Network | IPv6Network] = field(default_factory=dict)
    hosts: list[tuple[Line, dict[str, Any]]] = field(default_factory=list)
    ignore: list[dict[str, Any]] = field(default_factory=list)
    contributions: list[dict[str, Any]] = field(default_factory=list)
    pxe: list[dict[str, Any]] = field(default_factory=list)
    boots: list[dict[str, Any]] = field(default_factory=list)
    v6_ranges: list[tuple[Line, IPv6Network, set[str]]] = field(default_factory=list)
    host_options: list[tuple[Line, str, str, str]] = field(default_factory=list)  # line, tag, code, text
    names: set[str] = field(default_factory=set)
    enable_ra: bool = False
    enable_tftp: bool = False
    boot_without_server: Line | None = None


def note(state: State, ln: Line, action: Any, message: str) -> None:
    """A finding for ``ln`` (with its file when it comes from an included file)."""
    if ln.file == state.out.file:
        state.out.note(ln.line, ln.raw, action, message)
    else:
        state.out.findings.append(Finding(ln.file, ln.line, ln.raw[:100], action, message))


def read_lines(text: str, file: str, read: Reader | None, state: State, depth: int) -> Iterator[Line]:
    """The ``key=value`` lines of ``text``, ``conf-file``/``conf-dir`` replaced by the included file's lines."""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, _, value = stripped.partition("=")
        ln = Line(file, number, key.strip().removeprefix("--"), value.strip(), stripped)
        if ln.key in ("conf-file", "conf-dir"):
            path = ln.value.split(",", 1)[0]
            if read is None or depth >= 8:
                note(state, ln, "untranslated", "the included file was not read: import it too")
                continue
            try:
                included = read(path)
            except OSError as exc:
                note(state, ln, "untranslated", f"cannot read {path}: {exc} (import each file of it too)")
                continue
            state.out.translated += 1
            yield from read_lines(included, path, read, state, depth + 1)
        else:
            yield ln


def split_fields(value: str) -> list[str]:
    """Comma-separated fields, double quotes keeping commas."""
    fields, current, quoted = [], "", False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            fields.append(current.strip())
            current = ""
            continue
        current += ch
    fields.append(current.strip())
    return fields


def tag_fields(fields: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(tag: conditions, set: tags, the rest) of a line's fields (``net:`` is the old spelling of ``tag:``)."""
    tags = [f[4:] for f in fields if f.startswith(("tag:", "net:"))]
    sets = [f[4:] for f in fields if f.startswith("set:")]
    rest = [f for f in fields if not f.startswith(("tag:", "net:", "set:"))]
    return tags, sets, rest


def add_tag(state: State, tag: str, condition: dict[str, Any], by_host: bool = False) -> None:
    """One more alternative (OR) for ``tag``; ``by_host`` when a ``dhcp-host`` line sets it."""
    state.tags.setdefault(tag, []).append(condition)
    (state.host_tags if by_host else state.other_tags).add(tag)


def lease_seconds(text: str) -> int | None:
    """A dnsmasq lease time (``45m``, ``12h``, ``infinite``, seconds) in seconds, or None."""
    match = _LEASE.match(text)
    if match is None:
        return None
    if text == "infinite":
        return 0xFFFFFFFF
    return int(match.group(1)) * _UNITS[match.group(2)]
