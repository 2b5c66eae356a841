"""radvd.conf (radvd.conf(5), radvd 2.19) → ``[[subnet6]]`` entries with their ``[subnet6.ra]`` (pure).

One ``[[subnet6]]`` per ``prefix`` of an ``interface`` block that sends
advertisements (``AdvSendAdvert on``; radvd's default is off, and such an
interface is reported, not imported). Interface options are copied to every
prefix of the interface (bootwright takes the timing and flags of an
interface's RA from its first subnet6 and a Prefix Information from each).
Values are written where radvd's answer differs from bootwright's default
(:mod:`bootwright.migrate.ra`). radvd's defaults that bootwright does not share:

* RDNSS/DNSSL lifetime 2 × MaxRtrAdvInterval (bootwright: 3 ×, RFC 8106 §5.1
  "at least 3 × MaxRtrAdvInterval") — reported as approximated;
* no RDNSS/DNSSL unless configured (bootwright falls back to the DHCPv6
  ``dns``) — written as ``rdnss = []``/``dnssl = []``.

Route Information (``route``), ``clients``, Mobile IPv6, ABRO, NAT64 and 6to4
prefixes have no bootwright equivalent and are findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Interface
from typing import Any

from bootwright.migrate.blocks import Statement, SyntaxProblem, parse_blocks
from bootwright.migrate.ra import flag, ra_problem, ra_table, seconds
from bootwright.migrate.result import Action, Imported, Reader

__all__ = ["DHCP6_NOTE", "import_radvd"]

DHCP6_NOTE = (
    "bootwright also answers DHCPv6 (stateless, or from pools) on every imported prefix, which the RA daemon "
    "did not: import the site's DHCPv6 configuration (dhcpd6.conf, Kea) beside this file, or set [dhcp6] "
    "enabled = false"
)

# Interface options: radvd name (lower case) → (bootwright ra key, parser).
_INTERFACE: dict[str, tuple[str, Callable[[str], Any]]] = {
    "maxrtradvinterval": ("max_interval", float),
    "minrtradvinterval": ("min_interval", float),
    "advmanagedflag": ("managed", flag),
    "advotherconfigflag": ("other", flag),
    "advlinkmtu": ("mtu", int),
    "advreachabletime": ("reachable_time", int),
    "advretranstimer": ("retrans_timer", int),
    "advcurhoplimit": ("hop_limit", int),
    "advdefaultlifetime": ("router_lifetime", int),
    "advdefaultpreference": ("router_preference", str.lower),
    "advrasolicitedunicast": ("solicited_unicast", flag),
}
_PREFIX: dict[str, tuple[str, Callable[[str], Any]]] = {
    "advonlink": ("on_link", flag),
    "advautonomous": ("autonomous", flag),
    "advrouteraddr": ("router_address", flag),
    "advvalidlifetime": ("prefix_valid_lifetime", seconds),
    "advpreferredlifetime": ("prefix_preferred_lifetime", seconds),
}
# Options that only matter for Mobile IPv6 (RFC 6275); "off" is their default and changes nothing.
_MOBILE = (
    "advhomeagentflag",
    "advhomeagentinfo",
    "advmobrtrsupportflag",
    "advintervalopt",
    "homeagentlifetime",
    "homeagentpreference",
)
_UNSUPPORTED_BLOCKS = {
    "route": "bootwright sends no Route Information option (RFC 4191 §2.3): keep the more specific routes on "
    "the router, or advertise them from it",
    "clients": "bootwright advertises to every host on the link (ff02::1), not to a list of clients",
    "abro": "the Authoritative Border Router option (RFC 6775) is not sent",
    "nat64prefix": "the PREF64 option (RFC 8781) is not sent",
    "autoignoreprefixes": "bootwright advertises only the prefixes of its subnet6 entries",
    "advrasrcaddress": "bootwright sends from the interface's link-local address (RFC 4861 §6.1.2)",
    "lowpanco": "6LoWPAN context options (RFC 6775) are not sent",
}


@dataclass(slots=True)
class _Interface:
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    send: bool = False
    rdnss: list[str] = field(default_factory=list)
    dnssl: list[str] = field(default_factory=list)
    dns_lines: list[tuple[int, str, int | None]] = field(default_factory=list)  # line, statement, lifetime


def import_radvd(text: str, file: str, read: Reader | None = None) -> Imported:
    """Translate radvd.conf text; ``read`` is unused (radvd has no includes). ValueError on a syntax error."""
    out = Imported("radvd", file)
    try:
        statements = parse_blocks(text)
    except SyntaxProblem as exc:
        raise ValueError(f"{file}: {exc}") from None
    subnets: list[dict[str, Any]] = []
    for st in statements:
        if st.key == "interface" and st.body is not None and len(st.words) == 2:
            subnets += _interface(st, out)
        else:
            out.note(st.line, st.source(), "untranslated", "not an 'interface NAME { … };' block of radvd.conf")
    if subnets:
        out.config["subnet6"] = subnets
        out.note(None, "(every prefix)", "approximated", DHCP6_NOTE)
    return out


def _interface(block: Statement, out: Imported) -> list[dict[str, Any]]:
    iface = _Interface(block.words[1].text)
    prefixes: list[Statement] = []
    for st in block.body or []:
        if st.body is None:
            _option(st, iface, out)
        elif st.key == "prefix":
            prefixes.append(st)
        elif st.key in ("rdnss", "dnssl"):
            _dns(st, iface, out)
        elif st.key in _UNSUPPORTED_BLOCKS:
            out.note(st.line, st.source(), "untranslated", _UNSUPPORTED_BLOCKS[st.key])
        else:
            out.note(st.line, st.source(), "untranslated", "not a radvd interface section")
    if not iface.send:
        out.note(
            block.line,
            f"interface {iface.name}",
            "ignored",
            "AdvSendAdvert is off (radvd's default): radvd advertises nothing on this interface",
        )
        return []
    if not prefixes:
        out.note(
            block.line,
            f"interface {iface.name}",
            "untranslated",
            "radvd advertises no prefix here; bootwright sends RAs for a [[subnet6]] prefix: add one "
            "(prefix, interface and [subnet6.ra]) if the RA is still wanted",
        )
        return []
    max_interval = float(iface.values.get("max_interval", 600))
    _dns_lifetimes(iface, max_interval, out)
    values = dict(iface.values)
    values["rdnss"] = iface.rdnss
    values["dnssl"] = iface.dnssl
    subnets = []
    for st in prefixes:
        entry = _prefix(st, iface.name, values, out)
        if entry is not None:
            subnets.append(entry)
    return subnets


def _option(st: Statement, iface: _Interface, out: Imported) -> None:
    args = st.texts[1:]
    key = st.key
    if len(args) != 1:
        out.note(st.line, st.source(), "untranslated", "expected one value")
        return
    arg = args[0]
    if key == "advsendadvert":
        value = flag(arg)
        if value is None:
            out.note(st.line, st.source(), "untranslated", "expected on or off")
            return
        iface.send = value
        out.translated += 1
    elif key in _INTERFACE:
        name, parse = _INTERFACE[key]
        _set(st, iface.values, name, parse, arg, out)
    elif key == "ignoreifmissing":
        out.note(
            st.line,
            st.source(),
            "ignored",
            "bootwright waits for the interface (and its link-local address) and starts advertising when it appears",
        )
    elif key == "mindelaybetweenras":  # MIN_DELAY_BETWEEN_RAS, RFC 4861 §10: bootwright's fixed value
        _fixed(
            st,
            _number(arg) == 3,
            "approximated",
            "bootwright keeps RFC 4861's MIN_DELAY_BETWEEN_RAS of 3 s between multicast RAs",
            out,
        )
    elif key == "advsourcelladdress":
        _fixed(
            st,
            bool(flag(arg)),
            "approximated",
            "bootwright always sends the Source Link-Layer Address option (RFC 4861 §4.6.1)",
            out,
        )
    elif key == "unicastonly":
        _fixed(
            st,
            flag(arg) is False,
            "untranslated",
            "bootwright sends unsolicited RAs to ff02::1; a unicast-only link (ISATAP, NBMA) needs radvd",
            out,
        )
    elif key in _MOBILE:
        _fixed(st, flag(arg) is False, "untranslated", "Mobile IPv6 (RFC 6275) options are not sent", out)
    else:
        out.note(st.line, st.source(), "untranslated", "unknown radvd interface option")


def _fixed(st: Statement, same: bool, action: Action, why: str, out: Imported) -> None:
    """An option bootwright has no setting for: exact when radvd's value is what bootwright always does
    (``same``), else a finding with ``why``."""
    if same:
        out.translated += 1
    else:
        out.note(st.line, st.source(), action, why)


def _set(
    st: Statement, values: dict[str, Any], name: str, parse: Callable[[str], Any], arg: str, out: Imported
) -> None:
    try:
        value = parse(arg)
    except ValueError:
        value = None
    if value is None:
        out.note(st.line, st.source(), "untranslated", f"{arg!r} is not a value radvd accepts here")
        return
    if name == "mtu" and value == 0:
        values.pop("mtu", None)  # 0: no MTU option (radvd's default, bootwright's None)
        out.translated += 1
        return
    if name in ("min_interval", "max_interval") and float(value).is_integer():
        value = int(value)
    problem = ra_problem(name, value)
    if problem:
        out.note(st.line, st.source(), "untranslated", f"bootwright's ra.{name} cannot be {value}: {problem}")
        return
    values[name] = value
    out.translated += 1


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _dns(st: Statement, iface: _Interface, out: Imported) -> None:
    names = st.texts[1:]
    lifetime: int | None = None
    for opt in st.body or []:
        arg = opt.texts[1] if len(opt.words) == 2 else ""
        if opt.key in ("advrdnsslifetime", "advdnssllifetime") and seconds(arg) is not None:
            lifetime = seconds(arg)
        elif opt.key in ("flushrdnss", "flushdnssl"):
            out.note(
                opt.line,
                opt.source(),
                "ignored",
                "only radvd's shutdown RA is affected; bootwright's "
                "final RA (router lifetime 0, RFC 4861 §6.2.5) carries no RDNSS/DNSSL",
            )
        else:
            out.note(opt.line, opt.source(), "untranslated", f"unknown {st.key.upper()} option")
    if st.key == "rdnss":
        good = []
        for name in names:
            try:
                good.append(str(IPv6Address(name)))
            except ValueError:
                out.note(st.line, st.source(), "untranslated", f"{name!r} is not an IPv6 address")
        iface.rdnss += [a for a in good if a not in iface.rdnss]
    else:
        iface.dnssl += [n.rstrip(".") for n in names if n.rstrip(".") not in iface.dnssl]
    iface.dns_lines.append((st.line, st.source(), lifetime))


def _dns_lifetimes(iface: _Interface, max_interval: float, out: Imported) -> None:
    """RDNSS/DNSSL lifetimes: bootwright sends 3 × MaxRtrAdvInterval; radvd's default is 2 ×."""
    ours = int(3 * max_interval)
    for line, source, lifetime in iface.dns_lines:
        theirs = lifetime if lifetime is not None else int(2 * max_interval)
        if theirs == ours:
            out.translated += 1
        else:
            out.note(
                line,
                source,
                "approximated",
                f"radvd sends a lifetime of {theirs} s, bootwright {ours} s (3 × max_interval, RFC 8106 §5.1)",
            )


def _prefix(st: Statement, name: str, iface_values: dict[str, Any], out: Imported) -> dict[str, Any] | None:
    if len(st.words) != 2:
        out.note(st.line, st.source(), "untranslated", "expected 'prefix ADDRESS/LENGTH { … };'")
        return None
    try:
        address = IPv6Interface(st.words[1].text)
    except ValueError:
        out.note(st.line, st.source(), "untranslated", f"{st.words[1].text!r} is not an IPv6 prefix")
        return None
    if address.network.prefixlen == 64 and address.network.network_address == IPv6Address("::"):
        out.note(
            st.line,
            st.source(),
            "untranslated",
            "'::/64' advertises every prefix of the interface; "
            "bootwright needs each prefix: write one [[subnet6]] per prefix",
        )
        return None
    values = dict(iface_values)
    dynamic = False
    for opt in st.body or []:
        arg = opt.texts[1] if len(opt.words) == 2 else ""
        if opt.key in _PREFIX and len(opt.words) == 2:
            key, parse = _PREFIX[opt.key]
            _set(opt, values, key, parse, arg, out)
        elif opt.key == "deprecateprefix":
            _fixed(
                opt,
                flag(arg) is False,
                "approximated",
                "bootwright's shutdown RA does not deprecate the prefix (router lifetime 0 only)",
                out,
            )
        elif opt.key == "decrementlifetimes":
            _fixed(
                opt,
                flag(arg) is False,
                "untranslated",
                "bootwright sends the configured lifetimes unchanged (no IA_PD-tied countdown)",
                out,
            )
        elif opt.key in ("base6interface", "base6to4interface"):
            dynamic = True
            out.note(
                opt.line,
                opt.source(),
                "untranslated",
                "a prefix built from another interface's address "
                "is not known in advance: write the resulting prefix as a [[subnet6]]",
            )
        else:
            out.note(opt.line, opt.source(), "untranslated", "unknown radvd prefix option")
    if dynamic:
        return None
    entry: dict[str, Any] = {"prefix": str(address.network), "interface": name}
    if values.get("router_address") and address.ip != address.network.network_address:
        entry["server"] = str(address.ip)  # RFC 6275 §7.2: with R the field holds this address
    entry["ra"] = ra_table(values)
    out.translated += 1
    return entry
