"""``--bmc`` of ``hosts add/set``, ``bootwright power`` and ``bootwright boot --reboot --wait``: messages and exit codes.

BMC steps go to the test driver of tests/unit/bmc/test_control.py (registered
as ``ipmi`` for the test); nothing touches the network.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bootwright.bmc import control as control_module
from bootwright.bmc.base import PowerState
from bootwright.bmc.drivers import DRIVERS
from bootwright.cli import boot as boot_module
from bootwright.cli.boot import DEFAULT_WAIT, optional_wait_value
from bootwright.cli.hosts import parse_bmc
from bootwright.cli.main import app
from tests.unit.bmc.test_control import FakeLab

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SEED003 = EXAMPLES / "seed003-home-lab.toml"
PHOTOSMART = "10:60:4b:11:71:34"  # the config host of seed 003
runner = CliRunner()
_BOX = str.maketrans("", "", "│╭╮╰╯─")


def plain(text: str) -> str:
    """An error as one line: typer draws usage errors in a box and wraps them."""
    return " ".join(text.translate(_BOX).split())


@pytest.fixture
def site(tmp_path: Path) -> Path:
    config = tmp_path / "site.toml"
    config.write_text(SEED003.read_text() + '\n[targets.rescue]\nkernel = "r/vmlinuz"\n')
    return config


@pytest.fixture
def run(tmp_path: Path, site: Path):  # type: ignore[no-untyped-def]
    def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
        argv = optional_wait_value([*args, "--config", str(site), "--state-dir", str(tmp_path / "state")])
        result = runner.invoke(app, argv, input=input)
        return result.exit_code, result.stdout, plain(result.stderr)

    return invoke


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLab]:
    fake = FakeLab()
    monkeypatch.setitem(DRIVERS, "ipmi", fake.driver)
    monkeypatch.setattr(control_module, "POWER_POLL", 0.001)
    monkeypatch.setattr(boot_module, "POLL", 0.02)
    yield fake
    fake.released.set()


# --------------------------------------------------------------------------- parse_bmc


def test_parse_bmc_types_and_key_spellings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_bmc("driver=ipmi,address=10.0.0.5,port=6230,username=admin,cipher-suite=17,password-file=pw") == {
        "driver": "ipmi", "address": "10.0.0.5", "port": 6230, "username": "admin", "cipher_suite": 17,
        "password_file": str(tmp_path / "pw"),  # the CLI's paths mean the working directory
    }
    assert parse_bmc("driver=redfish,address=https://10.0.0.6:8443,verify_tls=no,password_env=PW,"
                     "system=/redfish/v1/Systems/1") == {
        "driver": "redfish", "address": "https://10.0.0.6:8443", "verify_tls": False, "password_env": "PW",
        "system": "/redfish/v1/Systems/1"}
    for text, value in (("true", True), ("YES", True), ("1", True), ("False", False), ("no", False), ("0", False)):
        assert parse_bmc(f"verify-tls={text}") == {"verify_tls": value}
    assert parse_bmc("") == {}
    assert parse_bmc(" username = admin ,, ") == {"username": "admin"}  # items, keys and values are trimmed
    assert parse_bmc("password-file=~/bmc.pw")["password_file"] == str(Path("~/bmc.pw").expanduser().resolve())
    assert parse_bmc("password_env=A=B") == {"password_env": "A=B"}  # only the first = splits


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("password=s3cret", "give the password with --bmc-password-stdin, password-file= or password-env="),
        ("driver=ipmi,password=x", "visible to every user of this machine"),
        ("port=abc", "port must be a number (got 'abc')"),
        ("port=-1", "port must be a number (got '-1')"),
        ("cipher-suite=3.0", "cipher_suite must be a number (got '3.0')"),
        ("verify-tls=maybe", "verify-tls must be true or false (got 'maybe')"),
        ("address", "'address' is not KEY=VALUE"),
        ("=10.0.0.5", "'=10.0.0.5' is not KEY=VALUE"),
    ],
)
def test_parse_bmc_refusals(text: str, needle: str) -> None:
    with pytest.raises(typer.BadParameter) as info:
        parse_bmc(text)
    assert needle in str(info.value)
    assert "s3cret" not in str(info.value)


def test_parse_bmc_refuses_unicode_digits_as_a_bad_parameter() -> None:
    with pytest.raises(typer.BadParameter):
        parse_bmc("port=²")


# --------------------------------------------------------------------------- optional_wait_value


def test_optional_wait_value() -> None:
    default = f"--wait={DEFAULT_WAIT:.0f}"
    assert optional_wait_value(["boot", "web1", "--wait"]) == ["boot", "web1", default]
    assert optional_wait_value(["boot", "web1", "--wait", "--group", "g"]) == ["boot", "web1", default, "--group", "g"]
    assert optional_wait_value(["boot", "--wait", "web1"]) == ["boot", default, "web1"]
    assert optional_wait_value(["boot", "web1", "--wait", "120"]) == ["boot", "web1", "--wait", "120"]
    assert optional_wait_value(["boot", "web1", "--wait", "1.5"]) == ["boot", "web1", "--wait", "1.5"]
    assert optional_wait_value(["boot", "web1", "--wait=30"]) == ["boot", "web1", "--wait=30"]
    assert optional_wait_value(["boot", "web1", "--wait", "-5"]) == ["boot", "web1", "--wait", "-5"]  # refused later
    assert optional_wait_value(["boot", "web1"]) == ["boot", "web1"]
    assert optional_wait_value([]) == []
    assert DEFAULT_WAIT == 600


def test_a_bad_wait_value_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("boot", "photosmart", "--target", "rescue", "--once", "--reboot", "--wait", "-5")
    assert code == 2 and "give a positive number of seconds" in err
    code, _, err = run("boot", "photosmart", "--target", "rescue", "--once", "--reboot", "--wait=soon")
    assert code == 2 and "'soon' is not a number of seconds" in err


# --------------------------------------------------------------------------- usage errors of boot and power


def test_wait_without_a_one_shot_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    for args in (["--wait"], ["--wait", "30"], ["--target", "rescue", "--wait"], ["--once", "--wait"],
                 ["--reboot", "--wait"]):
        code, _, err = run("boot", "photosmart", *args)
        assert code == 2, args
        assert "--wait follows a one-shot boot: give --target T --once" in err


def test_boot_options_for_the_bmc_need_reboot(run) -> None:  # type: ignore[no-untyped-def]
    for option in ("--http", "--uefi", "--legacy"):
        code, _, err = run("boot", "photosmart", "--target", "rescue", "--once", option)
        assert code == 2, option
        assert "--uefi, --legacy and --http tell the BMC how to boot: add --reboot" in err


def test_boot_needs_a_host_or_a_group_and_reboot_no_cancel(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("boot", "--target", "rescue", "--once")
    assert code == 2 and "give a host name or --group (not both)" in err
    code, _, err = run("boot", "photosmart", "--group", "g", "--target", "rescue", "--once")
    assert code == 2 and "give a host name or --group (not both)" in err
    code, _, err = run("boot", "photosmart", "--cancel", "--reboot")
    assert code == 2 and "--cancel does not go with --reboot" in err


def test_reboot_of_a_host_without_a_bmc_exits_2_with_the_hint(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("boot", "photosmart", "--target", "rescue", "--once", "--reboot")
    assert code == 2
    assert "host photosmart has no BMC: add one with bootwright hosts set photosmart --bmc" in err
    code, out, _ = run("hosts", "show", "photosmart", "--json")
    assert json.loads(out)["boot"] is None  # refused before the one-shot was set


def test_power_of_a_host_without_a_bmc_exits_2_with_the_hint(run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("power", "photosmart", "status")
    assert code == 2 and out == ""
    assert "host photosmart has no BMC: add one with bootwright hosts set photosmart --bmc driver=ipmi" in err
    assert "Traceback" not in err
    code, _, err = run("power", "ghost", "status")
    assert code == 2 and "no host named 'ghost'" in err
    code, _, err = run("power", "photosmart", "explode")
    assert code == 2 and "'explode' is not one of status, on, off, soft, cycle, reset" in err


# --------------------------------------------------------------------------- hosts add/set --bmc


def test_set_bmc_with_password_on_stdin_is_stored_never_shown(run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("hosts", "set", "photosmart", "--bmc", "driver=ipmi,address=10.0.0.5,username=admin",
                         "--bmc-password-stdin", input="s3cret-pw\nignored\n")
    assert code == 0, err
    code, out, _ = run("hosts", "show", "photosmart", "--json")
    data = json.loads(out)
    assert data["bmc"] == {"driver": "ipmi", "address": "10.0.0.5", "username": "admin", "password_set": True}
    assert "s3cret-pw" not in out and data["overrides"] == ["bmc"]
    code, out, _ = run("hosts", "show", "photosmart")
    assert "password_set=True" in out and "s3cret-pw" not in out
    code, out, _ = run("hosts", "list", "--json")
    assert "s3cret-pw" not in out
    # --bmc merges into the current BMC and keeps the password.
    code, _, err = run("hosts", "set", "photosmart", "--bmc", "username=operator,cipher-suite=17")
    assert code == 0, err
    code, out, _ = run("hosts", "show", "photosmart", "--json")
    assert json.loads(out)["bmc"] == {"driver": "ipmi", "address": "10.0.0.5", "username": "operator",
                                      "cipher_suite": 17, "password_set": True}
    # Another password source replaces the stored password.
    code, _, _ = run("hosts", "set", "photosmart", "--bmc", "password-env=PHOTOSMART_BMC")
    code, out, _ = run("hosts", "show", "photosmart", "--json")
    assert json.loads(out)["bmc"]["password_env"] == "PHOTOSMART_BMC"
    # The BMC removed again.
    code, _, _ = run("hosts", "set", "photosmart", "--unset", "bmc")
    code, out, _ = run("hosts", "show", "photosmart", "--json")
    assert code == 0 and "bmc" not in json.loads(out)


def test_add_with_a_bmc_and_refusals(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("hosts", "add", "nas", "--mac", "52:54:00:aa:bb:01", "--bmc",
                       f"driver=redfish,address=https://10.0.0.9,password-file={tmp_path / 'nas.pw'}")
    assert code == 0, err
    code, out, _ = run("hosts", "show", "nas", "--json")
    assert json.loads(out)["bmc"] == {"driver": "redfish", "address": "https://10.0.0.9",
                                      "password_file": str(tmp_path / "nas.pw"), "password_set": True}
    code, _, err = run("hosts", "add", "x", "--mac", "52:54:00:aa:bb:02", "--bmc", "driver=ipmi,password=pw")
    assert code == 2 and "--bmc-password-stdin" in err
    code, _, err = run("hosts", "set", "nas", "--bmc", "port=http")
    assert code == 2 and "port must be a number (got 'http')" in err
    code, _, err = run("hosts", "set", "nas", "--bmc", "cipher-suite=17")
    assert code == 2 and "cipher_suite is an IPMI setting; this BMC's driver is redfish" in err
    code, _, err = run("hosts", "add", "y", "--mac", "52:54:00:aa:bb:03", "--bmc", "address=10.0.0.3")
    assert code == 2 and "bmc.driver" in err


# --------------------------------------------------------------------------- power and boot --reboot (test driver)


def with_bmc(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("hosts", "set", "photosmart", "--bmc", "driver=ipmi,address=10.0.0.5,username=admin",
                       "--bmc-password-stdin", input="s3cret-pw\n")
    assert code == 0, err


def test_power_through_the_test_driver(run, lab: FakeLab) -> None:  # type: ignore[no-untyped-def]
    with_bmc(run)
    code, out, err = run("power", "photosmart", "status")
    assert code == 0, err
    assert out.strip() == "photosmart: power on (BMC ipmi 10.0.0.5)"
    code, out, _ = run("power", "photosmart", "off", "--json")
    assert json.loads(out) == {"host": "photosmart", "bmc": "ipmi 10.0.0.5", "action": "off", "accepted": True}
    code, out, _ = run("power", "photosmart", "status", "--json")
    assert json.loads(out)["power"] == "off"
    assert lab.passwords == ["s3cret-pw"] * 3  # the stored password reached the driver
    assert lab.machine("10.0.0.5").power == PowerState.OFF
    code, out, _ = run("events", "--host", "photosmart", "--json")
    [attempt] = json.loads(out)
    assert [s["text"] for s in attempt["steps"]] == ["BMC: power off"]  # accepted steps are in the timeline


def test_power_errors_exit_1(run, lab: FakeLab) -> None:  # type: ignore[no-untyped-def]
    from bootwright.bmc.base import BmcAuthFailed

    with_bmc(run)
    lab.fail["power_state"] = BmcAuthFailed("IPMI BMC 10.0.0.5:623 refused the password")
    code, _, err = run("power", "photosmart", "status")
    assert code == 1 and "host photosmart: IPMI BMC 10.0.0.5:623 refused the password" in err
    code, out, _ = run("hosts", "show", "photosmart", "--json")
    last = json.loads(out)["last_boot"]  # the failure is in the host's timeline
    assert last["status"] == "failed" and "BMC get power failed" in last["stop"]


def test_reboot_and_wait_until_out_of_time(run, lab: FakeLab) -> None:  # type: ignore[no-untyped-def]
    with_bmc(run)
    code, out, err = run("boot", "photosmart", "--target", "rescue", "--once", "--reboot", "--wait", "0.3")
    assert code == 1, err
    assert "photosmart: BMC set the next boot to PXE once; power was on; soft off, on" in out
    assert f"FAILED: BMC accepted PXE once but no DHCP seen from MAC {PHOTOSMART} in " in out
    assert "BMC: next boot from PXE (once)" in out and "BMC: power on" in out  # the timeline, as it happened
    assert [m for m, _ in lab.methods()] == ["set_next_boot", "power_state", "set_power", "power_state",
                                             "power_state", "power_state", "set_power"]
    code, out, _ = run("hosts", "show", "photosmart", "--json")
    data = json.loads(out)
    assert data["boot"]["target"] == "rescue" and data["boot"]["state"] == "pending"
    assert data["last_boot"]["stage"] == "bmc"


def test_reboot_without_wait(run, lab: FakeLab) -> None:  # type: ignore[no-untyped-def]
    with_bmc(run)
    lab.machine("10.0.0.5").power = PowerState.OFF
    code, out, err = run("boot", "photosmart", "--target", "rescue", "--once", "--reboot", "--uefi")
    assert code == 0, err
    assert "note: the BMC kept legacy mode" in out
    assert "BMC set the next boot to PXE once; power was off; on" in out  # the UEFI flag was dropped


def test_the_console_script_reads_a_bare_wait(tmp_path: Path, site: Path) -> None:
    """``--wait`` without a number through the real entry point: a usage error about the one-shot, not click's."""
    bootwright = Path(sys.executable).parent / "bootwright"
    proc = subprocess.run([str(bootwright), "boot", "photosmart", "--wait", "--config", str(site),
                           "--state-dir", str(tmp_path / "state")], capture_output=True, text=True, check=False,
                          timeout=60)
    assert proc.returncode == 2
    assert "--wait follows a one-shot boot: give --target T --once" in plain(proc.stderr)
    assert "requires an argument" not in plain(proc.stderr)
