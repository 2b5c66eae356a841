"""The state one Kea import shares: what its parts collect, and the findings (pure).

Part of the Kea importer (:mod:`.kea` has the entry point and the rule of the
importer). The importer is one object whose methods are grouped by topic into
mixins in sibling modules — option data (:mod:`.kea_options`), subnets,
pools, lifetimes and reservations (:mod:`.kea_subnets`) and client classes as
rules (:mod:`.kea_class_rules`). :class:`KeaState` holds what they all read
and write — the classes and their rules so far, option definitions, the
rules in the making — and :meth:`KeaState.note`, which files a finding at the
line of a key.
"""

from __future__ import annotations

from typing import Any

from bootwright.migrate.kea_classes import Match
from bootwright.migrate.kea_json import Obj
from bootwright.migrate.result import Action, Finding, Imported


class KeaState:
    """One Kea section's import in the making (the mixins' shared state)."""

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
        """A finding for ``key`` of ``obj``, at the line Kea's JSON gave it."""
        file, line = obj.where(key)
        value = obj.get(key) if shown is None else shown
        text = f'"{key}": {value!r}' if not isinstance(value, dict | list) else f'"{key}"'
        text = " ".join(text.split())[:100]
        self.out.findings.append(Finding(file, line, text, action, message))
