"""GRUB and pxelinux per-MAC configs (bootwright.boot.loaders): names, rendering, purity."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bootwright.boot import loaders as bootloaders
from bootwright.boot.loaders import (
    grub_config_name,
    grub_path,
    parse_config_path,
    pxelinux_config_name,
    render_config,
    render_grub,
    render_pxelinux,
)
from bootwright.boot.policy import BootPolicy, ServerContext, hosts_from_config
from bootwright.config import parse_config
from bootwright.model import ClientInfo

CONFIG = parse_config(
    """
[boot]
default = "menu"

[targets.linux]
label = "Debian installer"
kernel = "debian/linux"
initrd = ["debian/initrd.gz", "{{ http }}/firmware.cpio.gz"]
cmdline = "auto=true url={{ http }}/preseed/{{ host.name if host else 'default' }}.cfg"
bootif = true

[targets.linux.variants.efi]
kernel = "debian/linux.efi"

[targets.chain]
chain = "http://example.org/other.ipxe"

[targets.shell]
efi = "efi/shell.efi"

[targets.local]
label = "Local disk"
exit = true

[menus.menu]
title = "Boot menu"
default = "local"
timeout = 4500
items = [
  { target = "linux" },
  { gap = "----" },
  { target = "chain" },
  { target = "shell", platform = "efi" },
  { target = "local" },
  { target = "sub" },
]

[menus.sub]
items = [{ target = "local" }, { target = "linux" }]

[[host]]
name = "web1"
mac = "52:54:00:12:34:56"
target = "linux"
"""
)
HOST = hosts_from_config(CONFIG)[0]
CLIENT = ClientInfo(family=4, mac="52:54:00:12:34:56")
CTX4 = ServerContext(address="192.0.2.1", http_port=8080)
CTX6 = ServerContext(address="2001:db8::1")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("grub.cfg-01-52-54-00-12-34-56", ("grub", "52:54:00:12:34:56")),
        ("efi-a64/grub.cfg-01-52-54-00-12-34-56", ("grub", "52:54:00:12:34:56")),
        ("grub/grub.cfg-52:54:00:12:34:56", ("grub", "52:54:00:12:34:56")),
        ("grub/grub.cfg-52-54-00-12-34-56", ("grub", "52:54:00:12:34:56")),
        ("pxelinux.cfg/01-52-54-00-12-34-56", ("pxelinux", "52:54:00:12:34:56")),
        ("bios/pxelinux.cfg/01-52-54-00-AB-CD-EF", ("pxelinux", "52:54:00:ab:cd:ef")),
        ("grub.cfg", None),
        ("grub.cfg-C000020A", None),  # GRUB's IP-based names are not per-MAC
        ("pxelinux.cfg/default", None),
        ("pxelinux.cfg/C000020A", None),
        ("other/01-52-54-00-12-34-56", None),
        ("grub.cfg-01-52-54-00-12-34", None),
    ],
)
def test_parse_config_path(path: str, expected: tuple[str, str] | None) -> None:
    assert parse_config_path(path) == expected


def test_names_round_trip() -> None:
    assert grub_config_name("52-54-00-12-34-56") == "grub.cfg-01-52-54-00-12-34-56"
    assert pxelinux_config_name("52:54:00:12:34:56") == "pxelinux.cfg/01-52-54-00-12-34-56"
    assert parse_config_path(grub_config_name(CLIENT.mac or "")) == ("grub", CLIENT.mac)
    assert parse_config_path(pxelinux_config_name(CLIENT.mac or "")) == ("pxelinux", CLIENT.mac)


@pytest.mark.parametrize(
    ("location", "ctx", "expected"),
    [
        ("debian/linux", CTX4, "(http,192.0.2.1:8080)/debian/linux"),
        ("/debian/linux", CTX6, "(http,[2001:db8::1])/debian/linux"),
        ("http://198.51.100.7:81/k?x=1", CTX4, "(http,198.51.100.7:81)/k?x=1"),
        ("tftp://192.0.2.9/k", CTX4, "(tftp,192.0.2.9)/k"),
        ("(tftp)/k", CTX4, "(tftp)/k"),
        ("k", ServerContext(), "/k"),
    ],
)
def test_grub_paths_go_over_http(location: str, ctx: ServerContext, expected: str) -> None:
    assert grub_path(location, ctx) == expected


def test_grub_single_target_for_a_host() -> None:
    text = render_grub(CONFIG, "linux", CLIENT, CTX4, HOST)
    assert text == (
        "# bootwright: linux for 52:54:00:12:34:56 (web1)\n"
        "set default='linux'\n"
        "set timeout=0\n"
        "menuentry 'Debian installer' --id 'linux' {\n"
        "\tlinux (http,192.0.2.1:8080)/debian/linux.efi auto=true url=http://192.0.2.1:8080/preseed/web1.cfg"
        " BOOTIF=01-52-54-00-12-34-56\n"
        "\tinitrd (http,192.0.2.1:8080)/debian/initrd.gz (http,192.0.2.1:8080)/firmware.cpio.gz\n"
        "}\n"
    )


def test_grub_menu_flattens_items_grub_can_run() -> None:
    text = render_grub(CONFIG, "menu", ClientInfo(family=6, mac="52:54:00:00:00:09"), CTX6)
    assert text is not None
    assert "set default='local'" in text and "set timeout=5" in text  # 4500 ms rounds up
    entries = [line for line in text.splitlines() if line.startswith("menuentry")]
    assert entries == [
        "menuentry 'Debian installer' --id 'linux' {",
        "menuentry 'shell' --id 'shell' {",
        "menuentry 'Local disk' --id 'local' {",
    ]  # the iPXE chain is left out; the sub-menu's items appear once
    assert "\tchainloader (http,[2001:db8::1])/efi/shell.efi" in text
    assert "\texit" in text
    assert "url=http://[2001:db8::1]/preseed/default.cfg" in text


def test_grub_on_pcbios_hides_efi_items_and_uses_the_plain_kernel() -> None:
    client = ClientInfo(family=4, mac="52:54:00:00:00:09", platform="pcbios")
    text = render_grub(CONFIG, "menu", client, CTX4)
    assert text is not None and "shell" not in text and "/debian/linux " in text


def test_label_quotes_are_escaped_for_grub() -> None:
    cfg = parse_config('[targets.x]\nlabel = "it\'s"\nkernel = "k"\n')
    text = render_grub(cfg, "x", CLIENT, CTX4)
    assert text is not None and "menuentry 'it'\\''s' --id 'x' {" in text


def test_nothing_runnable_gives_none() -> None:
    assert render_grub(CONFIG, "chain", CLIENT, CTX4) is None
    assert render_grub(CONFIG, None, CLIENT, CTX4) is None
    assert render_pxelinux(CONFIG, "shell", CLIENT, CTX4) is None  # EFI programs: not for pxelinux


def test_pxelinux_menu() -> None:
    text = render_pxelinux(CONFIG, "menu", CLIENT, CTX4, HOST)
    assert text == (
        "# bootwright: menu for 52:54:00:12:34:56 (web1)\n"
        "DEFAULT local\n"
        "PROMPT 1\n"
        "TIMEOUT 45\n"
        "MENU TITLE Boot menu\n"
        "LABEL linux\n"
        "  MENU LABEL Debian installer\n"
        "  KERNEL debian/linux\n"
        "  INITRD debian/initrd.gz,http://192.0.2.1:8080/firmware.cpio.gz\n"
        "  APPEND auto=true url=http://192.0.2.1:8080/preseed/web1.cfg\n"
        "  IPAPPEND 2\n"
        "LABEL local\n"
        "  MENU LABEL Local disk\n"
        "  LOCALBOOT 0\n"
    )


def test_render_config_follows_the_policy_decision() -> None:
    policy = BootPolicy.from_config(CONFIG)
    answer = policy.decide(CLIENT, CTX4)
    assert answer.script == "linux"  # the host's own target
    text = render_config("pxelinux", CONFIG, answer.script, CLIENT, CTX4, HOST)
    assert text is not None and "DEFAULT linux" in text and "PROMPT 0" in text


def test_bootloaders_module_is_pure() -> None:
    tree = ast.parse(Path(bootloaders.__file__).read_text())
    forbidden = {"asyncio", "socket", "time", "random", "os", "subprocess", "threading"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & forbidden
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            assert node.module.split(".")[0] not in forbidden
