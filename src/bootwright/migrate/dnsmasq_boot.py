"""dnsmasq ``dhcp-boot`` and ``pxe-service`` lines as final rules, in dnsmasq's order (pure).

Part of the dnsmasq importer (:mod:`.dnsmasq_conf`). :func:`boot_line` and
:func:`pxe_line` collect the final rules (:data:`CSA`: the ``pxe-service``
client system types); :mod:`.dnsmasq_conf` lists them in the order dnsmasq
answers — the ``pxe-service`` rules first, then the ``dhcp-boot`` ones from
the last line up — and :func:`ordered` makes ``tag:!T`` true by that order
where it can.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from bootwright.migrate.dnsmasq_state import Line, State, note
from bootwright.migrate.dnsmasq_tags import and_match, conjunctions, merge_alternatives

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


def boot_line(ln: Line, tags: list[str], rest: list[str], state: State) -> None:
    """A ``dhcp-boot`` line: a final rule per condition (ordered by :func:`ordered`)."""
    if not rest or not rest[0]:
        note(state, ln, "untranslated", "dhcp-boot without a file name")
        return
    entry: dict[str, Any] = {"bootfile": rest[0]}
    if len(rest) > 1 and rest[1]:
        note(state, ln, "approximated", f"the server name {rest[1]!r} (BOOTP sname) is not sent")
    if len(rest) > 2:
        try:
            entry["next_server"] = str(IPv4Address(rest[2]))
        except ValueError:
            entry["tftp_server"] = rest[2]
            note(state, ln, "approximated", f"{rest[2]!r} is sent as option 66 (dnsmasq resolves it for siaddr)")
    elif state.boot_without_server is None:
        state.boot_without_server = ln
    for condition in conjunctions(tags, state, ln) if tags else [{}]:
        state.boots.append({"match": {**condition, "family": 4}, **entry, "line": ln, "tags": tags})
    state.out.translated += 1


def pxe_line(ln: Line, tags: list[str], rest: list[str], state: State) -> None:
    """A ``pxe-service`` line: a final rule for its client type, answered with the file directly."""
    if len(rest) < 3 or (rest[0].lower() not in CSA and not rest[0].isdigit()):
        note(state, ln, "untranslated", "a PXE menu entry without a boot file (boot service type or local boot)")
        return
    arch = int(rest[0]) if rest[0].isdigit() else CSA[rest[0].lower()]
    basename = rest[2]
    if basename.isdigit():
        note(state, ln, "untranslated", "a boot service type: bootwright answers with a file, not a PXE menu")
        return
    if any(p["match"].get("arch") == [arch] and p["tags"] == tags for p in state.pxe):
        note(state, ln, "untranslated", "a second menu entry for this client type: bootwright boots the first")
        return
    # dnsmasq(8): "the layer suffix (normally .0) is supplied by PXE" unless the name has a suffix.
    bootfile = basename if "." in basename.rsplit("/", 1)[-1] else basename + ".0"
    entry: dict[str, Any] = {"bootfile": bootfile}
    if len(rest) > 3:
        try:
            entry["next_server"] = str(IPv4Address(rest[3]))
        except ValueError:
            entry["tftp_server"] = rest[3]
    for condition in conjunctions(tags, state, ln) if tags else [{}]:
        match = and_match(condition, {"arch": [arch], "vendor_class": ["PXEClient"]})
        if match is not None:
            state.pxe.append({"match": {**match, "family": 4}, **entry, "line": ln, "tags": tags})
    note(
        state,
        ln,
        "approximated",
        "dnsmasq offers a PXE menu (option 43) and answers on port 4011; "
        "bootwright gives the client this file directly",
    )


def _caught(tag: str, earlier: list[dict[str, Any]], state: State) -> bool:
    """Whether earlier final rules already take every client carrying ``tag``."""
    alternatives = merge_alternatives(state.tags.get(tag, []))
    finals = [{k: v for k, v in r["match"].items() if k != "family"} for r in earlier]
    return bool(alternatives) and all(a in finals for a in alternatives)


def ordered(entries: list[dict[str, Any]], state: State) -> list[dict[str, Any]]:
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
            alternatives = merge_alternatives(state.tags.get(tag, []))
            j = i + 1
            while j < len(out) and f"!{tag}" in out[j]["tags"]:
                j += 1
            later = {k: v for k, v in out[j]["match"].items() if k != "family"} if j < len(out) else None
            if later is not None and later in alternatives:
                out.insert(i, out.pop(j))
                i += 1
            else:
                note(
                    state,
                    out[i]["line"],
                    "approximated",
                    f"the condition tag:!{tag} cannot be written as a rule "
                    "condition and is left out: check the rule order",
                )
        i += 1
    return out
