"""dhcpd's conditional statements as bootwright ``[[rule]]``s (pure).

Rule: dhcpd executes the statements of every scope a client is in — global,
shared-network, subnet, then its classes, then its host — in order, and the
last ``filename``/``next-server``/``option`` executed wins (dhcpd.conf(5)
"SCOPE", server/dhcp.c ``ack_lease``); bootwright's rules answer with the first
*final* rule that matches (boot/policy.py). This module turns the first into
the second, exactly:

* a :class:`Program` is a list of :class:`Assign` and :class:`If` statements;
  its :func:`paths` are the ways through it, each a conjunction of conditions
  and the fields it ends with, in an order where the *first* path a client
  matches is the way dhcpd takes (every ``If`` gets an empty ``else`` when it
  has none, so some path always matches);
* a sequence of statements is the product of their paths (incompatible
  conjunctions, e.g. arch 6 and arch 7, are dropped), an ``if``/``elsif``
  chain the concatenation of its arms;
* a negated test bootwright cannot write (``not exists user-class``) becomes
  ordering: ``if not N { A } REST`` is ``if N { REST } A-then-REST``.

Every path becomes one final rule. A *class* whose fields no other statement
sets becomes one non-final rule instead (``final = false``: it contributes,
as a dhcpd class does).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

# A conjunction of tests: field → allowed values. Fields (RuleMatch keys) and how two tests on one field combine:
#   exact sets (intersection): family, subnet, arch, no_arch, known, host, user_class, circuit_id, remote_id, client_id
#   prefixes (the longer of two compatible ones): vendor_class, mac
#   all-of (union): ipxe_feature
Conj = dict[str, frozenset[Any]]
ANY: Final = "*"  # "exists user-class": some value (only user_class uses it)
_PREFIX_FIELDS: Final = ("vendor_class", "mac")
_ALL_OF_FIELDS: Final = ("ipxe_feature",)
MAX_PATHS: Final = 512  # beyond this a configuration is reported, not translated (every loop bounded)


class TooComplex(ValueError):
    """The conditions multiply into more rules than :data:`MAX_PATHS`."""


@dataclass(frozen=True, slots=True)
class Atom:
    """One test bootwright can write in a ``match`` (``field`` a RuleMatch key), or ``never``."""

    field: str
    values: frozenset[Any]

    def negated(self) -> Atom | None:
        """The test written directly as its opposite, when a RuleMatch key has one."""
        if self.field == "known":
            return Atom("known", frozenset({not next(iter(self.values))}))
        if self.field == "no_arch":
            return Atom("no_arch", frozenset({not next(iter(self.values))}))
        return None


NEVER: Final = Atom("never", frozenset())


@dataclass(frozen=True, slots=True)
class Literal:
    """An atom or its negation."""

    atom: Atom
    positive: bool = True


@dataclass(slots=True)
class Assign:
    """Fields set by one statement (``bootfile``, ``next_server``, ``ipxe:NAME``, ``ignore``, …)."""

    fields: dict[str, Any]


@dataclass(slots=True)
class Arm:
    """One arm of an ``If``: a disjunction of conjunctions of literals (``[]``: else), its body and line."""

    dnf: list[list[Literal]] | None
    body: Program
    line: int


@dataclass(slots=True)
class If:
    """An if/elsif/else chain, a class (``match if``) or a scope condition (subnet, host)."""

    arms: list[Arm]


Program = list["Assign | If"]


@dataclass(slots=True)
class Path:
    """One way through a program: the tests, the fields set, the lines of the arms taken."""

    conj: Conj = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    lines: tuple[int, ...] = ()


def _merge_field(name: str, a: frozenset[Any], b: frozenset[Any]) -> frozenset[Any]:
    if name in _ALL_OF_FIELDS:
        return a | b
    if ANY in a:
        return b
    if ANY in b:
        return a
    if name in _PREFIX_FIELDS:
        return frozenset(
            p if len(p) >= len(q) else q for p in a for q in b if str(p).startswith(str(q)) or str(q).startswith(str(p))
        )
    return a & b


def conjoin(a: Conj, b: Conj) -> Conj | None:
    """Both conjunctions at once, or None when no client can match both."""
    out = dict(a)
    for name, values in b.items():
        out[name] = _merge_field(name, out[name], values) if name in out else values
        if not out[name] and name not in _ALL_OF_FIELDS:
            return None
    if "arch" in out and out.get("no_arch") == frozenset({True}):
        return None
    if "arch" in out and "no_arch" in out:
        del out["no_arch"]  # an arch test implies the client sent one
    return out


def _atom_conj(atoms: Iterable[Atom]) -> Conj | None:
    out: Conj | None = {}
    for atom in atoms:
        if atom.field == "never" or out is None:
            return None
        out = conjoin(out, {atom.field: atom.values})
    return out


def _combine(a: Path, b: Path) -> Path | None:
    conj = conjoin(a.conj, b.conj)
    if conj is None:
        return None
    return Path(conj, {**a.fields, **b.fields}, a.lines + b.lines)


def _bounded(paths: list[Path]) -> list[Path]:
    if len(paths) > MAX_PATHS:
        raise TooComplex(f"the conditions make more than {MAX_PATHS} rules")
    return paths


def paths(program: Program) -> list[Path]:
    """The ways through ``program``, first match first (see the module docstring)."""
    acc = [Path()]
    for stmt in program:
        if isinstance(stmt, Assign):
            acc = [Path(p.conj, {**p.fields, **stmt.fields}, p.lines) for p in acc]
            continue
        mine = _chain(_single(stmt.arms))
        acc = _bounded([c for a in acc for b in mine if (c := _combine(a, b)) is not None])
    return acc


def _single(arms: list[Arm]) -> list[tuple[list[Literal], Program, int]]:
    """Arms with one conjunction each (``if A or B {x}`` is ``if A {x} elsif B {x}``)."""
    out: list[tuple[list[Literal], Program, int]] = []
    for arm in arms:
        if arm.dnf is None:
            out.append(([], arm.body, arm.line))
        else:
            out += [(conj, arm.body, arm.line) for conj in arm.dnf]
    return out


def _chain(arms: list[tuple[list[Literal], Program, int]]) -> list[Path]:
    if not arms:
        return [Path()]
    (literals, body, line), rest = arms[0], arms[1:]
    positive: list[Atom] = []
    indirect: list[Atom] = []
    for lit in literals:
        if lit.positive:
            positive.append(lit.atom)
        elif lit.atom.field == "never":
            continue  # not (a test that never holds): always true
        elif (direct := lit.atom.negated()) is not None:
            positive.append(direct)
        else:
            indirect.append(lit.atom)
    out: list[Path] = []
    after = _chain(rest)
    for atom in indirect:  # if N { REST } …: a client that passes N is not in this arm
        base = _atom_conj([atom])
        if base is not None:
            out += [c for p in after if (c := _combine(Path(base), p)) is not None]
    conj = _atom_conj(positive)
    if conj is not None:
        out += [c for p in paths(body) if (c := _combine(Path(conj, {}, (line,)), p)) is not None]
    if literals or indirect:  # an arm that always matches (else) ends the chain: the rest is unreachable
        out += after
    return _bounded(out)


# --------------------------------------------------------------------------- rules


def class_like(unit: list[Path]) -> bool:
    """True when a unit's paths are "these tests set these fields, else nothing": a non-final rule each."""
    set_paths = [p for p in unit if p.fields]
    if not set_paths or "ignore" in set_paths[0].fields:
        return False
    first = set_paths[0].fields
    seen_empty = False
    for p in unit:
        if not p.fields:
            seen_empty = True
        elif seen_empty or p.fields != first:
            return False
    return True


def match_of(conj: Conj) -> dict[str, Any]:
    """A conjunction as a RuleMatch table (lists sorted so the output is stable)."""
    out: dict[str, Any] = {}
    for name in (
        "family",
        "subnet",
        "arch",
        "no_arch",
        "vendor_class",
        "user_class",
        "mac",
        "known",
        "host",
        "circuit_id",
        "remote_id",
        "client_id",
        "ipxe_feature",
    ):
        if name not in conj:
            continue
        values = sorted(conj[name], key=str)
        if name in ("family", "no_arch", "known"):
            out[name] = values[0]
        else:
            out[name] = values
    return out


def rule_of(name: str, conj: Conj, fields: dict[str, Any], final: bool = True) -> dict[str, Any]:
    """One ``[[rule]]`` table."""
    rule: dict[str, Any] = {"name": name, "match": match_of(conj)}
    ipxe = {k.split(":", 1)[1]: v for k, v in fields.items() if k.startswith("ipxe:")}
    for key in ("bootfile", "next_server", "tftp_server", "vendor_class", "vendor_enterprise"):
        if fields.get(key) is not None:
            rule[key] = fields[key]
    if ipxe:
        rule["ipxe"] = ipxe
    if fields.get("ignore"):
        rule["ignore"] = True
    if not final:
        rule["final"] = False
    return rule


def final_rules(units: list[list[Path]], prefix: str) -> Iterator[tuple[str, Conj, dict[str, Any]]]:
    """The product of ``units`` (in dhcpd's execution order) as named final rules; empty trailing ones left out."""
    acc = [Path()]
    for unit in units:
        acc = _bounded([c for a in acc for b in unit if (c := _combine(a, b)) is not None])
    while acc and not acc[-1].fields:
        acc.pop()
    for p in acc:
        lines = "-".join(str(n) for n in dict.fromkeys(p.lines) if n) or "all"
        yield f"{prefix}-{lines}", p.conj, p.fields


def merge_adjacent(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neighbouring final rules that answer alike and differ in one list of ``match``: one rule (``A or B``).

    Only neighbours: between them no other rule can answer first, so first-match is kept.
    """
    out: list[dict[str, Any]] = []
    for rule in table:
        prev = out[-1] if out else None
        if prev is not None and prev.get("final", True) and rule.get("final", True):
            same = {k: v for k, v in prev.items() if k not in ("name", "match")} == {
                k: v for k, v in rule.items() if k not in ("name", "match")
            }
            a, b = prev["match"], rule["match"]
            differ = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
            if (
                same
                and len(differ) == 1
                and differ[0] not in _ALL_OF_FIELDS
                and isinstance(a.get(differ[0]), list)
                and isinstance(b.get(differ[0]), list)
            ):
                key = differ[0]
                prev["match"][key] = list(dict.fromkeys([*a[key], *b[key]]))
                continue
        out.append(rule)
    return out
