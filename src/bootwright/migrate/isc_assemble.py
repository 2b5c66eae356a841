"""The assembled result of a dhcpd.conf/dhcpd6.conf import: sections, subnets with pools, rules, hosts.

Part of the ISC importer (:mod:`.isc_conf`). After the walk, :class:`Assembly`
writes ``[dhcp4]``/``[dhcp6]`` (with dhcpd's defaults that differ from
bootwright's), the subnets with their pools and ``allow``/``deny`` members
(class members as ``rule:NAME``), the ``[[rule]]`` table — class membership
rules (non-final) first, then hosts' ``deny booting``, then the product of
every scope's and class's program as final rules (:mod:`.isc_rules`) — and
the hosts of every file read. Keys bootwright's validation refuses today
become findings instead.
"""

from __future__ import annotations

from typing import Any

from bootwright.config import Config, check_semantics
from bootwright.inventory.isc import merge_hosts
from bootwright.migrate import isc_rules as rules
from bootwright.migrate.isc_rules import ANY, Arm, If, Literal
from bootwright.migrate.isc_state import ClassDecl, ImportState, Scope, line_of
from bootwright.migrate.result import Imported


class Assembly(ImportState):
    """The importer's result (a mixin of :class:`~.isc_state.ImportState`)."""

    def finish(self, top: Scope) -> None:
        """Write the walk's result (``top``: the global scope) into ``self.out``."""
        config = self.out.config
        section = {k: v for k, v in top.settings.items() if not k.startswith("_")}
        if self.v6:
            section["rapid_commit"] = self.rapid_commit
            config["dhcp6"] = section
        else:
            section["allow_bootp"] = self.allow_bootp
            config["dhcp4"] = section
        if top.pools:
            self.note(None, "untranslated", "ranges outside a subnet are not used", text="range")
        self.pools(top)
        subnets = [self.clean_subnet(s) for s in self.subnets]
        if subnets:
            config["subnet6" if self.v6 else "subnet4"] = subnets
        config["boot"] = {"builtin": False}
        config["rule"] = self.rule_table()
        for file, reader in self.readers.items():
            hosts, problems = merge_hosts(reader.blocks)
            for p in [*reader.problems, *problems]:
                self.out.findings.append(_finding(self.out, file, p.path, p.message))
            self.out.hosts += [h.host for h in hosts]
        self.drop_refused()

    def pools(self, top: Scope) -> None:
        """Put every permit (scope-wide, pool, class member) on the pools it restricts."""
        membership = {name: self.member_rules(info) for name, info in self.classes.items()}
        for sub in self.subnets:
            for pool in sub.get("_pools", []):
                for verb, member in sub.get("_legacy", []):
                    pool.setdefault("deny" if verb != "allow" else "allow", []).append(member)
            for verb, member in [*top.settings.get("_permits", [])]:
                for pool in sub.get("_pools", []):
                    pool.setdefault("deny" if verb != "allow" else "allow", []).append(member)
        for settings, verb, member, line, file, text in self.permits:
            if member.startswith("class:"):
                names = membership.get(member[6:])
                if not names:
                    self.out.findings.append(
                        _finding(
                            self.out,
                            file,
                            f"line {line}",
                            f"class {member[6:]!r} cannot be written as rules (see its findings): pool not restricted",
                            text,
                        )
                    )
                    continue
                members = [f"rule:{n}" for n in names]
            else:
                members = [member]
            for sub in self.subnets:
                for pool in sub.get("_pools", []):
                    if pool.get("_permits") is settings:
                        pool.setdefault("allow" if verb == "allow" else "deny", []).extend(members)

    def clean_subnet(self, sub: dict[str, Any]) -> dict[str, Any]:
        """A subnet as written to the config: no working keys, pools with unique allow/deny members."""
        pools = []
        for pool in sub.get("_pools", []):
            entry = {k: v for k, v in pool.items() if not k.startswith("_")}
            for key in ("allow", "deny"):
                if key in entry:
                    entry[key] = list(dict.fromkeys(entry[key]))
            pools.append(entry)
        out = {k: v for k, v in sub.items() if not k.startswith("_")}
        if pools:
            out["pools"] = pools
        return out

    def member_rules(self, info: ClassDecl) -> list[str]:
        """Names of the non-final rules that say "member of this class"; [] when not expressible."""
        conjs: list[list[Literal]] = list(info.dnf or [])
        for dnf in info.subclass_dnfs:
            conjs += dnf
        if not conjs or any(not lit.positive and lit.atom.negated() is None for c in conjs for lit in c):
            return []
        return [info.name if i == 0 else f"{info.name}-{i + 1}" for i, _ in enumerate(conjs)]

    def rule_table(self) -> list[dict[str, Any]]:
        """Class membership rules (non-final) first, then the product of everything else as final rules."""
        family: rules.Conj = {"family": frozenset({self.family})}
        units: list[tuple[ClassDecl | None, list[rules.Path]]] = []  # in dhcpd's execution order
        for cond, program in self.scope_units:
            if program:
                units.append((None, self.unit_paths(If([Arm([cond] if cond is not None else None, program, 0)]))))
        for info in reversed(self.classes.values()):  # dhcpd runs the first declared class last: it wins
            units += [(info, self.unit_paths(unit)) for unit in info.units]
        units = [(info, paths) for info, paths in units if any(p.fields for p in paths)]  # membership only
        fields = [set().union(*(p.fields for p in paths)) for _, paths in units]
        contributes: dict[str, dict[str, Any]] = {}  # class → the fields its non-final rules set
        finals: list[list[rules.Path]] = []
        for i, (owner, paths) in enumerate(units):
            others = set().union(*(f for j, f in enumerate(fields) if j != i))
            if (
                owner is not None
                and len(owner.units) == 1
                and self.member_rules(owner)
                and rules.class_like(paths)
                and not fields[i] & others
            ):
                contributes[owner.name] = next(p.fields for p in paths if p.fields)
            else:
                finals.append(paths)
        out: list[dict[str, Any]] = []
        names: set[str] = set()
        for name, info in self.classes.items():
            conjs = [*(info.dnf or []), *(c for dnf in info.subclass_dnfs for c in dnf)]
            for rule_name, literals in zip(self.member_rules(info), conjs, strict=False):
                match = rules.conjoin(family, self.literal_conj(literals) or {})
                if match is not None:
                    out.append(rules.rule_of(_unique(rule_name, names), match, contributes.get(name, {}), final=False))
        # A host's "deny booting" runs last in dhcpd (the host scope) and means no reply whatever else was set:
        # a final ignore rule ahead of everything is the same.
        for unit in self.host_units:
            for path in self.unit_paths(unit):
                match = rules.conjoin(family, path.conj)
                if path.fields and match is not None:
                    name = "ignore-" + "-".join(sorted(path.conj["host"]))
                    out.append(rules.rule_of(_unique(name, names), match, path.fields))
        for rule_name, conj, values in rules.final_rules(finals, self.source):
            match = rules.conjoin(family, conj)
            if match is not None:
                out.append(rules.rule_of(_unique(rule_name, names), match, values))
        for rule in out:
            if rule["match"].get("user_class") == [ANY]:
                rule["match"]["user_class"] = ["iPXE", "gPXE"]
                self.note(
                    None,
                    "approximated",
                    "'exists user-class' alone is matched as user class iPXE or "
                    "gPXE (bootwright rules match user classes by value)",
                    text=f"rule {rule['name']}",
                )
        return rules.merge_adjacent(out)

    def literal_conj(self, conj: list[Literal]) -> rules.Conj | None:
        """A conjunction of literals as one match; None when a test cannot be written (negated, never)."""
        out: rules.Conj | None = {}
        for lit in conj:
            atom = lit.atom if lit.positive else lit.atom.negated()
            if atom is None or atom.field == "never" or out is None:
                return None
            out = rules.conjoin(out, {atom.field: atom.values})
        return out

    def unit_paths(self, unit: If) -> list[rules.Path]:
        """The paths through one program unit; one empty path (a finding) when there are too many."""
        try:
            return rules.paths([unit])
        except rules.TooComplex as exc:
            self.note(
                None,
                "untranslated",
                f"{exc}: simplify the conditions",
                line=unit.arms[0].line or None,
                text="if … { … }",
            )
            return [rules.Path()]

    def drop_refused(self) -> None:
        """Keys the config model accepts but bootwright's validation refuses today (IA_TA, IA_PD): findings."""
        try:
            problems = list(check_semantics(Config.model_validate(self.out.config)))
        except ValueError:
            return
        for i, sub in enumerate(self.out.config.get("subnet6", [])):
            for key in ("temporary", "pd_pools"):
                refused = next((p for p in problems if p.path == f"subnet6[{i}].{key}"), None)
                if refused is None or key not in sub:
                    continue
                del sub[key]
                file, line, text = self.subnets[i].get("_lines", {}).get(key, (self.out.file, None, key))
                self.out.translated -= 1
                why = refused.message.split(";")[0].removeprefix("not implemented: ")
                self.out.findings.append(_finding(self.out, file, f"line {line}", f"not imported: {why}", text))


def _finding(out: Imported, file: str, path: str, message: str, text: str = "(host declaration)") -> Any:
    saved = out.file
    out.file = file
    out.note(line_of(path), text, "untranslated", message)
    out.file = saved
    return out.findings.pop()


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out = f"{name}-{n}"
        n += 1
    taken.add(out)
    return out
