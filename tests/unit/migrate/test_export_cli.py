"""``bootwright export FORMAT``: text on stdout, ``note:`` lines on stderr, exit 0 unless the config is bad."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bootwright.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def run(tmp_path: Path, *args: str) -> object:
    return CliRunner().invoke(app, ["export", *args, "--state-dir", str(tmp_path / "state")])


def test_dhcpd_of_seed_003_on_stdout(tmp_path: Path) -> None:
    result = run(tmp_path, "dhcpd", "--config", str(EXAMPLES / "seed003-home-lab.toml"))
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert "host photosmart {" in result.stdout  # type: ignore[attr-defined]


def test_notes_go_to_stderr_and_out_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "dnsmasq.conf"
    result = run(tmp_path, "dnsmasq", "--config", str(EXAMPLES / "seed003-home-lab.toml"), "--out", str(out))
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert "dhcp-host=10:60:4b:11:71:34,192.168.2.53,photosmart" in out.read_text()
    assert "note: dhcp4.max_lease_time:" in result.stderr  # type: ignore[attr-defined]


def test_zones_and_libvirt(tmp_path: Path) -> None:
    config = str(EXAMPLES / "seed003-home-lab.toml")
    forward = run(tmp_path, "zone-forward", "--config", config)
    assert forward.exit_code == 0 and "photosmart\tIN\tA\t192.168.2.53" in forward.stdout  # type: ignore[attr-defined]
    reverse = run(tmp_path, "zone-reverse", "--config", config)
    assert "53\tIN\tPTR\tphotosmart.home.kraxel.org." in reverse.stdout  # type: ignore[attr-defined]
    efi = run(tmp_path, "libvirt", "--config", config, "--libvirt-arch", "efi")
    assert '<bootp file="efi-x64/shim.efi" server="192.168.2.14"/>' in efi.stdout  # type: ignore[attr-defined]


def test_unknown_format_and_bad_config_exit_2(tmp_path: Path) -> None:
    assert run(tmp_path, "bind", "--config", str(EXAMPLES / "quickstart.toml")).exit_code == 2  # type: ignore[attr-defined]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[subnet4]]\nsubnet = "192.0.2.0/24"\npools = ["192.0.3.1-192.0.3.9"]\n')
    result = run(tmp_path, "dhcpd", "--config", str(bad))
    assert result.exit_code == 2 and "outside" in result.stderr  # type: ignore[attr-defined]
