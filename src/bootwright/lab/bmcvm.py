"""A lab VM whose power button is a BMC: reprovisioned by ``bootwright boot --reboot --wait``.

The machine is the BIOS v4 VM (SeaBIOS + the iPXE ROM), but the lab does not
start its QEMU: a simulated BMC does (:mod:`bootwright.lab.bmcsim` — OpenIPMI's
``ipmi_sim`` or ``sushy-emulator``, inside the lab's namespace on loopback),
through :mod:`bootwright.lab.chassis`, which starts the network command line
when the BMC was told "boot from the network" and the local one otherwise:
the same machine with its NIC's boot ROM left out and the disk first. The
disk is empty, so a local boot ends with SeaBIOS finding nothing and QEMU
exiting (``-no-reboot``) — without a single DHCP packet.

What starts the machine is the user's command, run as a process inside the
namespace::

    bootwright boot bmc-vm --target rescue --once --reboot --wait 240

The lab follows the VM as it follows every VM (server observations and the
serial console, up to the marker), keeps the command's output, and then
checks the other half of a one-shot: ``bootwright power bmc-vm cycle``
boots the local disk.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bootwright.lab.bmcsim import IpmiSim, RedfishSim
from bootwright.lab.netns import Namespace
from bootwright.lab.scenarios import Scenario
from bootwright.lab.vm import VM

BMC_DRIVERS = ("ipmi", "redfish")
BMC_TITLES = {"ipmi": "IPMI (ipmi_sim)", "redfish": "Redfish (sushy-emulator)"}
BMC_HOST = "bmc-vm"  # the inventory name the lab gives the machine
BMC_USER = "admin"
BMC_PASSWORD = "lab-bmc-secret"  # only inside the lab's namespace, on loopback
IPMI_PORT = 623  # the namespace has its own ports: the standard ones are free there
REDFISH_PORT = 8000


@dataclass(frozen=True)
class BmcScenario(Scenario):
    """The BIOS v4 machine, powered through a BMC of ``driver`` (``ipmi`` or ``redfish``)."""

    driver: str = "ipmi"

    @property
    def name(self) -> str:
        """``bmc-ipmi`` or ``bmc-redfish``."""
        return f"bmc-{self.driver}"

    @property
    def title(self) -> str:
        """``BIOS v4 via IPMI (ipmi_sim)``."""
        return f"BIOS v4 via {BMC_TITLES[self.driver]}"

    @property
    def mac(self) -> str:
        """Its own MAC (52:54:00:b0:1<driver>:04), apart from the six firmware scenarios."""
        return f"52:54:00:b0:1{BMC_DRIVERS.index(self.driver)}:04"


def bmc_scenarios(drivers: tuple[str, ...] = BMC_DRIVERS) -> list[BmcScenario]:
    """One scenario per BMC driver."""
    return [BmcScenario("bios", 4, 6 + i, driver) for i, driver in enumerate(drivers)]


def local_command(network: list[str]) -> list[str]:
    """The machine booting its (empty) disk: the NIC without its boot ROM, the disk first."""
    out = []
    for arg in network:
        if arg.startswith("virtio-net-pci,"):
            arg += ",romfile="
        elif arg.startswith("order="):
            arg = "order=c,reboot-timeout=0"
        out.append(arg)
    return out


class BmcVM(VM):
    """A :class:`VM` switched by a simulated BMC; :meth:`trigger` is what presses its button."""

    scenario: BmcScenario

    def __init__(self, scenario: BmcScenario, ns: Namespace, work: Path, marker: str, accel: str) -> None:
        super().__init__(scenario, ns, work, marker, accel)
        self.sim_dir = work / f"{scenario.name}-sim"
        self.sim: IpmiSim | RedfishSim
        if scenario.driver == "ipmi":
            self.sim = IpmiSim(self.sim_dir, IPMI_PORT, BMC_USER, BMC_PASSWORD, netns=ns.name)
        else:
            self.sim = RedfishSim(self.sim_dir, REDFISH_PORT, BMC_USER, BMC_PASSWORD, netns=ns.name, mac=scenario.mac)
        self.password_file = work / f"{scenario.name}.password"
        self.command: list[str] | None = None  # what presses the button at the next boot
        self.command_log = work / f"{scenario.name}.command.log"
        self.command_code: int | None = None
        self._command: asyncio.subprocess.Process | None = None
        self._command_out: IO[bytes] | None = None

    # -- the BMC ---------------------------------------------------------------
    def start_bmc(self) -> None:
        """Start the simulator (and write the password file the inventory points at)."""
        self.password_file.write_text(BMC_PASSWORD + "\n")
        self.password_file.chmod(0o600)
        self.sim.start()

    def stop_bmc(self) -> None:
        """Stop the simulator and the machine it powers."""
        self.sim.stop()

    @property
    def bmc_option(self) -> str:
        """The ``--bmc`` value of ``bootwright hosts add`` for this machine."""
        address = "127.0.0.1" if self.scenario.driver == "ipmi" else f"http://127.0.0.1:{REDFISH_PORT}"
        port = f",port={IPMI_PORT}" if self.scenario.driver == "ipmi" else ""
        return (f"driver={self.scenario.driver},address={address}{port},username={BMC_USER},"
                f"password-file={self.password_file}")

    # -- the power button --------------------------------------------------------
    async def power_on(self, cmd: list[str], log: IO[bytes]) -> None:
        """Describe the machine to the chassis, then run :attr:`command` (which asks the BMC to power it)."""
        # Inside the lab's namespace whoever starts it: ipmi_sim runs there, but the Redfish bridge runs in
        # this process (its tap exists only in the namespace; outside, QEMU would create a stray one).
        inside = [*self.ns.exec_prefix(), *cmd]
        machine = {"qemu_network": inside, "qemu_local": local_command(inside)}
        chassis = self.sim.chassis
        chassis.state_dir.mkdir(parents=True, exist_ok=True)
        chassis.machine_file.write_text(json.dumps(machine, indent=1))
        # "Not powered on yet" until the chassis records this boot's device (see ``running``).
        (chassis.state_dir / "last_boot").unlink(missing_ok=True)
        if self.command is None:
            raise RuntimeError(f"{self.scenario.name}: no command to press the button (set vm.command)")
        self._command_out = self.command_log.open("ab")
        self._command_out.write(f"$ bootwright {' '.join(self.command)}\n".encode())
        self._command_out.flush()
        self._command = await asyncio.create_subprocess_exec(
            *self.ns.exec_prefix(), sys.executable, "-m", "bootwright.cli", *self.command,
            stdin=asyncio.subprocess.DEVNULL, stdout=self._command_out, stderr=asyncio.subprocess.STDOUT,
        )

    @property
    def running(self) -> bool:
        """On while QEMU runs, or while the command has not powered it on yet."""
        if self.sim.chassis.pid() is not None:
            return True
        return self._command is not None and self._command.returncode is None and not self.sim.chassis.last_boot()

    async def wait_off(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for QEMU to exit."""
        deadline = time.monotonic() + seconds
        while self.sim.chassis.pid() is not None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.25)
        return True

    def off_reason(self) -> str:
        """Why the machine is off before the marker: the command's failure, or QEMU's exit."""
        if self._command is not None and self._command.returncode not in (None, 0):
            return f"bootwright {' '.join(self.command or [])} exited with code {self._command.returncode}"
        if not self.sim.chassis.last_boot():
            return "the BMC never powered the machine on"
        return f"QEMU exited (booted from {self.sim.chassis.last_boot()})"

    async def finish_command(self, timeout: float = 30.0) -> int | None:
        """Wait (bounded) for the command to exit; its exit code (None: it was stopped)."""
        if self._command is None:
            return self.command_code
        try:
            self.command_code = await asyncio.wait_for(self._command.wait(), timeout)
        except TimeoutError:
            self._command.kill()
            await self._command.wait()
            self.command_code = None
        if self._command_out is not None:
            self._command_out.close()
            self._command_out = None
        self._command = None
        return self.command_code

    async def stop(self) -> None:
        """Power the machine off (the chassis kills QEMU); the command keeps running until :meth:`finish_command`."""
        self.sim.chassis.power_off()

    async def close(self) -> None:
        """Stop the machine, the command and the simulator."""
        await self.stop()
        if self._command is not None and self._command.returncode is None:
            self._command.kill()
            await self._command.wait()
        self.stop_bmc()

    @property
    def output(self) -> str:
        """Everything the commands printed so far."""
        try:
            return self.command_log.read_text(errors="replace")
        except OSError:
            return ""

