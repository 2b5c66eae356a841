"""The lab's BMC scenarios: reprovision a machine through its BMC with one command, then boot it locally.

For each :class:`~bootwright.lab.bmcvm.BmcScenario` (``bootwright lab --firmware bmc``):
a simulated BMC (IPMI or Redfish) owns a BIOS VM, the inventory gets the
host ``bmc-vm`` with that BMC and the target ``local``, and the only actor is
the user's command, run in the namespace::

    bootwright boot bmc-vm --target rescue --once --reboot --wait 240

The VM must reach the marker and the command exit 0 (one-shot done); then
``bootwright power bmc-vm on`` must boot the local disk — no DHCP from the
machine — because the BMC's boot device was for one boot only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bootwright.lab.bmcvm import BMC_HOST, BmcScenario, BmcVM
from bootwright.lab.session import LabSession
from bootwright.lab.timeline import Timeline

WAIT = 240  # --wait: a TCG boot of the rescue kernel takes well under that
LOCAL_TIMEOUT = 90.0  # seconds for the local boot: SeaBIOS finds no disk and QEMU exits


@dataclass
class BmcRun:
    """What one scenario's reprovisioning looked like."""

    scenario: BmcScenario
    first: Timeline | None = None
    code: int | None = None  # the boot command's exit code
    output: str = ""  # what the commands printed
    calls: list[str] = field(default_factory=list)  # what the BMC was told (the chassis's calls.log)
    shown: dict[str, Any] = field(default_factory=dict)  # bootwright hosts show bmc-vm --json afterwards
    second: Timeline | None = None  # the next power-on
    second_boot_from: str | None = None  # the device the chassis booted the second time
    events: list[dict[str, Any]] = field(default_factory=list)  # the machine's events (the API)

    @property
    def local_dhcp(self) -> list[dict[str, Any]]:
        """DHCP events from the machine after the second power-on (there should be none)."""
        if self.second is None or self.second.started is None:
            return []
        return [e for e in self.events if e["at"] >= self.second.started and e["kind"].startswith("dhcp")]

    @property
    def problems(self) -> list[str]:
        """What went wrong, in words; empty when the scenario passed."""
        if self.first is None or not self.first.ok:
            return [f"the rescue boot did not reach the marker: {self.first.stopped_at() if self.first else '-'}"]
        found = []
        if self.code != 0:
            found.append(f"bootwright boot exited with code {self.code}")
        if self.second is None or self.second_boot_from != "default" or self.second.seen or self.local_dhcp:
            found.append("the next power-on did not boot the local disk "
                         f"(booted from {self.second_boot_from}; DHCP events: {len(self.local_dhcp)})")
        return found


async def reprovision(lab: LabSession, scenario: BmcScenario, api: str = "http://127.0.0.1/api") -> BmcRun:
    """Run one BMC scenario in a started session (see the module docstring)."""
    run = BmcRun(scenario)
    vm = lab.vm(scenario)
    assert isinstance(vm, BmcVM)
    try:
        vm.start_bmc()
        lab.cli("hosts", "add", BMC_HOST, "--mac", scenario.mac, "--target", "local", "--bmc", vm.bmc_option,
                *lab.cli_args)
        vm.command = ["boot", BMC_HOST, "--target", "rescue", "--once", "--reboot", "--wait", str(WAIT),
                      "--grace", "5", *lab.cli_args]
        await lab.boot([vm], title=f"{lab.title}: {scenario.title}")
        run.first = vm.timeline
        run.code = await vm.finish_command(60.0)
        run.calls = vm.sim.chassis.calls()
        run.shown = json.loads(lab.cli("hosts", "show", BMC_HOST, "--json", *lab.cli_args))
        if run.first.ok:
            vm.next_boot()
            vm.command = ["power", BMC_HOST, "on", *lab.cli_args]
            title = f"{lab.title}: {scenario.title}, the next power-on (expected: the local disk, no DHCP)"
            await lab.boot([vm], title=title, timeout=LOCAL_TIMEOUT)
            await vm.finish_command(30.0)
            run.second = vm.timeline
            run.second_boot_from = vm.sim.chassis.last_boot()
        run.output = vm.output
        run.events = json.loads(lab.http_get(f"{api}/events?mac={scenario.mac}&limit=2000"))["events"]
        lab.cli("hosts", "remove", BMC_HOST, *lab.cli_args)  # the next scenario's machine takes the name
    finally:
        await vm.close()
    return run
