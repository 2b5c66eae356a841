"""End-to-end: boot chains other than iPXE on real firmware (issue 17), and the lab's pure parts of them.

One lab session boots the seven machines of :mod:`bootwright.lab.chains`, two
at a time, against ``bootwright serve --config examples/lab-chains.toml``:

* Secure Boot (OVMF with Microsoft's keys): Debian's signed shim → Debian's
  signed network GRUB (served as ``grubx64.efi`` beside shim) → the
  Debian-signed kernel, over TFTP v4 and v6, to the marker, with the kernel
  saying Secure Boot is on; GRUB reads ``grub/grub.cfg``, rendered by
  bootwright for the requester's MAC;
* the same over UEFI HTTP boot v4, to the marker: shim from ``sb-http/``
  beside the lab's own GRUB with ``http`` (Debian 12's signed GRUB has no HTTP
  client), signed with a site key the lab enrolled in the firmware's ``db``;
* the unsigned ``ipxe.efi`` under Secure Boot: refused by the firmware, and
  bootwright's timeline asks whether Secure Boot rejected it;
* GRUB without shim on OVMF without Secure Boot;
* pxelinux on SeaBIOS (its iPXE ROM as the PXE stack) over TFTP, and seed 003's
  iPXE → ``http://…/pxelinux.0``, each reading ``pxelinux.cfg/01-<mac>``.
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from labrun import PARALLEL, environment_problem
from rich.console import Console

from bootwright.lab import chains, payload, qemu
from bootwright.lab.options import LabOptions
from bootwright.lab.proc import LabError
from bootwright.lab.servers import ServeUnavailable
from bootwright.lab.session import LabSession
from bootwright.lab.sources import SerialParser
from bootwright.lab.timeline import LABELS, Stage, Timeline, classify_path

SECURE_BOOT_ON = "Secure boot enabled"  # the kernel's line (arch/x86/kernel/setup.c, "secureboot: …")
EFI_STOP = "boot program fetched, nothing further — Secure Boot rejects unsigned images?"


@dataclass
class ChainRun:
    """What the session saw, per machine."""

    timelines: dict[str, Timeline] = field(default_factory=dict)
    serial: dict[str, str] = field(default_factory=dict)  # the serial console, escape sequences removed
    attempts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # bootwright events --mac M --json
    timeline_text: dict[str, str] = field(default_factory=dict)  # bootwright events --mac M
    skip: str | None = None


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


async def _session(run: ChainRun) -> None:
    options = LabOptions(
        config=chains.CONFIG, scenarios=list(chains.ALL), parallel=PARALLEL, live=False, timeout=180.0, stall=90.0
    )
    async with LabSession(options, Console(width=160, force_terminal=False)) as lab:
        lab.keep_work = True  # until every machine did what it should
        vms = [lab.vm(s) for s in chains.ALL]
        await lab.boot(vms)
        for vm in vms:
            name, mac = vm.scenario.name, vm.scenario.mac
            run.timelines[name] = vm.timeline
            run.serial[name] = _ANSI.sub("", vm.serial_log.read_text(errors="replace")).replace("\r", "\n")
            run.attempts[name] = json.loads(lab.cli("events", "--mac", mac, "--json", *lab.cli_args))
            run.timeline_text[name] = lab.cli("events", "--mac", mac, *lab.cli_args)
        lab.keep_work = not all(run.timelines[n].ok for n in run.timelines if n not in chains.STOPS)


@pytest.fixture(scope="module")
def chain_run() -> ChainRun:
    run = ChainRun(skip=environment_problem())
    if run.skip is None:
        try:
            chains.prepare(payload.DEFAULT_CACHE)
        except LabError as exc:
            run.skip = f"the chains' boot programs could not be prepared: {exc}"
    if run.skip is None:
        try:
            asyncio.run(_session(run))
        except ServeUnavailable as exc:
            run.skip = str(exc)
    return run


def _timeline(run: ChainRun, name: str) -> Timeline:
    if run.skip is not None:
        pytest.skip(run.skip)
    return run.timelines[name]


def _steps(run: ChainRun, name: str) -> list[str]:
    return [s["text"] for a in run.attempts[name] for s in a["steps"]]


def _booted(run: ChainRun, name: str) -> Timeline:
    timeline = _timeline(run, name)
    assert timeline.ok, f"{timeline.title}: {timeline.stopped_at()}"
    family = chains.by_name(name).family
    for stage in (Stage.BOOTPROG, Stage.SCRIPT, Stage.KERNEL, Stage.INITRD):
        via = timeline.via.get(stage, family)
        assert via == family, f"{timeline.title}: {LABELS[stage]} over IPv{via}, not IPv{family} {timeline.notes}"
    print(f"{name}: marker after {timeline.boot_seconds:.1f} s")  # the times docs/lab.md lists
    return timeline


# -- Secure Boot -----------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["secureboot-efi4", "secureboot-efi6"])
def test_secure_boot_boots_shim_grub_and_the_signed_kernel(chain_run: ChainRun, name: str) -> None:
    timeline = _booted(chain_run, name)
    assert timeline.detail.get(Stage.BOOTPROG) == "shimx64.efi", timeline.detail
    assert timeline.detail.get(Stage.SCRIPT) == "grub/grub.cfg", timeline.detail
    assert SECURE_BOOT_ON in chain_run.serial[name], "the kernel did not run under Secure Boot"
    steps = _steps(chain_run, name)
    assert any(re.match(r"TFTP sent /?grubx64\.efi", s) for s in steps), steps  # shim found GRUB beside it
    # The config came for this machine's MAC (the attempt is its): rendered for its host, not an unknown client.
    assert any(s.startswith("TFTP sent /grub/grub.cfg") for s in steps), steps
    # Debian's network GRUB has no HTTP: the rendered config sends it to its own TFTP server.
    assert any(s.startswith("TFTP sent /vmlinuz") for s in steps), steps


@pytest.mark.e2e
def test_secure_boot_over_http_boots_the_site_signed_grub(chain_run: ChainRun) -> None:
    name = "secureboot-efihttp4"
    timeline = _booted(chain_run, name)
    assert timeline.detail.get(Stage.SCRIPT) == "grub/grub.cfg", timeline.detail
    assert SECURE_BOOT_ON in chain_run.serial[name], "the kernel did not run under Secure Boot"
    steps = _steps(chain_run, name)
    assert any(s.startswith(f"HTTP sent /{chains.HTTP_DIR}/shimx64.efi") for s in steps), steps
    # shim asks for sb-http//grubx64.efi: the site-signed GRUB, which db (not shim's Debian key) lets run.
    assert any(re.match(rf"HTTP sent /{chains.HTTP_DIR}/+grubx64\.efi", s) for s in steps), steps
    # The config GRUB read over HTTP is the one rendered for this machine (its target, linux).
    assert any(re.search(r"script /grub/grub\.cfg served \(linux\)", s) for s in steps), steps
    for sent in ("HTTP sent /vmlinuz", "HTTP sent /initrd.img"):
        assert any(s.startswith(sent) for s in steps), (sent, steps)
    assert not any(s.startswith("TFTP") for s in steps), steps


@pytest.mark.e2e
def test_secure_boot_refuses_the_unsigned_ipxe_efi(chain_run: ChainRun) -> None:
    name = "secureboot-ipxe-efi4"
    timeline = _timeline(chain_run, name)
    assert not timeline.ok and Stage.SCRIPT not in timeline.seen, timeline.stopped_at()
    assert timeline.detail.get(Stage.BOOTPROG) == "ipxe.efi", timeline.detail
    serial = chain_run.serial[name]
    assert re.search(r'failed to load Boot\w+ "UEFI PXEv4 [^"]*".*: Access Denied', serial), serial[-2000:]
    assert "refused: Access Denied" in timeline.stopped_at(), timeline.stopped_at()
    # bootwright's own timeline of the machine names the likely cause.
    last = chain_run.attempts[name][-1]
    assert last["stage"] == "bootprog" and last["stop"] == EFI_STOP, last
    assert EFI_STOP in chain_run.timeline_text[name]


# -- GRUB and pxelinux -----------------------------------------------------------------------------


@pytest.mark.e2e
def test_grub_without_shim_reads_its_rendered_config(chain_run: ChainRun) -> None:
    timeline = _booted(chain_run, "grub-efi4")
    assert (timeline.detail.get(Stage.BOOTPROG), timeline.detail.get(Stage.SCRIPT)) == ("grubx64.efi", "grub/grub.cfg")
    assert SECURE_BOOT_ON not in chain_run.serial["grub-efi4"]


@pytest.mark.e2e
def test_pxelinux_over_tftp_reads_its_per_mac_config(chain_run: ChainRun) -> None:
    name = "pxelinux-bios4"
    timeline = _booted(chain_run, name)
    mac = chains.by_name(name).mac.replace(":", "-")
    assert timeline.detail.get(Stage.SCRIPT) == f"pxelinux.cfg/01-{mac}", timeline.detail
    steps = _steps(chain_run, name)
    for sent in ("TFTP sent pxelinux.0", "TFTP sent ldlinux.c32", f"TFTP sent pxelinux.cfg/01-{mac}"):
        assert any(s.startswith(sent) for s in steps), (sent, steps)
    # The config names http:// URLs: pxelinux fetches them through the PXE stack, which is iPXE here.
    assert any(s.startswith("HTTP sent /vmlinuz") for s in steps), steps


@pytest.mark.e2e
def test_seed003_ipxe_loads_pxelinux_over_http(chain_run: ChainRun) -> None:
    name = "pxelinux-http-bios4"
    timeline = _booted(chain_run, name)
    mac = chains.by_name(name).mac.replace(":", "-")
    steps = _steps(chain_run, name)
    # Plain pxelinux.0 loaded over HTTP reads everything over HTTP too, through iPXE's PXE file API.
    for sent in ("HTTP sent /pxelinux.0", "HTTP sent /ldlinux.c32", "HTTP sent /vmlinuz", "HTTP sent /initrd.img"):
        assert any(s.startswith(sent) for s in steps), (sent, steps)
    assert timeline.detail.get(Stage.SCRIPT) == f"pxelinux.cfg/01-{mac}", timeline.detail
    assert not any(s.startswith("TFTP") for s in steps), steps


# -- the pure parts, without root or QEMU ----------------------------------------------------------


def test_every_chain_machine_is_a_host_of_the_chains_config() -> None:
    config = tomllib.loads(chains.CONFIG.read_text())
    hosts = {h["name"]: h["mac"] for h in config["host"]}
    assert hosts == {s.name: [s.mac] for s in chains.ALL}
    assert len({s.mac for s in chains.ALL}) == len(chains.ALL)


def test_the_firmware_groups_leave_out_the_machines_that_stop() -> None:
    assert [s.name for s in chains.select("secureboot")] == [
        "secureboot-efi4",
        "secureboot-efi6",
        "secureboot-efihttp4",
    ]
    assert [s.name for s in chains.select("pxelinux")] == ["pxelinux-bios4", "pxelinux-http-bios4"]
    assert [s.name for s in chains.select("secureboot", 6)] == ["secureboot-efi6"]
    assert set(chains.STOPS) == {"secureboot-ipxe-efi4"}
    with pytest.raises(ValueError, match="no IPv6 scenario"):
        chains.select("pxelinux", 6)
    with pytest.raises(ValueError, match="not one of"):
        chains.select("bios")


def test_secure_boot_machines_run_the_smm_build_with_microsofts_keys(tmp_path: Path) -> None:
    try:
        cmd = qemu.command(chains.by_name("secureboot-efi6"), "bwtap0", tmp_path / "s.log", tmp_path / "v.fd", "tcg")
    except LabError as exc:
        pytest.skip(str(exc))
    text = " ".join(cmd)
    assert "q35,smm=on" in text and "driver=cfi.pflash01,property=secure,value=on" in text
    assert "OVMF_CODE_4M.secboot.fd" in text and "IPv4PXESupport,string=n" in text
    assert (tmp_path / "v.fd").read_bytes() == Path("/usr/share/OVMF/OVMF_VARS_4M.ms.fd").read_bytes()
    plain = " ".join(qemu.command(chains.by_name("grub-efi4"), "bwtap1", tmp_path / "g.log", tmp_path / "g.fd", "tcg"))
    assert "smm=on" not in plain and "secboot" not in plain and "cfi.pflash01" not in plain


def test_grub_and_pxelinux_configs_are_the_script_stage() -> None:
    assert classify_path("/grub/grub.cfg") is Stage.SCRIPT
    assert classify_path("pxelinux.cfg/01-52-54-00-b0-35-04") is Stage.SCRIPT
    assert classify_path("grubx64.efi") is Stage.BOOTPROG and classify_path("ldlinux.c32") is None


def test_the_serial_console_shows_refusals_and_dead_ends() -> None:
    parser = SerialParser("marker")
    text = (
        'BdsDxe: failed to load Boot0001 "UEFI PXEv4 (MAC:525400B03304)" from PciRoot(0x0)/Pci(0x1,0x0)/'
        "MAC(525400B03304,0x1)/IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0): Access Denied\n"
        "BdsDxe: No bootable option or device was found.\n"
    )
    _, problems = parser.feed(text)
    assert problems == ['Boot0001 "UEFI PXEv4 (MAC:525400B03304)" refused: Access Denied']
    assert parser.dead_end == "No bootable option or device was found"
    grub = SerialParser("marker")
    grub.feed("Welcome to GRUB!\n   Minimal BASH-like line editing is supported. For the first word, TAB\n")
    assert grub.dead_end == "Minimal BASH-like line editing is supported"


def test_the_http_grub_copies_the_sbat_section_of_debians_signed_grub() -> None:
    # A minimal PE image: DOS header pointing at "PE\0\0", a COFF header with two sections and no
    # optional header, then the section table; shim refuses an image without .sbat.
    table = [(b".text", b"code"), (b".sbat", b"sbat,1,SBAT Version\n\0\0")]
    pe = 0x40
    start = pe + 24 + 40 * len(table)
    image = bytearray(b"MZ" + bytes(0x3A) + pe.to_bytes(4, "little") + b"PE\0\0" + bytes(2))
    image += len(table).to_bytes(2, "little") + bytes(16)
    offset = start
    for name, data in table:
        image += name.ljust(8, b"\0") + len(data).to_bytes(4, "little") + bytes(4)
        image += len(data).to_bytes(4, "little") + offset.to_bytes(4, "little") + bytes(16)
        offset += len(data)
    image += b"".join(data for _, data in table)
    assert chains.pe_section(bytes(image), ".sbat") == b"sbat,1,SBAT Version\n"
    assert chains.pe_section(bytes(image), ".reloc") == b""
    assert "http" in chains.HTTP_GRUB_MODULES and "linux" in chains.HTTP_GRUB_MODULES


def test_only_the_http_boot_rule_sends_shim_beside_the_site_signed_grub() -> None:
    config = tomllib.loads(chains.CONFIG.read_text())
    bootfiles = {r["name"]: r["bootfile"] for r in config["rule"]}
    assert bootfiles["shim-http"] == f"{{http}}/{chains.HTTP_DIR}/shimx64.efi"
    assert bootfiles["shim-pxe4"] == "shimx64.efi"  # TFTP: Debian's signed GRUB beside it
    assert "dns" not in config["subnet4"][0]  # EDK2's DNS device-path node would hide the URI from GRUB
