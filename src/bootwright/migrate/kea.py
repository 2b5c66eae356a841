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
(see ``_Kea.exclusive``). A global or subnet ``boot-file-name`` is a
non-final rule placed before the classes.
A pool's ``client-class`` becomes ``allow = ["rule:NAME"]``; a class without a
``test`` matches the hosts whose reservation names it (``client-classes`` →
the host's groups). Kea has no built-in boot table: ``boot.builtin`` is off.
Kea's defaults that differ from bootwright's are written: ``valid-lifetime``
7200 s (v4 and v6) and ``preferred-lifetime`` 3600 s (v6). The lease and
host databases, hooks, loggers and the control socket are findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from bootwright.config import HOST_NAME, option_problem
from bootwright.inventory.dhcpd_options import DHCPD_OPTIONS, DhcpdValue, to_text
from bootwright.inventory.records import HostInputError, host_from_dict
from bootwright.migrate.kea_classes import (
    NOT_MATCHES,
    NOT_MEMBER,
    Match,
    Unsupported,
    compile_test,
    disjoint,
    implies,
)
from bootwright.migrate.kea_json import KeaSyntaxError, Obj, parse_kea_json
from bootwright.migrate.result import Action, Finding, Imported, Reader
from bootwright.wire.ipxe_options import (
    IPXE_OPTIONS_BY_CODE,
    IPXE_OPTIONS_BY_NAME,
    decode_ipxe_value,
    encode_ipxe_value,
)

__all__ = ["import_kea"]

KEA_VALID_LIFETIME = 7200  # Kea ARM: valid-lifetime default (v4 and v6)
KEA_PREFERRED_LIFETIME = 3600  # Kea ARM: preferred-lifetime default (v6)
# Kea's DHCPv6 option names (Kea ARM "DHCPv6 Standard Options") the importer reads.
OPTIONS6 = {
    "dns-servers": 23,
    "domain-search": 24,
    "preference": 7,
    "information-refresh-time": 32,
    "sntp-servers": 31,
    "bootfile-url": 59,
    "bootfile-param": 60,
    "vendor-class": 16,
    "user-class": 15,
}
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


class _Kea:
    def __init__(self, out: Imported, family: int) -> None:
        self.out = out
        self.family = family
        self.v = "4" if family == 4 else "6"
        self.classes: dict[str, list[Match]] = {}
        self.rule_names: dict[str, list[str]] = {}
        self.defs: dict[str, tuple[int, str]] = {}
        self.boot_rules: list[dict[str, Any]] = []
        self.class_rules: list[dict[str, Any]] = []
        self.drop_rules: list[dict[str, Any]] = []  # the special class DROP: its members get no answer at all
        self.ipxe_defs: dict[str, int] = {}  # option-def names in the "ipxe" space (option 175's sub-options)
        self.ipxe_encap: set[str] = set()  # names of option 175 defined as an empty container of the "ipxe" space
        self.rapid: list[tuple[Obj, bool]] = []  # per-subnet rapid-commit (Kea 2.2 has it per subnet only)
        self.negations: list[tuple[Obj, dict[str, Any], list[Match]]] = []  # (class, its rule, not (…) matches)
        # Every translated class in definition order: (name, alternatives with their negations, its rules).
        self.defined: list[tuple[str, list[Match], list[dict[str, Any]]]] = []
        self.members_excluded: list[tuple[Obj, dict[str, Any], str]] = []  # not member('X') of a class setting more
        self.tee_note = False

    def note(self, obj: Obj, key: str, action: Action, message: str, shown: Any = None) -> None:
        file, line = obj.where(key)
        value = obj.get(key) if shown is None else shown
        text = f'"{key}": {value!r}' if not isinstance(value, dict | list) else f'"{key}"'
        text = " ".join(text.split())[:100]
        self.out.findings.append(Finding(file, line, text, action, message))

    # ------------------------------------------------------------------- options

    def option(self, opt: Any, where: Obj) -> tuple[int, str] | None:
        """(code, bootwright text) of one option-data entry, or None after a finding."""
        if not isinstance(opt, Obj):
            return None
        space = opt.get("space", f"dhcp{self.v}")
        name, code = opt.get("name"), opt.get("code")
        if space != f"dhcp{self.v}":
            self.note(
                opt,
                "space",
                "untranslated",
                "options of another space (vendor, encapsulated): set dhcp4.ipxe or the option by hand",
            )
            return None
        kind = None
        if code is None and isinstance(name, str):
            if name in self.defs:
                code, kind = self.defs[name]
            elif self.family == 4 and name in DHCPD_OPTIONS:
                code, kind = DHCPD_OPTIONS[name]
            elif self.family == 6 and name in OPTIONS6:
                code = OPTIONS6[name]
        if not isinstance(code, int):
            self.note(opt, "name", "untranslated", "an option the importer does not know by name: give its code")
            return None
        if kind is None and self.family == 4:
            kind = next((k for c, k in DHCPD_OPTIONS.values() if c == code), None)
        data = str(opt.get("data", ""))
        try:
            if not opt.get("csv-format", True):
                raw = bytes.fromhex(data.replace(":", "").replace(" ", ""))
                text = raw.hex(":") if self.family == 6 or code not in (60, 66, 67) else raw.decode()
                if self.family == 4 and kind is not None:
                    text = to_text(code, "hex", DhcpdValue(((text, False),)))
            elif self.family == 4 and kind is not None:
                words = tuple((w.strip(), kind == "text") for w in ([data] if kind == "text" else data.split(",")))
                text = to_text(code, kind, DhcpdValue(words))
            else:
                text = data
        except ValueError as exc:
            self.note(opt, "data", "untranslated", f"not a value for option {code}: {exc}")
            return None
        if self.family == 4:
            problem = option_problem(str(code), text)
            if problem:
                self.note(opt, "data", "untranslated", problem)
                return None
        if opt.get("always-send"):
            self.note(opt, "always-send", "approximated", "bootwright sends configured options in every reply")
        return code, text

    def ipxe_part(self, opt: Any, into: dict[str, Any]) -> bool:
        """True when ``opt`` is option 175 or one of its sub-options (the ``ipxe`` space); they go to ``into["ipxe"]``.

        The container (``ipxe-encap-opts``, type ``empty``) carries nothing itself: bootwright sends option 175
        whenever ipxe settings apply.
        """
        if not isinstance(opt, Obj) or self.family != 4:
            return False
        name, code = opt.get("name"), opt.get("code")
        if opt.get("space", "dhcp4") == "dhcp4":
            if name in self.ipxe_encap or (code == 175 and not opt.get("data")):
                self.out.translated += 1
                return True
            return False
        if opt.get("space") != "ipxe":
            return False
        if not isinstance(code, int) and isinstance(name, str):
            known = IPXE_OPTIONS_BY_NAME.get(name)
            code = self.ipxe_defs.get(name, known.code if known else None)
        if not isinstance(code, int):
            self.note(opt, "name", "untranslated", "an iPXE option the importer does not know by name: give its code")
            return True
        data = str(opt.get("data", ""))
        try:
            raw = (
                bytes.fromhex(data.replace(":", "").replace(" ", ""))
                if not opt.get("csv-format", True)
                else encode_ipxe_value(code, data)
            )
        except ValueError as exc:
            self.note(opt, "data", "untranslated", f"not a value for iPXE option {code}: {exc}")
            return True
        known = IPXE_OPTIONS_BY_CODE.get(code)
        into.setdefault("ipxe", {})[known.name if known else str(code)] = decode_ipxe_value(code, raw)
        self.out.translated += 1
        return True

    def option_data(self, entries: Any, into: dict[str, Any], where: Obj) -> Iterator[tuple[Any, int, str]]:
        """Each ``option-data`` entry read as (entry, code, text); iPXE's go to ``into`` (:meth:`ipxe_part`)
        and those :meth:`option` cannot read are noted, neither is yielded."""
        for opt in entries if isinstance(entries, list) else []:
            if self.ipxe_part(opt, into):
                continue
            found = self.option(opt, where)
            if found is not None:
                yield opt, *found

    def options(self, table: dict[str, Any], entries: Any, where: Obj) -> None:
        """Global or subnet option-data into ``table`` (named keys where bootwright has them)."""
        named4 = {3: "routers", 6: "dns", 42: "ntp_servers", 119: "domain_search"}
        named6 = {23: "dns", 24: "domain_search"}
        for _, code, text in self.option_data(entries, table, where):
            items = [t.strip() for t in text.split(",")]
            if self.family == 4 and code in named4:
                table[named4[code]] = items
            elif self.family == 4 and code == 15:
                table["domain_name"] = text
            elif self.family == 6 and code in named6:
                table[named6[code]] = items
            elif self.family == 6 and code in (7, 32):
                table["preference" if code == 7 else "info_refresh_time"] = int(text)
            elif code in (59, 67) or (self.family == 4 and code in (60, 66)):
                field = {59: "bootfile", 67: "bootfile", 60: "vendor_class", 66: "tftp_server"}[code]
                match: dict[str, Any] = {"family": self.family}
                if "subnet" in table or "prefix" in table:
                    match["subnet"] = [table.get("subnet") or table["prefix"]]
                self.boot_rules.append(
                    {"name": f"option-{code}-{len(self.boot_rules) + 1}", "match": match, field: text, "final": False}
                )
            else:
                table.setdefault("options", {})[str(code)] = text
            self.out.translated += 1

    # ------------------------------------------------------------------- lifetimes

    def lifetimes(self, table: dict[str, Any], src: Obj, *, top: bool) -> None:
        valid_key = "lease_time" if self.family == 4 else "valid_lifetime"
        if "valid-lifetime" in src:
            table[valid_key] = src["valid-lifetime"]
            self.out.translated += 1
        elif top:
            table[valid_key] = KEA_VALID_LIFETIME
        if "max-valid-lifetime" in src:
            if self.family == 4:
                table["max_lease_time"] = src["max-valid-lifetime"]
                self.out.translated += 1
            else:
                self.note(src, "max-valid-lifetime", "approximated", "bootwright gives the valid lifetime itself")
        if "min-valid-lifetime" in src:
            self.note(
                src,
                "min-valid-lifetime",
                "approximated",
                "bootwright gives the configured lifetime; a client's shorter request is not honoured",
            )
        if self.family == 6:
            if "preferred-lifetime" in src:
                table["preferred_lifetime"] = src["preferred-lifetime"]
                self.out.translated += 1
            elif top:
                table["preferred_lifetime"] = KEA_PREFERRED_LIFETIME
            for kea, ours in (("renew-timer", "renew_time"), ("rebind-timer", "rebind_time")):
                if kea in src:
                    table[ours] = src[kea]
                    self.out.translated += 1
        else:
            for key in ("renew-timer", "rebind-timer", "calculate-tee-times", "t1-percent", "t2-percent"):
                if key in src:
                    self.note(
                        src,
                        key,
                        "approximated",
                        "bootwright sends T1/T2 as 0.5/0.875 × the lease time (RFC 2131 §4.4.5)",
                    )
            if top and not any(k in src for k in ("renew-timer", "rebind-timer", "calculate-tee-times")):
                self.note(
                    src,
                    "valid-lifetime",
                    "approximated",
                    "Kea sends no T1/T2 (options 58/59) unless told; "
                    "bootwright always sends 0.5/0.875 × the lease time (RFC 2131 §4.4.5)",
                )
        for key in ("min-preferred-lifetime", "max-preferred-lifetime"):
            if key in src:
                self.note(src, key, "approximated", "bootwright gives the preferred lifetime itself")

    # ------------------------------------------------------------------- classes

    def client_class(self, cls: Any) -> None:
        if not isinstance(cls, Obj) or not isinstance(cls.get("name"), str):
            return
        name = cls["name"]
        alternatives: list[Match]
        if "test" in cls:
            try:
                compiled = compile_test(str(cls["test"]), self.family, self.classes)
            except Unsupported as exc:
                self.note(cls, "test", "untranslated", f"class {name!r}: {exc}; write its rule by hand")
                return
            alternatives = compiled.alternatives
            for text in compiled.notes:
                self.note(cls, "test", "approximated", text)
        else:
            alternatives = [{"group": [name]}]  # assigned by reservations (client-classes)
        self.classes[name] = alternatives
        if name == "DROP":  # Kea drops a query its special class DROP matches: bootwright's ignore rule
            for i, match in enumerate(alternatives):
                if match.get(NOT_MEMBER) or match.get(NOT_MATCHES):
                    self.note(cls, "test", "untranslated", "a DROP test with not (…): write its ignore rule by hand")
                    continue
                rule_name = "kea-drop" if i == 0 else f"kea-drop-{i + 1}"
                self.drop_rules.append({"name": rule_name, "match": {**match, "family": self.family}, "ignore": True})
            self.out.translated += 1
            return
        fields: dict[str, Any] = {}
        if cls.get("boot-file-name"):
            fields["bootfile"] = cls["boot-file-name"]
        if cls.get("next-server") and cls["next-server"] != "0.0.0.0":
            fields["next_server"] = cls["next-server"]
        for key in ("server-hostname", "only-if-required", "valid-lifetime", "option-def"):
            if key in cls:
                self.note(
                    cls, key, "approximated" if key != "option-def" else "untranslated", "not part of a bootwright rule"
                )
        for opt, code, text in self.option_data(cls.get("option-data"), fields, cls):
            if self.family == 6 and code == 16 and (echo := _vendor_class6(text)) is not None:
                fields["vendor_enterprise"], fields["vendor_class"] = echo
                continue
            field = {4: {60: "vendor_class", 66: "tftp_server", 67: "bootfile"}, 6: {59: "bootfile"}}[self.family].get(
                code
            )
            if field is None:
                self.note(
                    opt,
                    "data",
                    "untranslated",
                    f"class {name!r}: bootwright rules carry no option {code}; give it to the subnet or the hosts",
                )
                continue
            fields[field] = text
        names = [name if i == 0 else f"{name}-{i + 1}" for i in range(len(alternatives))]
        self.rule_names[name] = names
        own: list[dict[str, Any]] = []
        self.defined.append((name, [dict(m) for m in alternatives], own))
        for rule_name, match in zip(names, alternatives, strict=True):
            excluded = match.pop(NOT_MEMBER, [])
            negated = match.pop(NOT_MATCHES, [])
            rule = {"name": rule_name, "match": {**match, "family": self.family}, **fields, "final": False}
            if negated:
                self.negations.append((cls, rule, negated))
            # not member('X'): X's members must keep X's values. X is defined before this class, so its rules come
            # after this one's once the classes are reversed (section()); exact when X sets every value this does
            # (or when the rule becomes final: exclusive(); order_negations() reports the rest).
            for other in excluded:
                theirs = next((r for r in self.class_rules if r["name"] in self.rule_names.get(other, [])), {})
                if not set(fields) <= set(theirs):
                    self.members_excluded.append((cls, rule, other))
            self.class_rules.append(rule)
            own.append(rule)
        self.out.translated += 1

    def exclusive(self) -> list[dict[str, Any]]:
        """The rules of classes no client shares with another class that gives something: final rules, first.

        A client of such a class gets exactly what it sets from Kea, whatever the other classes say; as a final
        rule it stops there in bootwright too, also for a class that sets nothing (the exporters' "no boot program
        for these" steps, which later classes exclude with ``not (…)``). bootwright cannot say ``not``: the rule
        matches the class's positive condition, so each ``not (X)`` of it must be covered by an exclusive class
        defined before it, whose final rule then catches X's clients first — how if/else-if chains are written
        (``A``; ``B and not (A)``; …; the exporters' output). Placed in definition order before the other classes'
        rules: the one a client meets first is the class Kea assigns it (induction over that order).
        """
        sets = {n for n, _, rules in self.defined if any(k not in ("name", "match", "final") for r in rules for k in r)}

        def apart(a: tuple[str, list[Match]], b: tuple[str, list[Match]]) -> bool:
            return all(
                disjoint(x, y) or b[0] in x.get(NOT_MEMBER, []) or a[0] in y.get(NOT_MEMBER, [])
                for x in a[1]
                for y in b[1]
            )

        finals: list[tuple[str, list[Match]]] = []
        out: list[dict[str, Any]] = []
        for name, alternatives, rules in self.defined:  # bounded: classes × classes × alternatives
            if not rules:
                continue
            covered = all(
                all(any(implies(q, y) for _, alts in finals for y in alts) for q in x.get(NOT_MATCHES, []))
                and all(any(other == n for n, _ in finals) for other in x.get(NOT_MEMBER, []))
                for x in alternatives
            )
            others = [(n, alts) for n, alts, _ in self.defined if n != name and n in sets]
            if covered and all(apart((name, alternatives), other) for other in others):
                finals.append((name, alternatives))
                out += rules
        return out

    def order_negations(self) -> None:
        """``A and not (B)``: this rule goes before the rules matching B, so theirs win (later non-final rules do).

        Exact when a rule of exactly B's match sets every field this one sets — how first-wins chains are written
        (``B``; ``A and not (B)``; the exporters' output); otherwise an approximation, reported.
        """
        self.negations = [n for n in self.negations if not n[1]["final"]]  # exact as final rules (exclusive())
        for cls, rule, other in self.members_excluded:
            if not rule["final"]:
                self.note(
                    cls,
                    "test",
                    "approximated",
                    f"not member({other!r}): {other}'s members also get "
                    f"what class {cls['name']!r} sets and {other!r} does not",
                )
        for _cls, rule, negated in self.negations:  # each rule moved once: bounded
            wanted = [{**m, "family": self.family} for m in negated]
            at = self.class_rules.index(rule)
            before = [i for i, r in enumerate(self.class_rules) if i < at and r["match"] in wanted]
            if before:
                self.class_rules.remove(rule)
                self.class_rules.insert(min(before), rule)
        for cls, rule, negated in self.negations:
            at = self.class_rules.index(rule)
            mine = {k for k in rule if k not in ("name", "match", "final")}
            for m in negated:
                want = {**m, "family": self.family}
                later = [r for r in self.class_rules[at + 1 :] if r["match"] == want]
                if not any(mine <= {k for k in r if k not in ("name", "match", "final")} for r in later):
                    self.note(
                        cls,
                        "test",
                        "approximated",
                        f"class {cls['name']!r}: not ({match_text(m)}) is read as ordering; clients matching both "
                        "also get what this class sets and the other does not",
                    )

    # ------------------------------------------------------------------- subnets

    def pools(self, sub: Obj, entry: dict[str, Any]) -> None:
        for pool in sub.get("pools", []):
            if not isinstance(pool, Obj) or not isinstance(pool.get("pool"), str):
                continue
            text = pool["pool"].replace(" ", "")
            if "-" not in text:
                net = ip_network(text, strict=False)
                text = f"{net[0]}-{net[-1]}"
            item: dict[str, Any] = {"start": text.split("-")[0], "end": text.split("-")[1]}
            if "client-class" in pool:
                rules = self.rule_names.get(pool["client-class"])
                if rules:
                    item["allow"] = [f"rule:{r}" for r in rules]
                elif pool["client-class"] == "KNOWN":
                    item["allow"] = ["known"]
                elif pool["client-class"] == "UNKNOWN":
                    item["allow"] = ["unknown"]
                else:
                    self.note(pool, "client-class", "untranslated", "no translated class of that name")
            for key in ("require-client-classes", "option-data"):
                if key in pool:
                    self.note(pool, key, "untranslated", "per-pool settings: bootwright's are per subnet")
            entry.setdefault("pools", []).append(item)
            self.out.translated += 1
        if "pd-pools" in sub:
            self.note(sub, "pd-pools", "untranslated", "bootwright does not delegate prefixes (IA_PD)")

    def subnet(self, sub: Any, shared: bool) -> dict[str, Any] | None:
        if not isinstance(sub, Obj) or "subnet" not in sub:
            return None
        net = ip_network(str(sub["subnet"]), strict=False)
        entry: dict[str, Any] = {"subnet" if self.family == 4 else "prefix": str(net)}
        if "interface" in sub:
            entry["interface"] = sub["interface"]
        if self.family == 4 and sub.get("next-server", "0.0.0.0") != "0.0.0.0":
            entry["next_server"] = sub["next-server"]
        if self.family == 4 and "authoritative" in sub:
            entry["authoritative"] = bool(sub["authoritative"])
        self.lifetimes(entry, sub, top=False)
        self.pools(sub, entry)
        self.options(entry, sub.get("option-data"), sub)
        if sub.get("boot-file-name"):
            self.boot_rules.append(
                {
                    "name": f"subnet-{net}-boot",
                    "match": {"family": 4, "subnet": [str(net)]},
                    "bootfile": sub["boot-file-name"],
                    "final": False,
                }
            )
        relay = sub.get("relay")
        if isinstance(relay, Obj):
            addresses = relay.get("ip-addresses") or ([relay["ip-address"]] if "ip-address" in relay else [])
            outside = [a for a in addresses if ip_network(a).network_address not in net]
            if outside:
                self.note(
                    sub,
                    "relay",
                    "approximated",
                    f"bootwright picks the subnet by the relay address inside "
                    f"it (RFC 3046 link selection, giaddr); {', '.join(outside)} is outside {net}",
                )
        if self.family == 6 and "rapid-commit" in sub:
            self.rapid.append((sub, bool(sub["rapid-commit"])))
        for key in ("client-class", "require-client-classes", "server-hostname", "store-extended-info"):
            if key in sub:
                self.note(sub, key, "untranslated", "a per-subnet setting bootwright does not have")
        if shared:
            self.note(
                sub,
                "subnet",
                "approximated",
                "a subnet of a shared network: bootwright picks subnets by the link's own address or the relay's",
            )
        for host in sub.get("reservations", []):
            self.reservation(host, net)
        return entry

    def reservation(self, host: Any, net: IPv4Network | IPv6Network | None) -> None:
        if not isinstance(host, Obj):
            return
        record: dict[str, Any] = {}
        if "hw-address" in host:
            record["mac"] = [host["hw-address"]]
        if "duid" in host:
            record["duid"] = host["duid"]
        for key in ("client-id", "circuit-id", "flex-id"):
            if key in host:
                self.note(host, key, "untranslated", "bootwright finds hosts by MAC or DUID")
        if "ip-address" in host:
            record["ipv4"] = host["ip-address"]
        if host.get("ip-addresses"):
            record["ipv6"] = host["ip-addresses"][0]
            if len(host["ip-addresses"]) > 1:
                self.note(host, "ip-addresses", "approximated", "bootwright keeps one address per host: the first")
        if host.get("prefixes"):
            self.note(host, "prefixes", "untranslated", "bootwright does not delegate prefixes (IA_PD)")
        name = str(host.get("hostname", "")).split(".")[0]
        if not name or not HOST_NAME.match(name):
            ident = str(host.get("hw-address") or host.get("duid") or "").replace(":", "")
            name = f"kea-{ident}"
            self.note(
                host,
                "hostname" if "hostname" in host else "hw-address",
                "approximated",
                f"bootwright needs a host name: {name!r} is used",
            )
        record["name"] = name
        if host.get("next-server", "0.0.0.0") != "0.0.0.0":
            record["next_server"] = host["next-server"]
        if host.get("boot-file-name"):
            record["bootfile"] = host["boot-file-name"]
        if host.get("client-classes"):
            record["groups"] = list(host["client-classes"])
        options: dict[str, str] = {}
        for opt in host.get("option-data", []):
            found = self.option(opt, host)
            if found is not None and self.family == 4:
                options[str(found[0])] = found[1]
            elif found is not None:
                self.note(opt, "data", "untranslated", "bootwright hosts carry DHCPv4 options only")
        if options:
            record["options"] = options
        try:
            self.out.hosts.append(host_from_dict(record))
            self.out.translated += 1
        except HostInputError as exc:
            self.note(host, "hw-address", "untranslated", "; ".join(str(p) for p in exc.problems))

    # ------------------------------------------------------------------- the whole section

    def section(self, top: Obj) -> None:
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


def match_text(match: Match) -> str:
    """A compiled match as ``key=value`` pairs, for findings."""
    return ", ".join(f"{k}={v}" for k, v in match.items()) or "anything"


def _vendor_class6(text: str) -> tuple[int, str] | None:
    """(enterprise, first entry) of a DHCPv6 vendor class in colon hex (RFC 8415 §21.16), when it has one entry."""
    try:
        raw = bytes.fromhex(text.replace(":", ""))
    except ValueError:
        return None
    if len(raw) < 6 or int.from_bytes(raw[4:6], "big") != len(raw) - 6:
        return None
    return int.from_bytes(raw[:4], "big"), raw[6:].decode("latin-1")
