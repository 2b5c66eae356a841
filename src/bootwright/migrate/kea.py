"""Kea 2.2 ``Dhcp4``/``Dhcp6`` JSON → bootwright's config shape and hosts (pure).

Subnets, pools, reservations and options translate directly. Client classes
become rules with ``final = false`` in reverse definition order: Kea gives a
client every class whose ``test`` holds, and of their ``boot-file-name``/
``next-server`` and options the first class's wins (Dhcpv4Srv::setFixedFields
walks the classes in order and keeps the first value found for each field) —
as the last of several non-final rules wins in bootwright. A class that
shares no client with another class giving something (an if/else-if chain:
each test excludes the classes before it with ``not (…)``, as the exporters
write bootwright's rules and built-in table) becomes a final rule instead,
placed first: its clients get exactly its fields, also when it sets none
(see ``KeaClassRules.exclusive``). A global or subnet ``boot-file-name`` is a
non-final rule placed before the classes.
A pool's ``client-class`` becomes ``allow = ["rule:NAME"]``; a class without a
``test`` matches the hosts whose reservation names it (``client-classes`` →
the host's groups). Kea has no built-in boot table: ``boot.builtin`` is off.
Kea's defaults that differ from bootwright's are written: ``valid-lifetime``
7200 s (v4 and v6) and ``preferred-lifetime`` 3600 s (v6). The lease and
host databases, hooks, loggers and the control socket are findings.

The importer's parts live in sibling modules by topic: :mod:`.kea_json` (the
JSON dialect), :mod:`.kea_state` (the shared state), :mod:`.kea_options`,
:mod:`.kea_subnets`, :mod:`.kea_class_rules` (with :mod:`.kea_classes`, the
``test`` compiler). This module reads the section's keys and assembles the
result.
"""

from __future__ import annotations

from typing import Any

from bootwright.migrate.kea_class_rules import KeaClassRules
from bootwright.migrate.kea_json import KeaSyntaxError, Obj, parse_kea_json
from bootwright.migrate.kea_subnets import KeaSubnets
from bootwright.migrate.result import Imported, Reader

__all__ = ["import_kea"]

# Kea option type names (option-def "type") → inventory/dhcpd_options kinds.
KEA_TYPES = {
    "ipv4-address": "ip",
    "string": "text",
    "uint8": "u8",
    "uint16": "u16",
    "uint32": "u32",
    "int32": "i32",
    "boolean": "bool",
    "fqdn": "domains",
    "binary": "hex",
}
_IGNORED = (
    "control-socket",
    "loggers",
    "multi-threading",
    "expired-leases-processing",
    "sanity-checks",
    "dhcp-ddns",
    "host-reservation-identifiers",
    "decline-probation-period",
    "echo-client-id",
    "match-client-id",
    "reservations-global",
    "reservations-in-subnet",
    "reservations-out-of-pool",
    "reservation-mode",
    "server-tag",
    "dhcp-queue-control",
    "statistic-default-sample-count",
    "statistic-default-sample-age",
    "server-id",
    "data-directory",
    "lease-database",
    "hosts-database",
    "hosts-databases",
    "comment",
    "user-context",
    "cache-threshold",
    "dhcp4o6-port",
    "parked-packet-limit",
    "early-global-reservations-lookup",
    "ip-reservations-unique",
    "config-control",
    "mac-sources",
    "relay-supplied-options",
    "ddns-send-updates",
    "hostname-char-set",
    "hostname-char-replacement",
)
_WHY_IGNORED = {
    "lease-database": "leases live in bootwright's own store (state.db); Kea's leases are not imported",
    "hosts-database": "reservations in a database are not read: export them to JSON and import that",
    "hosts-databases": "reservations in a database are not read: export them to JSON and import that",
}


class _Kea(KeaSubnets, KeaClassRules):
    """One ``Dhcp4`` or ``Dhcp6`` section."""

    def section(self, top: Obj) -> None:
        """The whole ``Dhcp4``/``Dhcp6`` object into the config (rules in the order Kea answers)."""
        config = self.out.config
        common: dict[str, Any] = {}
        server: dict[str, Any] = {}
        for d in top.get("option-def", []) if isinstance(top.get("option-def"), list) else []:
            kind = KEA_TYPES.get(str(d.get("type")))
            if self.family == 4 and d.get("space") == "ipxe" and isinstance(d.get("code"), int):
                self.ipxe_defs[str(d.get("name"))] = d["code"]  # values are read by the code's iPXE kind
                self.out.translated += 1
            elif self.family == 4 and (d.get("type"), d.get("encapsulate"), d.get("code")) == ("empty", "ipxe", 175):
                self.ipxe_encap.add(str(d.get("name")))
                self.out.translated += 1
            elif kind is not None and not d.get("array") and d.get("space", f"dhcp{self.v}") == f"dhcp{self.v}":
                self.defs[str(d["name"])] = (int(d["code"]), kind)
                self.out.translated += 1
            else:
                self.note(d, "type", "untranslated", "an option definition the importer cannot encode")
        for cls in top.get("client-classes", []):
            self.client_class(cls)
        subnets: list[dict[str, Any]] = []
        for key, value in top.items():
            if key == "interfaces-config" and isinstance(value, Obj):
                names = [str(i) for i in value.get("interfaces", [])]
                if any("/" in n for n in names):
                    self.note(value, "interfaces", "approximated", "bootwright listens on the whole interface")
                names = [n.split("/")[0] for n in names if n != "*"]
                if names:
                    server["interfaces"] = names
                self.out.translated += 1
            elif key in (f"subnet{self.v}",):
                subnets += [s for s in (self.subnet(sub, False) for sub in value) if s is not None]
            elif key == "shared-networks":
                for shared in value:
                    subnets += [
                        s
                        for s in (self.subnet(sub, True) for sub in shared.get(f"subnet{self.v}", []))
                        if s is not None
                    ]
            elif key == "option-data":
                self.options(common, value, top)
            elif key == "reservations":
                for host in value:
                    self.reservation(host, None)
            elif key == "next-server" and self.family == 4:
                if value != "0.0.0.0":
                    common["next_server"] = value
                self.out.translated += 1
            elif key == "boot-file-name" and self.family == 4:
                self.boot_rules.insert(
                    0, {"name": "global-boot", "match": {"family": 4}, "bootfile": value, "final": False}
                )
                self.out.translated += 1
            elif key == "authoritative" and self.family == 4:
                common["authoritative"] = bool(value)
                self.out.translated += 1
            elif key == "rapid-commit" and self.family == 6:
                common["rapid_commit"] = bool(value)
                self.out.translated += 1
            elif key == "hooks-libraries":
                for hook in value:
                    self.note(
                        hook,
                        "library",
                        "untranslated",
                        "a Kea hook: bootwright runs no Kea hooks (see [[hook]] for commands on events)",
                    )
            elif key in _WHY_IGNORED:
                self.note(top, key, "ignored", _WHY_IGNORED[key])
            elif key in _IGNORED:
                self.note(top, key, "ignored", "a Kea server setting with no effect on the answers")
            elif key in (
                "option-def",
                "client-classes",
                "valid-lifetime",
                "max-valid-lifetime",
                "min-valid-lifetime",
                "preferred-lifetime",
                "renew-timer",
                "rebind-timer",
                "calculate-tee-times",
                "t1-percent",
                "t2-percent",
                "min-preferred-lifetime",
                "max-preferred-lifetime",
            ):
                continue  # read above / by lifetimes()
            else:
                self.note(top, key, "untranslated", "not translated by the importer")
        self.lifetimes(common, top, top=True)
        if self.rapid and len({v for _, v in self.rapid}) == 1 and len(self.rapid) == len(subnets):
            common["rapid_commit"] = self.rapid[0][1]  # every subnet alike: bootwright's one switch (RFC 8415 §18.3.1)
            self.out.translated += len(self.rapid)
        else:
            for sub, _ in self.rapid:
                self.note(sub, "rapid-commit", "untranslated", "per-subnet rapid-commit: bootwright has one for all")
        if server:
            config["server"] = server
        config[f"dhcp{self.v}"] = common
        if subnets:
            config[f"subnet{self.v}"] = subnets
        # Kea takes each fixed field and option from the *first* matching class that sets it
        # (Dhcpv4Srv::setFixedFields, "the first value found for each field"); later non-final rules win in
        # bootwright, so the classes become rules from the last defined to the first.
        exclusive = self.exclusive()
        for rule in exclusive:
            rule["final"] = True
        self.class_rules = [r for r in reversed(self.class_rules) if not r["final"]]
        self.order_negations()
        rules = self.drop_rules + self.boot_rules + exclusive + self.class_rules
        if rules:
            config["rule"] = rules
        config["boot"] = {"builtin": False}  # Kea has no built-in table: a client gets what the config says


def import_kea(text: str, file: str, read: Reader | None = None) -> Imported:
    """Translate a Kea ``Dhcp4`` or ``Dhcp6`` configuration; ValueError (with file:line) when it is not Kea JSON."""
    try:
        data = parse_kea_json(text, file, read)
    except KeaSyntaxError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(data, Obj):
        raise ValueError(f"{file}: not a Kea configuration (a JSON object with Dhcp4 or Dhcp6)")
    out = Imported("kea", file)
    sections = [k for k in ("Dhcp4", "Dhcp6") if isinstance(data.get(k), Obj)]
    if len(sections) != 1:
        raise ValueError(f"{file}: expected one of Dhcp4 or Dhcp6 at the top (kea-dhcp4 and kea-dhcp6 read one each)")
    for key in data:
        if key not in sections:
            kea = _Kea(out, 4)
            kea.note(data, key, "ignored", "another Kea daemon's section (logging, control agent, DDNS)")
    _Kea(out, 4 if sections[0] == "Dhcp4" else 6).section(data[sections[0]])
    return out
