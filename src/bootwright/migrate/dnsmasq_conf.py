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

The importer's parts live in sibling modules by topic: :mod:`.dnsmasq_state`
(the lines, the shared state, the findings), :mod:`.dnsmasq_tags` (tags as
conditions), :mod:`.dnsmasq_ranges` (subnets, pools, RA),
:mod:`.dnsmasq_options` and :mod:`.dnsmasq_boot` (the final rules and their
order). This module reads each line and assembles the result.
"""

from __future__ import annotations

import re
from typing import Any

from bootwright.inventory.dnsmasq import host_record
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.migrate.dnsmasq_boot import boot_line, ordered, pxe_line
from bootwright.migrate.dnsmasq_options import option_line
from bootwright.migrate.dnsmasq_ranges import subnet_ra
from bootwright.migrate.dnsmasq_state import (
    Line,
    State,
    add_tag,
    lease_seconds,
    note,
    read_lines,
    split_fields,
    tag_fields,
)
from bootwright.migrate.dnsmasq_tags import conjunctions, define, negations
from bootwright.migrate.result import Imported, Reader

__all__ = ["import_dnsmasq"]

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


def import_dnsmasq(text: str, file: str, read: Reader | None = None) -> Imported:
    """Translate dnsmasq configuration text; ``conf-file``/``conf-dir`` are read through ``read``."""
    state = State(Imported("dnsmasq", file))
    lines = list(read_lines(text, file, read, state, depth=0))
    # Tags first: a dhcp-boot line may name a tag that a later dhcp-match sets.
    for ln in lines:
        define(ln, state)
    for ln in lines:
        _use(ln, state)
    _finish(state)
    return state.out


def _use(ln: Line, state: State) -> None:
    key, fields = ln.key, split_fields(ln.value)
    tags, _, rest = tag_fields(fields)
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
        return  # read by define
    if key == "dhcp-host":
        _host(ln, fields, state)
    elif key in ("dhcp-option", "dhcp-option-force"):
        option_line(ln, tags, rest, state)
    elif key == "dhcp-boot":
        boot_line(ln, tags, rest, state)
    elif key == "dhcp-ignore":
        for condition in conjunctions(tags, state, ln):
            state.ignore.append({"match": condition, "ignore": True, "line": ln})
        negations(ln, tags, state)
        state.out.translated += 1
    elif key == "pxe-service":
        pxe_line(ln, tags, rest, state)
    elif key == "pxe-prompt":
        note(state, ln, "approximated", "bootwright shows no PXE menu prompt: the client boots its file at once")
    elif key == "interface":
        state.out.config.setdefault("server", {}).setdefault("interfaces", []).extend(fields)
        state.out.translated += 1
    elif key == "port":
        if ln.value == "0":
            state.out.translated += 1  # DNS off: bootwright serves none either
        else:
            note(state, ln, "untranslated", "dnsmasq serves DNS here: not a boot service; keep a DNS server")
    elif key == "enable-ra":
        state.enable_ra = True
        state.out.translated += 1
    elif key == "enable-tftp":
        state.enable_tftp = True
        state.out.translated += 1
    elif key == "tftp-root":
        state.out.config["root"] = fields[0]
        if len(fields) > 1:
            note(state, ln, "approximated", "a TFTP root for one interface only: bootwright has one root")
        else:
            state.out.translated += 1
    elif key == "dhcp-authoritative":
        state.out.config.setdefault("dhcp4", {})["authoritative"] = True
        state.out.translated += 1
    elif key == "domain":
        state.out.config.setdefault("dhcp4", {})["domain_name"] = fields[0]
        state.out.translated += 1
        if len(fields) > 1:
            note(state, ln, "approximated", "the domain is given to every subnet (bootwright: dhcp4.domain_name)")
    elif key in _DNS_KEYS:
        note(state, ln, "untranslated", "DNS: not a boot service; keep a DNS server for it")
    elif key in _IGNORED:
        note(state, ln, "ignored", _IGNORED[key])
    else:
        note(state, ln, "untranslated", f"{key!r} is not translated by the importer")


def _host(ln: Line, fields: list[str], state: State) -> None:
    ignore = "ignore" in fields
    conditions = [f for f in fields if f.startswith(("tag:", "net:"))]
    parts = [f for f in fields if f != "ignore" and not f.startswith(("tag:", "net:"))]
    if conditions:
        note(state, ln, "untranslated", "a host entry that depends on tags: bootwright hosts hold always")
        return
    if ignore:
        macs = [p for p in parts if re.fullmatch(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}", p)]
        if macs:
            state.ignore.append(
                {"match": {"mac": [m.lower().replace("-", ":") for m in macs]}, "ignore": True, "line": ln}
            )
            state.out.translated += 1
        else:
            note(state, ln, "untranslated", "only hosts ignored by MAC become an ignore rule")
        return
    if any(lease_seconds(p) is not None for p in parts):
        note(state, ln, "approximated", "a per-host lease time: bootwright gives the subnet's lease_time")
    try:
        record = host_record(",".join(parts))
    except ValueError as exc:
        note(state, ln, "untranslated", str(exc))
        return
    for tag in record.get("groups", []):
        add_tag(state, tag, {"group": [tag]}, by_host=True)
    state.names.add(record["name"])
    state.hosts.append((ln, record))


def _finish(state: State) -> None:
    out = state.out
    config = out.config
    hosts = _hosts(state)
    if state.subnet4:
        config["subnet4"] = list(state.subnet4.values())
    subnet_ra(state)
    if state.subnet6:
        config["subnet6"] = list(state.subnet6.values())
    finals = ordered(state.pxe + list(reversed(state.boots)), state)
    rules = []
    names: dict[str, int] = {}
    for entry in state.ignore + state.contributions + finals:
        ln: Line = entry["line"]
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
        note(
            state,
            state.boot_without_server,
            "approximated",
            "dnsmasq puts its own address in siaddr; set server.address4 (or dhcp4.next_server) so bootwright does too",
        )
    out.hosts = hosts


def _hosts(state: State) -> list[Any]:
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
            note(state, ln, "untranslated", "; ".join(str(p) for p in exc.problems))
    return hosts
