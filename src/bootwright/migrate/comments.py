"""Comments blanked out of configuration text, line numbers kept (pure).

Rule: every importer that strips comments before tokenizing does it here
(radvd.conf and BIRD through :mod:`.blocks`, Kea's JSON through
:mod:`.kea_json`). A comment becomes spaces, never disappears, so every
offset and line number of the text stays where the user wrote it; a ``"…"``
string is copied as it stands (a comment marker inside it is text).
"""

from __future__ import annotations


def blank_comments(
    text: str,
    *,
    line_comments: tuple[str, ...] = ("#",),
    c_comments: bool = False,
    strings_end_at_newline: bool = False,
    verbatim: tuple[str, str] | None = None,
) -> str:
    """``text`` with comments blanked outside strings (newlines kept).

    ``line_comments``: the markers of a comment running to the end of the line;
    ``c_comments``: ``/* … */`` too; ``strings_end_at_newline``: an unended
    ``"`` stops at the line's end (radvd, BIRD) rather than running on (JSON);
    ``verbatim``: an (opening, closing) pair whose span is copied untouched
    (Kea's ``<?include "…"?>``).
    """
    out: list[str] = []
    firsts = {marker[0] for marker in line_comments}  # a set test per character before any startswith
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"' and not (strings_end_at_newline and text[j] == "\n"):
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif ch in firsts and any(text.startswith(marker, i) for marker in line_comments):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c_comments and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(c if c == "\n" else " " for c in text[i:j]))
            i = j
        elif verbatim is not None and text.startswith(verbatim[0], i):
            j = text.find(verbatim[1], i)
            j = n if j < 0 else j + len(verbatim[1])
            out.append(text[i:j])
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)
