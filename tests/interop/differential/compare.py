"""Replies to fields, fields to differences, differences to a table and a verdict.

An *observation* is what one client learnt from one server in one mode
(``uefi-x64-pxe/v4``, ``plain/v4-relay``, ``ipxe-bios/v6``, ``rdisc6/ra``): a
flat ``{field: text}``. Fields are compared as text, after the normalisations
that make two correct servers agree — addresses by *class* (which pool, fixed,
none: two servers need not pick the same free address), option 43/175
sub-options sorted, lists as the wire order. A field one side lacks reads
``-``. :data:`KNOWN_DIFFERENCES` (in :mod:`.known`) says which differences are
intended; :func:`unexplained` is what a test asserts empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from bootwright.wire import dhcp4, dhcp6
from bootwright.wire.dhcp4_options import describe_option

Observation = dict[str, str]
"""One client's view of one server in one mode: field name → text (``-`` = absent)."""
Observations = dict[str, Observation]
"""Observations by ``client/mode`` key."""

ABSENT = "-"

# DHCPv4 options compared by name (RFC 2132 unless noted); every other code shows up in "options".
V4_FIELDS: tuple[tuple[int, str], ...] = (
    (1, "subnet-mask"),
    (3, "routers"),  # §3.5
    (6, "dns"),  # §3.8
    (15, "domain"),  # §3.17
    (42, "ntp"),  # §8.3
    (43, "opt43"),  # §8.4, decoded as PXE sub-options (PXE 2.1 §2.2.5)
    (51, "lease-time"),  # §9.2
    (54, "server-id"),  # §9.7
    (60, "opt60"),  # §9.13, the class echo (HTTPClient / PXEClient)
    (66, "opt66"),  # §9.4 TFTP server name
    (67, "opt67"),  # §9.5 bootfile name
    (175, "opt175"),  # iPXE encapsulated options (iPXE dhcp.h)
)


@dataclass(frozen=True, slots=True)
class Range:
    """One pool (``range``/``range6``) or one fixed address of the reference config, by its text."""

    label: str
    first: IPv4Address | IPv6Address
    last: IPv4Address | IPv6Address

    def __contains__(self, addr: object) -> bool:
        if not isinstance(addr, IPv4Address | IPv6Address) or addr.version != self.first.version:
            return False
        return int(self.first) <= int(addr) <= int(self.last)


@dataclass(frozen=True, slots=True)
class AddressClasses:
    """Which pool or fixed address an assigned address falls in, read from the reference dhcpd configs."""

    ranges: tuple[Range, ...] = ()

    @classmethod
    def from_configs(cls, *texts: str | None) -> AddressClasses:
        """The pools and fixed addresses of dhcpd, Kea and dnsmasq configs.

        dhcpd: ``range [dynamic-bootp] A [B];``, ``range6 A B;``, ``range6 P/len;``, ``fixed-address[6] A;``; Kea:
        ``"pool": "A - B"`` or ``"P/len"``, ``"ip-address(es)"`` of a reservation; dnsmasq:
        ``dhcp-range=[tags,]A,B,…`` and ``dhcp-host=…,A,…``.
        """
        out: list[Range] = []
        for text in texts:
            out += _kea_ranges(text or "") + _dnsmasq_ranges(text or "")
            body = re.sub(r"#.*", "", text or "")
            for m in re.finditer(r"\brange\s+(?:dynamic-bootp\s+)?([\d.]+)(?:\s+([\d.]+))?\s*;", body):
                first, last = m.group(1), m.group(2) or m.group(1)
                out.append(Range(f"pool {first}-{last}", IPv4Address(first), IPv4Address(last)))
            for m in re.finditer(r"\brange6\s+([0-9a-f:]+)\s+([0-9a-f:]+)\s*;", body, re.I):
                out.append(Range(f"pool {m.group(1)}-{m.group(2)}", IPv6Address(m.group(1)), IPv6Address(m.group(2))))
            for m in re.finditer(r"\brange6\s+([0-9a-f:]+/\d+)\s*;", body, re.I):  # a prefix; not `temporary` (IA_TA)
                net = ip_network(m.group(1))
                out.append(Range(f"pool {net}", net.network_address, net.broadcast_address))
            for m in re.finditer(r"\bfixed-address6?\s+([0-9a-f.:]+)\s*;", body, re.I):
                a = ip_address(m.group(1))
                out.append(Range(f"fixed {a}", a, a))
        return cls(tuple(out))

    def classify(self, addr: IPv4Address | IPv6Address | None) -> str:
        """``pool A-B``, ``fixed A``, ``outside every range`` or ``-`` for no address."""
        if addr is None or int(addr) == 0:
            return ABSENT
        fixed = [r for r in self.ranges if r.label.startswith("fixed") and addr in r]
        hit = fixed or [r for r in self.ranges if addr in r]
        return hit[0].label if hit else "outside every range"


def _kea_ranges(text: str) -> list[Range]:
    out: list[Range] = []
    text = re.sub(r'"relay"\s*:\s*\{[^{}]*\}', "", text)  # a relay's addresses are no reservation
    for m in re.finditer(r'"pool"\s*:\s*"\s*([0-9a-fA-F.:]+)\s*(?:-\s*([0-9a-fA-F.:]+)|/(\d+))\s*"', text):
        first = ip_address(m.group(1))
        if m.group(3) is not None:
            net = ip_network(f"{first}/{m.group(3)}")
            first, last = net.network_address, net.broadcast_address
        else:
            last = ip_address(m.group(2))
        out.append(Range(f"pool {first}-{last}", first, last))
    for m in re.finditer(r'"ip-address(?:es)?"\s*:\s*\[?\s*"([0-9a-fA-F.:]+)"', text):
        a = ip_address(m.group(1))
        out.append(Range(f"fixed {a}", a, a))
    return out


def _dnsmasq_ranges(text: str) -> list[Range]:
    out: list[Range] = []
    for m in re.finditer(r"^dhcp-range=(.*)$", text, re.M):
        words = [w for w in m.group(1).split(",") if not re.match(r"(set|tag):", w)]
        try:
            first, last = ip_address(words[0]), ip_address(words[1])
        except (ValueError, IndexError):
            continue  # proxy, ra-only, constructor: no pool
        out.append(Range(f"pool {first}-{last}", first, last))
    for m in re.finditer(r"^dhcp-host=(.*)$", text, re.M):
        for word in m.group(1).split(","):
            if re.fullmatch(r"[\d.]+", word):
                a = ip_address(word)
                out.append(Range(f"fixed {a}", a, a))
    return out


def _sorted_subs(text: str) -> str:
    return ", ".join(sorted(text.split(", ")))


def _lease_class(raw: bytes) -> str:
    secs = int.from_bytes(raw, "big")
    return "infinite" if secs == 0xFFFFFFFF else str(secs)


def observe4(replies: Iterable[bytes], classes: AddressClasses) -> Observation:
    """Fields of a DHCPv4 exchange: the ACK's (the answer a client boots from), else the offer's."""
    msgs = [dhcp4.decode(r) for r in replies]
    names = [m.message_type.name if m.message_type is not None else "BOOTREPLY" for m in msgs]
    obs: Observation = {"reply": "+".join(names) or "none"}
    if not msgs:
        return obs
    final = next((m for m in reversed(msgs) if m.message_type == dhcp4.MessageType.ACK), msgs[0])
    obs["yiaddr"] = classes.classify(final.yiaddr)
    obs["siaddr"] = str(final.siaddr) if int(final.siaddr) else ABSENT
    obs["file"] = final.file.decode("ascii", "replace") or ABSENT
    for code, name in V4_FIELDS:
        raw = final.options.get(code)
        if raw is None:
            obs[name] = ABSENT
        elif code == 51:
            obs[name] = _lease_class(raw)
        elif code in (43, 175):
            obs[name] = _sorted_subs(describe_option(code, raw))
        else:
            obs[name] = describe_option(code, raw)
    named = {code for code, _ in V4_FIELDS} | {53}
    for code in sorted(set(final.options) - named):  # any other option, one field each
        obs[f"opt{code}"] = describe_option(code, final.options[code])
    return obs


def _status(holder: dhcp6.HasOptions) -> str | None:
    st = holder.get(dhcp6.StatusCodeOption)
    return dhcp6.StatusCode(st.status).name if st is not None and st.status in set(dhcp6.StatusCode) else None


_NAMED6 = frozenset((1, 2, 3, 7, 13, 16, 23, 24, 32, 59, 60))


def observe6(replies: Iterable[bytes], classes: AddressClasses) -> Observation:
    """Fields of a DHCPv6 exchange: the last reply (to the Request or Information-request), else the Advertise.

    A Relay-reply (relayed mode) is unwrapped: its message counts exactly as a direct reply, and the
    relay layer adds ``relay`` (hop-count, link- and peer-address, which the server copies from the
    Relay-forward) and ``relay-optN`` for each option beside the Relay Message — the Interface-Id
    (18) it must echo, anything else it echoes (RFC 8415 §19.3, RFC 4994).
    """
    unwrapped = [dhcp6.innermost(m) for m in map(dhcp6.decode, replies)]
    names = [dhcp6.MessageType(m.msg_type).name for m, _ in unwrapped]
    obs: Observation = {"reply": "+".join(names) or "none"}
    if not unwrapped:
        return obs
    final, layers = unwrapped[-1]
    for r in layers[:1]:  # the harness's one relay
        obs["relay"] = f"{dhcp6.message_name(r.msg_type)} hop {r.hop_count} link {r.link_address} peer {r.peer_address}"
        obs["relay-opt18"] = ABSENT  # the echo a server must send: its absence is a difference
        for o in r.options:
            if o.code != dhcp6.RelayMessage.code:
                obs[f"relay-opt{o.code}"] = dhcp6.format_option(o.code, o)
    ia = final.get(dhcp6.IaNa)
    addr = ia.get(dhcp6.IaAddr) if ia is not None else None
    if ia is None:
        obs["ia_na"] = ABSENT
    elif addr is None:
        obs["ia_na"] = f"status {_status(ia) or _status(final) or 'none'}"
    else:
        obs["ia_na"] = classes.classify(addr.address)
        obs["ia_times"] = f"T1 {ia.t1} T2 {ia.t2} preferred {addr.preferred_lifetime} valid {addr.valid_lifetime}"
    url, params = final.get(dhcp6.BootFileUrl), final.get(dhcp6.BootFileParams)
    vendor, dns, domains = final.get(dhcp6.VendorClass), final.get(dhcp6.DnsServers), final.get(dhcp6.DomainList)
    pref, irt = final.get(dhcp6.Preference), final.get(dhcp6.InfoRefreshTime)
    obs["opt59"] = url.url if url else ABSENT
    obs["opt60"] = " ".join(params.params) if params else ABSENT
    obs["opt16"] = f"{vendor.enterprise}: {b' '.join(vendor.data).decode('ascii', 'replace')}" if vendor else ABSENT
    obs["opt23"] = ", ".join(map(str, dns.addresses)) if dns else ABSENT
    obs["opt24"] = ", ".join(domains.names) if domains else ABSENT
    obs["opt7"] = str(pref.value) if pref else ABSENT
    obs["opt32"] = str(irt.value) if irt else ABSENT
    obs["status"] = _status(final) or ABSENT
    for o in final.options:  # any other option, one field each (1, 2: the DUIDs differ by nature)
        if o.code not in _NAMED6:
            obs[f"opt{o.code}"] = dhcp6.format_option(o.code, o)
    return obs


# rdisc6's labels (ndisc6 rdisc6.c) → field names; a repeated label (two prefixes) keeps every value.
_RDISC6 = {
    "Hop limit": "hop-limit",
    "Stateful address conf.": "M",
    "Stateful other conf.": "O",
    "Router preference": "preference",
    "Router lifetime": "router-lifetime",
    "Reachable time": "reachable",
    "Retransmit time": "retransmit",
    "Prefix": "prefix",
    "On-link": "L",
    "Autonomous address conf.": "A",
    "Valid time": "valid",
    "Pref. time": "preferred",
    "MTU": "mtu",
    "Recursive DNS server": "rdnss",
    "DNS server lifetime": "rdnss-lifetime",
    "DNS search list": "dnssl",
    "DNS search lifetime": "dnssl-lifetime",
}


def observe_ra(rdisc6_output: str) -> Observation:
    """Fields of the first RA ``rdisc6 -1`` printed (``-`` for what it did not carry)."""
    obs: dict[str, list[str]] = {}
    for line in rdisc6_output.splitlines():
        label, sep, value = line.partition(":")
        name = _RDISC6.get(label.strip())
        if sep and name is not None:
            obs.setdefault(name, []).append(re.sub(r"\s+", " ", value.strip()))
    flat = {k: ", ".join(v) for k, v in obs.items()}
    return {"reply": "RA" if flat else "none", **{k: flat.get(k, ABSENT) for k in _RDISC6.values()}}


# --------------------------------------------------------------------------- differences


@dataclass(frozen=True, slots=True)
class Difference:
    """One field on which bootwright's answer to a client differs from the real daemon's."""

    seed: str
    client: str  # "client/mode"
    field: str
    reference: str  # the real daemon's value
    bootwright: str
    reason: str | None = None  # from the allow-list, None when unexplained


def compare(seed: str, reference: Observations, ours: Observations,
            known: Mapping[tuple[str, str, str], str]) -> list[Difference]:  # fmt: skip
    """Every field that differs, each with its allow-list reason (or ``None``)."""
    out: list[Difference] = []
    for client in sorted(reference.keys() | ours.keys(), key=_row_order(reference, ours)):
        ref, got = reference.get(client, {"reply": "not sent"}), ours.get(client, {"reply": "not sent"})
        for name in _field_order(ref, got):
            a, b = ref.get(name, ABSENT), got.get(name, ABSENT)
            if a != b:
                out.append(Difference(seed, client, name, a, b, reason_for(known, seed, client, name)))
    return out


def _row_order(*obs: Observations) -> Callable[[str], int]:
    order: dict[str, int] = {}
    for o in obs:
        for k in o:
            order.setdefault(k, len(order))
    return order.__getitem__


def _field_order(*obs: Observation) -> list[str]:
    seen: dict[str, None] = {}
    for o in obs:
        seen.update(dict.fromkeys(o))
    return list(seen)


def reason_for(known: Mapping[tuple[str, str, str], str], seed: str, client: str, name: str) -> str | None:
    """The allow-list's reason for this difference; keys may use shell wildcards (``*/v6``)."""
    for (s, c, f), why in known.items():
        if fnmatchcase(seed, s) and fnmatchcase(client, c) and fnmatchcase(name, f):
            return why
    return None


def unexplained(diffs: Iterable[Difference]) -> list[Difference]:
    """The differences no allow-list entry explains."""
    return [d for d in diffs if d.reason is None]


def table(diffs: Iterable[Difference], width: int = 48) -> str:
    """The differences as a fixed-width table; an unexplained one is marked ``!!``."""
    rows = [("", "seed", "client/mode", "field", "real daemon", "bootwright")]
    for d in diffs:
        rows.append(("!!" if d.reason is None else "ok", d.seed, d.client, d.field,
                     _clip(d.reference, width), _clip(d.bootwright, width)))  # fmt: skip
    if len(rows) == 1:
        return "no differences"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Report:
    """All observations and differences of one seed run (printed by the tests on failure)."""

    seed: str
    reference: Observations = field(default_factory=dict)
    bootwright: Observations = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)

    def text(self) -> str:
        """The table, then the unexplained differences' count."""
        bad = unexplained(self.differences)
        return f"{self.seed}: {len(self.differences)} differences, {len(bad)} unexplained\n{table(self.differences)}"
