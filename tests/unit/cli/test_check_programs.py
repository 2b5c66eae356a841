"""``bootwright check`` says where each boot program comes from: the root, the iPXE package, or nowhere.

A temporary directory stands in for ``/usr/lib/ipxe`` (``[boot] ipxe_dir``);
the root is given with ``--root`` as ``serve`` takes it.
"""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from bootwright.cli.main import app

runner = CliRunner()

SITE = """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[boot]
ipxe_dir = "{pkg}"
"""


def check(tmp_path: Path, extra: str = "", *flags: str) -> tuple[int, list[str], str]:
    """Run check on an empty root with the package at ``tmp_path/pkg``: exit code, summary rows, stderr."""
    root, pkg = tmp_path / "root", tmp_path / "pkg"
    root.mkdir(exist_ok=True)
    pkg.mkdir(exist_ok=True)
    config = tmp_path / "site.toml"
    config.write_text(SITE.format(pkg=pkg) + extra)
    result = runner.invoke(app, ["check", "-c", str(config), "--root", str(root), "--state-dir",
                                 str(tmp_path / "state"), *flags], env={"COLUMNS": "200"})  # fmt: skip
    rows = [re.sub(r"\s+", " ", line).strip() for line in result.stdout.splitlines()]
    return result.exit_code, rows, result.stderr.replace("\n", " ")


def row(rows: list[str], file: str) -> str:
    shown = [r.removeprefix("boot programs ") for r in rows]
    [found] = [r for r in shown if r.startswith(file + " ")]
    return found


def test_an_empty_root_boots_from_the_package(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for name in ("undionly.kpxe", "ipxe.efi", "ipxe.lkrn"):
        (pkg / name).write_bytes(b"x")
    code, rows, err = check(tmp_path)
    assert code == 0 and "warning" not in err
    assert f"iPXE package {pkg}" in rows
    assert row(rows, "undionly.kpxe") == f"undionly.kpxe {pkg}/undionly.kpxe x86 BIOS (0)"
    assert row(rows, "ipxe.efi") == f"ipxe.efi {pkg}/ipxe.efi x64 UEFI (7, 9), x64 UEFI HTTP (16)"
    # builds no Debian package ships are shown as missing, without a warning on every machine
    assert row(rows, "ipxe-arm64.efi") == "ipxe-arm64.efi MISSING ARM 64-bit UEFI (11), ARM 64-bit UEFI HTTP (19)"


def test_a_file_in_the_root_wins_and_root_is_the_one_given(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ipxe.efi").write_bytes(b"x")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "ipxe.efi").write_bytes(b"pinned")
    _, rows, _ = check(tmp_path)
    assert row(rows, "ipxe.efi") == "ipxe.efi root x64 UEFI (7, 9), x64 UEFI HTTP (16)"


def test_missing_programs_are_warned_about_by_architecture_with_what_to_do(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    code, rows, err = check(tmp_path)
    assert code == 0
    assert row(rows, "ipxe.efi") == "ipxe.efi MISSING x64 UEFI (7, 9), x64 UEFI HTTP (16)"
    root = (tmp_path / "root").resolve()
    assert (f"site.toml:7: boot.ipxe_dir: x64 UEFI (7, 9), x64 UEFI HTTP (16) cannot boot: ipxe.efi is in neither "
            f"the root {root} nor {pkg}; put it in {pkg}, or put it in the root") in err  # fmt: skip
    assert "x86 BIOS (0) cannot boot: undionly.kpxe" in err and "x86 BIOS HTTP (20) cannot boot: ipxe.lkrn" in err
    assert "ARM" not in err
    code, _, err = check(tmp_path, "", "--strict")  # warnings are errors there, these too
    assert code == 2 and "error:" in err and "cannot boot: ipxe.efi" in err


def test_an_override_names_its_key_and_is_looked_up_in_the_root_only(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "snponly.efi").write_bytes(b"x")
    code, rows, err = check(tmp_path, 'files = { "11" = "arm64/snponly.efi", "7" = "snponly.efi" }\n')
    assert code == 0
    assert row(rows, "snponly.efi") == f"snponly.efi {tmp_path / 'pkg'}/snponly.efi x64 UEFI (7)"
    assert row(rows, "arm64/snponly.efi") == "arm64/snponly.efi MISSING ARM 64-bit UEFI (11)"
    assert "site.toml:8: boot.files.11: ARM 64-bit UEFI (11) cannot boot: arm64/snponly.efi ([boot.files])" in err


def test_a_disabled_fallback_and_a_disabled_table(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    config = tmp_path / "off.toml"
    config.write_text('[[subnet4]]\nsubnet = "192.0.2.0/24"\n[boot]\nipxe_dir = false\n')
    args = ["check", "-c", str(config), "--root", str(tmp_path / "root"), "--state-dir", str(tmp_path / "state")]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "iPXE package off (boot.ipxe_dir)" in re.sub(r"\s+", " ", result.stdout)
    assert "ipxe.efi is not in the root" in result.stderr and "boot.ipxe_dir is off" in result.stderr
    config.write_text('[[subnet4]]\nsubnet = "192.0.2.0/24"\n[boot]\nbuiltin = false\n')
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "boot programs" not in result.stdout and "cannot boot" not in result.stderr
