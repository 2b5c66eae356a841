"""Redfish through sushy: ``ComputerSystem.Reset`` and the one-time boot source override.

DSP0268 ``ComputerSystem``: ``Boot.BootSourceOverrideTarget`` = ``Pxe`` or
``UefiHttp``, ``BootSourceOverrideEnabled`` = ``Once``,
``BootSourceOverrideMode`` = ``UEFI``/``Legacy`` when asked. A BMC that
refuses the mode is asked again without it, and the note says so.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import sushy
from sushy import exceptions as sushy_errors

from bootwright.bmc.base import (
    BmcAuthFailed,
    BmcError,
    BmcRefused,
    BmcUnreachable,
    NextBoot,
    PowerAction,
    PowerState,
)
from bootwright.model import Bmc

CONNECT_TIMEOUT = 10.0  # seconds to open the TCP connection
READ_TIMEOUT = 20.0  # seconds for one answer
CYCLE_OFF_WAIT = 30.0  # seconds a BMC without PowerCycle may take to report off before the power-on
_RESET = {PowerAction.ON: sushy.ResetType.ON, PowerAction.OFF: sushy.ResetType.FORCE_OFF,
          PowerAction.SOFT: sushy.ResetType.GRACEFUL_SHUTDOWN, PowerAction.RESET: sushy.ResetType.FORCE_RESTART,
          PowerAction.CYCLE: sushy.ResetType.POWER_CYCLE}  # fmt: skip
_ON_STATES = (sushy.PowerState.ON, sushy.PowerState.POWERING_OFF)


def base_url(bmc: Bmc) -> str:
    """The service's base URL: the address when it is a URL, else ``https://address[:port]``."""
    if "://" in bmc.address:
        return bmc.address
    return f"https://{bmc.address}" + (f":{bmc.port}" if bmc.port is not None else "")


def _error(where: str, what: str, exc: Exception) -> BmcError:
    if isinstance(exc, sushy_errors.ConnectionError):
        return BmcUnreachable(f"{where} did not answer ({what}): {_short(exc)}")
    if isinstance(exc, sushy_errors.AccessError):
        return BmcAuthFailed(f"{where} refused the credentials ({what}; not retried, so the account is not locked "
                             "out)")
    if isinstance(exc, sushy_errors.ResourceNotFoundError):
        return BmcRefused(f"{where}: not found ({what}): {_short(exc)}")
    return BmcRefused(f"{where} refused {what}: {_short(exc)}")


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


class RedfishDriver:
    """One Redfish service root and its computer system (sushy ``System``)."""

    def __init__(self, bmc: Bmc, password: str) -> None:
        self.bmc = bmc
        self.where = f"Redfish BMC {base_url(bmc)}"
        try:
            # One attempt (sushy reads 0 as its default of 3): a 401 is never retried — a refused password
            # retried is how BMC accounts get locked — and a silent BMC costs one timeout, not three.
            self._root = sushy.Sushy(base_url(bmc), username=bmc.username, password=password,
                                     verify=bmc.verify_tls, server_side_retries=1, server_side_retries_delay=0,
                                     connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)
            self._system: Any = self._root.get_system(bmc.system)
        except sushy_errors.UnknownDefaultError:
            raise BmcRefused(f"{self.where} has more than one system (or none): name one with "
                             "system = \"/redfish/v1/Systems/<id>\"") from None
        except sushy_errors.SushyError as exc:
            raise _error(self.where, "login", exc) from None

    def power_state(self) -> PowerState:
        """``PowerState`` of the system (``PoweringOff`` still counts as on)."""
        try:
            self._system.refresh()
        except sushy_errors.SushyError as exc:
            raise _error(self.where, "get power", exc) from None
        return PowerState.ON if self._system.power_state in _ON_STATES else PowerState.OFF

    def set_power(self, action: PowerAction) -> None:
        """``ComputerSystem.Reset`` with the matching ``ResetType``; a cycle the BMC does not list is off, then on."""
        try:
            if action == PowerAction.CYCLE and sushy.ResetType.POWER_CYCLE not in self._allowed_resets():
                self._system.reset_system(sushy.ResetType.FORCE_OFF)
                deadline = time.monotonic() + CYCLE_OFF_WAIT
                while self.power_state() == PowerState.ON and time.monotonic() < deadline:
                    time.sleep(1.0)
                self._system.reset_system(sushy.ResetType.ON)
                return
            self._system.reset_system(_RESET[action])
        except sushy_errors.SushyError as exc:
            raise _error(self.where, f"power {action}", exc) from None

    def _allowed_resets(self) -> set[Any]:
        """``ResetType@Redfish.AllowableValues`` (sushy refuses a reset type not listed there)."""
        return set(self._system.get_allowed_reset_system_values())

    def set_next_boot(self, boot: NextBoot) -> str:
        """The boot source override, once; a refused ``BootSourceOverrideMode`` is retried without it."""
        target = sushy.BootSource.UEFI_HTTP if boot.http else sushy.BootSource.PXE
        mode = None if boot.uefi is None else (
            sushy.BootSourceOverrideMode.UEFI if boot.uefi else sushy.BootSourceOverrideMode.LEGACY)
        try:
            self._system.set_system_boot_options(target, enabled=sushy.BootSourceOverrideEnabled.ONCE, mode=mode)
            return ""
        except sushy_errors.SushyError as exc:
            if mode is None or isinstance(exc, sushy_errors.ConnectionError | sushy_errors.AccessError):
                raise _error(self.where, f"boot device {target.value}", exc) from None
            refused = _short(exc)
        try:
            self._system.set_system_boot_options(target, enabled=sushy.BootSourceOverrideEnabled.ONCE)
        except sushy_errors.SushyError as exc:
            raise _error(self.where, f"boot device {target.value}", exc) from None
        return f"the BMC refused BootSourceOverrideMode {mode.value} ({refused}); set {target.value} once without it"

    def close(self) -> None:
        """Nothing to end: sushy's basic-auth connection holds no session."""
        with contextlib.suppress(Exception):
            self._root._conn.close()
