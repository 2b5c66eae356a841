"""The BMC simulators of :mod:`bootwright.lab.bmcsim`, driven by the reference clients.

These test the harness itself (issue 14 builds IPMI/Redfish power control on it):

- ipmitool (``-I lanplus -C 3``) against :class:`IpmiSim` without a VM: power
  status/on/off/cycle/soft and ``bootdev pxe`` reach the chassis program
  (``calls.log``) and its power flag agrees; a wrong password is refused.
- ipmitool against an :class:`IpmiSim` whose chassis is a small QEMU VM
  (``machine.json``): power on starts the network command line, off kills it.
- curl against :class:`RedfishSim`: GET the system, PATCH the boot override,
  POST ``ComputerSystem.Reset`` → the bridge's chassis is on and booted from
  the network; a refused UEFI override (``refuse_uefi=True``); auth.
- Both simulators inside a network namespace.
- 50 IpmiSims started and stopped (timed, printed; no timing assertion).

Everything listens on 127.0.0.1 (or inside a namespace created here) on
ports the kernel reports free; every process is stopped by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bmcrig import SUSHY_EMULATOR, free_ports, wait_for

from bootwright.lab import chassis as chassis_module
from bootwright.lab.bmcsim import IpmiSim, RedfishSim, SimulatorError, start_all, stop_all
from bootwright.lab.chassis import Chassis

pytestmark = pytest.mark.interop

QEMU = "qemu-system-x86_64"


def _missing(*tools: str) -> str | None:
    for tool in tools:
        if shutil.which(tool) is None:
            return f"{tool!r} is not installed (Debian: openipmi, ipmitool)"
    return None


needs_ipmi = pytest.mark.skipif(_missing("ipmi_sim", "ipmitool") is not None,
                                reason=_missing("ipmi_sim", "ipmitool") or "")
needs_redfish = pytest.mark.skipif(not SUSHY_EMULATOR.exists() or shutil.which("curl") is None,
                                   reason=f"{SUSHY_EMULATOR} (pip install sushy-tools) or curl is missing")
needs_qemu = pytest.mark.skipif(shutil.which(QEMU) is None, reason=f"{QEMU} is not installed (Debian: qemu-system-x86)")
needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                reason="needs root and ip (iproute2) to create a network namespace")




def alive(pid: int | None) -> bool:
    """Whether ``pid`` runs (a zombie waiting for init to reap it does not)."""
    try:
        return pid is not None and Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def ipmitool(sim: IpmiSim, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sim.ipmitool(*args, password=password), capture_output=True, text=True, timeout=30,
                          check=False)


def curl(sim: RedfishSim, method: str, path: str, body: Any = None, user: str = "admin:secret") -> tuple[int, Any]:
    """``curl`` against the emulator: (HTTP status, parsed JSON body or None)."""
    cmd = ["curl", "-s", "-S", "--max-time", "10", "-u", user, "-X", method, "-o", "-", "-w", "\n%{http_code}"]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    result = subprocess.run([*cmd, sim.url + path], capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 0, result.stderr
    text, _, code = result.stdout.rpartition("\n")
    return int(code), json.loads(text) if text.strip() else None


@pytest.fixture
def ipmi(tmp_path: Path) -> Iterator[IpmiSim]:
    with IpmiSim(tmp_path / "bmc", free_ports(1)[0]) as sim:
        yield sim


@pytest.fixture
def redfish(tmp_path: Path) -> Iterator[RedfishSim]:
    with RedfishSim(tmp_path / "bmc", free_ports(1, socket.SOCK_STREAM)[0]) as sim:
        yield sim


@contextlib.contextmanager
def namespace(tag: str) -> Iterator[str]:
    """A fresh network namespace (only loopback), deleted afterwards."""
    name = f"bwt-{tag}-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=10)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True, timeout=10)


# --------------------------------------------------------------------------- the chassis program


def test_chassis_program_rejects_bad_calls_without_a_traceback(tmp_path: Path) -> None:
    program = [sys.executable, "-I", str(Path(chassis_module.__file__))]  # as ipmi_sim runs it (lan.conf)
    for args in (["0x20", "set", "power", "2"], ["0x20", "get", "voltage"], ["0x20", "jump"], []):
        result = subprocess.run([*program, str(tmp_path), *args],
                                capture_output=True, text=True, timeout=20, check=False)
        assert result.returncode == 2, (args, result)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    result = subprocess.run([*program, str(tmp_path), "0x20", "get", "power"],
                            capture_output=True, text=True, timeout=20, check=True)
    assert result.stdout == "power:0\n"
    assert Chassis(tmp_path).calls()[-1] == "0x20 get power"


# --------------------------------------------------------------------------- IPMI


@needs_ipmi
def test_ipmitool_power_and_bootdev_reach_the_chassis(ipmi: IpmiSim) -> None:
    chassis = ipmi.chassis
    assert ipmitool(ipmi, "chassis", "power", "status").stdout.strip() == "Chassis Power is off"

    result = ipmitool(ipmi, "chassis", "bootdev", "pxe")
    assert result.returncode == 0 and "Set Boot Device to pxe" in result.stdout, result
    assert chassis.calls()[-1] == "0x20 set boot pxe" and chassis.bootdev() == "pxe"

    assert ipmitool(ipmi, "chassis", "power", "on").returncode == 0
    assert "0x20 set power 1" in chassis.calls()
    assert chassis.power() and chassis.last_boot() == "pxe"
    assert chassis.bootdev() == "default"  # without the persistent flag the override is for the next boot only
    assert ipmitool(ipmi, "chassis", "power", "status").stdout.strip() == "Chassis Power is on"

    assert ipmitool(ipmi, "chassis", "power", "off").returncode == 0
    assert chassis.calls()[-1] == "0x20 set power 0" and not chassis.power()
    assert ipmitool(ipmi, "chassis", "power", "status").stdout.strip() == "Chassis Power is off"

    assert ipmitool(ipmi, "chassis", "power", "on").returncode == 0
    assert ipmitool(ipmi, "chassis", "power", "soft").returncode == 0
    assert chassis.calls()[-1] == "0x20 set shutdown 1" and not chassis.power()  # no VM: soft off = off

    assert ipmitool(ipmi, "chassis", "power", "reset").returncode == 0
    assert chassis.calls()[-1] == "0x20 set reset 1" and chassis.power()

    # ipmi_sim does a power cycle as "set power 0", then "set power 1" about a second later.
    before = len(chassis.calls())
    assert ipmitool(ipmi, "chassis", "power", "cycle").returncode == 0
    wait_for("set power 1 after the cycle", lambda: "0x20 set power 1" in chassis.calls()[before:])
    assert chassis.calls()[before:].count("0x20 set power 0") == 1 and chassis.power()


@needs_ipmi
def test_ipmitool_with_a_wrong_password_is_refused(ipmi: IpmiSim) -> None:
    before = ipmi.chassis.calls()
    result = ipmitool(ipmi, "chassis", "power", "on", password="wrong")
    assert result.returncode != 0
    assert "Unable to establish IPMI v2 / RMCP+ session" in result.stderr, result.stderr
    assert ipmi.chassis.calls() == before and not ipmi.chassis.power()


@needs_ipmi
@needs_qemu
def test_ipmitool_switches_a_qemu_vm(tmp_path: Path) -> None:
    chassis = Chassis(tmp_path / "bmc" / "chassis")
    base = [QEMU, "-accel", "tcg", "-m", "64", "-display", "none", "-nodefaults", "-machine", "pc",
            "-monitor", "none"]
    chassis.machine_file.write_text(json.dumps({"qemu_network": [*base, "-name", "net"],
                                                "qemu_local": [*base, "-name", "local"]}))

    def state() -> str:  # for the assertion messages
        qemu_log = chassis.state_dir / "qemu.log"
        return f"calls: {chassis.calls()}\nqemu.log: {qemu_log.read_text() if qemu_log.exists() else ''}"

    def ok(*args: str) -> None:
        result = ipmitool(sim, *args)
        assert result.returncode == 0, f"{args}: {result.stderr}\n{state()}"

    with IpmiSim(tmp_path / "bmc", free_ports(1)[0]) as sim:
        ok("chassis", "bootdev", "pxe")
        ok("chassis", "power", "on")
        pid = chassis.pid()
        assert pid is not None, state()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"net" in cmdline and b"-daemonize" in cmdline, cmdline
        assert ipmitool(sim, "chassis", "power", "status").stdout.strip() == "Chassis Power is on"
        # SeaBIOS ignores the ACPI power button: the soft off reaches QEMU (QMP), the VM stays on.
        ok("chassis", "power", "soft")
        assert chassis.calls()[-1] == "0x20 set shutdown 1" and chassis.pid() == pid, state()
        ok("chassis", "power", "off")
        assert chassis.pid() is None and not alive(pid), state()
        ok("chassis", "power", "on")  # bootdev was for one boot only
        local = chassis.pid()
        assert local is not None and b"local" in Path(f"/proc/{local}/cmdline").read_bytes().split(b"\0"), state()
    assert chassis.pid() is None and not alive(local), state()  # stop() powers the VM off


@needs_ipmi
def test_fifty_ipmi_sims_start_and_stop(tmp_path: Path) -> None:
    sims = [IpmiSim(tmp_path / f"bmc{i}", port) for i, port in enumerate(free_ports(50))]
    started = time.monotonic()
    start_all(sims)
    try:
        up = time.monotonic() - started
        for sim in (sims[0], sims[-1]):
            assert ipmitool(sim, "chassis", "power", "on").returncode == 0 and sim.chassis.power()
        assert not sims[1].chassis.power()
    finally:
        stopping = time.monotonic()
        pids = [sim.pid for sim in sims]
        stop_all(sims)
        down = time.monotonic() - stopping
    assert all(pid is not None and not alive(pid) for pid in pids)
    print(f"\n50 ipmi_sims: up and answering in {up:.2f} s, stopped in {down:.2f} s")


@needs_ipmi
def test_ipmi_sim_that_cannot_start_says_why(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        sim = IpmiSim(tmp_path / "bmc", taken.getsockname()[1], start_timeout=2)
        with pytest.raises(SimulatorError, match="ipmi_sim cannot bind") as raised:
            sim.start()
    assert "Address already in use" in raised.value.stderr_tail
    assert sim.pid is None


# --------------------------------------------------------------------------- Redfish


@needs_redfish
def test_redfish_get_patch_reset_reach_the_chassis(redfish: RedfishSim) -> None:
    status, systems = curl(redfish, "GET", "/redfish/v1/Systems")
    assert status == 200 and systems["Members"] == [{"@odata.id": redfish.system_path}]
    status, system = curl(redfish, "GET", redfish.system_path)
    assert status == 200 and system["PowerState"] == "Off" and system["Name"] == "vm0"

    body = {"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once",
                     "BootSourceOverrideMode": "UEFI"}}
    assert curl(redfish, "PATCH", redfish.system_path, body)[0] == 204
    status, system = curl(redfish, "GET", redfish.system_path)
    assert system["Boot"]["BootSourceOverrideTarget"] == "Pxe" and system["Boot"]["BootSourceOverrideMode"] == "UEFI"
    assert redfish.chassis.bootdev() == "pxe" and not redfish.chassis.bootdev_persistent()

    reset = f"{redfish.system_path}/Actions/ComputerSystem.Reset"
    assert curl(redfish, "POST", reset, {"ResetType": "On"})[0] == 204
    wait_for("the chassis to power on", redfish.chassis.power)
    assert redfish.chassis.last_boot() == "pxe" and redfish.chassis.bootdev() == "default"
    wait_for("PowerState On", lambda: curl(redfish, "GET", redfish.system_path)[1]["PowerState"] == "On")
    calls = redfish.chassis.calls()
    assert "redfish power On boot Pxe mode UEFI enabled Once pending" in calls
    assert f'redfish POST {reset} {{"ResetType": "On"}}' in calls

    assert curl(redfish, "POST", reset, {"ResetType": "ForceOff"})[0] == 204
    wait_for("the chassis to power off", lambda: not redfish.chassis.power())
    wait_for("PowerState Off", lambda: curl(redfish, "GET", redfish.system_path)[1]["PowerState"] == "Off")


@needs_redfish
def test_redfish_auth_and_the_name_alias(redfish: RedfishSim) -> None:
    status, body = curl(redfish, "GET", redfish.system_path, user="admin:wrong")
    assert status == 401 and body["error"]["message"] == "Incorrect username or password"
    assert curl(redfish, "GET", "/redfish/v1")[0] == 200  # the service root needs no auth
    status, _ = redfish.request("GET", "/redfish/v1/Systems/vm0")
    assert status == 307  # the name redirects to the UUID path


@needs_redfish
def test_redfish_continuous_override_survives_power_on(redfish: RedfishSim) -> None:
    body = {"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Continuous"}}
    assert redfish.request("PATCH", redfish.system_path, body)[0] == 204
    assert redfish.request("POST", f"{redfish.system_path}/Actions/ComputerSystem.Reset",
                           {"ResetType": "On"})[0] == 204
    wait_for("the chassis to power on", redfish.chassis.power)
    assert redfish.chassis.last_boot() == "pxe" and redfish.chassis.bootdev() == "pxe"


@needs_redfish
def test_redfish_bmc_that_refuses_uefi(tmp_path: Path) -> None:
    with RedfishSim(tmp_path / "bmc", free_ports(1, socket.SOCK_STREAM)[0], refuse_uefi=True) as sim:
        status, system = curl(sim, "GET", sim.system_path)
        assert system["Boot"]["BootSourceOverrideMode"] == "Legacy"
        status, body = curl(sim, "PATCH", sim.system_path,
                            {"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideMode": "UEFI"}})
        assert status == 400 and body["error"]["code"] == "Base.1.0.PropertyValueNotInList", body
        assert sim.chassis.bootdev() == "default" and sim.chassis.calls()[-1].endswith(" refused")
        status, _ = curl(sim, "PATCH", sim.system_path,
                         {"Boot": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideMode": "Legacy"}})
        assert status == 204 and sim.chassis.bootdev() == "pxe"


@needs_redfish
def test_redfish_power_state_follows_a_machine_that_stops_by_itself(redfish: RedfishSim) -> None:
    reset = f"{redfish.system_path}/Actions/ComputerSystem.Reset"
    assert redfish.request("POST", reset, {"ResetType": "On"})[0] == 204
    wait_for("PowerState On", lambda: redfish.request("GET", redfish.system_path)[1]["PowerState"] == "On")
    redfish.chassis.power_off()  # e.g. a VM that exits (-no-reboot)
    assert redfish.request("GET", redfish.system_path)[1]["PowerState"] == "Off"
    assert redfish.request("POST", reset, {"ResetType": "On"})[0] == 204
    wait_for("the chassis to power on again", redfish.chassis.power)


@needs_redfish
def test_redfish_sim_that_cannot_start_says_why(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        sim = RedfishSim(tmp_path / "bmc", taken.getsockname()[1], start_timeout=10)
        with pytest.raises(SimulatorError, match="sushy-emulator exited") as raised:
            sim.start()
    assert "Address already in use" in raised.value.stderr_tail
    assert sim.pid is None and sim.bridge_port is None


# --------------------------------------------------------------------------- in a network namespace


@needs_root
@needs_ipmi
@needs_redfish
def test_both_sims_in_a_network_namespace(tmp_path: Path) -> None:
    tcp_port, udp_port = free_ports(1, socket.SOCK_STREAM)[0], free_ports(1)[0]  # free on the host, too
    with namespace("bmc") as ns:
        ipmi = IpmiSim(tmp_path / "ipmi", udp_port, netns=ns)
        redfish = RedfishSim(tmp_path / "redfish", tcp_port, netns=ns)
        with ipmi, redfish:
            assert ipmi.ipmitool()[:4] == ["ip", "netns", "exec", ns]
            assert ipmitool(ipmi, "chassis", "power", "on").returncode == 0 and ipmi.chassis.power()
            assert redfish.request("POST", f"{redfish.system_path}/Actions/ComputerSystem.Reset",
                                   {"ResetType": "On"})[0] == 204
            wait_for("the Redfish chassis to power on", redfish.chassis.power)
            with socket.socket() as s, pytest.raises(ConnectionRefusedError):  # not on the host's loopback
                s.settimeout(2)
                s.connect(("127.0.0.1", tcp_port))
        assert ipmi.pid is None and redfish.pid is None
