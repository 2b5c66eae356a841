"""migrate/comments.py: comments blanked, strings and line numbers kept (radvd/BIRD and Kea dialects)."""

from __future__ import annotations

from bootwright.migrate.comments import blank_comments


def kea(text: str) -> str:
    """Kea's dialect, as kea_json reads it."""
    return blank_comments(text, line_comments=("#", "//"), c_comments=True, verbatim=("<?include", "?>"))


def test_hash_comment_becomes_spaces_and_keeps_length() -> None:
    text = 'a; # note\n"x # y";\n'
    out = blank_comments(text)
    assert out == 'a;       \n"x # y";\n'
    assert len(out) == len(text)


def test_c_comments_only_when_asked_and_keep_newlines() -> None:
    text = "a /* one\ntwo */ b;\n"
    assert blank_comments(text) == text
    assert blank_comments(text, c_comments=True) == "a       \n       b;\n"


def test_unended_string_stops_at_the_newline_for_radvd_and_bird() -> None:
    text = 'a "open\n# comment\n'
    assert blank_comments(text, strings_end_at_newline=True) == 'a "open\n         \n'
    assert blank_comments(text) == text  # a JSON string runs on: the '#' is inside it


def test_kea_dialect_slashes_escapes_and_include() -> None:
    text = '{"a": "x\\"//y", // c\n<?include "/etc/kea/#b.json"?> # d\n}'
    assert kea(text) == '{"a": "x\\"//y",     \n<?include "/etc/kea/#b.json"?>    \n}'
