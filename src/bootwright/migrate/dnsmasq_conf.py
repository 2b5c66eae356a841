"""dnsmasq.conf (dnsmasq(8), 2.90) → subnets, rules, hosts and options in bootwright's shape (pure).

Tags become rule conditions. A tag is what sets it: ``dhcp-match``,
``dhcp-vendorclass``/``dhcp-userclass`` (dnsmasq matches a substring,
bootwright a prefix / an exact user class: approximated), ``dhcp-mac``,
``dhcp-circuitid``/``dhcp-remoteid``, a ``dhcp-range`` with ``set:`` (its
subnet), ``dhcp-host … set:`` (a host group), ``tag-if`` (AND of tags) and
``known``. Several lines setting one tag are alternatives (OR).

Order follows dnsmasq: it ignores first (``dhcp-ignore`` → ``ignore`` rules
at the top), tagged options apply to every matching client (``final =
false`` rules), a ``pxe-service`` answers PXE clients before ``dhcp-boot``,
and of the ``dhcp-boot`` lines the *last* matching one wins (dnsmasq keeps
them in a list built by prepending, PEERS.md) — so they become final rules in
reverse file order. ``tag:!T`` holds in a rule when an earlier final rule
already takes every client with T (``dhcp-boot=tag:!ipxe,…`` below
``dhcp-boot=tag:ipxe,…``); ``tag:!known`` is ``known = false``; any other
negation is a finding. dnsmasq has no built-in boot table: ``boot.builtin``
is off. DNS (``server=``, ``address=``, a DNS ``port``) is not a boot
service and is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from itertools import product
from typing import Any

from bootwright.config import option_problem
from bootwright.inventory.dnsmasq import DNSMASQ_OPTIONS, host_record
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.migrate.result import Finding, Imported, Reader

__all__ = ["import_dnsmasq"]

_LEASE = re.compile(r"^(\d+)([smhdw]?)$|^infinite$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DEFAULT_LEASE4 = 3600  # dnsmasq(8) --dhcp-range: "one hour for IPv4"
DEFAULT_LEASE6 = 86400  # "and one day for IPv6"
# --pxe-service client system types (dnsmasq(8)) → RFC 4578 §2.1 architecture codes.
CSA = {
    "x86pc": 0,
    "pc98": 1,
    "ia64_efi": 2,
    "alpha": 3,
    "arc_x86": 4,
    "intel_lean_client": 5,
    "ia32_efi": 6,
    "x86-64_efi": 7,
    "xscale_efi": 8,
    "bc_efi": 9,
    "arm32_efi": 10,
    "arm64_efi": 11,
}
# dnsmasq's DHCPv6 option names (``dnsmasq --help dhcp6``) the importer reads.
OPTIONS6 = {
    "dns-server": 23,
    "domain-search": 24,
    "sntp-server": 31,
    "information-refresh-time": 32,
    "ntp-server": 56,
    "bootfile-url": 59,
    "bootfile-param": 60,
}
_DNS_KEYS = (
    "server",
    "address",
    "local",
    "no-resolv",
    "resolv-file",
    "cache-size",
    "addn-hosts",
    "cname",
    "host-record",
    "srv-host",
    "txt-record",
    "ptr-record",
    "mx-host",
    "expand-hosts",
    "domain-needed",
    "bogus-priv",
    "no-hosts",
    "strict-order",
    "all-servers",
    "rev-server",
    "auth-zone",
    "auth-server",
)
_IGNORED = {
    "bind-interfaces": "bootwright binds each served interface itself",
    "bind-dynamic": "bootwright binds each served interface itself",
    "log-dhcp": "bootwright records every DHCP step as an event (bootwright events)",
    "log-queries": "bootwright serves no DNS",
    "dhcp-leasefile": "leases live in bootwright's own store (state.db); the old leases are not imported",
    "leasefile-ro": "leases live in bootwright's own store (state.db)",
    "user": "bootwright's service user is set by its systemd unit",
    "group": "bootwright's service user is set by its systemd unit",
    "pid-file": "bootwright runs under systemd (Type=notify)",
    "keep-in-foreground": "bootwright runs under systemd",
    "no-daemon": "bootwright runs under systemd",
    "dhcp-sequential-ip": "bootwright picks addresses by a hash of the client (stable across restarts)",
    "dhcp-no-override": "bootwright keeps the file field and option 67 apart already",
    "tftp-secure": "bootwright serves only files under its root",
    "tftp-no-blocksize": "bootwright negotiates blksize (RFC 2348) as a client asks",
}


@dataclass(slots=True)
class _Line:
    file: str
    line: int
    key: str
    value: str
    raw: str


@dataclass(slots=True)
class _State:
    out: Imported
    tags: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # tag → alternatives (AND inside)
    host_tags: set[str] = field(default_factory=set)  # tags set by dhcp-host lines
    other_tags: set[str] = field(default_factory=set)  # tags set by anything else
    subnet4: dict[IPv4Network, dict[str, Any]] = field(default_factory=dict)
    subnet6: dict[IPv6Network, dict[str, Any]] = field(default_factory=dict)
    range_tags: dict[str, IPv4Network | IPv6Network] = field(default_factory=dict)
    hosts: list[tuple[_Line, dict[str, Any]]] = field(default_factory=list)
    ignore: list[dict[str, Any]] = field(default_factory=list)
    contributions: list[dict[str, Any]] = field(default_factory=list)
    pxe: list[dict[str, Any]] = field(default_factory=list)
    boots: list[dict[str, Any]] = field(default_factory=list)
    v6_ranges: list[tuple[_Line, IPv6Network, set[str]]] = field(default_factory=list)
    host_options: list[tuple[_Line, str, str, str]] = field(default_factory=list)  # line, tag, code, text
    names: set[str] = field(default_factory=set)
    enable_ra: bool = False
    enable_tftp: bool = False
    boot_without_server: _Line | None = None


def import_dnsmasq(text: str, file: str, read: Reader | None = None) -> Imported:
    """Translate dnsmasq configuration text; ``conf-file``/``conf-dir`` are read through ``read``."""
    state = _State(Imported("dnsmasq", file))
    lines = list(_lines(text, file, read, state, depth=0))
    # Tags first: a dhcp-boot line may name a tag that a later dhcp-match sets.
    for ln in lines:
        _define(ln, state)
    for ln in lines:
        _use(ln, state)
    _finish(state)
    return state.out


def _note(state: _State, ln: _Line, action: Any, message: str) -> None:
    if ln.file == state.out.file:
        state.out.note(ln.line, ln.raw, action, message)
    else:
        state.out.findings.append(Finding(ln.file, ln.line, ln.raw[:100], action, message))


def _lines(text: str, file: str, read: Reader | None, state: _State, depth: int) -> Iterator[_Line]:
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, _, value = stripped.partition("=")
        ln = _Line(file, number, key.strip().removeprefix("--"), value.strip(), stripped)
        if ln.key in ("conf-file", "conf-dir"):
            path = ln.value.split(",", 1)[0]
            if read is None or depth >= 8:
                _note(state, ln, "untranslated", "the included file was not read: import it too")
                continue
            try:
                included = read(path)
            except OSError as exc:
                _note(state, ln, "untranslated", f"cannot read {path}: {exc} (import each file of it too)")
                continue
            state.out.translated += 1
            yield from _lines(included, path, read, state, depth + 1)
        else:
            yield ln


def _split(value: str) -> list[str]:
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


def _tags(fields: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(tag: conditions, set: tags, the rest) of a line's fields (``net:`` is the old spelling of ``tag:``)."""
    tags = [f[4:] for f in fields if f.startswith(("tag:", "net:"))]
    sets = [f[4:] for f in fields if f.startswith("set:")]
    rest = [f for f in fields if not f.startswith(("tag:", "net:", "set:"))]
    return tags, sets, rest


def _add(state: _State, tag: str, condition: dict[str, Any], by_host: bool = False) -> None:
    state.tags.setdefault(tag, []).append(condition)
    (state.host_tags if by_host else state.other_tags).add(tag)


# --------------------------------------------------------------------------- tags


def _define(ln: _Line, state: _State) -> None:
    """Lines that set tags (and ranges, whose ``set:`` names a subnet)."""
    fields = _split(ln.value)
    tags, sets, rest = _tags(fields)
    key = ln.key
    if key == "dhcp-match" and sets and rest:
        condition = _match_condition(ln, rest, state)
        for tag in sets:
            if condition is not None:
                _add(state, tag, condition)
    elif key in ("dhcp-vendorclass", "dhcp-userclass", "dhcp-mac", "dhcp-circuitid", "dhcp-remoteid"):
        if not rest:
            return
        if not sets and len(rest) >= 2:  # "set:" is optional here: dhcp-vendorclass=TAG,VALUE
            sets, rest = [rest[0]], rest[1:]
        condition = _class_condition(ln, key, rest, state)
        for tag in sets:
            if condition is not None:
                _add(state, tag, condition)
    elif key == "tag-if":
        conditions = _conjunctions(tags, state, ln) if tags else [{}]
        for tag in sets:
            for condition in conditions:
                _add(state, tag, condition)
        state.out.translated += 1
    elif key == "dhcp-range":
        _range(ln, fields, state)


def _match_condition(ln: _Line, rest: list[str], state: _State) -> dict[str, Any] | None:
    what = rest[0].removeprefix("option:").removeprefix("option6:")
    value = rest[1].strip('"') if len(rest) > 1 else None
    code = DNSMASQ_OPTIONS.get(what) if not what.isdigit() else int(what)
    if what == "client-arch":
        code = 93
    if what in ("user-class",):
        code = 77
    if code == 93 and value is not None and value.isdigit():
        state.out.translated += 1
        return {"arch": [int(value)]}
    if code == 175 and value is None:
        _note(
            state,
            ln,
            "approximated",
            "bootwright recognises iPXE by its user class 'iPXE' (option 77), which iPXE sends with every "
            "option 175 (its ancestor gPXE: 'gPXE')",
        )
        return {"user_class": ["iPXE", "gPXE"]}
    if code == 60 and value is not None:
        _note(
            state,
            ln,
            "approximated",
            f"dnsmasq matches {value!r} anywhere in option 60, bootwright at its start (match.vendor_class)",
        )
        return {"vendor_class": [value]}
    if code == 77 and value is not None:
        return _user_class(ln, value, state)
    _note(
        state,
        ln,
        "untranslated",
        "bootwright rules cannot match on this option; the tag it sets is left out of the conditions that use it",
    )
    return None


def _user_class(ln: _Line, value: str, state: _State) -> dict[str, Any]:
    """A user class match (``dhcp-userclass``, ``dhcp-match`` on option 77): dnsmasq's is a substring match."""
    _note(
        state,
        ln,
        "approximated",
        f"dnsmasq matches {value!r} inside the user class, bootwright a whole user class (match.user_class)",
    )
    return {"user_class": [value]}


def _class_condition(ln: _Line, key: str, rest: list[str], state: _State) -> dict[str, Any] | None:
    value = rest[-1].strip('"')
    if key == "dhcp-vendorclass":
        if any(r.startswith("enterprise:") for r in rest):
            _note(state, ln, "approximated", "the enterprise number is not matched (match.vendor_class only)")
        else:
            _note(
                state,
                ln,
                "approximated",
                f"dnsmasq matches {value!r} anywhere in the vendor class, bootwright at its start (match.vendor_class)",
            )
        return {"vendor_class": [value]}
    if key == "dhcp-userclass":
        return _user_class(ln, value, state)
    if key == "dhcp-mac":
        octets = value.lower().split(":")
        while octets and octets[-1] == "*":
            octets.pop()
        if len(octets) in range(1, 7) and all(re.fullmatch(r"[0-9a-f]{2}", o) for o in octets):
            state.out.translated += 1
            return {"mac": [":".join(octets)]}
        _note(state, ln, "untranslated", "only MAC prefixes (wildcards at the end) become match.mac")
        return None
    state.out.translated += 1
    return {"circuit_id" if key == "dhcp-circuitid" else "remote_id": [value]}


def _conjunctions(tags: list[str], state: _State, ln: _Line) -> list[dict[str, Any]]:
    """The rule matches (OR of ANDs) a client must fit to carry every tag of ``tags``; [] when impossible."""
    positive: list[list[dict[str, Any]]] = []
    for tag in tags:
        if tag == "known":
            positive.append([{"known": True}])
        elif tag == "!known":
            positive.append([{"known": False}])
        elif tag.startswith("!"):
            continue  # negations: see _negations
        elif tag in state.tags:
            positive.append(_merged(state.tags[tag]))
        elif tag in state.names:
            positive.append([{"host": [tag]}])
        else:
            _note(
                state,
                ln,
                "untranslated",
                f"nothing in the file sets tag {tag!r} (an interface name?): the line is left out",
            )
            return []
    out: list[dict[str, Any]] = []
    for combination in product(*positive):
        merged: dict[str, Any] | None = {}
        for part in combination:
            merged = _and(merged, part) if merged is not None else None
        if merged is not None:
            out.append(merged)
    return out


def _merged(alternatives: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alternatives that each set the same single list key are one condition with the union of the lists."""
    keys = {tuple(a) for a in alternatives}
    if len(keys) == 1 and len(next(iter(keys))) == 1 and isinstance(alternatives[0][next(iter(keys))[0]], list):
        key = next(iter(keys))[0]
        union: list[Any] = []
        for a in alternatives:
            union += [v for v in a[key] if v not in union]
        return [{key: union}]
    return alternatives


def _and(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any] | None:
    out = dict(left)
    for key, value in right.items():
        if value is None:
            continue
        if key not in out or out[key] is None:
            out[key] = value
        elif isinstance(value, list):
            both = [v for v in out[key] if v in value]
            if not both:
                return None  # no client can fit both
            out[key] = both
        elif out[key] != value:
            return None
    return out


# --------------------------------------------------------------------------- ranges


def _lease(text: str) -> int | None:
    match = _LEASE.match(text)
    if match is None:
        return None
    if text == "infinite":
        return 0xFFFFFFFF
    return int(match.group(1)) * _UNITS[match.group(2)]


def _range(ln: _Line, fields: list[str], state: _State) -> None:
    tags, sets, rest = _tags(fields)
    if tags:
        _note(
            state,
            ln,
            "untranslated",
            'a range used only for tagged clients: write pools with allow = ["rule:…"] by hand',
        )
        return
    try:
        first = ip_address(rest[0])
    except (ValueError, IndexError):
        _note(state, ln, "untranslated", "the range does not start with an address")
        return
    net: IPv4Network | IPv6Network | None
    net = _range4(ln, first, rest[1:], state) if isinstance(first, IPv4Address) else _range6(ln, first, rest[1:], state)
    if net is not None:
        for tag in sets:
            _add(state, tag, {"subnet": [str(net)]})
            state.range_tags[tag] = net


def _range4(ln: _Line, start: IPv4Address, rest: list[str], state: _State) -> IPv4Network | None:
    end: IPv4Address | None = None
    mode = "full"
    addresses: list[IPv4Address] = []
    lease: int | None = None
    for part in rest:
        if part in ("proxy", "static"):
            mode = part
        elif _lease(part) is not None:
            lease = _lease(part)
        else:
            try:
                addresses.append(IPv4Address(part))
            except ValueError:
                _note(state, ln, "untranslated", f"{part!r} is not understood in a dhcp-range")
                return None
    if addresses and mode == "full":
        end = addresses.pop(0)
    if addresses:
        net = IPv4Network(f"{start}/{addresses[0]}", strict=False)
    else:
        net = IPv4Network(f"{start}/24", strict=False)
        _note(
            state,
            ln,
            "approximated",
            f"no netmask: dnsmasq takes it from the interface; {net} is assumed (check subnet4.subnet)",
        )
    entry = state.subnet4.setdefault(net, {"subnet": str(net)})
    if mode == "proxy":
        entry["mode"] = "proxy"
    else:
        entry["lease_time"] = lease if lease is not None else DEFAULT_LEASE4
        if end is not None:
            entry.setdefault("pools", []).append(f"{start}-{end}")
    state.out.translated += 1
    return net


def _range6(ln: _Line, start: IPv4Address | IPv6Address, rest: list[str], state: _State) -> IPv6Network | None:
    modes: set[str] = set()
    end: IPv6Address | None = None
    length = 64
    lease: int | None = None
    for part in rest:
        if part.startswith("constructor:"):
            _note(
                state,
                ln,
                "untranslated",
                f"the prefix comes from {part[12:]}'s addresses: write the range with "
                "the prefix itself (or a [[subnet6]] by hand)",
            )
            return None
        if part in ("static", "ra-only", "slaac", "ra-names", "ra-stateless", "ra-advrouter", "off-link"):
            modes.add(part)
        elif part.isdigit() and int(part) <= 128:
            length = int(part)  # a prefix length; a bare number above 128 is a lease time in seconds
        elif _lease(part) is not None or part == "deprecated":
            lease = _lease(part)
        else:
            try:
                end = IPv6Address(part)
            except ValueError:
                _note(state, ln, "untranslated", f"{part!r} is not understood in a dhcp-range")
                return None
    net = IPv6Network(f"{start}/{length}", strict=False)
    entry = state.subnet6.setdefault(net, {"prefix": str(net)})
    if end is not None and not modes & {"ra-only", "static", "ra-stateless"}:
        entry.setdefault("pools", []).append(f"{start}-{end}")
    valid = lease if lease is not None else DEFAULT_LEASE6
    entry["valid_lifetime"] = valid
    entry["preferred_lifetime"] = valid  # dnsmasq sends the lease time as both (unless "deprecated")
    state.v6_ranges.append((ln, net, modes))
    if "ra-only" in modes:
        _note(
            state,
            ln,
            "approximated",
            "bootwright answers DHCPv6 Information-requests on this prefix too (dnsmasq: RA only)",
        )
    if "ra-names" in modes:
        _note(state, ln, "ignored", "ra-names adds DNS names for SLAAC hosts; bootwright serves no DNS")
    if "ra-advrouter" in modes:
        _note(
            state,
            ln,
            "approximated",
            "bootwright sets the R flag with the subnet's server address "
            "(ra.router_address) but sends no Advertisement Interval option",
        )
    state.out.translated += 1
    return net


# --------------------------------------------------------------------------- everything else


def _use(ln: _Line, state: _State) -> None:
    key, fields = ln.key, _split(ln.value)
    tags, _, rest = _tags(fields)
    if key in (
        "dhcp-match",
        "dhcp-vendorclass",
        "dhcp-userclass",
        "dhcp-mac",
        "dhcp-circuitid",
        "dhcp-remoteid",
        "tag-if",
        "dhcp-range",
    ):
        return  # read by _define
    if key == "dhcp-host":
        _host(ln, fields, state)
    elif key in ("dhcp-option", "dhcp-option-force"):
        _option(ln, tags, rest, state)
    elif key == "dhcp-boot":
        _boot(ln, tags, rest, state)
    elif key == "dhcp-ignore":
        for condition in _conjunctions(tags, state, ln):
            state.ignore.append({"match": condition, "ignore": True, "line": ln})
        _negations(ln, tags, state)
        state.out.translated += 1
    elif key == "pxe-service":
        _pxe(ln, tags, rest, state)
    elif key == "pxe-prompt":
        _note(state, ln, "approximated", "bootwright shows no PXE menu prompt: the client boots its file at once")
    elif key == "interface":
        state.out.config.setdefault("server", {}).setdefault("interfaces", []).extend(fields)
        state.out.translated += 1
    elif key == "port":
        if ln.value == "0":
            state.out.translated += 1  # DNS off: bootwright serves none either
        else:
            _note(state, ln, "untranslated", "dnsmasq serves DNS here: not a boot service; keep a DNS server")
    elif key == "enable-ra":
        state.enable_ra = True
        state.out.translated += 1
    elif key == "enable-tftp":
        state.enable_tftp = True
        state.out.translated += 1
    elif key == "tftp-root":
        state.out.config["root"] = fields[0]
        if len(fields) > 1:
            _note(state, ln, "approximated", "a TFTP root for one interface only: bootwright has one root")
        else:
            state.out.translated += 1
    elif key == "dhcp-authoritative":
        state.out.config.setdefault("dhcp4", {})["authoritative"] = True
        state.out.translated += 1
    elif key == "domain":
        state.out.config.setdefault("dhcp4", {})["domain_name"] = fields[0]
        state.out.translated += 1
        if len(fields) > 1:
            _note(state, ln, "approximated", "the domain is given to every subnet (bootwright: dhcp4.domain_name)")
    elif key in _DNS_KEYS:
        _note(state, ln, "untranslated", "DNS: not a boot service; keep a DNS server for it")
    elif key in _IGNORED:
        _note(state, ln, "ignored", _IGNORED[key])
    else:
        _note(state, ln, "untranslated", f"{key!r} is not translated by the importer")


def _host(ln: _Line, fields: list[str], state: _State) -> None:
    ignore = "ignore" in fields
    conditions = [f for f in fields if f.startswith(("tag:", "net:"))]
    parts = [f for f in fields if f != "ignore" and not f.startswith(("tag:", "net:"))]
    if conditions:
        _note(state, ln, "untranslated", "a host entry that depends on tags: bootwright hosts hold always")
        return
    if ignore:
        macs = [p for p in parts if re.fullmatch(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}", p)]
        if macs:
            state.ignore.append(
                {"match": {"mac": [m.lower().replace("-", ":") for m in macs]}, "ignore": True, "line": ln}
            )
            state.out.translated += 1
        else:
            _note(state, ln, "untranslated", "only hosts ignored by MAC become an ignore rule")
        return
    if any(_lease(p) is not None for p in parts):
        _note(state, ln, "approximated", "a per-host lease time: bootwright gives the subnet's lease_time")
    try:
        record = host_record(",".join(parts))
    except ValueError as exc:
        _note(state, ln, "untranslated", str(exc))
        return
    for tag in record.get("groups", []):
        _add(state, tag, {"group": [tag]}, by_host=True)
    state.names.add(record["name"])
    state.hosts.append((ln, record))


def _option_code(ln: _Line, what: str, state: _State) -> tuple[int, int] | None:
    """(family, code) of ``N``, ``option:NAME`` or ``option6:NAME|N``."""
    if what.startswith("option6:"):
        name = what[8:]
        code = int(name) if name.isdigit() else OPTIONS6.get(name)
        return (6, code) if code is not None else None
    name = what.removeprefix("option:")
    code = int(name) if name.isdigit() else DNSMASQ_OPTIONS.get(name)
    return (4, code) if code is not None else None


def _option(ln: _Line, tags: list[str], rest: list[str], state: _State) -> None:
    if len(rest) < 1 or rest[0].startswith(("encap:", "vi-encap:", "vendor:")):
        _note(
            state,
            ln,
            "untranslated",
            "encapsulated and vendor options: set them in dhcp4.ipxe or dhcp4.options by hand",
        )
        return
    found = _option_code(ln, rest[0], state)
    if found is None:
        _note(state, ln, "untranslated", f"option {rest[0]!r} is not known to the importer: give its number")
        return
    family, code = found
    values = [v.strip('"') for v in rest[1:]]
    if family == 6:
        _option6(ln, tags, code, values, state)
    elif tags:
        _tagged_option4(ln, tags, code, values, state)
    else:
        _set_option4(ln, state.out.config.setdefault("dhcp4", {}), code, values, state)


def _set_option4(ln: _Line, table: dict[str, Any], code: int, values: list[str], state: _State) -> None:
    named = {3: "routers", 6: "dns", 42: "ntp_servers", 119: "domain_search"}
    if code in named:
        table[named[code]] = values
    elif code == 15 and len(values) == 1:
        table["domain_name"] = values[0]
    else:
        text = ", ".join(values)
        problem = option_problem(str(code), text)
        if problem:
            _note(state, ln, "untranslated", problem)
            return
        table.setdefault("options", {})[str(code)] = text
    state.out.translated += 1


def _tagged_option4(ln: _Line, tags: list[str], code: int, values: list[str], state: _State) -> None:
    positive = [t for t in tags if not t.startswith("!")]
    if len(tags) == 1 and tags[0] in state.range_tags and isinstance(state.range_tags[tags[0]], IPv4Network):
        _set_option4(ln, state.subnet4[state.range_tags[tags[0]]], code, values, state)  # type: ignore[index]
        return
    if len(positive) == len(tags) == 1 and tags[0] in state.host_tags and tags[0] not in state.other_tags:
        text = ", ".join(values)
        problem = option_problem(str(code), text)
        if problem:
            _note(state, ln, "untranslated", problem)
        else:
            state.host_options.append((ln, tags[0], str(code), text))
        return
    fields = {60: "vendor_class", 66: "tftp_server", 67: "bootfile"}
    if code not in fields or len(values) != 1:
        _note(
            state,
            ln,
            "untranslated",
            "bootwright rules carry no DHCP options (only option 60, 66, 67 and the "
            "iPXE ones): give the option to the subnet or the hosts instead",
        )
        return
    for condition in _conjunctions(tags, state, ln):
        state.contributions.append(
            {"match": {**condition, "family": 4}, fields[code]: values[0], "final": False, "line": ln}
        )
    _negations(ln, tags, state)
    state.out.translated += 1


def _option6(ln: _Line, tags: list[str], code: int, values: list[str], state: _State) -> None:
    values = [v.strip("[]") for v in values]
    if code == 59 and len(values) == 1:
        conditions = _conjunctions(tags, state, ln) if tags else [{}]
        for condition in conditions:
            state.contributions.append(
                {"match": {**condition, "family": 6}, "bootfile": values[0], "final": False, "line": ln}
            )
        _negations(ln, tags, state)
        state.out.translated += 1
        return
    if tags:
        _note(state, ln, "untranslated", "a tagged DHCPv6 option: bootwright rules carry no DHCPv6 options")
        return
    table = state.out.config.setdefault("dhcp6", {})
    if code == 23:
        table["dns"] = values
    elif code == 24:
        table["domain_search"] = values
    elif code == 56:
        table["ntp_servers"] = values
    elif code == 32 and len(values) == 1 and values[0].isdigit():
        table["info_refresh_time"] = int(values[0])
    else:
        table.setdefault("options", {})[str(code)] = ", ".join(values)
    state.out.translated += 1


def _boot(ln: _Line, tags: list[str], rest: list[str], state: _State) -> None:
    if not rest or not rest[0]:
        _note(state, ln, "untranslated", "dhcp-boot without a file name")
        return
    entry: dict[str, Any] = {"bootfile": rest[0]}
    if len(rest) > 1 and rest[1]:
        _note(state, ln, "approximated", f"the server name {rest[1]!r} (BOOTP sname) is not sent")
    if len(rest) > 2:
        try:
            entry["next_server"] = str(IPv4Address(rest[2]))
        except ValueError:
            entry["tftp_server"] = rest[2]
            _note(state, ln, "approximated", f"{rest[2]!r} is sent as option 66 (dnsmasq resolves it for siaddr)")
    elif state.boot_without_server is None:
        state.boot_without_server = ln
    for condition in _conjunctions(tags, state, ln) if tags else [{}]:
        state.boots.append({"match": {**condition, "family": 4}, **entry, "line": ln, "tags": tags})
    state.out.translated += 1


def _pxe(ln: _Line, tags: list[str], rest: list[str], state: _State) -> None:
    if len(rest) < 3 or (rest[0].lower() not in CSA and not rest[0].isdigit()):
        _note(state, ln, "untranslated", "a PXE menu entry without a boot file (boot service type or local boot)")
        return
    arch = int(rest[0]) if rest[0].isdigit() else CSA[rest[0].lower()]
    basename = rest[2]
    if basename.isdigit():
        _note(state, ln, "untranslated", "a boot service type: bootwright answers with a file, not a PXE menu")
        return
    if any(p["match"].get("arch") == [arch] and p["tags"] == tags for p in state.pxe):
        _note(state, ln, "untranslated", "a second menu entry for this client type: bootwright boots the first")
        return
    # dnsmasq(8): "the layer suffix (normally .0) is supplied by PXE" unless the name has a suffix.
    bootfile = basename if "." in basename.rsplit("/", 1)[-1] else basename + ".0"
    entry: dict[str, Any] = {"bootfile": bootfile}
    if len(rest) > 3:
        try:
            entry["next_server"] = str(IPv4Address(rest[3]))
        except ValueError:
            entry["tftp_server"] = rest[3]
    for condition in _conjunctions(tags, state, ln) if tags else [{}]:
        match = _and(condition, {"arch": [arch], "vendor_class": ["PXEClient"]})
        if match is not None:
            state.pxe.append({"match": {**match, "family": 4}, **entry, "line": ln, "tags": tags})
    _note(
        state,
        ln,
        "approximated",
        "dnsmasq offers a PXE menu (option 43) and answers on port 4011; "
        "bootwright gives the client this file directly",
    )


def _negations(ln: _Line, tags: list[str], state: _State) -> None:
    """``tag:!T`` on a line that is not a final rule: no rule condition says "not T"."""
    for tag in tags:
        if tag.startswith("!") and tag != "!known":
            _note(
                state,
                ln,
                "approximated",
                f"the condition tag:{tag} cannot be written as a rule condition and is left out",
            )


def _caught(tag: str, earlier: list[dict[str, Any]], state: _State) -> bool:
    """Whether earlier final rules already take every client carrying ``tag``."""
    alternatives = _merged(state.tags.get(tag, []))
    finals = [{k: v for k, v in r["match"].items() if k != "family"} for r in earlier]
    return bool(alternatives) and all(a in finals for a in alternatives)


def _ordered(entries: list[dict[str, Any]], state: _State) -> list[dict[str, Any]]:
    """Final rules in dnsmasq's order, with ``tag:!T`` made true by order where it can be.

    A rule R with ``!T`` is skipped by T's clients, who go on to the next rules. When the
    first later rule L that T's clients can reach (every rule between R and L also says
    ``!T``) takes exactly T, moving L above R answers everyone as dnsmasq does.
    """
    out = list(entries)
    i = 0
    while i < len(out):
        for tag in [t[1:] for t in out[i]["tags"] if t.startswith("!") and t != "!known"]:
            if _caught(tag, out[:i], state):
                continue
            alternatives = _merged(state.tags.get(tag, []))
            j = i + 1
            while j < len(out) and f"!{tag}" in out[j]["tags"]:
                j += 1
            later = {k: v for k, v in out[j]["match"].items() if k != "family"} if j < len(out) else None
            if later is not None and later in alternatives:
                out.insert(i, out.pop(j))
                i += 1
            else:
                _note(
                    state,
                    out[i]["line"],
                    "approximated",
                    f"the condition tag:!{tag} cannot be written as a rule "
                    "condition and is left out: check the rule order",
                )
        i += 1
    return out


def _finish(state: _State) -> None:
    out = state.out
    config = out.config
    hosts = _hosts(state)
    if state.subnet4:
        config["subnet4"] = list(state.subnet4.values())
    _ra(state)
    if state.subnet6:
        config["subnet6"] = list(state.subnet6.values())
    finals = _ordered(state.pxe + list(reversed(state.boots)), state)
    rules = []
    names: dict[str, int] = {}
    for entry in state.ignore + state.contributions + finals:
        ln: _Line = entry["line"]
        where = f"line{ln.line}" if ln.file == out.file else f"{ln.file.rsplit('/', 1)[-1]}-line{ln.line}"
        base = f"{ln.key}-{where}"
        names[base] = names.get(base, 0) + 1
        rule: dict[str, Any] = {"name": base if names[base] == 1 else f"{base}-{names[base]}"}
        rule.update({k: v for k, v in entry.items() if k not in ("line", "tags")})
        rule["match"] = {k: v for k, v in rule["match"].items() if v is not None}
        rules.append(rule)
    if rules:
        config["rule"] = rules
    config.setdefault("boot", {})["builtin"] = False  # dnsmasq boots nobody without a dhcp-boot/pxe-service
    if not state.enable_tftp:
        config["tftp"] = {"enabled": False}  # dnsmasq serves no TFTP without enable-tftp
    if state.boot_without_server is not None and any(s.get("mode") != "proxy" for s in state.subnet4.values()):
        _note(
            state,
            state.boot_without_server,
            "approximated",
            "dnsmasq puts its own address in siaddr; set server.address4 (or dhcp4.next_server) so bootwright does too",
        )
    out.hosts = hosts


def _hosts(state: _State) -> list[Any]:
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for _, record in state.hosts:
        for tag in record.get("groups", []):
            by_tag.setdefault(tag, []).append(record)
    for _, tag, code, text in state.host_options:
        for record in by_tag.get(tag, []):
            record.setdefault("options", {})[code] = text
        state.out.translated += 1
    own = {t for _, t, _, _ in state.host_options}
    hosts = []
    for ln, record in state.hosts:
        # The inventory's convention (inventory/dnsmasq.py): set:NAME on a host carries that host's own options.
        groups = [g for g in record.get("groups", []) if not (g == record["name"] and g in own)]
        if groups:
            record["groups"] = groups
        else:
            record.pop("groups", None)
        try:
            hosts.append(host_from_dict(record))
            state.out.translated += 1
        except HostInputError as exc:
            _note(state, ln, "untranslated", "; ".join(str(p) for p in exc.problems))
    return hosts


def _ra(state: _State) -> None:
    """dnsmasq's RA per v6 range (dnsmasq(8) --enable-ra and the dhcp-range modes)."""
    for ln, net, modes in state.v6_ranges:
        ra_modes = modes & {"ra-only", "slaac", "ra-stateless", "ra-names", "ra-advrouter"}
        entry = state.subnet6[net]
        if not (state.enable_ra or ra_modes):
            continue
        stateful = bool(entry.get("pools"))
        ra: dict[str, Any] = {}
        if "ra-only" in modes:
            ra.update(managed=False, other=False, autonomous=True)
        elif "ra-stateless" in modes:
            ra.update(managed=False, other=True, autonomous=True)
        elif modes & {"slaac", "ra-names"}:
            ra.update(managed=stateful, other=True, autonomous=True)
        else:
            ra.update(managed=True, other=True, autonomous=False)  # "the managed address bits are set"
        if "off-link" in modes:
            ra["on_link"] = False
        if "ra-advrouter" in modes:
            ra["router_address"] = True
        ra = {
            k: v
            for k, v in ra.items()
            if not (k in ("managed", "other") and v is False) and not (k in ("autonomous", "on_link") and v is True)
        }
        entry["ra"] = ra
        _note(
            state,
            ln,
            "approximated",
            "dnsmasq's RA timing and lifetimes differ from bootwright's defaults, and "
            "without dns-server it names itself as RDNSS: review [subnet6.ra]",
        )
