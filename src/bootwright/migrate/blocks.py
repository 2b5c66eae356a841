"""Brace-and-semicolon configuration text (radvd.conf, BIRD) as a tree of statements with line numbers (pure).

radvd.conf(5) and bird(8) share one shape: words ending in ``;`` are a
statement, words followed by ``{ … }`` a block (an optional ``;`` after the
``}``). Comments run from ``#`` to the end of the line (both) and between
``/*`` and ``*/`` (BIRD); ``"…"`` is one word. The importers read the tree;
this module knows nothing of either daemon's keywords.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bootwright.migrate.comments import blank_comments

# A quoted string, a punctuation mark, or a run of anything else.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{};]|[^\s{};"#]+')


@dataclass(slots=True)
class Word:
    """One word of a statement: its text (quotes removed) and whether it was quoted."""

    text: str
    quoted: bool = False


@dataclass(slots=True)
class Statement:
    """``words ;`` or ``words { body }``; ``line`` is where the first word stands."""

    words: list[Word]
    line: int
    body: list[Statement] | None = None  # None: a plain statement, a list: a block
    end_line: int = 0  # the line of the closing brace (blocks)

    @property
    def texts(self) -> list[str]:
        """The words' texts."""
        return [w.text for w in self.words]

    @property
    def key(self) -> str:
        """The first word, lower-cased ("" for an empty statement)."""
        return self.words[0].text.lower() if self.words else ""

    def source(self) -> str:
        """The statement written back on one line (for findings)."""
        text = " ".join(f'"{w.text}"' if w.quoted else w.text for w in self.words)
        return text + (" { … }" if self.body is not None else ";")


class SyntaxProblem(ValueError):
    """The text is not brace-and-semicolon configuration; the message names the line."""


@dataclass(slots=True)
class _Reader:
    tokens: list[tuple[str, int, bool]] = field(default_factory=list)
    pos: int = 0


def parse_blocks(text: str, *, c_comments: bool = False) -> list[Statement]:
    """The statements of ``text``; :class:`SyntaxProblem` for unbalanced braces or an unended statement."""
    clean = blank_comments(text, c_comments=c_comments, strings_end_at_newline=True)
    reader = _Reader()
    for number, line in enumerate(clean.splitlines(), start=1):
        for match in _TOKEN.finditer(line):
            token = match.group(0)
            if token.startswith('"'):
                reader.tokens.append((token[1:-1].replace('\\"', '"'), number, True))
            else:
                reader.tokens.append((token, number, False))
    return _body(reader, top=True)


def _body(reader: _Reader, *, top: bool, opened: int = 0) -> list[Statement]:
    out: list[Statement] = []
    words: list[Word] = []
    line = 0
    while reader.pos < len(reader.tokens):
        token, number, quoted = reader.tokens[reader.pos]
        reader.pos += 1
        if not quoted and token == ";":
            if words:
                out.append(Statement(words, line))
            words = []
        elif not quoted and token == "{":
            block = Statement(words, line or number, [])
            block.body = _body(reader, top=False, opened=number)
            block.end_line = reader.tokens[reader.pos - 1][1]
            out.append(block)
            words = []
        elif not quoted and token == "}":
            if top:
                raise SyntaxProblem(f"line {number}: '}}' without a matching '{{'")
            if words:
                out.append(Statement(words, line))
            return out
        else:
            if not words:
                line = number
            words.append(Word(token, quoted))
    if not top:
        if words:
            raise SyntaxProblem(f"line {line}: the statement {' '.join(w.text for w in words)!r} does not end with ';'")
        raise SyntaxProblem(f"line {opened}: the '{{' here is never closed (a '}}' is missing)")
    if words:
        raise SyntaxProblem(f"line {line}: the statement {' '.join(w.text for w in words)!r} does not end with ';'")
    return out
