"""Kea's configuration JSON: comments, ``<?include "file"?>`` and the line of every key (pure).

Kea (kea-dhcp4(8), "Configuration") accepts ``//``, ``/* */`` and ``#``
comments in its JSON and replaces ``<?include "path"?>`` by the file's text.
:func:`parse_kea_json` reads that dialect into plain values; every object is an
:class:`Obj` that remembers the file and line of each of its keys, so a finding
can say ``kea-dhcp4.conf:42``. An include may stand where a value stands.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Any

from bootwright.migrate.comments import blank_comments
from bootwright.migrate.result import Reader

_INCLUDE = re.compile(r'<\?include\s+"([^"]*)"\s*\?>')
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")


class Obj(dict[str, Any]):
    """A JSON object with where each key was written: ``lines[key] = (file, line)``."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file
        self.lines: dict[str, tuple[str, int]] = {}
        self.line = 0  # the line of the opening brace

    def where(self, key: str) -> tuple[str, int | None]:
        """The file and line of ``key`` (the object's own line when the key is absent)."""
        return self.lines.get(key, (self.file, self.line or None))


class KeaSyntaxError(ValueError):
    """Not Kea JSON; the message names the file and line."""


class _Parser:
    def __init__(self, text: str, file: str, read: Reader | None, depth: int) -> None:
        # Kea's comments: //, # and /* */; an include is copied whole (its path is no comment).
        self.text = blank_comments(text, line_comments=("#", "//"), c_comments=True, verbatim=("<?include", "?>"))
        self.file = file
        self.read = read
        self.depth = depth
        self.pos = 0
        self.starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def line(self, pos: int | None = None) -> int:
        return bisect.bisect_right(self.starts, self.pos if pos is None else pos)

    def fail(self, what: str) -> KeaSyntaxError:
        return KeaSyntaxError(f"{self.file}:{self.line()}: {what}")

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def value(self) -> Any:
        self.skip()
        if self.pos >= len(self.text):
            raise self.fail("the text ends where a value was expected")
        ch = self.text[self.pos]
        if ch == "{":
            return self.obj()
        if ch == "[":
            return self.array()
        if ch == '"':
            return self.string()
        include = _INCLUDE.match(self.text, self.pos)
        if include:
            self.pos = include.end()
            return self.include(include.group(1))
        for word, result in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return result
        number = _NUMBER.match(self.text, self.pos)
        if number:
            self.pos = number.end()
            return json.loads(number.group(0))
        raise self.fail(f"unexpected {ch!r}")

    def include(self, path: str) -> Any:
        if self.read is None or self.depth >= 8:
            raise self.fail(f'<?include "{path}"?>: the included file cannot be read here')
        try:
            text = self.read(path)
        except OSError as exc:
            raise self.fail(f'<?include "{path}"?>: {exc}') from None
        inner = _Parser(text, path, self.read, self.depth + 1)
        result = inner.value()
        inner.skip()
        if inner.pos != len(inner.text):
            raise inner.fail("more than one value in an included file")
        return result

    def string(self) -> str:
        end = self.pos + 1
        while end < len(self.text) and self.text[end] != '"':
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise self.fail("a string does not end")
        raw = self.text[self.pos : end + 1]
        self.pos = end + 1
        try:
            return str(json.loads(raw))
        except json.JSONDecodeError as exc:
            raise self.fail(f"bad string: {exc.msg}") from None

    def obj(self) -> Obj:
        out = Obj(self.file)
        out.line = self.line()
        self.pos += 1
        while True:
            self.skip()
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return out
            if not self.text.startswith('"', self.pos):
                raise self.fail("expected a quoted key or '}'")
            line = self.line()
            key = self.string()
            self.skip()
            if not self.text.startswith(":", self.pos):
                raise self.fail(f"expected ':' after {key!r}")
            self.pos += 1
            out[key] = self.value()
            out.lines[key] = (self.file, line)
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1  # Kea also accepts a trailing comma before '}'
            elif not self.text.startswith("}", self.pos):
                raise self.fail("expected ',' or '}'")

    def array(self) -> list[Any]:
        out: list[Any] = []
        self.pos += 1
        while True:
            self.skip()
            if self.text.startswith("]", self.pos):
                self.pos += 1
                return out
            out.append(self.value())
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith("]", self.pos):
                raise self.fail("expected ',' or ']'")


def parse_kea_json(text: str, file: str, read: Reader | None = None) -> Any:
    """The value of a Kea configuration file; :class:`KeaSyntaxError` names the file and line."""
    parser = _Parser(text, file, read, 0)
    result = parser.value()
    parser.skip()
    if parser.pos != len(parser.text):
        raise parser.fail("text after the configuration")
    return result
