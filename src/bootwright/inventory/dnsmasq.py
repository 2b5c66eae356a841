"""dnsmasq ``dhcp-host`` lines (dnsmasq(8) ``--dhcp-host``, ``--dhcp-hostsfile``) and their options: export and import.

One line per host: ``dhcp-host=MAC[,MAC…][,id:DUID][,set:GROUP…][,IPv4][,[IPv6]],NAME``.
``id:`` is written only for hosts without a MAC (dnsmasq matches DHCPv6
clients by DUID there). Groups become ``set:`` tags. A host's DHCPv4 options
are ``dhcp-option=tag:NAME,CODE,VALUE`` lines under a tag named after the host
(``set:NAME`` on its line); on import such a tag, set by that host alone, is
the host's own and not a group, while ``dhcp-option=tag:T,…`` for a tag
several hosts set gives the option to each of them (and ``T`` stays a group).
Options are read by number or by dnsmasq's name (``option:dns-server``,
``dnsmasq --help dhcp``). On import the ``dhcp-host=`` prefix is optional
(hosts-file form), lease times are ignored, and anything else is reported
with its line — every line in one pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from bootwright.config import Problem, option_problem
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.inventory.source import ImportedHost, ParsedFile
from bootwright.model import Host, InvalidMac, normalize_mac
from bootwright.wire.dhcp4_options import OPTIONS, decode_option, encode_option, format_option, parse_config_value

_LEASE = re.compile(r"^(\d+[smhdw]?|infinite|deprecated)$")
# Keys a dnsmasq file can carry: a sync sets these as the file says and keeps the others.
DNSMASQ_KEYS = ("mac", "ipv4", "ipv6", "duid", "groups", "options")
# dnsmasq's option names (``dnsmasq --help dhcp``) a host may carry.
DNSMASQ_OPTIONS = {
    "netmask": 1,
    "time-offset": 2,
    "router": 3,
    "dns-server": 6,
    "log-server": 7,
    "lpr-server": 9,
    "boot-file-size": 13,
    "domain-name": 15,
    "swap-server": 16,
    "root-path": 17,
    "extension-path": 18,
    "ip-forward-enable": 19,
    "non-local-source-routing": 20,
    "max-datagram-reassembly": 22,
    "default-ttl": 23,
    "mtu": 26,
    "all-subnets-local": 27,
    "router-discovery": 31,
    "router-solicitation": 32,
    "trailer-encapsulation": 34,
    "arp-timeout": 35,
    "ethernet-encap": 36,
    "tcp-ttl": 37,
    "tcp-keepalive": 38,
    "nis-domain": 40,
    "nis-server": 41,
    "ntp-server": 42,
    "netbios-ns": 44,
    "netbios-dd": 45,
    "netbios-nodetype": 46,
    "netbios-scope": 47,
    "x-windows-fs": 48,
    "x-windows-dm": 49,
    "vendor-class": 60,
    "nis+-domain": 64,
    "nis+-server": 65,
    "tftp-server": 66,
    "bootfile-name": 67,
    "mobile-ip-home": 68,
    "smtp-server": 69,
    "pop3-server": 70,
    "nntp-server": 71,
    "irc-server": 74,
    "posix-timezone": 100,
    "tzdb-timezone": 101,
    "domain-search": 119,
    "sip-server": 120,
    "classless-static-route": 121,
    "tftp-server-address": 150,
}


def export_dnsmasq(hosts: list[Host]) -> str:
    """``dhcp-host=`` lines for every host, and ``dhcp-option=tag:NAME,…`` lines for its options."""
    lines = []
    for host in sorted(hosts, key=lambda h: h.name):
        parts = list(host.macs)
        if host.duid is not None and not host.macs:
            parts.append("id:" + host.duid.hex(":"))
        parts += [f"set:{g}" for g in host.groups]
        if host.options:
            parts.append(f"set:{host.name}")
        if host.ipv4:
            parts.append(host.ipv4)
        if host.ipv6:
            parts.append(f"[{host.ipv6}]")
        parts.append(host.name)
        lines.append("dhcp-host=" + ",".join(parts))
        for code, text in host.options:
            lines.append(f"dhcp-option=tag:{host.name},{code},{_dnsmasq_value(code, text)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _dnsmasq_value(code: int, text: str) -> str:
    """A value as dnsmasq reads it: lists comma-separated, text quoted when it holds a comma."""
    if code in OPTIONS:
        text = format_option(code, decode_option(code, encode_option(code, parse_config_value(code, text))))
    if isinstance(parse_config_value(code, text), str):
        return f'"{text}"' if "," in text or text != text.strip() else text
    return text.replace(", ", ",")


@dataclass(frozen=True, slots=True)
class _Option:
    line: int
    tag: str
    code: str
    text: str


def parse_dnsmasq(text: str) -> list[ImportedHost]:
    """Hosts from ``dhcp-host`` lines; raise :class:`ImportFormatError` naming bad lines."""
    return read_dnsmasq(text).hosts_or_raise()


def read_dnsmasq(text: str) -> ParsedFile:
    """Hosts from ``dhcp-host`` and tagged ``dhcp-option`` lines, and every problem (``line N``)."""
    records: list[tuple[int, dict[str, Any]]] = []
    options: list[_Option] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, eq, value = line.partition("=")
        key = key.strip().removeprefix("--")
        if eq and key in ("dhcp-option", "dhcp-option-force"):
            try:
                options.append(_option(number, value.strip()))
            except ValueError as exc:
                problems.append(Problem(f"line {number}", str(exc)))
            continue
        if eq and key == "dhcp-host":
            line = value.strip()
        elif eq:
            problems.append(
                Problem(f"line {number}", f"only dhcp-host and dhcp-option lines can be imported, found {key!r}")
            )
            continue
        try:
            records.append((number, host_record(line)))
        except ValueError as exc:
            problems.append(Problem(f"line {number}", str(exc)))
    _attach(records, options, problems)
    out: list[ImportedHost] = []
    for number, record in records:
        try:
            out.append(ImportedHost(host_from_dict(record), number, set(record)))
        except HostInputError as exc:
            problems += [Problem(f"line {number}", str(p)) for p in exc.problems]
    problems.sort(key=lambda p: int(p.path.split()[-1]))
    return ParsedFile(out, problems)


def _option(number: int, value: str) -> _Option:
    """``tag:T,CODE|option:NAME,VALUE…`` of a ``dhcp-option`` line."""
    head, _, rest = value.partition(",")
    if not head.startswith("tag:"):
        raise ValueError(
            "a dhcp-option without a tag applies to every client: put it in the config "
            "([dhcp4] options or the subnet's), not in the inventory"
        )
    tag = head[4:]
    code, _, text = rest.partition(",")
    code = code.strip()
    if tag.startswith("!") or code.startswith(("tag:", "encap:", "vi-encap:", "vendor:", "option6:")):
        raise ValueError(f"only 'dhcp-option=tag:T,CODE,VALUE' is supported, found {value!r}")
    if code.startswith("option:"):
        name = code[7:]
        if name not in DNSMASQ_OPTIONS:
            raise ValueError(f"option {name!r} is not known to the importer; give its number")
        code = str(DNSMASQ_OPTIONS[name])
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    problem = option_problem(code, text)
    if problem:
        raise ValueError(problem)
    if int(code) in OPTIONS:  # the table's own text form, as the config and the other formats write it
        text = format_option(
            int(code), decode_option(int(code), encode_option(int(code), parse_config_value(int(code), text)))
        )
    return _Option(number, tag, code, text)


def _attach(records: list[tuple[int, dict[str, Any]]], options: list[_Option], problems: list[Problem]) -> None:
    """Give each tagged option to the hosts that set the tag; a tag set by one host of that name is not a group."""
    members: dict[str, list[dict[str, Any]]] = {}
    for _, record in records:
        for tag in record.get("groups", []):
            members.setdefault(tag, []).append(record)
    for opt in options:
        hosts = members.get(opt.tag)
        if not hosts:
            problems.append(Problem(f"line {opt.line}", f"no dhcp-host line sets tag {opt.tag!r} (set:{opt.tag})"))
            continue
        for record in hosts:
            record.setdefault("options", {})[opt.code] = opt.text
    for tag, hosts in members.items():
        if len(hosts) == 1 and hosts[0]["name"] == tag and any(o.tag == tag for o in options):
            groups = [g for g in hosts[0]["groups"] if g != tag]
            if groups:
                hosts[0]["groups"] = groups
            else:
                del hosts[0]["groups"]


def host_record(line: str) -> dict[str, Any]:
    """One ``dhcp-host`` value (without ``dhcp-host=``) as a host record in config key names; ValueError if not.

    Lease times are skipped; ``tag:`` and ``ignore`` are refused (the config importer,
    ``migrate/dnsmasq_conf.py``, takes them off first and translates them to rules).
    """
    record: dict[str, Any] = {}
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


def _set_address(record: dict[str, Any], key: str, text: str, kind: type) -> None:
    if not _is_ip(text, kind):
        raise ValueError(f"{text!r} is not an IPv{4 if key == 'ipv4' else 6} address")
    if key in record:
        raise ValueError(f"a second {key} address ({text}); bootwright keeps one per host")
    record[key] = text
