"""Debian's network GRUB (what shim loads under Secure Boot): ``grub/grub.cfg`` per client, and the stop point
of an EFI program the firmware refused."""

from __future__ import annotations

import pytest

from bootwright.boot.documents import Documents, Transport
from bootwright.boot.loaders import is_grub_config, parse_config_path
from bootwright.boot.policy import BootPolicy
from bootwright.boot.timeline import STOP_POINTS, attempts
from bootwright.config import parse_config
from bootwright.model import Event

CONFIG = """
[server]
address4 = "192.0.2.1"
address6 = "2001:db8::1"

[boot]
default = "linux"

[targets.linux]
label = "Linux"
kernel = "{{ http }}/vmlinuz"
initrd = ["{{ http }}/initrd.img", "http://198.51.100.7/firmware.cpio.gz"]
cmdline = "console=ttyS0"

[targets.rescue]
kernel = "rescue/vmlinuz"
cmdline = "rescue"

[targets.ipxe-only]
chain = "http://198.51.100.7/other.ipxe"

[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
target = "rescue"

[[host]]
name = "odd"
mac = "52:54:00:00:00:02"
target = "ipxe-only"
"""
HEAD4 = "if test -e (http,192.0.2.1)/'grub/grub.cfg'; then set bw_files=(http,192.0.2.1); else set bw_files=; fi"


@pytest.fixture
def docs() -> Documents:
    return Documents(BootPolicy.from_config(parse_config(CONFIG)))


@pytest.mark.parametrize(
    ("path", "plain"),
    [
        ("grub/grub.cfg", True),  # Debian's prefix /grub
        ("/grub/grub.cfg", True),
        ("grub/x86_64-efi/grub.cfg", True),  # what its built-in config tries first
        ("efi-x64/grub.cfg", True),
        ("grub.cfg", False),  # the top of the root stays a file's name
        ("grub/grub.cfg-01-52-54-00-00-00-01", False),  # per-MAC: parse_config_path's
        ("grub/grub.cfg.bak", False),
    ],
)
def test_which_names_are_a_prefix_grub_config(path: str, plain: bool) -> None:
    assert is_grub_config(path) is plain
    assert not (plain and parse_config_path(path))


def test_grub_cfg_is_rendered_for_the_requesters_mac(docs: Documents) -> None:
    asked: list[str] = []

    def mac() -> str:
        asked.append("mac")
        return "52:54:00:00:00:01"

    doc = docs.lookup("grub/grub.cfg", Transport.TFTP, "192.0.2.1", mac=mac)
    assert asked == ["mac"] and doc is not None and doc.status == 200
    assert (doc.mac, doc.host, doc.target, doc.over_files) == ("52:54:00:00:00:01", "web1", "rescue", False)
    lines = doc.body.decode().splitlines()
    assert lines[0] == "# bootwright: rescue for 52:54:00:00:00:01 (web1)"
    assert HEAD4 in lines
    assert "\tlinux ${bw_files}/rescue/vmlinuz rescue" in lines


def test_our_files_come_over_http_if_grub_has_it_else_from_its_root(docs: Documents) -> None:
    doc = docs.lookup("grub/grub.cfg", Transport.HTTP, "192.0.2.1", 80, mac=None)  # no lease, no neighbour
    assert doc is not None and doc.status == 200 and doc.over_files is False  # a real grub/grub.cfg wins
    lines = doc.body.decode().splitlines()
    assert lines[0] == "# bootwright: linux for unknown client"
    assert HEAD4 in lines
    assert "\tlinux ${bw_files}/vmlinuz console=ttyS0" in lines
    # Our files through ${bw_files}; a foreign server's stays an HTTP device of its own.
    assert "\tinitrd ${bw_files}/initrd.img (http,198.51.100.7)/firmware.cpio.gz" in lines


def test_the_probe_names_our_address_of_the_family_and_port(docs: Documents) -> None:
    doc = docs.lookup("efi-x64/grub.cfg", Transport.HTTP, "2001:db8::1", 8080, mac="52:54:00:00:00:09")
    assert doc is not None
    device = "(http,[2001:db8::1]:8080)"
    head = f"if test -e {device}/'efi-x64/grub.cfg'; then set bw_files={device}; else set bw_files=; fi"
    assert head in doc.body.decode().splitlines()


def test_per_mac_grub_configs_keep_http_paths(docs: Documents) -> None:
    doc = docs.lookup("grub/grub.cfg-01-52-54-00-00-00-01", Transport.TFTP, "192.0.2.1")
    assert doc is not None and doc.status == 200
    text = doc.body.decode()
    assert "\tlinux (http,192.0.2.1)/rescue/vmlinuz rescue" in text.splitlines() and "bw_files" not in text


def test_nothing_grub_can_boot_is_not_found(docs: Documents) -> None:
    doc = docs.lookup("grub/grub.cfg", Transport.TFTP, "192.0.2.1", mac="52:54:00:00:00:02")
    assert doc is not None and doc.status == 404 and doc.host == "odd"
    assert doc.error == "nothing in 'ipxe-only' that grub can boot for 52:54:00:00:00:02"


def test_the_top_level_grub_cfg_is_no_document(docs: Documents) -> None:
    assert docs.lookup("grub.cfg", Transport.TFTP, "192.0.2.1", mac="52:54:00:00:00:01") is None


# -- the timeline ---------------------------------------------------------------------------------

MAC = "52:54:00:00:00:01"
T0 = 1_700_000_000.0


def ev(dt: float, kind: str, **detail: object) -> Event:
    return Event(T0 + dt, kind, MAC, None, dict(detail))  # type: ignore[arg-type]


FIRMWARE = [
    ev(0.0, "dhcp4.offer", yiaddr="192.0.2.100", bootfile="ipxe.efi"),
    ev(1.0, "dhcp4.request", state="selecting"),
    ev(1.0, "dhcp4.ack", yiaddr="192.0.2.100", bootfile="ipxe.efi"),
]


def test_an_efi_program_followed_by_nothing_asks_about_secure_boot() -> None:
    [a] = attempts([*FIRMWARE, ev(2.0, "tftp.done", file="ipxe.efi", size=850_528)])
    assert a.stage == "bootprog" and a.stop == STOP_POINTS["bootprog-efi"]
    assert a.stop == "boot program fetched, nothing further — Secure Boot rejects unsigned images?"
    # The same refusal over UEFI HTTP boot.
    [b] = attempts([*FIRMWARE, ev(2.0, "http.download_complete", path="/ipxe.efi", bytes=850_528)])
    assert b.stop == STOP_POINTS["bootprog-efi"]


def test_a_bios_program_keeps_its_stop_point() -> None:
    [a] = attempts([*FIRMWARE, ev(2.0, "tftp.done", file="undionly.kpxe", size=70_000)])
    assert a.stop == "boot program fetched, no script request"


def test_an_efi_program_that_runs_moves_on() -> None:
    [a] = attempts([*FIRMWARE, ev(2.0, "tftp.done", file="ipxe.efi"), ev(4.0, "dhcp4.ack", yiaddr="192.0.2.100")])
    assert a.stop == STOP_POINTS["ack-again"]


def test_shim_grub_and_its_config_read_as_a_boot() -> None:
    chain = [
        *FIRMWARE,
        ev(2.0, "tftp.done", file="shimx64.efi"),
        ev(2.1, "tftp.failed", file="revocations_sku.efi", outcome="refused: file not found"),
        ev(2.5, "tftp.done", file="grubx64.efi"),
        ev(3.0, "tftp.failed", file="/grub/x86_64-efi/command.lst", outcome="refused: file not found"),
        ev(3.1, "tftp.done", file="/grub/grub.cfg", path="grub/grub.cfg"),
    ]
    [a] = attempts(chain)
    assert a.stage == "script" and a.stop.startswith("script served, no kernel fetched")
    [b] = attempts([*chain, ev(9.0, "tftp.done", file="/vmlinuz"), ev(9.5, "tftp.done", file="/initrd.img")])
    assert b.complete and b.stage == "initrd"
    [c] = attempts([*FIRMWARE, ev(2.0, "tftp.done", file="pxelinux.0"), ev(2.2, "tftp.done", file="ldlinux.c32"),
                    ev(2.3, "tftp.done", file="pxelinux.cfg/01-52-54-00-00-00-01")])  # fmt: skip
    assert c.stage == "script"
