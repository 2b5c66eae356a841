"""iPXE menus: a menu waits for a key unless it sets a timeout (and GRUB/pxelinux agree)."""

from __future__ import annotations

import pytest

from bootwright.boot.ipxe import render_script
from bootwright.boot.loaders import render_grub, render_pxelinux
from bootwright.boot.policy import ServerContext
from bootwright.config import parse_config
from bootwright.model import ClientInfo

SITE = """
[targets.linux]
kernel = "vmlinuz"

[targets.local]
exit = true

[menus.menu]
default = "local"
items = [{ target = "linux" }, { target = "local" }]
"""
CLIENT = ClientInfo(family=4, mac="52:54:00:12:34:56")
CTX = ServerContext(address="192.0.2.1")


def choose_line(text: str) -> str:
    return next(line for line in render_script(parse_config(text), "menu", CLIENT, CTX).splitlines()
                if line.startswith("choose"))


def test_a_menu_without_timeout_waits_for_a_key() -> None:
    """No ``--timeout``: iPXE's ``choose`` waits until someone picks an item."""
    assert parse_config(SITE).menus["menu"].timeout is None
    assert choose_line(SITE) == "choose --default local target && goto ${target} || goto menu"


@pytest.mark.parametrize(("timeout", "flag"), [("timeout = 3000", " --timeout 3000"), ("timeout = 0", "")])
def test_an_explicit_timeout_is_passed_and_zero_means_wait(timeout: str, flag: str) -> None:
    assert choose_line(SITE + timeout + "\n") == f"choose --default local{flag} target && goto ${{target}} || goto menu"


def test_grub_and_pxelinux_wait_too_without_a_timeout() -> None:
    """GRUB ``timeout=-1`` and pxelinux ``PROMPT 1`` + ``TIMEOUT 0`` wait for a choice."""
    config = parse_config(SITE)
    grub = render_grub(config, "menu", CLIENT, CTX)
    pxelinux = render_pxelinux(config, "menu", CLIENT, CTX)
    assert grub is not None and "set timeout=-1" in grub.splitlines()
    assert pxelinux is not None and {"PROMPT 1", "TIMEOUT 0"} <= set(pxelinux.splitlines())
    timed = parse_config(SITE + "timeout = 2500\n")
    assert "set timeout=3" in (render_grub(timed, "menu", CLIENT, CTX) or "")
    assert "TIMEOUT 25" in (render_pxelinux(timed, "menu", CLIENT, CTX) or "")
