"""One site's imported files as one config: dhcpd.conf + dhcpd6.conf + radvd.conf → one bootwright TOML.

A site's boot service is spread over several daemons' files; each importer
translates one of them. Joining them is mechanical but must not lose
anything: ``[[subnet6]]`` entries of the same prefix are one subnet (dhcpd6
gives its pools, radvd or BIRD its router advertisements and interface),
hosts of the same name are one host (dhcpd.conf's IPv4 block and
dhcpd6.conf's IPv6 block of one machine), rules keep their order (the first
file's first) and get unique names, and any value two files set differently
is reported — the first file's value is kept, as the order of the files on
the command line says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from ipaddress import ip_network
from typing import Any

from bootwright.migrate.radvd import DHCP6_NOTE
from bootwright.migrate.result import Finding, Imported
from bootwright.model import Host

# Importers of router advertisement daemons: their [[subnet6]]s say nothing about DHCPv6.
RA_SOURCES = frozenset({"radvd", "bird"})
# Lists of tables that are joined by a key, and the key.
_KEYED = {"subnet6": "prefix", "subnet4": "subnet"}


def merge(parts: Iterable[Imported]) -> Imported:
    """Join the translations of one site's files; every conflict is a finding of the later file."""
    out = Imported(source="merged", file="")
    files: list[str] = []
    parts_seen: list[Imported] = []
    for part in parts:
        parts_seen.append(part)
        files.append(part.file)
        out.findings.extend(part.findings)
        out.translated += part.translated
        _merge_config(out, part)
        _merge_hosts(out, part)
    out.file = ", ".join(files)
    _dhcp6_of_ra_only(out, parts_seen)
    return out


def _dhcp6_of_ra_only(out: Imported, parts: list[Imported]) -> None:
    """An RA daemon's prefixes become ``[[subnet6]]``s, which bootwright would also answer DHCPv6 on.

    When the site's DHCPv6 server is among the files, its subnets carry its
    answers; when none is, the site ran no DHCPv6, so neither does the
    translation (``[dhcp6] enabled = false``). Either way the RA importers'
    caveat (:data:`~bootwright.migrate.radvd.DHCP6_NOTE`) is settled.
    """
    ra_only = [p for p in parts if p.source in RA_SOURCES and p.config.get("subnet6")]
    if not ra_only:
        return
    serves_dhcp6 = any(p.source not in RA_SOURCES and p.config.get("subnet6") for p in parts)
    if not serves_dhcp6:
        out.config.setdefault("dhcp6", {}).setdefault("enabled", False)
    out.findings = [f for f in out.findings if f.message != DHCP6_NOTE]


def _merge_config(out: Imported, part: Imported) -> None:
    for key, value in part.config.items():
        if key == "rule":
            _append_rules(out, part, value)
        elif key in _KEYED:
            _merge_keyed(out, part, key, value)
        elif key not in out.config:
            out.config[key] = value
        elif isinstance(value, dict) and isinstance(out.config[key], dict):
            _merge_table(out, part, key, out.config[key], value)
        elif isinstance(value, list) and isinstance(out.config[key], list):
            out.config[key] = [*out.config[key], *value]
        elif out.config[key] != value:
            _conflict(out, part, key, out.config[key], value)


def _merge_table(out: Imported, part: Imported, path: str, into: dict[str, Any], value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        where = f"{path}.{key}"
        if key not in into:
            into[key] = item
        elif isinstance(item, dict) and isinstance(into[key], dict):
            _merge_table(out, part, where, into[key], item)
        elif into[key] != item:
            _conflict(out, part, where, into[key], item)


def _merge_keyed(out: Imported, part: Imported, key: str, entries: list[dict[str, Any]]) -> None:
    existing: list[dict[str, Any]] = out.config.setdefault(key, [])
    field = _KEYED[key]
    for entry in entries:
        same = next((e for e in existing if _same_network(e.get(field), entry.get(field))), None)
        if same is None:
            existing.append(dict(entry))
        else:  # the key is equal as a network (spelling may differ): the first file's spelling stays
            rest = {k: v for k, v in entry.items() if k != field}
            _merge_table(out, part, f"{key}[{same.get(field)}]", same, rest)


def _same_network(a: object, b: object) -> bool:
    if a is None or b is None:
        return False
    try:
        return ip_network(str(a), strict=False) == ip_network(str(b), strict=False)
    except ValueError:
        return a == b


def _append_rules(out: Imported, part: Imported, rules: list[dict[str, Any]]) -> None:
    existing: list[dict[str, Any]] = out.config.setdefault("rule", [])
    names = {r.get("name") for r in existing}
    for rule in rules:
        rule = dict(rule)
        name = str(rule.get("name", "rule"))
        if name in names:
            n = 2
            while f"{name}-{n}" in names:
                n += 1
            rule["name"] = f"{name}-{n}"
        names.add(rule["name"])
        existing.append(rule)


def _merge_hosts(out: Imported, part: Imported) -> None:
    by_name = {h.name: i for i, h in enumerate(out.hosts)}
    for host in part.hosts:
        if host.name not in by_name:
            by_name[host.name] = len(out.hosts)
            out.hosts.append(host)
            continue
        index = by_name[host.name]
        out.hosts[index] = _join_host(out, part, out.hosts[index], host)


def _join_host(out: Imported, part: Imported, first: Host, second: Host) -> Host:
    """One machine described by two files (its IPv4 and its IPv6 block): the union, the first file winning."""
    changes: dict[str, Any] = {}
    for f in fields(Host):
        a, b = getattr(first, f.name), getattr(second, f.name)
        if f.name == "name" or b in (None, (), "") or a == b:
            continue
        if f.name in ("macs", "groups"):
            changes[f.name] = tuple(dict.fromkeys((*a, *b)))
        elif f.name == "options":
            mine = dict(a)
            for code, text in b:
                if code in mine and mine[code] != text:
                    _conflict(out, part, f"host {first.name} option {code}", mine[code], text)
                else:
                    mine[code] = text
            changes[f.name] = tuple(sorted(mine.items()))
        elif a in (None, (), ""):
            changes[f.name] = b
        else:
            _conflict(out, part, f"host {first.name} {f.name}", a, b)
    return replace(first, **changes) if changes else first


def _conflict(out: Imported, part: Imported, where: str, kept: object, dropped: object) -> None:
    out.findings.append(Finding(
        part.file, None, f"{where} = {dropped!r}", "approximated",
        f"an earlier file sets {where} to {kept!r}; kept that value "
        "(files are joined in the order given: put the one whose value should win first)",
    ))
