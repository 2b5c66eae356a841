"""``bootwright probe dhcp``: its error paths are one line and exit 2, never a traceback, and send nothing.

The probe against real servers is tests/interop/test_probe.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootwright.cli.main import app
from bootwright.cli.probe import to_dict
from bootwright.wire.dhcp4 import BOOTREPLY, Dhcp4Message

REPO = Path(__file__).resolve().parents[3]
BOOTWRIGHT = REPO / ".venv" / "bin" / "bootwright"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["probe", "dhcp", *args])
    return result.exit_code, result.stdout, result.stderr


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_an_unknown_interface_is_one_line_naming_it() -> None:
    code, out, err = run("bwnosuch0")
    assert code == 2 and out == ""
    assert one_error_line(err) == "error: no network interface named 'bwnosuch0' (see `ip link`)"


@pytest.mark.parametrize(
    ("mac", "why"),
    [("52:54:00:zz:00:01", "--mac"), ("01:00:5e:00:00:01", "multicast")],
)
def test_a_bad_mac_is_a_usage_error(mac: str, why: str) -> None:
    code, _, err = run("lo", "--mac", mac)
    assert code == 2 and why in err and "Traceback" not in err


def test_timeout_out_of_range_is_a_usage_error() -> None:
    code, _, err = run("lo", "--timeout", "0")
    assert code == 2 and "--timeout" in err


def test_without_cap_net_raw_it_says_so() -> None:
    """As root the capability is dropped (``setpriv``) in a new network namespace, where nothing could leave anyway."""
    cmd = [str(BOOTWRIGHT), "probe", "dhcp", "lo"]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None or shutil.which("unshare") is None:
            pytest.skip("needs setpriv and unshare (util-linux) to drop CAP_NET_RAW")
        cmd = ["unshare", "--net", "setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw", *cmd]
    if not BOOTWRIGHT.exists():
        pytest.skip(f"{BOOTWRIGHT} is missing (run scripts/setup.sh)")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert line == "error: probing lo needs root or CAP_NET_RAW (it sends and hears through packet sockets)"


def test_the_json_keys_are_the_documented_ones() -> None:
    """docs/probe.md lists these keys; a change here is a change of the contract."""
    from ipaddress import IPv4Address

    from bootwright.boot.foreign import offer_of

    msg = Dhcp4Message(op=BOOTREPLY, xid=1, chaddr=b"\x02" * 6, options={53: b"\x02"})
    shown = to_dict(offer_of(msg, IPv4Address("192.0.2.1"), b"\x52\x54\x00\x00\x00\x01"))
    assert list(shown) == [
        "server_id", "source", "mac", "local", "relay", "offered", "proxy", "vendor_class", "pxe_client",
        "next_server", "boot_file", "tftp_server", "option43", "subnet_mask", "routers", "dns", "lease_time",
    ]  # fmt: skip
    assert shown["offered"] is None and shown["server_id"] is None and shown["routers"] == []
    docs = (REPO / "docs" / "probe.md").read_text()
    assert all(f"`{key}`" in docs for key in shown), "docs/probe.md does not describe every key"
