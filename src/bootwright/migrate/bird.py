"""BIRD 2 ``protocol radv`` (bird(8) "RAdv", BIRD 2.0) → ``[[subnet6]]`` entries with ``[subnet6.ra]`` (pure).

BIRD advertises the prefixes of the interface's own addresses; a ``prefix P
{ … }`` clause only sets options for the prefixes inside P (interface clauses
first, then the protocol's, first match). bootwright advertises the prefix of
each ``[[subnet6]]``, so a clause naming a prefix of length 64 or more becomes
a subnet6 on its interface (a protocol-level one too when the protocol has a
single interface); shorter clauses (``::/0``, a /48) are option templates and
apply to those subnet6 entries, or are reported when nothing names a prefix.

BIRD's defaults that differ from bootwright's are written out: ``solicited
ra unicast`` is off in BIRD (bootwright answers a unicast RS with a unicast
RA), ``min ra interval`` defaults to max/3 in whole seconds (bootwright 0.33 ×
max), and no RDNSS/DNSSL is sent unless configured (``rdnss = []``). The
RDNSS/DNSSL lifetime default (3 × max ra interval) is bootwright's too. Every
other protocol (kernel, device, static, BGP, OSPF, …) and every global
setting is reported: BIRD keeps routing; bootwright replaces only its RAs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from bootwright.migrate.blocks import Statement, SyntaxProblem, parse_blocks
from bootwright.migrate.ra import flag, ra_problem, ra_table, seconds
from bootwright.migrate.radvd import DHCP6_NOTE
from bootwright.migrate.result import Finding, Imported, Reader
from bootwright.wire.ndp import default_min_rtr_adv_interval

__all__ = ["import_bird"]

BIRD_MIN_DELAY = 3  # "min delay" default, RFC 4861 MIN_DELAY_BETWEEN_RAS: bootwright's fixed value
SLAAC_LENGTH = 64  # a clause at least this long names a prefix an interface carries (RFC 4291 §2.5.1)

# Interface options (phrase → bootwright ra key, parser).
_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "max ra interval": ("max_interval", int),
    "min ra interval": ("min_interval", int),
    "solicited ra unicast": ("solicited_unicast", flag),
    "managed": ("managed", flag),
    "other config": ("other", flag),
    "link mtu": ("mtu", int),
    "reachable time": ("reachable_time", int),
    "retrans timer": ("retrans_timer", int),
    "current hop limit": ("hop_limit", int),
    "default lifetime": ("router_lifetime", int),
    "default preference": ("router_preference", str.lower),
}
_PREFIX_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "onlink": ("on_link", flag),
    "autonomous": ("autonomous", flag),
    "valid lifetime": ("prefix_valid_lifetime", seconds),
    "preferred lifetime": ("prefix_preferred_lifetime", seconds),
}
# Options that change nothing bootwright sends: they concern routes BIRD propagates or withdraws.
_ROUTE_ONLY = ("route lifetime", "route preference", "prefix linger time", "route linger time", "custom option local")
_PROTOCOL_COMMON = ("debug", "description", "disabled", "mrtdump", "router id", "vrf")


@dataclass(slots=True)
class _Clause:
    """A ``prefix P { … }`` clause and where it stands."""

    network: IPv6Network
    statement: Statement
    used: bool = False


@dataclass(slots=True)
class _Dns:
    """RDNSS or DNSSL entries and the lines that gave them (with an explicit lifetime, in seconds or × max)."""

    entries: list[str] = field(default_factory=list)
    lines: list[tuple[Statement, int | None, bool]] = field(default_factory=list)  # statement, lifetime, mult


@dataclass(slots=True)
class _Iface:
    names: list[str]
    statement: Statement
    values: dict[str, Any] = field(default_factory=dict)
    clauses: list[_Clause] = field(default_factory=list)
    rdnss: _Dns = field(default_factory=_Dns)
    dnssl: _Dns = field(default_factory=_Dns)
    local: set[str] = field(default_factory=set)  # "rdnss", "dnssl": only the interface's own


def import_bird(text: str, file: str, read: Reader | None = None) -> Imported:
    """Translate a BIRD 2 configuration's ``protocol radv``; ``include`` files come through ``read``."""
    out = Imported("bird", file)
    subnets: list[dict[str, Any]] = []
    _file(text, file, read, out, subnets, depth=0)
    if subnets:
        out.config["subnet6"] = subnets
        out.note(None, "(every prefix)", "approximated", DHCP6_NOTE)
    return out


def _file(text: str, file: str, read: Reader | None, out: Imported, subnets: list[dict[str, Any]], depth: int) -> None:
    try:
        statements = parse_blocks(text, c_comments=True)
    except SyntaxProblem as exc:
        raise ValueError(f"{file}: {exc}") from None

    def note(line: int | None, statement: str, action: Any, message: str) -> None:
        if file == out.file:
            out.note(line, statement, action, message)
        else:
            out.findings.append(Finding(file, line, " ".join(statement.split())[:100], action, message))

    for st in statements:
        words = st.texts
        if st.key == "protocol" and len(words) >= 2 and words[1] == "radv" and st.body is not None:
            subnets += _radv(st, note, out)
        elif st.key == "protocol":
            kind = words[1] if len(words) > 1 else "?"
            note(
                st.line,
                f"protocol {' '.join(words[1:])}",
                "untranslated",
                f"BIRD's {kind} protocol is not a boot service; keep BIRD for routing (with radv removed)",
            )
        elif st.key == "include" and st.body is None and len(words) == 2:
            if read is None or depth >= 8:
                note(st.line, st.source(), "untranslated", "the included file was not read: import it too")
                continue
            try:
                included = read(words[1])
            except OSError as exc:
                note(st.line, st.source(), "untranslated", f"cannot read the included file: {exc}")
                continue
            _file(included, words[1], read, out, subnets, depth + 1)
            out.translated += 1
        else:
            note(
                st.line,
                st.source(),
                "ignored",
                "a BIRD setting outside 'protocol radv': it concerns routing, "
                "not the router advertisements bootwright takes over",
            )


def _phrase(st: Statement, table: dict[str, Any] | tuple[str, ...]) -> tuple[str, list[str]] | None:
    """The longest known phrase the statement starts with, and the words after it."""
    words = [w.lower() for w in st.texts]
    for size in (3, 2, 1):
        phrase = " ".join(words[:size])
        if phrase in table:
            return phrase, st.texts[size:]
    return None


def _radv(block: Statement, note: Callable[..., None], out: Imported) -> list[dict[str, Any]]:
    globals_clauses: list[_Clause] = []
    rdnss, dnssl = _Dns(), _Dns()
    ifaces: list[_Iface] = []
    for st in block.body or []:
        if st.key == "interface":
            iface = _interface(st, note, out)
            if iface is not None:
                ifaces.append(iface)
        elif st.key == "prefix":
            clause = _clause(st, note)
            if clause is not None:
                globals_clauses.append(clause)
        elif st.key in ("rdnss", "dnssl"):
            _dns(st, rdnss if st.key == "rdnss" else dnssl, note)
        elif st.key == "ipv6" or st.key == "ipv6_channel":
            note(
                st.line,
                st.source(),
                "ignored",
                "the routes exported to radv only drive 'trigger' and 'propagate routes'",
            )
        elif st.key == "propagate" and len(st.words) == 3 and flag(st.texts[2]) is False:
            out.translated += 1
        elif st.key in ("propagate", "trigger", "custom"):
            note(
                st.line,
                st.source(),
                "untranslated",
                "bootwright sends no Route Information (RFC 4191), no "
                "custom options and does not follow a trigger route: keep BIRD for this, or drop it",
            )
        elif _phrase(st, _PROTOCOL_COMMON) is not None:
            note(
                st.line,
                st.source(),
                "ignored",
                "a BIRD protocol setting (logging, state) with no effect on what is advertised",
            )
        else:
            note(st.line, st.source(), "untranslated", "unknown radv protocol option")
    subnets: list[dict[str, Any]] = []
    for iface in ifaces:
        if len(ifaces) == 1:
            # A protocol-level clause naming a prefix belongs to the only interface.
            iface.clauses += [c for c in globals_clauses if c.network.prefixlen >= SLAAC_LENGTH]
        subnets += _subnets(iface, globals_clauses, rdnss, dnssl, note, out)
    for clause in globals_clauses:
        if not clause.used:
            note(
                clause.statement.line,
                clause.statement.source(),
                "untranslated",
                "BIRD applies this to the interface prefixes inside it; bootwright needs each prefix as a "
                "[[subnet6]] (with these options in its [subnet6.ra])",
            )
    return subnets


def _interface(st: Statement, note: Callable[..., None], out: Imported) -> _Iface | None:
    names = [w.text for w in st.words[1:] if w.text != ","]
    if not names or any(any(c in n for c in "*?-[") for n in names):
        note(
            st.line,
            st.source(),
            "untranslated",
            "an interface pattern: bootwright advertises on named "
            "interfaces only (subnet6.interface); write one per interface",
        )
        return None
    iface = _Iface(names, st)
    for opt in st.body or []:
        found = _phrase(opt, _OPTIONS)
        if opt.key == "prefix":
            clause = _clause(opt, note)
            if clause is not None:
                iface.clauses.append(clause)
        elif opt.key in ("rdnss", "dnssl") and not (len(opt.words) == 3 and opt.texts[1].lower() == "local"):
            _dns(opt, iface.rdnss if opt.key == "rdnss" else iface.dnssl, note)
        elif opt.key in ("rdnss", "dnssl") and flag(opt.texts[2]) is not None:
            if flag(opt.texts[2]):
                iface.local.add(opt.key)
            out.translated += 1
        elif found is not None:
            phrase, args = found
            if phrase == "default lifetime" and len(args) == 3 and args[1].lower() == "sensitive":
                args = args[:1]  # "sensitive" only matters with a trigger route
            key, parse = _OPTIONS[phrase]
            _set(opt, iface.values, key, parse, args, note, out)
        elif _phrase(opt, ("min delay",)) is not None:
            if opt.texts[2:] == [str(BIRD_MIN_DELAY)]:
                out.translated += 1
            else:
                note(
                    opt.line,
                    opt.source(),
                    "approximated",
                    "bootwright keeps RFC 4861's MIN_DELAY_BETWEEN_RAS of 3 s between multicast RAs",
                )
        elif _phrase(opt, _ROUTE_ONLY) is not None:
            note(opt.line, opt.source(), "ignored", "only concerns routes BIRD propagates or prefixes it withdraws")
        elif opt.key == "custom":
            note(opt.line, opt.source(), "untranslated", "bootwright sends no custom RA options")
        else:
            note(opt.line, opt.source(), "untranslated", "unknown radv interface option")
    return iface


def _set(
    st: Statement,
    values: dict[str, Any],
    key: str,
    parse: Callable[[str], Any],
    args: list[str],
    note: Callable[..., None],
    out: Imported,
) -> None:
    value = None
    if len(args) == 1:
        try:
            value = parse(args[0])
        except ValueError:
            value = None
    if value is None:
        note(st.line, st.source(), "untranslated", "not a value BIRD accepts here")
        return
    if key == "mtu" and value == 0:
        values.pop("mtu", None)  # 0: unspecified, no MTU option
        out.translated += 1
        return
    problem = ra_problem(key, value)
    if problem:
        note(st.line, st.source(), "untranslated", f"bootwright's ra.{key} cannot be {value}: {problem}")
        return
    values[key] = value
    out.translated += 1


def _clause(st: Statement, note: Callable[..., None]) -> _Clause | None:
    try:
        network = IPv6Network(st.texts[1], strict=False) if len(st.words) == 2 else None
    except ValueError:
        network = None
    if network is None:
        note(st.line, st.source(), "untranslated", "expected 'prefix ADDRESS/LENGTH { … }'")
        return None
    return _Clause(network, st)


def _dns(st: Statement, dns: _Dns, note: Callable[..., None]) -> None:
    """``rdnss ADDR;`` / ``dnssl "name";`` or the block forms with ``ns``/``domain`` and ``lifetime``."""
    lifetime: int | None = None
    mult = False
    found: list[str] = []
    if st.body is None:
        found = st.texts[1:]
    for opt in st.body or []:
        args = opt.texts[1:]
        if opt.key in ("ns", "domain") and len(args) == 1:
            found.append(args[0])
        elif opt.key == "lifetime" and args and args[-1].isdigit():
            mult = args[0].lower() == "mult"
            lifetime = int(args[-1])
        else:
            note(opt.line, opt.source(), "untranslated", f"unknown {st.key} option")
    for entry in found:
        if st.key == "rdnss":
            try:
                entry = str(IPv6Address(entry))
            except ValueError:
                note(st.line, st.source(), "untranslated", f"{entry!r} is not an IPv6 address")
                continue
        entry = entry.rstrip(".")
        if entry not in dns.entries:
            dns.entries.append(entry)
    dns.lines.append((st, lifetime, mult))


def _subnets(
    iface: _Iface, global_clauses: list[_Clause], rdnss: _Dns, dnssl: _Dns, note: Callable[..., None], out: Imported
) -> list[dict[str, Any]]:
    values = dict(iface.values)
    max_interval = int(values.get("max_interval", 600))
    if "min_interval" not in values:
        # BIRD (proto/radv/config.Y): max ra interval / 3 in whole seconds, at least 3.
        bird_min = max(max_interval // 3, 3)
        if bird_min != default_min_rtr_adv_interval(max_interval):
            values["min_interval"] = bird_min
    values.setdefault("solicited_unicast", False)  # BIRD: "solicited ra unicast", default no
    ours = int(3 * max_interval)
    for kind, local, common in (("rdnss", iface.rdnss, rdnss), ("dnssl", iface.dnssl, dnssl)):
        sources = [local] if kind in iface.local else [local, common]
        entries: list[str] = []
        for dns in sources:
            entries += [e for e in dns.entries if e not in entries]
            for st, lifetime, mult in dns.lines:
                theirs = ours if lifetime is None else (lifetime * max_interval if mult else lifetime)
                if theirs != ours:
                    note(
                        st.line,
                        st.source(),
                        "approximated",
                        f"BIRD sends a lifetime of {theirs} s on "
                        f"{', '.join(iface.names)}, bootwright {ours} s (3 × max_interval)",
                    )
        values[kind] = entries
    concrete = [c for c in iface.clauses if c.network.prefixlen >= SLAAC_LENGTH]
    if not concrete:
        note(
            iface.statement.line,
            f"interface {', '.join(iface.names)}",
            "untranslated",
            "BIRD advertises the prefixes of the interface's addresses, which this file does not name; add a "
            "[[subnet6]] per prefix (interface, [subnet6.ra] as below)",
        )
        for clause in iface.clauses:
            note(
                clause.statement.line,
                clause.statement.source(),
                "untranslated",
                "options for prefixes the file does not name (see the interface's finding)",
            )
        return []
    subnets = []
    for name in iface.names:
        for clause in concrete:
            options = next(c for c in iface.clauses + global_clauses if clause.network.subnet_of(c.network))
            options.used = clause.used = True
            prefix_values = dict(values)
            if not _prefix_options(options.statement, prefix_values, note, out):
                continue  # skip yes: not advertised
            entry = {"prefix": str(clause.network), "interface": name, "ra": ra_table(prefix_values)}
            subnets.append(entry)
    for clause in iface.clauses:
        if not clause.used:
            note(
                clause.statement.line,
                clause.statement.source(),
                "untranslated",
                "options for interface prefixes the file does not name; add each as a [[subnet6]]",
            )
    return subnets


def _prefix_options(st: Statement, values: dict[str, Any], note: Callable[..., None], out: Imported) -> bool:
    """Apply a clause's options to ``values``; False when the clause says ``skip``."""
    for opt in st.body or []:
        found = _phrase(opt, _PREFIX_OPTIONS)
        if opt.key == "skip":
            if len(opt.words) == 1 or flag(opt.texts[1]):
                note(st.line, st.source(), "ignored", "BIRD does not advertise this prefix (skip)")
                return False
            out.translated += 1
        elif found is not None:
            phrase, args = found
            if len(args) == 3 and args[1].lower() == "sensitive":
                args = args[:1]  # only matters with a trigger route
            key, parse = _PREFIX_OPTIONS[phrase]
            _set(opt, values, key, parse, args, note, out)
        else:
            note(opt.line, opt.source(), "untranslated", "unknown radv prefix option")
    return True
