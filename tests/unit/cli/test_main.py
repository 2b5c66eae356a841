"""The command line: exit codes and messages for people, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootwright import __version__
from bootwright.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
QUICK = str(EXAMPLES / "quickstart.toml")
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"bootwright {__version__}"


def test_console_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bootwright.cli", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and __version__ in proc.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--mac", "52:54:00:zz:00:01"], "is not a MAC address"),
        (["--mac", "52:54:00:00:00:01", "--arch", "seven"], "is not an architecture code"),
        (["--mac", "52:54:00:00:00:01", "--arch", "70000"], "outside 0–65535"),
        (["--mac", "52:54:00:00:00:01", "--duid", "xyz"], "is not hex"),
    ],
)
def test_bad_flags_exit_2(args: list[str], needle: str) -> None:
    code, _, err = run("explain", "--config", QUICK, "--family", "4", *args)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err


def test_bad_family_exit_2() -> None:
    code, _, err = run("explain", "--config", QUICK, "--family", "5", "--mac", "52:54:00:00:00:01")
    assert code == 2 and "is not 4 or 6" in err


def test_check_bad_config_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[subnet4]]\nsubnet = "192.0.2.0/24"\npools = ["192.0.3.10-192.0.3.20"]\n')
    code, _, err = run("check", "--config", str(bad))
    assert code == 2
    assert f"{bad}:3: subnet4[0].pools[0]: 192.0.3.10 is outside 192.0.2.0/24" in err.replace("\n", "")
    assert "Traceback" not in err


def test_check_missing_file_exit_2(tmp_path: Path) -> None:
    code, _, err = run("check", "--config", str(tmp_path / "nope.toml"))
    assert code == 2 and "cannot read the file" in err


def test_check_reports_template_errors_with_path_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "t.toml"
    cfg.write_text('[targets.t]\nkernel = "k"\ncmdline = "a {{ host.name "\n')
    code, _, err = run("check", "--config", str(cfg))
    assert code == 2
    assert "targets.t.cmdline: template error at line 1" in err


def test_check_reports_undefined_template_variables(tmp_path: Path) -> None:
    cfg = tmp_path / "t.toml"
    cfg.write_text('[targets.t]\nkernel = "k"\ncmdline = "role={{ vars.role }}"\n')
    code, _, err = run("check", "--config", str(cfg))
    assert code == 2
    assert "targets.t.cmdline" in err and "role" in err


def test_check_summary() -> None:
    code, out, _ = run("check", "--config", QUICK)
    assert code == 0
    assert "192.0.2.0/24" in out and "2001:db8::/64" in out and "RA flags MO" in out


def test_explain_unknown_arch_warns_and_uses_default() -> None:
    code, out, err = run("explain", "--config", QUICK, "--family", "4", "--mac", "52:54:00:00:00:01",
                         "--arch", "4242", "--json")
    assert code == 0
    got = json.loads(out)
    assert got["rule"] == "builtin:default"
    assert got["bootfile"] == "undionly.kpxe"
    assert any("4242" in w for w in got["warnings"])
    assert "4242" in err


def test_explain_json_contract_keys() -> None:
    code, out, _ = run("explain", "--config", QUICK, "--family", "6", "--mac", "52:54:00:00:00:01",
                       "--user-class", "iPXE", "--json")
    assert code == 0
    got = json.loads(out)
    for key in ("family", "host", "rule", "bootfile", "next_server", "vendor_class", "options", "script"):
        assert key in got
    assert all(k.isdigit() and isinstance(v, str) for k, v in got["options"].items())
    assert got["script"].startswith("#!ipxe")
    assert "http://[2001:db8::1]/vmlinuz" in got["script"]


def test_explain_readable_table() -> None:
    code, out, _ = run("explain", "--config", QUICK, "--family", "4", "--mac", "52:54:00:00:00:01", "--arch", "7")
    assert code == 0
    assert "ipxe.efi" in out and "x64 UEFI" in out


def test_arch_forms_are_equivalent() -> None:
    answers = set()
    for form in ("7", "0x07", "00:07", "0007"):
        _, out, _ = run("explain", "--config", QUICK, "--family", "4", "--mac", "52:54:00:00:00:01",
                        "--arch", form, "--json")
        answers.add(json.loads(out)["bootfile"])
    assert answers == {"ipxe.efi"}


def test_entry_script() -> None:
    code, out, _ = run("entry-script", "--config", QUICK, "--family", "6")
    assert code == 0
    assert "chain --autofree http://[2001:db8::1]/boot/${netX/mac:hexhyp}.ipxe?platform=${platform}" in out


# A `bootwright serve` whose services fail as they do without root: the ServiceError raised
# "from None" inside `except PermissionError`, from a TaskGroup (so inside an ExceptionGroup).
_UNPRIVILEGED = """
import asyncio, sys
import bootwright.app
from bootwright.runtime import ServiceError

async def refused(runtime, stop=None):
    async def dhcp4():
        try:
            raise PermissionError(13, "Permission denied")
        except PermissionError as e:
            raise ServiceError(f"dhcp4: cannot listen on port 67: {e.strerror}") from None
    async with asyncio.TaskGroup() as group:
        group.create_task(dhcp4())

bootwright.app.run_services = refused
from bootwright.cli.main import main
sys.argv = ["bootwright", "serve", "--config", sys.argv[1]]
main()
"""


def test_serve_without_root_names_the_port_and_the_privilege(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    config = tmp_path / "site.toml"
    config.write_text(f'root = "{tmp_path / "root"}"\nstate_dir = "{tmp_path / "state"}"\n'
                      '[[subnet4]]\nsubnet = "192.0.2.0/24"\n')
    proc = subprocess.run([sys.executable, "-c", _UNPRIVILEGED, str(config)], capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "error: dhcp4: cannot listen on port 67: Permission denied" in proc.stderr
    assert "needs root, or CAP_NET_BIND_SERVICE" in proc.stderr and "CAP_NET_RAW" in proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
