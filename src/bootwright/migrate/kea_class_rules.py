"""Kea client classes as bootwright rules, and the order that makes them answer as Kea does (pure).

Part of the Kea importer (:mod:`.kea`; its docstring has the rule). A class's
``test`` is compiled by :mod:`.kea_classes`; :meth:`KeaClassRules.client_class`
makes a rule per alternative with the class's boot fields and options (the
special class DROP: ignore rules). :meth:`KeaClassRules.exclusive` picks the
classes that become final rules (if/else-if chains), and
:meth:`KeaClassRules.order_negations` places the rules whose ``not (…)`` is
read as ordering, reporting where that is only an approximation.
"""

from __future__ import annotations

from typing import Any

from bootwright.migrate.kea_classes import (
    NOT_MATCHES,
    NOT_MEMBER,
    Match,
    Unsupported,
    compile_test,
    covered_by,
    disjoint,
)
from bootwright.migrate.kea_json import Obj
from bootwright.migrate.kea_options import KeaOptions


class KeaClassRules(KeaOptions):
    """Client classes as rules, and their order."""

    def client_class(self, cls: Any) -> None:
        """One ``client-classes`` entry: its rules (or DROP's ignore rules), with the test compiled."""
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
            if self.family == 6 and code == 16 and (echo := vendor_class6(text)) is not None:
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
        matches the class's positive condition, so each ``not (X)`` of it must be covered by exclusive classes
        found before it (defined before or after), whose final rules then catch X's clients first — how if/else-if
        chains are written
        (``A``; ``B and not (A)``; …; the exporters' output, which defines them last first). Placed before the
        other classes' rules in the order they were found covered: the one a client meets first is the class Kea
        assigns it (induction over that order).
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
        waiting = [(name, alternatives, rules) for name, alternatives, rules in self.defined if rules]
        # Passes until none more turns final (bounded: at most one pass per class). The exporters write a
        # chain's classes last rule first, each with ``not (…)`` of the rules before it, so a class may be
        # covered only by classes defined after it; its rule still goes after theirs (the order found here).
        changed = True
        while changed:
            changed = False
            for entry in list(waiting):
                name, alternatives, rules = entry
                ahead = [y for _, alts in finals for y in alts]
                covered = all(
                    all(covered_by(q, ahead) for q in x.get(NOT_MATCHES, []))
                    and all(any(other == n for n, _ in finals) for other in x.get(NOT_MEMBER, []))
                    for x in alternatives
                )
                others = [(n, alts) for n, alts, _ in self.defined if n != name and n in sets]
                if covered and all(apart((name, alternatives), other) for other in others):
                    finals.append((name, alternatives))
                    out += rules
                    waiting.remove(entry)
                    changed = True
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


def match_text(match: Match) -> str:
    """A compiled match as ``key=value`` pairs, for findings."""
    return ", ".join(f"{k}={v}" for k, v in match.items()) or "anything"


def vendor_class6(text: str) -> tuple[int, str] | None:
    """(enterprise, first entry) of a DHCPv6 vendor class in colon hex (RFC 8415 §21.16), when it has one entry."""
    try:
        raw = bytes.fromhex(text.replace(":", ""))
    except ValueError:
        return None
    if len(raw) < 6 or int.from_bytes(raw[4:6], "big") != len(raw) - 6:
        return None
    return int.from_bytes(raw[:4], "big"), raw[6:].decode("latin-1")
