"""dnsmasq ``dhcp-range`` lines as subnets and pools, and the RA of the DHCPv6 ranges (pure).

Part of the dnsmasq importer (:mod:`.dnsmasq_conf`). :func:`range_line` turns
a range into a ``[[subnet4]]`` (pool, lease time, proxy mode) or a
``[[subnet6]]`` (pool, lifetimes, RA modes); :func:`subnet_ra` writes the
``[subnet6.ra]`` of each DHCPv6 range once the whole file is read
(``enable-ra`` may come after it). dnsmasq's default lease times differ by
family (:data:`DEFAULT_LEASE4`, :data:`DEFAULT_LEASE6`).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

from bootwright.migrate.dnsmasq_state import Line, State, add_tag, lease_seconds, note, tag_fields

DEFAULT_LEASE4 = 3600  # dnsmasq(8) --dhcp-range: "one hour for IPv4"
DEFAULT_LEASE6 = 86400  # "and one day for IPv6"


def range_line(ln: Line, fields: list[str], state: State) -> None:
    """A ``dhcp-range`` line: a subnet (and pool) per range; its ``set:`` tags name the subnet."""
    tags, sets, rest = tag_fields(fields)
    if tags:
        note(
            state,
            ln,
            "untranslated",
            'a range used only for tagged clients: write pools with allow = ["rule:…"] by hand',
        )
        return
    try:
        first = ip_address(rest[0])
    except (ValueError, IndexError):
        note(state, ln, "untranslated", "the range does not start with an address")
        return
    net: IPv4Network | IPv6Network | None
    net = _range4(ln, first, rest[1:], state) if isinstance(first, IPv4Address) else _range6(ln, first, rest[1:], state)
    if net is not None:
        for tag in sets:
            add_tag(state, tag, {"subnet": [str(net)]})
            state.range_tags[tag] = net


def _range4(ln: Line, start: IPv4Address, rest: list[str], state: State) -> IPv4Network | None:
    end: IPv4Address | None = None
    mode = "full"
    addresses: list[IPv4Address] = []
    lease: int | None = None
    for part in rest:
        if part in ("proxy", "static"):
            mode = part
        elif lease_seconds(part) is not None:
            lease = lease_seconds(part)
        else:
            try:
                addresses.append(IPv4Address(part))
            except ValueError:
                note(state, ln, "untranslated", f"{part!r} is not understood in a dhcp-range")
                return None
    if addresses and mode == "full":
        end = addresses.pop(0)
    if addresses:
        net = IPv4Network(f"{start}/{addresses[0]}", strict=False)
    else:
        net = IPv4Network(f"{start}/24", strict=False)
        note(
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


def _range6(ln: Line, start: IPv4Address | IPv6Address, rest: list[str], state: State) -> IPv6Network | None:
    modes: set[str] = set()
    end: IPv6Address | None = None
    length = 64
    lease: int | None = None
    for part in rest:
        if part.startswith("constructor:"):
            note(
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
        elif lease_seconds(part) is not None or part == "deprecated":
            lease = lease_seconds(part)
        else:
            try:
                end = IPv6Address(part)
            except ValueError:
                note(state, ln, "untranslated", f"{part!r} is not understood in a dhcp-range")
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
        note(
            state,
            ln,
            "approximated",
            "bootwright answers DHCPv6 Information-requests on this prefix too (dnsmasq: RA only)",
        )
    if "ra-names" in modes:
        note(state, ln, "ignored", "ra-names adds DNS names for SLAAC hosts; bootwright serves no DNS")
    if "ra-advrouter" in modes:
        note(
            state,
            ln,
            "approximated",
            "bootwright sets the R flag with the subnet's server address "
            "(ra.router_address) but sends no Advertisement Interval option",
        )
    state.out.translated += 1
    return net


def subnet_ra(state: State) -> None:
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
        note(
            state,
            ln,
            "approximated",
            "dnsmasq's RA timing and lifetimes differ from bootwright's defaults, and "
            "without dns-server it names itself as RDNSS: review [subnet6.ra]",
        )
