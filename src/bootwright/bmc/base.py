"""The one driver interface for BMCs, and the errors every driver reports in.

A driver is blocking (the libraries are): :mod:`bootwright.bmc.control` runs
it in worker threads. Adding a driver (say, libvirt for labs) is one module
with a class implementing :class:`Driver` and one line in
:data:`bootwright.bmc.drivers.DRIVERS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class PowerState(StrEnum):
    """A machine's power as its BMC reports it."""

    ON = "on"
    OFF = "off"


class PowerAction(StrEnum):
    """What ``bootwright power HOST ACTION`` asks for (the names of ``ipmitool chassis power``)."""

    ON = "on"  # power on (nothing when on already)
    OFF = "off"  # hard power off, like holding the button
    SOFT = "soft"  # ask the operating system to shut down (ACPI power button)
    CYCLE = "cycle"  # hard off, then on
    RESET = "reset"  # hard reset without power loss


@dataclass(frozen=True, slots=True)
class NextBoot:
    """The boot device for the machine's next boot only: the network.

    ``uefi``: True asks for a UEFI boot, False for a legacy (BIOS) one, None
    leaves the firmware's mode alone. ``http``: UEFI HTTP boot instead of PXE
    (Redfish ``UefiHttp``; IPMI cannot express it).
    """

    uefi: bool | None = None
    http: bool = False

    def describe(self) -> str:
        """``UEFI HTTP``, ``UEFI PXE``, ``legacy PXE`` or ``PXE``, for messages."""
        mode = {True: "UEFI ", False: "legacy ", None: ""}[self.uefi]
        return f"{mode}{'HTTP' if self.http else 'PXE'}"


class BmcError(Exception):
    """A BMC step that did not happen; the message names the BMC and says why."""


class BmcUnreachable(BmcError):
    """No answer from the BMC in time (wrong address or port, BMC down, a firewall)."""


class BmcAuthFailed(BmcError):
    """The BMC refused the user name or password; bootwright does not retry (account lockout)."""


class BmcRefused(BmcError):
    """The BMC answered but refused the request (unsupported value, busy, insufficient privilege)."""


class BmcUnsupported(BmcError):
    """The driver cannot express the request (e.g. HTTP boot over IPMI)."""


class Driver(Protocol):
    """One BMC session. Every method blocks; errors are :class:`BmcError` subclasses."""

    def power_state(self) -> PowerState:
        """The machine's power now."""
        ...

    def set_power(self, action: PowerAction) -> None:
        """Press the button: ``action`` is accepted by the BMC when this returns."""
        ...

    def set_next_boot(self, boot: NextBoot) -> str:
        """Make the next boot (only) a network boot; returns a note when the BMC needed a fallback, else ``""``."""
        ...

    def close(self) -> None:
        """End the session (logout); never raises."""
        ...
