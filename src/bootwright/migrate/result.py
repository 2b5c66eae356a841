"""What every importer returns: a config in bootwright's TOML shape, the hosts, and what was not translated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bootwright.model import Host

# How a statement of the source file fared:
#   approximated  translated, but bootwright answers differently in a way the message names
#   untranslated  not translated: the message says what to do instead (the operator must act)
#   ignored       deliberately not translated because it has no effect on the answers (e.g. a
#                 lease-file path, ddns-update-style none, log-facility); the message says why
Action = Literal["approximated", "untranslated", "ignored"]

# Reads an included file (ISC ``include "…";``, dnsmasq ``conf-file=``/``conf-dir=``) by the
# path the statement names; raises OSError when it cannot. Given by the caller: importers do no I/O.
Reader = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Finding:
    """One statement of a source file that was not translated exactly, with what to do about it."""

    file: str
    line: int | None
    statement: str  # the statement as written (shortened to one line)
    action: Action
    message: str  # why, and what to do instead

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.action}: {self.statement} — {self.message}"


@dataclass(slots=True)
class Imported:
    """One source file (and its includes) translated.

    ``config`` has the shape of bootwright's TOML (``config.Config`` field
    names: ``subnet4``, ``subnet6``, ``rule``, ``dhcp4``, ``targets``, …) and
    holds plain values only (str, int, bool, lists, dicts), so it validates
    with ``Config.model_validate`` and renders as TOML. ``hosts`` go to the
    inventory. ``translated`` counts the statements translated exactly.
    """

    source: str  # the format: "dhcpd", "dhcpd6", "radvd", "bird", "dnsmasq", "kea"
    file: str
    config: dict[str, Any] = field(default_factory=dict)
    hosts: list[Host] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    translated: int = 0

    def note(self, line: int | None, statement: str, action: Action, message: str) -> None:
        """Record a statement that was not translated exactly."""
        one_line = " ".join(statement.split())
        if len(one_line) > 100:
            one_line = one_line[:97] + "..."
        self.findings.append(Finding(self.file, line, one_line, action, message))
