"""dnsmasq ``dhcp-option`` lines: to ``[dhcp4]``/``[dhcp6]``, a subnet, the hosts of a tag or rules (pure).

Part of the dnsmasq importer (:mod:`.dnsmasq_conf`). Where :func:`option_line`
puts an option depends on its tags: none → the global table; the ``set:`` tag
of one range → that subnet; a tag only ``dhcp-host`` lines set → those hosts'
options; otherwise a non-final rule, which can carry only options 60, 66 and
67 (and, for DHCPv6, the boot file URL, option 59).
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from bootwright.config import option_problem
from bootwright.inventory.dnsmasq import DNSMASQ_OPTIONS
from bootwright.migrate.dnsmasq_state import Line, State, note
from bootwright.migrate.dnsmasq_tags import conjunctions, negations

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


def _option_code(ln: Line, what: str, state: State) -> tuple[int, int] | None:
    """(family, code) of ``N``, ``option:NAME`` or ``option6:NAME|N``."""
    if what.startswith("option6:"):
        name = what[8:]
        code = int(name) if name.isdigit() else OPTIONS6.get(name)
        return (6, code) if code is not None else None
    name = what.removeprefix("option:")
    code = int(name) if name.isdigit() else DNSMASQ_OPTIONS.get(name)
    return (4, code) if code is not None else None


def option_line(ln: Line, tags: list[str], rest: list[str], state: State) -> None:
    """A ``dhcp-option``/``dhcp-option-force`` line: to ``[dhcp4]``/``[dhcp6]``, a subnet, hosts or rules."""
    if len(rest) < 1 or rest[0].startswith(("encap:", "vi-encap:", "vendor:")):
        note(
            state,
            ln,
            "untranslated",
            "encapsulated and vendor options: set them in dhcp4.ipxe or dhcp4.options by hand",
        )
        return
    found = _option_code(ln, rest[0], state)
    if found is None:
        note(state, ln, "untranslated", f"option {rest[0]!r} is not known to the importer: give its number")
        return
    family, code = found
    values = [v.strip('"') for v in rest[1:]]
    if family == 6:
        _option6(ln, tags, code, values, state)
    elif tags:
        _tagged_option4(ln, tags, code, values, state)
    else:
        _set_option4(ln, state.out.config.setdefault("dhcp4", {}), code, values, state)


def _set_option4(ln: Line, table: dict[str, Any], code: int, values: list[str], state: State) -> None:
    named = {3: "routers", 6: "dns", 42: "ntp_servers", 119: "domain_search"}
    if code in named:
        table[named[code]] = values
    elif code == 15 and len(values) == 1:
        table["domain_name"] = values[0]
    else:
        text = ", ".join(values)
        problem = option_problem(str(code), text)
        if problem:
            note(state, ln, "untranslated", problem)
            return
        table.setdefault("options", {})[str(code)] = text
    state.out.translated += 1


def _tagged_option4(ln: Line, tags: list[str], code: int, values: list[str], state: State) -> None:
    positive = [t for t in tags if not t.startswith("!")]
    if len(tags) == 1 and tags[0] in state.range_tags and isinstance(state.range_tags[tags[0]], IPv4Network):
        _set_option4(ln, state.subnet4[state.range_tags[tags[0]]], code, values, state)  # type: ignore[index]
        return
    if len(positive) == len(tags) == 1 and tags[0] in state.host_tags and tags[0] not in state.other_tags:
        text = ", ".join(values)
        problem = option_problem(str(code), text)
        if problem:
            note(state, ln, "untranslated", problem)
        else:
            state.host_options.append((ln, tags[0], str(code), text))
        return
    fields = {60: "vendor_class", 66: "tftp_server", 67: "bootfile"}
    if code not in fields or len(values) != 1:
        note(
            state,
            ln,
            "untranslated",
            "bootwright rules carry no DHCP options (only option 60, 66, 67 and the "
            "iPXE ones): give the option to the subnet or the hosts instead",
        )
        return
    for condition in conjunctions(tags, state, ln):
        state.contributions.append(
            {"match": {**condition, "family": 4}, fields[code]: values[0], "final": False, "line": ln}
        )
    negations(ln, tags, state)
    state.out.translated += 1


def _option6(ln: Line, tags: list[str], code: int, values: list[str], state: State) -> None:
    values = [v.strip("[]") for v in values]
    if code == 59 and len(values) == 1:
        conditions = conjunctions(tags, state, ln) if tags else [{}]
        for condition in conditions:
            state.contributions.append(
                {"match": {**condition, "family": 6}, "bootfile": values[0], "final": False, "line": ln}
            )
        negations(ln, tags, state)
        state.out.translated += 1
        return
    if tags:
        note(state, ln, "untranslated", "a tagged DHCPv6 option: bootwright rules carry no DHCPv6 options")
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
