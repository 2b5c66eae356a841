"""What every import format returns, and how it reports a malformed file."""

from __future__ import annotations

from dataclasses import dataclass, field

from bootwright.config import Problem
from bootwright.model import Host


class ImportFormatError(ValueError):
    """A file that cannot be imported; each problem's path is ``line N``. Nothing was imported."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class ImportedHost:
    """One host read from a file: the record, the line it starts on, the keys the file gave."""

    host: Host
    line: int
    keys: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """Everything read from one file in one pass: the hosts that could be read and every problem (``line N``).

    A parser never stops at the first problem: the hosts it could read are
    still checked against the inventory, so every problem comes at once.
    """

    hosts: list[ImportedHost]
    problems: list[Problem] = field(default_factory=list)
    # The host keys this file carries when the file itself says (a CSV header); None: the format's keys.
    keys: tuple[str, ...] | None = None

    def hosts_or_raise(self) -> list[ImportedHost]:
        """The hosts; :class:`ImportFormatError` with every problem when there is any."""
        if self.problems:
            raise ImportFormatError(self.problems)
        return self.hosts
