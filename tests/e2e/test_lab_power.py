"""End-to-end: unattended reprovisioning through a BMC, over IPMI and over Redfish (issue 14).

In one lab session (``examples/oneshot-rescue.toml``: targets ``local`` — exit
to the disk — and ``rescue`` — the lab's kernel and initrd), for each driver:

1. a simulated BMC in the lab's namespace (``ipmi_sim`` or ``sushy-emulator``)
   owns a BIOS VM (:mod:`bootwright.lab.bmcvm`); the machine is off;
2. ``bootwright hosts add bmc-vm --target local --bmc …`` gives it its BMC;
3. ``bootwright boot bmc-vm --target rescue --once --reboot --wait 240``,
   run inside the namespace, is the only thing that acts: it sets the
   one-shot, tells the BMC "network, once", powers the machine on and
   follows the boot until the one-shot is done (exit 0);
4. the VM reaches the lab marker (its serial console);
5. ``bootwright power bmc-vm on`` once it is off again: the BMC boots the
   local disk this time (the boot device was for one boot), no DHCP from
   the machine, and QEMU exits when SeaBIOS finds no disk.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from labrun import REPO, environment_problem
from rich.console import Console

from bootwright.lab.bmcvm import BMC_DRIVERS, BMC_HOST, bmc_scenarios
from bootwright.lab.options import LabOptions
from bootwright.lab.power import BmcRun, reprovision
from bootwright.lab.servers import ServeUnavailable
from bootwright.lab.session import LabSession
from bootwright.lab.timeline import Stage

pytestmark = pytest.mark.e2e

CONFIG = REPO / "examples" / "oneshot-rescue.toml"
API = "http://127.0.0.1/api"


@dataclass
class Run:
    """Every driver's run, or why none could run."""

    drivers: dict[str, BmcRun] = field(default_factory=dict)
    skip: str | None = None


def _sims_missing() -> str | None:
    for tool in ("ipmi_sim", "ipmitool"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: openipmi, ipmitool)"
    if not (Path(sys.executable).parent / "sushy-emulator").exists():
        return "sushy-emulator is not installed (pip install sushy-tools)"
    return None


async def _session(run: Run) -> None:
    chosen = bmc_scenarios(BMC_DRIVERS)
    options = LabOptions(config=CONFIG, scenarios=list(chosen), live=False, timeout=240.0)
    async with LabSession(options, Console(width=160, force_terminal=False)) as lab:
        lab.keep_work = True  # until everything below went as expected
        for scenario in chosen:
            run.drivers[scenario.driver] = await reprovision(lab, scenario, API)
        lab.keep_work = any(d.problems for d in run.drivers.values())


@pytest.fixture(scope="module")
def power_run() -> Run:
    run = Run(skip=environment_problem() or _sims_missing())
    if run.skip is None:
        try:
            asyncio.run(_session(run))
        except ServeUnavailable as exc:
            run.skip = str(exc)
    return run


def _driver(run: Run, driver: str) -> BmcRun:
    if run.skip is not None:
        pytest.skip(run.skip)
    found = run.drivers[driver]
    assert found.first is not None
    assert found.first.ok, (f"{driver}: the rescue boot did not reach the marker: {found.first.stopped_at()}\n"
                            f"{found.output}")
    return found


@pytest.mark.parametrize("driver", BMC_DRIVERS)
def test_one_command_reprovisions_the_machine(power_run: Run, driver: str) -> None:
    found = _driver(power_run, driver)
    assert found.code == 0, found.output
    assert found.first is not None and found.first.detail.get(Stage.KERNEL) == "vmlinuz", found.first.stopped_at()
    assert "done: one-shot boot of rescue done" in found.output, found.output
    assert "BMC set the next boot to PXE once; power was off; on" in found.output, found.output
    assert found.shown["boot"]["state"] == "done" and found.shown["target"] == "local", found.shown
    assert found.shown["bmc"]["password_set"] is True and "password" not in found.shown["bmc"], found.shown


@pytest.mark.parametrize("driver", BMC_DRIVERS)
def test_the_bmc_was_told_network_once_then_on(power_run: Run, driver: str) -> None:
    found = _driver(power_run, driver)
    if driver == "ipmi":
        assert "0x20 set boot pxe" in found.calls, found.calls
        assert found.calls.index("0x20 set boot pxe") < found.calls.index("0x20 set power 1"), found.calls
    else:
        told = [c for c in found.calls if c.startswith("redfish power")]
        assert any("boot Pxe" in c and "enabled Once" in c for c in told), found.calls


@pytest.mark.parametrize("driver", BMC_DRIVERS)
def test_the_timeline_runs_from_the_button_to_the_initrd(power_run: Run, driver: str) -> None:
    found = _driver(power_run, driver)
    kinds = [e["kind"] for e in found.events]
    for kind in ("bmc.bootdev", "bmc.power", "dhcp4.offer", "oneshot.done"):
        assert kind in kinds, kinds
    assert kinds.index("bmc.bootdev") < kinds.index("bmc.power") < kinds.index("dhcp4.offer"), kinds
    bootdev = next(e for e in found.events if e["kind"] == "bmc.bootdev")
    assert bootdev["host"] == BMC_HOST and bootdev["detail"]["device"] == "PXE", bootdev
    # The command printed the steps as they were stored: the BMC's, then the machine's.
    assert "BMC: power on" in found.output and "DHCPv4 offer of 192.0.2." in found.output, found.output


@pytest.mark.parametrize("driver", BMC_DRIVERS)
def test_the_next_power_on_boots_the_local_disk(power_run: Run, driver: str) -> None:
    found = _driver(power_run, driver)
    second = found.second
    assert second is not None and second.started is not None
    assert found.second_boot_from == "default", found.second_boot_from
    assert not second.seen, f"the machine booted from the network again: {second.stopped_at()}"
    assert (second.outcome or "").startswith("QEMU exited"), second.outcome
    assert not found.local_dhcp, found.local_dhcp
    assert not found.problems, found.problems
