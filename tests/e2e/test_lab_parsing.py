"""The lab's pure parts, without root or QEMU: sources, stages, timelines, scenarios, configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from labrun import REPO

from bootwright.lab import qemu, scenarios, tools
from bootwright.lab.netns import Namespace
from bootwright.lab.proc import LabError
from bootwright.lab.reference import dnsmasq_config
from bootwright.lab.runner import config_problems
from bootwright.lab.sources import DnsmasqParser, SerialParser, clean_ip, parse_event_line
from bootwright.lab.timeline import Stage, Timeline, classify_path
from bootwright.lab.tracker import Tracker, family_of
from bootwright.lab.vm import VM

MAC = "52:54:00:b0:00:04"


def event(kind: str, **detail: object) -> str:
    record = {"at": 1000.5, "event": kind, "mac": None, "host": None, **detail}
    return "2026-01-01 00:00:00,000 bootwright.runtime.events INFO " + json.dumps(record)


PATHS: list[tuple[str, Stage | None]] = [
    ("/boot.ipxe", Stage.SCRIPT),
    ("/boot/52-54-00-b0-00-04.ipxe", Stage.SCRIPT),
    ("script.ipxe-52:54:00:b0:00:04", Stage.SCRIPT),
    ("/vmlinuz", Stage.KERNEL),
    ("showmax/vmlinuz", Stage.KERNEL),
    ("/initrd.img", Stage.INITRD),
    ("sysrescd/initram.igz", Stage.INITRD),
    ("ipxe.efi", Stage.BOOTPROG),
    ("/srv/root/undionly.kpxe", Stage.BOOTPROG),
    ("/favicon.ico", None),
]


@pytest.mark.parametrize(("path", "stage"), [pytest.param(p, s, id=p) for p, s in PATHS])
def test_classify_path(path: str, stage: Stage | None) -> None:
    assert classify_path(path) is stage


def test_event_lines() -> None:
    offer = parse_event_line(event("dhcp4.offer", mac=MAC, yiaddr="192.0.2.100"), 0.0)
    assert offer is not None
    assert (offer.stage, offer.mac, offer.ip, offer.at) == (Stage.OFFER, MAC, "192.0.2.100", 1000.5)
    assert offer.learned == (("192.0.2.100", MAC),)
    fetch = parse_event_line(event("http.request", client="[2001:db8::105]:40000", path="/vmlinuz", status=200), 0.0)
    assert fetch is not None and (fetch.stage, fetch.ip, fetch.mac) == (Stage.KERNEL, "2001:db8::105", None)
    missing = parse_event_line(event("http.request", mac=MAC, path="/initrd.img", status=404), 0.0)
    assert missing is not None and missing.stage is None and missing.note and "404" in missing.note
    assert parse_event_line("2026 bootwright INFO http ready: listening on 0.0.0.0:80", 0.0) is None
    assert parse_event_line("{not json", 0.0) is None
    other = parse_event_line(event("config.reloaded"), 0.0)
    assert other is None


def test_clean_ip() -> None:
    assert clean_ip("::ffff:192.0.2.118") == "192.0.2.118"
    assert clean_ip("192.0.2.5:1234") == "192.0.2.5"
    assert clean_ip("fe80::1%tap0") == "fe80::1"
    assert clean_ip("tap0") is None
    assert family_of("192.0.2.1") == 4 and family_of("2001:db8::1") == 6 and family_of(None) is None


def test_dnsmasq_lines() -> None:
    p = DnsmasqParser()
    v4 = p.feed("dnsmasq-dhcp[9]: 2187265904 DHCPOFFER(tap0) 192.0.2.118 52:54:00:b0:00:04 ", 5.0)
    assert v4 is not None and (v4.stage, v4.mac, v4.ip) == (Stage.OFFER, MAC, "192.0.2.118")
    assert p.feed("dnsmasq-dhcp[9]: 1824692 client MAC address: 52:54:00:b0:00:06", 6.0) is None
    v6 = p.feed("dnsmasq-dhcp[9]: 1824692 DHCPREPLY(tap0) 2001:db8::1d6 00:04:00:00:00:00", 7.0)
    assert v6 is not None and (v6.stage, v6.mac, v6.ip) == (Stage.OFFER, "52:54:00:b0:00:06", "2001:db8::1d6")
    sent = p.feed("dnsmasq-tftp[9]: sent /tmp/bwlab-x/root/ipxe.efi to 192.0.2.117", 8.0)
    assert sent is not None and (sent.stage, sent.ip, sent.detail) == (Stage.BOOTPROG, "192.0.2.117", "ipxe.efi")
    assert p.feed("dnsmasq-dhcp[9]: RTR-ADVERT(tap0) 2001:db8::", 9.0) is None


def test_serial_console() -> None:
    s = SerialParser("bootwright-lab-marker-1234")
    stages, problems = s.feed("\x1b[0m>>Start PXE over IPv4.\r\n  Station IP address is 192.0.2.117\r\n")
    assert stages == [(Stage.OFFER, "serial")] and problems == []
    stages, _ = s.feed(
        "  NBP file downloaded successfully.\nhttp://192.0.2.1/boot.ipxe... ok\nvmlinuz... 35%  98%  ok\n"
    )
    assert [st for st, _ in stages] == [Stage.BOOTPROG, Stage.SCRIPT, Stage.KERNEL]
    stages, _ = s.feed("bootwright-lab-mar")  # a marker split across two reads
    assert stages == []
    stages, _ = s.feed("ker-1234 kernel=6.1\n")
    assert stages == [(Stage.MARKER, "serial")]
    _, problems = s.feed("  Error: Could not retrieve NBP file size from HTTP server.\nUEFI Interactive Shell v2.2\n")
    assert problems == ["Could not retrieve NBP file size from HTTP server."]
    assert s.dead_end == "UEFI Interactive Shell"


def test_timeline_says_where_it_stopped() -> None:
    t = Timeline("efi4", "UEFI PXE v4", MAC)
    t.started = 100.0
    t.outcome = "timed out after 240 s"
    assert t.stopped_at() == "no DHCP offer seen; timed out after 240 s"
    assert t.mark(Stage.OFFER, 103.0, family=4) and not t.mark(Stage.OFFER, 104.0)
    t.mark(Stage.BOOTPROG, 105.5)
    assert t.stopped_at().startswith("stopped after boot program (5.5 s): no iPXE script fetched")
    assert not t.ok and t.via == {Stage.OFFER: 4}
    bios = Timeline("bios4", "BIOS v4", MAC, expects_bootprog=False)
    assert Stage.BOOTPROG not in bios.stages
    assert not t.mark(Stage.SCRIPT, 99.0, family=4)  # before this boot started: another boot's line
    assert Stage.SCRIPT not in t.seen and Stage.SCRIPT not in t.via


def test_the_server_names_a_stage_the_console_saw_first() -> None:
    t = Timeline("arm64-4", "arm64 UEFI PXE v4", MAC)
    t.started = 100.0
    assert t.mark(Stage.BOOTPROG, 110.0, "serial")  # "NBP file downloaded successfully" read first
    assert not t.mark(Stage.BOOTPROG, 110.2, "grubnetaa64.efi", family=4)  # bootwright's event, read later
    assert (t.seen[Stage.BOOTPROG], t.detail[Stage.BOOTPROG], t.via[Stage.BOOTPROG]) == (10.0, "grubnetaa64.efi", 4)
    assert not t.mark(Stage.BOOTPROG, 111.0, "other.efi")  # a named sighting is kept
    assert t.detail[Stage.BOOTPROG] == "grubnetaa64.efi"


def test_a_transfer_begun_names_the_stage_only_the_console_proved() -> None:
    # GRUB starts the kernel before its final TFTP ACK leaves the card: tftp.done (outcome
    # "unconfirmed") comes after the server's retries, later than the marker. tftp.start names
    # the file; it never stamps the stage by itself.
    t = Timeline("arm64-6", "arm64 UEFI PXE v6", MAC)
    t.started = 100.0
    tracker = Tracker([t], FakeNamespace({}))
    begun = parse_event_line(event("tftp.start", mac=MAC, client="2001:db8::169", file="/arm64/initrd.img", at=110.0),
                             0.0)  # fmt: skip
    assert begun is not None and begun.begun and begun.stage is Stage.INITRD
    tracker.observe(begun)
    assert Stage.INITRD not in t.seen
    assert t.mark(Stage.INITRD, 112.0, "serial")  # "Unpacking initramfs"
    assert t.detail[Stage.INITRD] == "arm64/initrd.img"
    # The other order: the console first, the start line read later.
    u = Timeline("arm64-6", "arm64 UEFI PXE v6", MAC)
    u.started = 100.0
    u.mark(Stage.KERNEL, 111.0, "serial")
    u.began(Stage.KERNEL, 109.0, "arm64/vmlinuz")
    assert u.detail[Stage.KERNEL] == "arm64/vmlinuz"
    u.began(Stage.INITRD, 99.0, "old/initrd.img")  # before this boot: not part of it
    assert Stage.INITRD not in u.begun


class FakeNamespace(Namespace):
    def __init__(self, table: dict[str, str]):
        super().__init__("bwlab-test")
        self.table = table

    def neighbours(self) -> dict[str, str]:
        return self.table

    def add_tap(self, family: int | None) -> str:
        self.taps.append(f"bwtap{len(self.taps)}")
        return self.taps[-1]


def test_a_vm_boots_again_with_a_fresh_timeline(tmp_path: Path) -> None:
    ns = FakeNamespace({})
    vm = VM(scenarios.by_name("bios4"), ns, tmp_path, "marker", "tcg")
    first = vm.timeline
    tracker = Tracker([first], ns)
    first.started = 1000.0
    assert (vm.serial_log.name, first.title) == ("bios4.serial.log", "BIOS v4")
    second = vm.next_boot()
    assert second is vm.timeline and second is not first and second.started is None
    assert (vm.serial_log.name, second.title, vm.tap, ns.taps) == ("bios4-2.serial.log", "BIOS v4, boot 2",
                                                                   "bwtap0", ["bwtap0"])  # fmt: skip
    tracker.follow(second)
    second.started = 2000.0
    offer = parse_event_line(event("dhcp4.offer", mac=MAC, yiaddr="192.0.2.100", at=2001.0), 0.0)
    assert offer is not None
    tracker.observe(offer)
    assert Stage.OFFER in second.seen and Stage.OFFER not in first.seen


def test_tracker_places_lines_by_address() -> None:
    t = Timeline("bios6", "BIOS v6", "52:54:00:b0:00:06", expects_bootprog=False)
    t.started = 1000.0
    tracker = Tracker([t], FakeNamespace({"2001:db8::1d6": "52:54:00:b0:00:06"}))
    fetch = parse_event_line(event("http.request", client="2001:db8::1d6", path="/boot.ipxe", status=200), 0.0)
    assert fetch is not None
    tracker.observe(fetch)
    assert Stage.SCRIPT not in t.seen and tracker.pending
    tracker.retry_pending()
    assert t.seen[Stage.SCRIPT] == pytest.approx(0.5) and t.via[Stage.SCRIPT] == 6 and not tracker.pending


def test_scenarios() -> None:
    assert [s.name for s in scenarios.ALL] == ["bios4", "bios6", "efi4", "efi6", "efihttp4", "efihttp6"]
    assert len({s.mac for s in scenarios.ALL}) == 6
    assert [s.name for s in scenarios.select("efi", "6")] == ["efi6"]
    assert [s.name for s in scenarios.select("all", 4)] == ["bios4", "efi4", "efihttp4"]
    assert scenarios.by_name("efi6").needs == ("dhcp6", "ra", "tftp", "http")
    with pytest.raises(ValueError):
        scenarios.select("uboot")


def test_reference_config_is_exclusive() -> None:
    text = dnsmasq_config(Path("/r"), Path("/w"))
    boots = [line for line in text.splitlines() if line.startswith("dhcp-boot=")]
    assert len(boots) == 4 and all("tag:ipxe" in b or "tag:!ipxe" in b for b in boots)
    assert "option6:16,00:00:01:57:00:0a:48:54:54:50:43:6c:69:65:6e:74" in text  # enterprise 343, "HTTPClient"


@pytest.mark.skipif(tools.REQUIREMENTS["ovmf-code"].find() is None, reason="ovmf is not installed")
def test_qemu_command_lines(tmp_path: Path) -> None:
    efi6 = qemu.command(scenarios.by_name("efi6"), "bwtap3", tmp_path / "s.log", tmp_path / "v.fd", "tcg")
    assert "name=opt/org.tianocore/IPv4PXESupport,string=n" in efi6
    assert "name=opt/org.tianocore/IPv6PXESupport,string=n" not in efi6
    assert any(a.endswith(",romfile=") for a in efi6) and (tmp_path / "v.fd").exists()
    (tmp_path / "v.fd").write_bytes(b"changed by the first boot")
    qemu.command(scenarios.by_name("efi6"), "bwtap3", tmp_path / "s.log", tmp_path / "v.fd", "tcg")
    assert (tmp_path / "v.fd").read_bytes() == b"changed by the first boot"  # NVRAM kept across boots
    http6 = qemu.command(scenarios.by_name("efihttp6"), "bwtap5", tmp_path / "s.log", tmp_path / "w.fd", "tcg")
    assert "name=opt/org.tianocore/IPv6PXESupport,string=n" in http6
    if tools.REQUIREMENTS["seabios"].find() is not None:
        bios = qemu.command(scenarios.by_name("bios6"), "bwtap1", tmp_path / "s.log", None, "tcg")
        # Network only; SeaBIOS resets at once when nothing boots, and -no-reboot makes QEMU exit then.
        assert bios[bios.index("-boot") + 1] == "order=n,reboot-timeout=0" and "-no-reboot" in bios
        assert not any("romfile=" in a for a in bios)


def test_configs_checked_before_any_vm(tmp_path: Path) -> None:
    assert config_problems(REPO / "examples" / "quickstart.toml") == []
    assert config_problems(REPO / "examples" / "seed002-showmax.toml") == []
    other = tmp_path / "other.toml"
    other.write_text('[server]\ninterfaces = ["eth0"]\n[[subnet4]]\nsubnet = "10.0.0.0/24"\n')
    problems = config_problems(other)
    assert any("tap0" in p for p in problems) and any("10.0.0.0/24" in p for p in problems)
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n")
    assert config_problems(broken)


def test_missing_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tools.Requirement("ovmf-code", "ovmf", ("/nonexistent/OVMF_CODE_4M.fd",))
    monkeypatch.setitem(tools.REQUIREMENTS, "ovmf-code", fake)
    with pytest.raises(LabError, match=r"apt-get install ovmf"):
        tools.require("ovmf-code")
    with pytest.raises(LabError, match=r"ovmf-code not found .*apt-get install ovmf"):
        tools.find("ovmf-code")


def test_cli_refuses_a_bad_config_before_anything_starts(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bootwright.cli.main import app

    bad = tmp_path / "bad.toml"
    bad.write_text('[[subnet4]]\nsubnet = "192.0.2.0/24"\npools = ["10.0.0.1-10.0.0.9"]\n')
    result = CliRunner().invoke(app, ["lab", "--config", str(bad), "--firmware", "bios", "--family", "4"])
    assert result.exit_code == 2, result.output
    assert "refused before any VM started" in result.output
