"""dnsmasq tags as rule conditions: what sets a tag, and the conditions of ``tag:`` lists (pure).

Part of the dnsmasq importer (:mod:`.dnsmasq_conf`). :func:`define` reads the
lines that set tags — ``dhcp-match``, ``dhcp-vendorclass``/``dhcp-userclass``,
``dhcp-mac``, ``dhcp-circuitid``/``dhcp-remoteid``, ``tag-if`` and the
``set:`` of a ``dhcp-range`` (:mod:`.dnsmasq_ranges`) — before any line uses
them. :func:`conjunctions` turns a line's ``tag:`` conditions into rule
matches (an OR of ANDs); :func:`negations` reports the ``tag:!T`` a
non-final rule cannot say.
"""

from __future__ import annotations

import re
from itertools import product
from typing import Any

from bootwright.inventory.dnsmasq import DNSMASQ_OPTIONS
from bootwright.migrate.dnsmasq_ranges import range_line
from bootwright.migrate.dnsmasq_state import Line, State, add_tag, note, split_fields, tag_fields


def define(ln: Line, state: State) -> None:
    """Lines that set tags (and ranges, whose ``set:`` names a subnet)."""
    fields = split_fields(ln.value)
    tags, sets, rest = tag_fields(fields)
    key = ln.key
    if key == "dhcp-match" and sets and rest:
        condition = _match_condition(ln, rest, state)
        for tag in sets:
            if condition is not None:
                add_tag(state, tag, condition)
    elif key in ("dhcp-vendorclass", "dhcp-userclass", "dhcp-mac", "dhcp-circuitid", "dhcp-remoteid"):
        if not rest:
            return
        if not sets and len(rest) >= 2:  # "set:" is optional here: dhcp-vendorclass=TAG,VALUE
            sets, rest = [rest[0]], rest[1:]
        condition = _class_condition(ln, key, rest, state)
        for tag in sets:
            if condition is not None:
                add_tag(state, tag, condition)
    elif key == "tag-if":
        conditions = conjunctions(tags, state, ln) if tags else [{}]
        for tag in sets:
            for condition in conditions:
                add_tag(state, tag, condition)
        state.out.translated += 1
    elif key == "dhcp-range":
        range_line(ln, fields, state)


def _match_condition(ln: Line, rest: list[str], state: State) -> dict[str, Any] | None:
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
        note(
            state,
            ln,
            "approximated",
            "bootwright recognises iPXE by its user class 'iPXE' (option 77), which iPXE sends with every "
            "option 175 (its ancestor gPXE: 'gPXE')",
        )
        return {"user_class": ["iPXE", "gPXE"]}
    if code == 60 and value is not None:
        note(
            state,
            ln,
            "approximated",
            f"dnsmasq matches {value!r} anywhere in option 60, bootwright at its start (match.vendor_class)",
        )
        return {"vendor_class": [value]}
    if code == 77 and value is not None:
        return _user_class(ln, value, state)
    note(
        state,
        ln,
        "untranslated",
        "bootwright rules cannot match on this option; the tag it sets is left out of the conditions that use it",
    )
    return None


def _user_class(ln: Line, value: str, state: State) -> dict[str, Any]:
    """A user class match (``dhcp-userclass``, ``dhcp-match`` on option 77): dnsmasq's is a substring match."""
    note(
        state,
        ln,
        "approximated",
        f"dnsmasq matches {value!r} inside the user class, bootwright a whole user class (match.user_class)",
    )
    return {"user_class": [value]}


def _class_condition(ln: Line, key: str, rest: list[str], state: State) -> dict[str, Any] | None:
    value = rest[-1].strip('"')
    if key == "dhcp-vendorclass":
        if any(r.startswith("enterprise:") for r in rest):
            note(state, ln, "approximated", "the enterprise number is not matched (match.vendor_class only)")
        else:
            note(
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
        note(state, ln, "untranslated", "only MAC prefixes (wildcards at the end) become match.mac")
        return None
    state.out.translated += 1
    return {"circuit_id" if key == "dhcp-circuitid" else "remote_id": [value]}


def conjunctions(tags: list[str], state: State, ln: Line) -> list[dict[str, Any]]:
    """The rule matches (OR of ANDs) a client must fit to carry every tag of ``tags``; [] when impossible."""
    positive: list[list[dict[str, Any]]] = []
    for tag in tags:
        if tag == "known":
            positive.append([{"known": True}])
        elif tag == "!known":
            positive.append([{"known": False}])
        elif tag.startswith("!"):
            continue  # negations: see negations
        elif tag in state.tags:
            positive.append(merge_alternatives(state.tags[tag]))
        elif tag in state.names:
            positive.append([{"host": [tag]}])
        else:
            note(
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
            merged = and_match(merged, part) if merged is not None else None
        if merged is not None:
            out.append(merged)
    return out


def merge_alternatives(alternatives: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alternatives that each set the same single list key are one condition with the union of the lists."""
    keys = {tuple(a) for a in alternatives}
    if len(keys) == 1 and len(next(iter(keys))) == 1 and isinstance(alternatives[0][next(iter(keys))[0]], list):
        key = next(iter(keys))[0]
        union: list[Any] = []
        for a in alternatives:
            union += [v for v in a[key] if v not in union]
        return [{key: union}]
    return alternatives


def and_match(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any] | None:
    """Both conditions as one (AND), or None when no client can fit both."""
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


def negations(ln: Line, tags: list[str], state: State) -> None:
    """``tag:!T`` on a line that is not a final rule: no rule condition says "not T"."""
    for tag in tags:
        if tag.startswith("!") and tag != "!known":
            note(
                state,
                ln,
                "approximated",
                f"the condition tag:{tag} cannot be written as a rule condition and is left out",
            )
