"""IPMI 2.0 over LAN (RMCP+) through pyghmi: ``chassis power`` and ``chassis bootdev``.

pyghmi negotiates the cipher suite itself (17, HMAC-SHA256, first; then 3,
HMAC-SHA1 + AES-CBC-128: IPMI 2.0 table 22-20). The boot device is set with
the boot flags parameter (IPMI 2.0 §28.12, Set System Boot Options parameter
5): "network", valid for the next boot only, with the UEFI bit when asked.
"""

from __future__ import annotations

import threading
from typing import Any

from pyghmi import exceptions as pyghmi_errors
from pyghmi.ipmi import command

from bootwright.bmc.base import (
    BmcAuthFailed,
    BmcError,
    BmcRefused,
    BmcUnreachable,
    BmcUnsupported,
    NextBoot,
    PowerAction,
    PowerState,
)
from bootwright.model import Bmc

DEFAULT_PORT = 623  # RMCP, IPMI 2.0 §13.1
# Chassis Control (IPMI 2.0 §28.3, netfn chassis 0x00, command 0x02), data byte 0x02: power cycle.
# pyghmi's set_power has no cycle; its raw command does.
_CHASSIS_NETFN, _CHASSIS_CONTROL, _POWER_CYCLE = 0x00, 0x02, 0x02
_PYGHMI_POWER = {PowerAction.ON: "on", PowerAction.OFF: "off", PowerAction.SOFT: "shutdown",
                 PowerAction.RESET: "reset"}  # fmt: skip
# Words in pyghmi's login errors that mean the BMC refused the user or the password (RAKP 2 status codes).
_AUTH_WORDS = ("unauthorized", "password", "name", "privilege", "rakp", "integrity check")


def _where(bmc: Bmc) -> str:
    return f"IPMI BMC {bmc.address}:{bmc.port or DEFAULT_PORT}"


def _login_error(bmc: Bmc, exc: Exception) -> BmcError:
    text = str(exc.args[0]) if exc.args and exc.args[0] else ""
    if not text or "timeout" in text.lower() or "timed out" in text.lower():
        return BmcUnreachable(f"{_where(bmc)} did not answer (is the address and UDP port right, is the BMC's LAN "
                              "channel enabled?)")
    if any(word in text.lower() for word in _AUTH_WORDS):
        return BmcAuthFailed(f"{_where(bmc)} refused the login of user {bmc.username!r}: {text} (not retried, so "
                             "the account is not locked out)")
    return BmcError(f"{_where(bmc)}: login failed: {text}")


# pyghmi keeps one RMCP+ session per BMC and user (its keepalive thread holds it open) and is not made for
# creating Commands again and again: a second Command on the same BMC, or logging out and in at once, can hang
# or fail inside pyghmi 1.6. So one Command per BMC, user and password lives for the process, used by one
# operation at a time (the lock), and is dropped when its session breaks.
_Key = tuple[str, int, str, str]
_COMMANDS: dict[_Key, Any] = {}
_LOCKS: dict[_Key, threading.Lock] = {}
_GUARD = threading.Lock()


def _session_lock(key: _Key) -> threading.Lock:
    with _GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


class IpmiDriver:
    """One operation's use of the process's RMCP+ session with a BMC (pyghmi ``Command``)."""

    def __init__(self, bmc: Bmc, password: str) -> None:
        self.bmc = bmc
        self._key: _Key = (bmc.address, bmc.port or DEFAULT_PORT, bmc.username, password)
        self._lock = _session_lock(self._key)
        self._lock.acquire()
        try:
            self._ipmi: Any = self._command(password)
        except BaseException:
            self._lock.release()
            raise

    def _command(self, password: str) -> Any:
        cached = _COMMANDS.get(self._key)
        if cached is not None and not getattr(cached.ipmi_session, "broken", False):
            return cached
        _COMMANDS.pop(self._key, None)
        try:
            # bytes: pyghmi 1.6 files its sessions under str credentials but removes a failed one under the
            # encoded bytes, so a second login with the same wrong password would get the dead session back.
            found = command.Command(bmc=self.bmc.address, userid=self.bmc.username.encode(),
                                    password=password.encode(), port=self.bmc.port or DEFAULT_PORT)
        except pyghmi_errors.PyghmiException as exc:
            raise _login_error(self.bmc, exc) from None
        except OSError as exc:  # name resolution, no route
            raise BmcUnreachable(f"{_where(self.bmc)}: {exc.strerror or exc}") from None
        _COMMANDS[self._key] = found
        return found

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except pyghmi_errors.PyghmiException as exc:
            text = str(exc.args[0]) if exc.args and exc.args[0] else "no answer"
            if "timeout" in text.lower() or text == "no answer" or "no longer connected" in text:
                _COMMANDS.pop(self._key, None)  # the next operation logs in afresh
                raise BmcUnreachable(f"{_where(self.bmc)} stopped answering ({what})") from None
            raise BmcRefused(f"{_where(self.bmc)} refused {what}: {text}") from None

    def power_state(self) -> PowerState:
        """``Get Chassis Status`` (IPMI 2.0 §28.2)."""
        state = self._call("get power", self._ipmi.get_power)
        return PowerState.ON if state.get("powerstate") == "on" else PowerState.OFF

    def set_power(self, action: PowerAction) -> None:
        """``Chassis Control`` (IPMI 2.0 §28.3); ``cycle`` is its power-cycle code."""
        if action == PowerAction.CYCLE:
            result = self._call("power cycle", self._ipmi.raw_command, netfn=_CHASSIS_NETFN,
                                command=_CHASSIS_CONTROL, data=[_POWER_CYCLE])
        else:
            result = self._call(f"power {action}", self._ipmi.set_power, _PYGHMI_POWER[action], wait=False)
        if isinstance(result, dict) and result.get("error"):
            raise BmcRefused(f"{_where(self.bmc)} refused power {action}: {result['error']}")

    def set_next_boot(self, boot: NextBoot) -> str:
        """Boot flags "network, next boot only"; a BMC that refuses the UEFI bit is asked again without it."""
        if boot.http:
            raise BmcUnsupported(f"{_where(self.bmc)}: IPMI has no HTTP boot device; use PXE (no --http) or a "
                                 "Redfish BMC")
        try:
            self._call("boot device network", self._ipmi.set_bootdev, "network", persist=False,
                       uefiboot=bool(boot.uefi))
        except BmcRefused as exc:
            if not boot.uefi:
                raise
            self._call("boot device network", self._ipmi.set_bootdev, "network", persist=False, uefiboot=False)
            return f"the BMC refused the UEFI boot flag ({exc}); set network boot without it"
        return ""

    def close(self) -> None:
        """Let the next operation use the session (it stays open: see ``_COMMANDS``)."""
        self._lock.release()
