"""``bootwright import``: one site's files in, a config that `check` passes and an inventory CSV out."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bootwright.cli.main import app
from bootwright.config import load_config
from bootwright.inventory.formats import read_hosts

DATA = Path(__file__).resolve().parents[2] / "data" / "migrate"
runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_seed002_dhcpd_and_dhcpd6_become_one_config_that_check_passes(tmp_path: Path) -> None:
    out, root = tmp_path / "site", tmp_path / "tftp"
    root.mkdir()
    (root / "ipxe32.efi").write_bytes(b"MZ")  # Debian builds no 32-bit EFI iPXE; the seed compiles its own
    code, stdout, stderr = _run("import", str(DATA / "seed002/dhcpd.conf"), str(DATA / "seed002/dhcpd6.conf"),
                                "--out", str(out), "--root", str(root))
    assert code == 0, stdout + stderr
    assert "dhcpd.conf:4: ignored: ddns-update-style none;" in stdout
    assert "warning" not in stderr  # no chain-load loop: the iPXE rule comes first, as in the seed
    config = load_config(out / "bootwright.toml")
    assert [str(s.subnet) for s in config.subnet4] == ["192.0.2.0/24"]
    assert [str(s.prefix) for s in config.subnet6] == ["2001:db8::/64"]
    assert config.root == root
    text = (out / "bootwright.toml").read_text()
    assert text.startswith("# bootwright config translated by `bootwright import`")
    assert not (out / "hosts.csv").exists()  # the seed has no host blocks
    code, stdout, stderr = _run("check", "-c", str(out / "bootwright.toml"), "--strict")
    assert code == 0, stdout + stderr


def test_dhcpd6_and_radvd_join_into_one_subnet_and_hosts_go_to_the_csv(tmp_path: Path) -> None:
    code, stdout, _ = _run("import", str(DATA / "own/dhcpd.conf"), "--out", str(tmp_path), "--json",
                           "--include-dir", str(DATA / "own"))
    assert code == 0, stdout
    report = json.loads(stdout)
    assert report["hosts"] >= 1 and report["errors"] == []
    assert all(f["file"].endswith(".conf") or f["file"].endswith(".inc") for f in report["findings"])
    parsed = read_hosts("csv", (tmp_path / "hosts.csv").read_text())
    assert parsed.problems == [] and len(parsed.hosts) == report["hosts"]
    code, stdout, _ = _run("import", str(DATA / "seed001/dhcpd6.conf"), f"radvd:{DATA / 'seed001/radvd.conf'}",
                           "--json")
    report = json.loads(stdout)
    (subnet,) = report["config"]["subnet6"]
    assert subnet["interface"] == "eth0" and subnet["ra"]["managed"] is True and subnet["pools"]
    untranslated = [f"{Path(f['file']).name}:{f['line']}" for f in report["findings"] if f["action"] == "untranslated"]
    assert untranslated == ["dhcpd6.conf:38", "dhcpd6.conf:39"]  # range6 temporary, prefix6: named with lines
    code, _, _ = _run("import", str(DATA / "seed001/dhcpd6.conf"), "--strict")
    assert code == 1


def test_an_ra_daemon_alone_turns_dhcpv6_off() -> None:
    code, stdout, _ = _run("import", str(DATA / "seed000/bird.conf"), "--json")
    report = json.loads(stdout)
    assert code == 0 and report["config"]["dhcp6"] == {"enabled": False} and report["findings"] == []


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    code, _, stderr = _run("import", str(tmp_path / "missing.conf"))
    assert code == 2 and "missing.conf: cannot read" in stderr and "Traceback" not in stderr
    odd = tmp_path / "notes.txt"
    odd.write_text("hello world\n")
    code, _, stderr = _run("import", str(odd))
    assert code == 2 and "not recognised" in stderr and "FORMAT:" in stderr
    broken = tmp_path / "kea.json"
    broken.write_text('{"Dhcp4": {"subnet4": [ }\n')
    code, _, stderr = _run("import", f"kea:{broken}")
    assert code == 2 and "kea.json" in stderr and "Traceback" not in stderr
    out = tmp_path / "o"
    assert _run("import", str(DATA / "seed004/dhcpd.conf"), "--out", str(out))[0] == 0
    code, _, stderr = _run("import", str(DATA / "seed004/dhcpd.conf"), "--out", str(out))
    assert code == 2 and "--force" in stderr
