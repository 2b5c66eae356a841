"""dnsmasq ``dhcp-host`` lines (dnsmasq(8) ``--dhcp-host``, ``--dhcp-hostsfile``): export and import.

One line per host: ``dhcp-host=MAC[,MAC…][,id:DUID][,set:GROUP…][,IPv4][,[IPv6]],NAME``.
``id:`` is written only for hosts without a MAC (dnsmasq matches DHCPv6
clients by DUID there). Groups become ``set:`` tags. On import the
``dhcp-host=`` prefix is optional (hosts-file form), lease times are ignored,
and anything else is an error with its line number.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address, ip_address

from bootwright.config import Problem
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.inventory.source import ImportedHost, ImportFormatError
from bootwright.model import Host, InvalidMac, normalize_mac

_LEASE = re.compile(r"^(\d+[smhdw]?|infinite|deprecated)$")


def export_dnsmasq(hosts: list[Host]) -> str:
    """``dhcp-host=`` lines for every host."""
    lines = []
    for host in sorted(hosts, key=lambda h: h.name):
        parts = list(host.macs)
        if host.duid is not None and not host.macs:
            parts.append("id:" + host.duid.hex(":"))
        parts += [f"set:{g}" for g in host.groups]
        if host.ipv4:
            parts.append(host.ipv4)
        if host.ipv6:
            parts.append(f"[{host.ipv6}]")
        parts.append(host.name)
        lines.append("dhcp-host=" + ",".join(parts))
    return "\n".join(lines) + ("\n" if lines else "")


def parse_dnsmasq(text: str) -> list[ImportedHost]:
    """Hosts from ``dhcp-host`` lines; raise :class:`ImportFormatError` naming bad lines."""
    out: list[ImportedHost] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, eq, value = line.partition("=")
        if eq and key.strip() in ("dhcp-host", "--dhcp-host"):
            line = value.strip()
        elif eq:
            problems.append(Problem(f"line {number}", f"only dhcp-host lines can be imported, found {key.strip()!r}"))
            continue
        try:
            record = _record(line)
            out.append(ImportedHost(host_from_dict(record), number, set(record)))
        except ValueError as exc:
            problems.append(Problem(f"line {number}", str(exc)))
        except HostInputError as exc:
            problems += [Problem(f"line {number}", str(p)) for p in exc.problems]
    if problems:
        raise ImportFormatError(problems)
    return out


def _record(line: str) -> dict[str, object]:
    record: dict[str, object] = {}
    macs: list[str] = []
    groups: list[str] = []
    for part in (p.strip() for p in line.split(",")):
        if not part:
            continue
        if part.startswith("id:"):
            record["duid"] = part[3:]
        elif part.startswith(("set:", "net:")):
            groups.append(part[4:])
        elif part.startswith("tag:") or part == "ignore":
            raise ValueError(f"{part!r} is not supported (a host cannot depend on tags or be ignored)")
        elif part.startswith("[") and part.endswith("]"):
            _set_address(record, "ipv6", part[1:-1], IPv6Address)
        elif _is_mac(part):
            macs.append(part)
        elif _is_ip(part, IPv4Address):
            _set_address(record, "ipv4", part, IPv4Address)
        elif _LEASE.match(part):
            continue  # lease time: bootwright takes it from the subnet
        elif "name" in record:
            raise ValueError(f"two names: {record['name']!r} and {part!r}")
        else:
            record["name"] = part
    if "name" not in record:
        raise ValueError("the line has no host name (bootwright needs one for every host)")
    if macs:
        record["mac"] = macs
    if groups:
        record["groups"] = groups
    return record


def _is_mac(text: str) -> bool:
    try:
        normalize_mac(text)
    except InvalidMac:
        return False
    return ":" in text or "-" in text


def _is_ip(text: str, kind: type) -> bool:
    try:
        return isinstance(ip_address(text), kind)
    except ValueError:
        return False


def _set_address(record: dict[str, object], key: str, text: str, kind: type) -> None:
    if not _is_ip(text, kind):
        raise ValueError(f"{text!r} is not an IPv{4 if key == 'ipv4' else 6} address")
    if key in record:
        raise ValueError(f"a second {key} address ({text}); bootwright keeps one per host")
    record[key] = text
