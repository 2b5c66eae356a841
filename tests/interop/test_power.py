"""``bootwright power``, ``boot --reboot`` and the power API against the BMC simulators, as a user drives them.

Every test writes a config file in ``tmp_path`` (root and state directory
inside it, no DHCP/TFTP; HTTP only for the API test), with hosts whose ``bmc``
points at :class:`~bootwright.lab.bmcsim.IpmiSim` (ipmi_sim) or
:class:`~bootwright.lab.bmcsim.RedfishSim` (sushy-emulator) on 127.0.0.1, runs
the CLI as a subprocess and compares its exit code and output with what the
simulators' chassis were told (``calls.log``) and what the reference clients
(ipmitool, the emulator's own ``PowerState``) read back. No VM runs: a chassis
is a power flag (a soft off switches it off), or, for the hard-off path, a
small stand-in "QEMU" that ignores the ACPI button.

1. IPMI: ``power status|on|off|soft|cycle|reset`` and ipmitool agree, both ways.
2. IPMI: ``boot --reboot --uefi`` (soft off, hard off after ``--grace``, on),
   the pending one-shot, the BMC steps in ``events``.
3. Redfish: power agreement with ``PowerState``; ``--http --uefi``; a BMC that
   refuses UEFI; the ``system`` key given and omitted.
4. Faults: nothing listening, a wrong password (login attempts counted), no
   BMC, ``--http`` over IPMI, ``--wait`` with no DHCP ever.
5. ``boot --group`` over 50 IpmiSims, ``--concurrency 5``: all ok, at most 5
   hosts' BMC calls overlap in time; one unreachable BMC fails its row only.
6. The API of ``bootwright serve``: power, reprovision, 409, 504 while other
   requests are answered.

Two source problems found here are fixed and kept as tests: a second refused
IPMI login in one process (pyghmi's session cache, ``bmc/ipmi.py``) and a
Redfish power cycle on a BMC that does not list ``PowerCycle``
(``bmc/redfish.py``).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bmcrig import SUSHY_EMULATOR, free_ports, wait_for

from bootwright.lab.bmcsim import IpmiSim, RedfishSim, start_all, stop_all
from bootwright.lab.chassis import Chassis

pytestmark = pytest.mark.interop

PASSWORD = "secret"  # the simulators' default


def _missing_ipmi() -> str | None:
    for tool in ("ipmi_sim", "ipmitool"):
        if shutil.which(tool) is None:
            return f"{tool!r} is not installed (Debian: openipmi, ipmitool)"
    return None


needs_ipmi = pytest.mark.skipif(_missing_ipmi() is not None, reason=_missing_ipmi() or "")
needs_redfish = pytest.mark.skipif(not SUSHY_EMULATOR.exists(),
                                   reason=f"{SUSHY_EMULATOR} is missing (pip install sushy-tools)")



def ipmitool_power(sim: IpmiSim, action: str = "status") -> str:
    """``ipmitool … chassis power ACTION``; for ``status``: ``on`` or ``off``."""
    result = subprocess.run(sim.ipmitool("chassis", "power", action), capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 0, result
    if action != "status":
        return result.stdout.strip()
    match = re.fullmatch(r"Chassis Power is (on|off)", result.stdout.strip())
    assert match, result.stdout
    return match.group(1)


def redfish_power(sim: RedfishSim) -> str:
    """The emulator's own ``PowerState`` of the system, lower case."""
    status, system = sim.request("GET", sim.system_path)
    assert status == 200, (status, system)
    return str(system["PowerState"]).lower()


def redfish_reset(sim: RedfishSim, reset_type: str) -> None:
    status, body = sim.request("POST", f"{sim.system_path}/Actions/ComputerSystem.Reset", {"ResetType": reset_type})
    assert status == 204, (status, body)


def calls_since(chassis: Chassis, mark: int) -> list[str]:
    """The chassis calls after the first ``mark`` ones, without the ``0x20 `` of ipmi_sim's program."""
    return [c.removeprefix("0x20 ") for c in chassis.calls()[mark:]]


def timed_calls(chassis: Chassis) -> list[tuple[datetime.datetime, str]]:
    """``calls.log`` with its timestamps (the raw file: :meth:`Chassis.calls` drops them)."""
    try:
        lines = chassis.calls_log.read_text().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        stamp, _, text = line.partition(" ")
        out.append((datetime.datetime.fromisoformat(stamp), text))
    return out


def ipmi_bmc(sim: IpmiSim | None = None, port: int | None = None, password_file: str = "bmc-password") -> dict[str, Any]:
    return {"driver": "ipmi", "address": "127.0.0.1", "port": sim.port if sim else port, "username": "admin",
            "password_file": password_file}


def redfish_bmc(sim: RedfishSim | None = None, url: str | None = None, system: str | None = None,
                password_file: str = "bmc-password") -> dict[str, Any]:
    bmc: dict[str, Any] = {"driver": "redfish", "address": sim.url if sim else url, "username": "admin",
                           "password_file": password_file}
    if system is not None:
        bmc["system"] = system
    return bmc


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string for these ASCII values
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"


BASE_CONFIG = """\
root = "root"
state_dir = "state"

[dhcp4]
enabled = false
[dhcp6]
enabled = false
[tftp]
enabled = false
{http}

[targets.local]
label = "Local disk"
exit = true

[targets.rescue]
label = "Rescue system"
kernel = "vmlinuz"
initrd = "initrd.img"
"""


def mac_of(i: int) -> str:
    return f"52:54:00:b0:{i // 256:02x}:{i % 256:02x}"


def write_config(d: Path, hosts: list[dict[str, Any]], http_port: int | None = None) -> Path:
    """``d/bootwright.toml`` with ``hosts`` (``name``, optional ``bmc``, ``groups``), plus the password files."""
    (d / "root").mkdir(exist_ok=True)
    (d / "bmc-password").write_text(f"{PASSWORD}\n")
    (d / "wrong-password").write_text("not-the-password\n")
    http = "[http]\nenabled = false" if http_port is None else f'[http]\nport = {http_port}\nlisten = ["127.0.0.1"]'
    text = BASE_CONFIG.format(http=http)
    for i, host in enumerate(hosts):
        entry = {"name": host["name"], "mac": host.get("mac", mac_of(i + 1)), "target": "local",
                 **{k: v for k, v in host.items() if k not in ("name", "mac")}}
        text += "\n[[host]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in entry.items())
    config = d / "bootwright.toml"
    config.write_text(text)
    return config


def bootwright(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m bootwright.cli ARGS --config CONFIG``, run in the config's directory."""
    return subprocess.run([sys.executable, "-m", "bootwright.cli", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=timeout, check=False, cwd=config.parent)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


def error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The one error line of a failed command (exit ``code``, nothing else on stderr)."""
    assert result.returncode == code, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def power_status(config: Path, host: str) -> str:
    data = json.loads(ok(bootwright(config, "power", host, "status", "--json")))
    assert data["host"] == host
    return str(data["power"])


def timeline(config: Path, host: str) -> list[dict[str, Any]]:
    """Every step of the host's boot attempts (``events --host H --json``), oldest first."""
    attempts = json.loads(ok(bootwright(config, "events", "--host", host, "--json")))
    return [step for attempt in attempts for step in attempt["steps"]]


FAKE_QEMU = '''\
"""A stand-in for QEMU -daemonize: a process named like qemu whose QMP socket ignores system_powerdown."""
import json, os, socket, sys

args = sys.argv[1:]
pidfile = args[args.index("-pidfile") + 1]
qmp = args[args.index("-qmp") + 1].split(":", 1)[1].split(",")[0] if "-qmp" in args else None
server = None
if qmp:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(qmp)
    server.listen()
ready_r, ready_w = os.pipe()
if os.fork():
    os.close(ready_w)
    os.read(ready_r, 1)  # QEMU returns once the pid file is written
    os._exit(0)
os.setsid()
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
with open(pidfile + ".tmp", "w") as f:
    f.write(f"{os.getpid()}\\n")
os.replace(pidfile + ".tmp", pidfile)
os.write(ready_w, b"x")
while server is not None:
    conn, _ = server.accept()
    with conn, conn.makefile("rwb") as stream:
        stream.write(json.dumps({"QMP": {"version": {}, "capabilities": []}}).encode() + b"\\n")
        stream.flush()
        for _line in stream:
            stream.write(b'{"return": {}}\\n')  # accepted, and ignored: SeaBIOS without an OS
            stream.flush()
'''


def stubborn_machine(chassis: Chassis, d: Path) -> None:
    """Make ``chassis`` a "VM" (the stand-in above) that stays on when the ACPI button is pressed."""
    script = d / "fake-qemu.py"
    script.write_text(FAKE_QEMU)
    argv = [sys.executable, "-I", str(script)]
    chassis.machine_file.write_text(json.dumps({"qemu_network": argv, "qemu_local": argv}))


class UdpRelay:
    """A UDP relay 127.0.0.1:port → 127.0.0.1:target that keeps every client datagram (to count IPMI logins)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.datagrams: list[bytes] = []
        self._upstream: dict[Any, socket.socket] = {}
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.sock, selectors.EVENT_READ, None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="udp-relay", daemon=True)

    def __enter__(self) -> UdpRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in [self.sock, *self._upstream.values()]:
            s.close()
        self._selector.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(0.05):
                client = key.data
                if client is None:
                    data, client = self.sock.recvfrom(65535)
                    self.datagrams.append(data)
                    up = self._upstream.get(client)
                    if up is None:
                        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        up.connect(("127.0.0.1", self.target))
                        self._upstream[client] = up
                        self._selector.register(up, selectors.EVENT_READ, client)
                    up.send(data)
                else:
                    with contextlib.suppress(OSError):
                        self.sock.sendto(key.fileobj.recv(65535), client)  # type: ignore[union-attr]

    def rakp1_count(self) -> int:
        """RMCP+ RAKP message 1 datagrams (IPMI 2.0 §13.20): one per login attempt."""
        return sum(1 for d in self.datagrams if len(d) > 5 and d[4] == 0x06 and d[5] & 0x3F == 0x12)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def ipmi(tmp_path: Path) -> Iterator[IpmiSim]:
    with IpmiSim(tmp_path / "bmc", free_ports(1)[0], password=PASSWORD) as sim:
        yield sim


@pytest.fixture
def redfish(tmp_path: Path) -> Iterator[RedfishSim]:
    with RedfishSim(tmp_path / "redfish", free_ports(1, socket.SOCK_STREAM)[0], password=PASSWORD) as sim:
        yield sim


# --------------------------------------------------------------------------- the config


@needs_ipmi
@needs_redfish
def test_the_config_with_bmcs_passes_check(tmp_path: Path) -> None:
    config = write_config(tmp_path, [
        {"name": "h", "bmc": ipmi_bmc(port=623)},
        {"name": "r1", "bmc": redfish_bmc(url="http://127.0.0.1:8000", system="/redfish/v1/Systems/1")},
        {"name": "r2", "bmc": redfish_bmc(url="http://127.0.0.1:8000")},
        {"name": "plain"},
    ], http_port=8080)
    out = ok(bootwright(config, "check"))
    assert "ok: " in out and "rescue (kernel)" in out and "local (exit)" in out, out
    assert re.search(r"hosts\s+4", out), out


# --------------------------------------------------------------------------- 1. IPMI power


@needs_ipmi
def test_ipmi_power_agrees_with_ipmitool_both_ways(tmp_path: Path, ipmi: IpmiSim) -> None:
    config = write_config(tmp_path, [{"name": "h", "bmc": ipmi_bmc(ipmi)}])
    where = f"ipmi 127.0.0.1:{ipmi.port}"
    chassis = ipmi.chassis

    out = ok(bootwright(config, "power", "h", "status"))
    assert out.strip() == f"h: power off (BMC {where})" and ipmitool_power(ipmi) == "off"

    mark = len(chassis.calls())
    assert ok(bootwright(config, "power", "h", "on")).strip() == f"h: power on accepted by BMC {where}"
    assert "set power 1" in calls_since(chassis, mark)
    assert chassis.power() and ipmitool_power(ipmi) == "on"

    ipmitool_power(ipmi, "off")  # ipmitool changes, bootwright reads
    assert power_status(config, "h") == "off"
    ipmitool_power(ipmi, "on")
    assert power_status(config, "h") == "on"

    mark = len(chassis.calls())
    ok(bootwright(config, "power", "h", "soft"))
    assert calls_since(chassis, mark)[-1] == "set shutdown 1"  # no VM: the button switches the flag off
    assert ipmitool_power(ipmi) == "off" and not chassis.power()

    ipmitool_power(ipmi, "on")
    mark = len(chassis.calls())
    out = json.loads(ok(bootwright(config, "power", "h", "cycle", "--json")))
    assert out == {"host": "h", "bmc": where, "action": "cycle", "accepted": True}
    # ipmi_sim cycles as "set power 0", about a second, "set power 1": the BMC accepted it before it was done.
    wait_for("set power 1 after the cycle", lambda: "set power 1" in calls_since(chassis, mark))
    cycle = calls_since(chassis, mark)
    assert cycle.index("set power 0") < cycle.index("set power 1"), cycle
    assert ipmitool_power(ipmi) == "on" and power_status(config, "h") == "on"

    mark = len(chassis.calls())
    ok(bootwright(config, "power", "h", "reset"))
    assert "set reset 1" in calls_since(chassis, mark) and ipmitool_power(ipmi) == "on"

    mark = len(chassis.calls())
    ok(bootwright(config, "power", "h", "off"))
    assert calls_since(chassis, mark)[-1] == "set power 0"
    assert ipmitool_power(ipmi) == "off" and not chassis.power()

    actions = [s["text"] for s in timeline(config, "h") if s["kind"] == "bmc.power"]
    assert actions == [f"BMC: power {a}" for a in ("on", "soft", "cycle", "reset", "off")], actions


# --------------------------------------------------------------------------- 2. IPMI boot --reboot


@needs_ipmi
def test_ipmi_reboot_of_a_machine_that_is_on(tmp_path: Path, ipmi: IpmiSim) -> None:
    config = write_config(tmp_path, [{"name": "h", "bmc": ipmi_bmc(ipmi)}])
    chassis = ipmi.chassis
    chassis.power_on()  # directly: the BMC is told nothing
    mark = len(chassis.calls())

    out = ok(bootwright(config, "boot", "h", "--target", "rescue", "--once", "--reboot", "--uefi", "--grace", "1"))
    assert "h: next boot is rescue (once; state pending)" in out, out
    assert "h: BMC set the next boot to UEFI PXE once; power was on; soft off, on" in out, out
    calls = calls_since(chassis, mark)
    # The boot device first, then the ACPI button; the fake chassis goes off at once (no OS to ask), so no hard off.
    assert calls.index("set boot pxe") < calls.index("set shutdown 1") < calls.index("set power 1"), calls
    assert "set power 0" not in calls, calls
    assert chassis.power() and chassis.last_boot() == "pxe" and chassis.bootdev() == "default"

    shown = json.loads(ok(bootwright(config, "hosts", "show", "h", "--json")))
    assert shown["boot"]["target"] == "rescue" and shown["boot"]["state"] == "pending", shown["boot"]
    assert shown["bmc"]["password_set"] is True and PASSWORD not in json.dumps(shown)

    steps = [(s["kind"], s["text"]) for s in timeline(config, "h")]
    assert steps[-3:] == [("bmc.bootdev", "BMC: next boot from UEFI PXE (once)"), ("bmc.power", "BMC: power soft"),
                          ("bmc.power", "BMC: power on")], steps
    text = ok(bootwright(config, "events", "--host", "h"))
    assert "BMC: next boot from UEFI PXE (once)" in text and "the BMC powered the machine on" in text, text


@needs_ipmi
def test_ipmi_reboot_powers_off_hard_after_the_grace(tmp_path: Path, ipmi: IpmiSim) -> None:
    config = write_config(tmp_path, [{"name": "h", "bmc": ipmi_bmc(ipmi)}])
    chassis = ipmi.chassis
    stubborn_machine(chassis, tmp_path)
    chassis.power_on()
    first = chassis.pid()
    assert first is not None and chassis.last_boot() == "default"
    mark = len(chassis.calls())

    out = ok(bootwright(config, "boot", "h", "--target", "rescue", "--once", "--reboot", "--legacy", "--grace", "1"))
    assert "BMC set the next boot to legacy PXE once; power was on; soft off, hard off (still on after 1 s), on" \
        in out, out
    calls = calls_since(chassis, mark)
    assert calls.index("set boot pxe") < calls.index("set shutdown 1") < calls.index("set power 0") \
        < calls.index("set power 1"), calls
    assert chassis.pid() not in (None, first) and chassis.last_boot() == "pxe"
    steps = [s["text"] for s in timeline(config, "h")]
    assert steps[-4:] == ["BMC: next boot from legacy PXE (once)", "BMC: power soft", "BMC: power off",
                          "BMC: power on"], steps


# --------------------------------------------------------------------------- 3. Redfish


@needs_redfish
def test_redfish_power_agrees_with_the_emulator_both_ways(tmp_path: Path, redfish: RedfishSim) -> None:
    config = write_config(tmp_path, [{"name": "r", "bmc": redfish_bmc(redfish, system=redfish.system_path)},
                                     {"name": "only", "bmc": redfish_bmc(redfish)},  # the only system
                                     {"name": "nosuch", "bmc": redfish_bmc(redfish, system="/redfish/v1/Systems/x")}])
    where = f"redfish {redfish.url}"
    chassis = redfish.chassis
    assert ok(bootwright(config, "power", "r", "status")).strip() == f"r: power off (BMC {where})"
    assert redfish_power(redfish) == "off"

    mark = len(chassis.calls())
    assert ok(bootwright(config, "power", "r", "on")).strip() == f"r: power on accepted by BMC {where}"
    assert f'redfish POST {redfish.system_path}/Actions/ComputerSystem.Reset {{"ResetType": "On"}}' \
        in calls_since(chassis, mark)
    assert chassis.power() and redfish_power(redfish) == "on"

    redfish_reset(redfish, "ForceOff")  # the emulator changes, bootwright reads (both hosts: same system)
    wait_for("the chassis to go off", lambda: not chassis.power())
    assert power_status(config, "r") == "off" and power_status(config, "only") == "off"
    redfish_reset(redfish, "On")
    wait_for("the chassis to go on", chassis.power)
    assert power_status(config, "only") == "on"

    for action, reset_type, power in (("soft", "GracefulShutdown", "off"), ("on", "On", "on"),
                                      ("reset", "ForceRestart", "on"), ("off", "ForceOff", "off")):
        mark = len(chassis.calls())
        ok(bootwright(config, "power", "r", action))  # bootwright changes, the emulator reads
        assert any(f'{{"ResetType": "{reset_type}"}}' in c for c in calls_since(chassis, mark)), \
            (action, calls_since(chassis, mark))
        assert redfish_power(redfish) == power and chassis.power() == (power == "on"), action
    assert power_status(config, "r") == "off"

    line = error_line(bootwright(config, "power", "nosuch", "status"), 1)
    assert "host nosuch:" in line and redfish.url in line and "not found" in line, line


@needs_redfish
def test_redfish_power_cycle(tmp_path: Path, redfish: RedfishSim) -> None:
    config = write_config(tmp_path, [{"name": "r", "bmc": redfish_bmc(redfish)}])
    redfish_reset(redfish, "On")
    wait_for("the chassis to go on", redfish.chassis.power)
    mark = len(redfish.chassis.calls())
    ok(bootwright(config, "power", "r", "cycle"))
    assert redfish.chassis.calls()[mark:], "the BMC was told nothing"
    wait_for("the chassis to be on again", redfish.chassis.power)
    assert redfish_power(redfish) == "on" and power_status(config, "r") == "on"


@needs_redfish
def test_redfish_reboot_to_uefi_http(tmp_path: Path, redfish: RedfishSim) -> None:
    config = write_config(tmp_path, [{"name": "r", "bmc": redfish_bmc(redfish)}])
    redfish_reset(redfish, "On")
    wait_for("the chassis to go on", redfish.chassis.power)
    mark = len(redfish.chassis.calls())

    out = ok(bootwright(config, "boot", "r", "--target", "rescue", "--once", "--reboot", "--http", "--uefi",
                        "--grace", "1"))
    assert "r: BMC set the next boot to UEFI HTTP once; power was on; soft off, on" in out, out
    calls = redfish.chassis.calls()[mark:]
    patches = [json.loads(c.split(" ", 3)[3]) for c in calls if c.startswith(f"redfish PATCH {redfish.system_path} ")]
    assert len(patches) == 1, calls
    assert {k: patches[0]["Boot"][k] for k in ("BootSourceOverrideTarget", "BootSourceOverrideEnabled",
                                               "BootSourceOverrideMode")} == {
        "BootSourceOverrideTarget": "UefiHttp", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI"}
    resets = [c.rsplit(" ", 2)[-1] for c in calls if "/Actions/ComputerSystem.Reset " in c]
    assert resets == ['"GracefulShutdown"}', '"On"}'], calls
    assert redfish.chassis.power() and redfish.chassis.last_boot() == "pxe"  # the bridge boots UefiHttp as pxe
    assert redfish.chassis.bootdev() == "default"  # once
    assert redfish_power(redfish) == "on"
    kinds = [(s["kind"], s["text"]) for s in timeline(config, "r")]
    assert ("bmc.bootdev", "BMC: next boot from UEFI HTTP (once)") in kinds, kinds


@needs_redfish
def test_redfish_bmc_that_refuses_uefi(tmp_path: Path) -> None:
    with RedfishSim(tmp_path / "redfish", free_ports(1, socket.SOCK_STREAM)[0], password=PASSWORD,
                    refuse_uefi=True) as sim:
        config = write_config(tmp_path, [{"name": "r", "bmc": redfish_bmc(sim)}])
        mark = len(sim.chassis.calls())
        out = ok(bootwright(config, "boot", "r", "--target", "rescue", "--once", "--reboot", "--uefi",
                            "--grace", "1"))
        notes = [line for line in out.splitlines() if line.startswith("r: note: ")]
        assert len(notes) == 1 and "the BMC refused BootSourceOverrideMode UEFI" in notes[0], out
        assert "set Pxe once without it" in notes[0], notes
        calls = sim.chassis.calls()[mark:]
        patches = [c for c in calls if c.startswith("redfish PATCH ")]
        assert len(patches) == 2 and patches[0].endswith(" refused") and '"UEFI"' in patches[0], patches
        assert "BootSourceOverrideMode" not in patches[1] and '"Pxe"' in patches[1], patches
        assert sim.chassis.power() and sim.chassis.last_boot() == "pxe"

        [bootdev] = [s for s in timeline(config, "r") if s["kind"] == "bmc.bootdev"]
        assert "the BMC refused BootSourceOverrideMode UEFI" in bootdev["text"], bootdev


# --------------------------------------------------------------------------- 4. faults


@needs_ipmi
@needs_redfish
def test_a_bmc_where_nothing_listens(tmp_path: Path) -> None:
    udp, tcp = free_ports(1)[0], free_ports(1, socket.SOCK_STREAM)[0]
    config = write_config(tmp_path, [{"name": "dead", "bmc": ipmi_bmc(port=udp)},
                                     {"name": "rdead", "bmc": redfish_bmc(url=f"http://127.0.0.1:{tcp}")}])
    hosts = {"dead": f"127.0.0.1:{udp}", "rdead": f"http://127.0.0.1:{tcp}"}
    results: dict[str, subprocess.CompletedProcess[str]] = {}

    def run(host: str) -> None:  # subprocess.run's own timeout (60 s) fails the test if a run does not end by itself
        results[host] = bootwright(config, "power", host, "status", "--timeout", "5", timeout=60)

    threads = [threading.Thread(target=run, args=(host,)) for host in hosts]  # both at once: each waits ~5 s
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for host, address in hosts.items():
        line = error_line(results[host], 1)
        assert f"host {host}:" in line and address in line, line
        assert re.search(r"did not (answer|finish)", line), line
        errors = [s for s in timeline(config, host) if s["kind"] == "bmc.error"]
        assert len(errors) == 1 and errors[0]["problem"], errors


@needs_ipmi
def test_ipmi_wrong_password_is_refused_once(tmp_path: Path, ipmi: IpmiSim) -> None:
    with UdpRelay(ipmi.port) as relay:  # the relay sees every datagram bootwright sends to the BMC
        config = write_config(tmp_path, [
            {"name": "h", "bmc": {**ipmi_bmc(port=relay.port), "password_file": "wrong-password"}},
            {"name": "good", "bmc": ipmi_bmc(port=relay.port)}])
        mark = len(ipmi.chassis.calls())
        line = error_line(bootwright(config, "power", "h", "on", timeout=60), 1)
        assert "host h:" in line and f"127.0.0.1:{relay.port}" in line and "refused the login of user 'admin'" in line
        assert "not retried" in line and "not-the-password" not in line, line
        assert relay.rakp1_count() == 1, f"{relay.rakp1_count()} login attempts"
        assert "set power 1" not in calls_since(ipmi.chassis, mark) and not ipmi.chassis.power()
        ok(bootwright(config, "power", "good", "status"))  # the relay itself works: one login, one answer
        assert relay.rakp1_count() == 2


@needs_redfish
def test_redfish_wrong_password_is_refused_once(tmp_path: Path, redfish: RedfishSim) -> None:
    config = write_config(tmp_path, [{"name": "r", "bmc": {**redfish_bmc(redfish), "password_file": "wrong-password"}}])
    before = len(redfish.log.read_bytes().splitlines())
    mark = len(redfish.chassis.calls())
    line = error_line(bootwright(config, "power", "r", "on", timeout=60), 1)
    assert "host r:" in line and redfish.url in line and "refused the credentials" in line, line
    requests = [r for r in redfish.log.read_bytes().decode(errors="replace").splitlines()[before:] if '" 401 ' in r]
    # sushy tries a session first (the emulator has no SessionService), then basic auth: one refusal each, no retry.
    assert len(requests) <= 2 and sum("SessionService" not in r for r in requests) == 1, requests
    assert redfish.chassis.calls()[mark:] == [] and not redfish.chassis.power()


def test_a_host_without_a_bmc(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "plain"}])
    for args in (("power", "plain", "status"), ("boot", "plain", "--target", "rescue", "--once", "--reboot")):
        line = error_line(bootwright(config, *args), 2)
        assert "host plain has no BMC" in line and "bootwright hosts set plain --bmc driver=ipmi" in line, line
    shown = json.loads(ok(bootwright(config, "hosts", "show", "plain", "--json")))
    assert shown.get("boot") is None  # refused before the one-shot was set


@needs_ipmi
def test_http_boot_over_ipmi_is_refused(tmp_path: Path, ipmi: IpmiSim) -> None:
    config = write_config(tmp_path, [{"name": "h", "bmc": ipmi_bmc(ipmi)}])
    mark = len(ipmi.chassis.calls())
    result = bootwright(config, "boot", "h", "--target", "rescue", "--once", "--reboot", "--http")
    assert result.returncode == 2, result  # known from the inventory: refused before anything is set or asked
    [line] = [line for line in result.stderr.splitlines() if "error:" in line]
    assert "host h:" in line and "IPMI, which has no HTTP boot device" in line, line
    assert calls_since(ipmi.chassis, mark) == [] and not ipmi.chassis.power()
    shown = json.loads(bootwright(config, "hosts", "show", "h", "--json").stdout)
    assert shown["boot"] is None, shown  # no one-shot was set


@needs_ipmi
def test_wait_without_dhcp(tmp_path: Path, ipmi: IpmiSim) -> None:
    config = write_config(tmp_path, [{"name": "h", "bmc": ipmi_bmc(ipmi)}])
    result = bootwright(config, "boot", "h", "--target", "rescue", "--once", "--reboot", "--grace", "1",
                        "--wait", "3", "--timeout", "20", timeout=60)
    assert result.returncode == 1, result
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith(f"h: FAILED: BMC accepted PXE once but no DHCP seen from MAC {mac_of(1)} in 3 s"), \
        result.stdout
    assert "BMC: power on" in result.stdout, result.stdout  # the followed timeline, printed as it went
    assert ipmi.chassis.power() and ipmi.chassis.last_boot() == "pxe"  # the machine did get the button press
    shown = json.loads(ok(bootwright(config, "hosts", "show", "h", "--json")))
    assert shown["boot"]["state"] == "pending", shown["boot"]  # nothing fetched: still waiting for the machine


# --------------------------------------------------------------------------- 5. groups


def _rows(out: str, names: set[str]) -> dict[str, list[str]]:
    """The summary table's rows (host, result, seconds, detail) by host."""
    rows = {}
    for line in out.splitlines():
        cells = line.split(None, 3)
        if cells and cells[0] in names and len(cells) >= 3 and cells[1] in ("ok", "FAILED"):
            rows[cells[0]] = cells
    return rows


def max_overlap(intervals: list[tuple[datetime.datetime, datetime.datetime]]) -> int:
    """The most intervals open at one moment; one ending when another starts does not overlap it."""
    edges = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda e: (e[0], e[1]))
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


@needs_ipmi
def test_group_of_fifty_with_concurrency_five(tmp_path: Path) -> None:
    sims = [IpmiSim(tmp_path / f"bmc{i}", port, password=PASSWORD) for i, port in enumerate(free_ports(50))]
    start_all(sims)
    try:
        for sim in sims[::2]:
            sim.chassis.power_on()  # half of them on: those get the soft off
        config = write_config(tmp_path, [{"name": f"n{i:02d}", "groups": ["rack"], "bmc": ipmi_bmc(sim)}
                                         for i, sim in enumerate(sims)])
        started = datetime.datetime.now(datetime.UTC)
        out = ok(bootwright(config, "boot", "--group", "rack", "--target", "rescue", "--once", "--reboot",
                            "--concurrency", "5", "--grace", "0.5", "--timeout", "30", timeout=110))
    finally:
        stop_all(sims)
    names = {f"n{i:02d}" for i in range(50)}
    rows = _rows(out, names)
    assert set(rows) == names and all(r[1] == "ok" for r in rows.values()), out
    assert "50 of 50 host(s) ok" in out, out

    intervals = []
    for i, sim in enumerate(sims):
        calls = [(at, text.removeprefix("0x20 ")) for at, text in timed_calls(sim.chassis) if at >= started]
        texts = [t for _, t in calls]
        assert "set boot pxe" in texts and "set power 1" in texts, (i, texts)
        assert texts.index("set boot pxe") < texts.index("set power 1"), (i, texts)
        assert ("set shutdown 1" in texts) == (i % 2 == 0), (i, texts)
        assert sim.chassis.power() and sim.chassis.last_boot() == "pxe", i
        intervals.append((calls[0][0], calls[-1][0]))
    overlap = max_overlap(intervals)
    assert 1 <= overlap <= 5, overlap
    print(f"\n50 hosts, --concurrency 5: at most {overlap} hosts' BMC calls overlapped")


@needs_ipmi
def test_group_with_one_unreachable_bmc(tmp_path: Path) -> None:
    ports = free_ports(6)
    sims = [IpmiSim(tmp_path / f"bmc{i}", port, password=PASSWORD) for i, port in enumerate(ports[:5])]
    start_all(sims)
    try:
        hosts = [{"name": f"n{i}", "groups": ["rack"], "bmc": ipmi_bmc(sim)} for i, sim in enumerate(sims)]
        hosts.insert(2, {"name": "lost", "groups": ["rack"], "bmc": ipmi_bmc(port=ports[5])})
        config = write_config(tmp_path, hosts)
        result = bootwright(config, "boot", "--group", "rack", "--target", "rescue", "--once", "--reboot",
                            "--concurrency", "3", "--grace", "0.5", "--timeout", "5", timeout=90)
    finally:
        stop_all(sims)
    assert result.returncode == 1, result
    rows = _rows(result.stdout, {"lost", *(f"n{i}" for i in range(5))})
    assert len(rows) == 6 and rows["lost"][1] == "FAILED", result.stdout
    assert f"127.0.0.1:{ports[5]}" in rows["lost"][3], rows["lost"]
    assert all(rows[f"n{i}"][1] == "ok" for i in range(5)), result.stdout
    assert "5 of 6 host(s) ok" in result.stdout
    assert all(sim.chassis.power() and sim.chassis.last_boot() == "pxe" for sim in sims)


# --------------------------------------------------------------------------- 6. the API


class Server:
    """``bootwright serve`` (HTTP only, 127.0.0.1) as a subprocess, stopped by pid."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.port = int(re.search(r"^port = (\d+)$", config.read_text(), re.M).group(1))  # type: ignore[union-attr]
        self.log = config.parent / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""

    def __enter__(self) -> Server:
        d = self.config.parent
        with self.log.open("wb") as out:
            proc = self.proc = subprocess.Popen(
                [sys.executable, "-m", "bootwright.cli", "serve", "--config", str(self.config), "--root",
                 str(d / "root"), "--state-dir", str(d / "state")],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=d, start_new_session=True)
        try:
            wait_for("http ready", lambda: proc.poll() is not None or b"http ready" in self.log.read_bytes(),
                     timeout=30)
            assert proc.poll() is None, self.log.read_text()
            self.token = (d / "state" / "api-token").read_text().strip()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # by pid
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def request(self, method: str, path: str, body: Any = None, timeout: float = 60) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if method != "GET" else {}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api{path}", data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def _api_power_and_reprovision(tmp_path: Path, bmc: dict[str, Any], chassis: Chassis, where: str) -> None:
    config = write_config(tmp_path, [{"name": "h", "bmc": bmc}], http_port=free_ports(1, socket.SOCK_STREAM)[0])
    with Server(config) as server:
        assert server.request("GET", "/hosts/h/power") == (200, {"host": "h", "bmc": where, "power": "off"})
        mark = len(chassis.calls())
        status, body = server.request("POST", "/hosts/h/power", {"action": "on"})
        assert (status, body) == (200, {"host": "h", "action": "on", "accepted": True}), body
        assert chassis.power() and len(chassis.calls()) > mark
        assert server.request("GET", "/hosts/h/power")[1]["power"] == "on"

        mark = len(chassis.calls())
        status, body = server.request("POST", "/hosts/h/reprovision", {"target": "rescue", "grace": 1})
        assert status == 200, body
        assert body["power_was"] == "on" and body["steps"] == ["soft off", "on"] and body["note"] is None, body
        assert body["boot"]["target"] == "rescue" and body["boot"]["state"] == "pending", body
        assert body["timeline"] == "/api/hosts/h/timeline"
        assert chassis.power() and chassis.last_boot() == "pxe" and len(chassis.calls()) > mark

        status, body = server.request("POST", "/hosts/h/power", {"action": "jump"})
        assert status == 400, body


@needs_ipmi
def test_api_power_and_reprovision_ipmi(tmp_path: Path, ipmi: IpmiSim) -> None:
    _api_power_and_reprovision(tmp_path, ipmi_bmc(ipmi), ipmi.chassis, f"ipmi 127.0.0.1:{ipmi.port}")


@needs_redfish
def test_api_power_and_reprovision_redfish(tmp_path: Path, redfish: RedfishSim) -> None:
    _api_power_and_reprovision(tmp_path, redfish_bmc(redfish), redfish.chassis, f"redfish {redfish.url}")


@needs_ipmi
def test_api_errors_and_a_slow_bmc_holds_up_nothing(tmp_path: Path, ipmi: IpmiSim) -> None:
    dead = free_ports(1)[0]
    config = write_config(tmp_path, [{"name": "h", "bmc": ipmi_bmc(ipmi)}, {"name": "plain"},
                                     {"name": "dead", "bmc": ipmi_bmc(port=dead)}],
                          http_port=free_ports(1, socket.SOCK_STREAM)[0])
    with Server(config) as server:
        status, body = server.request("POST", "/hosts/plain/reprovision", {"target": "rescue"})
        assert status == 409 and "host plain has no BMC" in body["error"], body
        assert server.request("GET", "/hosts/plain/power")[0] == 409

        slow: dict[str, Any] = {}

        def call_dead() -> None:
            slow["answer"] = server.request("GET", "/hosts/dead/power")

        thread = threading.Thread(target=call_dead, name="slow-bmc")
        thread.start()
        answered_meanwhile = []
        power_meanwhile = None
        try:
            while thread.is_alive():
                status, body = server.request("GET", "/hosts", timeout=10)
                assert status == 200, body
                if thread.is_alive():
                    answered_meanwhile.append(status)
                if power_meanwhile is None:  # another BMC is not held up by the silent one
                    power_meanwhile = server.request("GET", "/hosts/h/power", timeout=30)
                time.sleep(0.1)
        finally:
            thread.join(60)
        assert answered_meanwhile, "no request was answered while the silent BMC was being asked"
        assert power_meanwhile == (200, {"host": "h", "bmc": f"ipmi 127.0.0.1:{ipmi.port}", "power": "off"})
        status, body = slow["answer"]
        assert status == 504, body
        assert "host dead:" in body["error"] and f"127.0.0.1:{dead}" in body["error"], body
        assert server.proc is not None and server.proc.poll() is None
    log = server.log.read_text()
    assert "Traceback" not in log, log
    assert PASSWORD not in log


@needs_ipmi
def test_api_wrong_ipmi_password_twice_is_refused_twice(tmp_path: Path, ipmi: IpmiSim) -> None:
    config = write_config(tmp_path, [{"name": "h", "bmc": {**ipmi_bmc(ipmi), "password_file": "wrong-password"}}],
                          http_port=free_ports(1, socket.SOCK_STREAM)[0])
    with Server(config) as server:
        for attempt in (1, 2):  # an operator trying again: the server keeps its pyghmi state between requests
            status, body = server.request("GET", "/hosts/h/power")
            assert status == 502 and "refused the login of user 'admin'" in body["error"], (attempt, status, body)
