"""One cleaning of the names clients send (boot/names.py), used by both DHCP engines."""

from __future__ import annotations

from bootwright.boot.names import client_name


def test_only_name_characters_are_kept_cut_and_without_outer_dots() -> None:
    assert client_name("web1") == "web1"
    assert client_name("we b1;rm -rf /\n") == "web1rm-rf"
    assert client_name(".web1.lab.") == "web1.lab"
    assert client_name("x" * 80) == "x" * 63
    assert client_name("a." * 200, 253) == ("a." * 200)[:253].strip(".")
    assert client_name("") is None and client_name("...") is None and client_name("\ufffd") is None
