"""What every exporter returns: the text in the peer's format and what that format could not say.

Rule: an exporter never drops silently anything that changes an answer. Each
construct of the config (or inventory) the target format cannot express, or
expresses only approximately, becomes one :class:`Note` naming its key path
(``rule[3].match.ipxe_feature``), what the exported server does instead, and,
where there is one, what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Note:
    """One construct the format could not express exactly: where (config key path) and what happens instead."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(slots=True)
class Exported:
    """The exported text and its notes (each key path once, in the order found)."""

    format: str
    text: str = ""
    notes: list[Note] = field(default_factory=list)

    def note(self, path: str, message: str) -> None:
        """Record that ``path`` could not be expressed exactly (a repeated note is kept once)."""
        entry = Note(path, message)
        if entry not in self.notes:
            self.notes.append(entry)
