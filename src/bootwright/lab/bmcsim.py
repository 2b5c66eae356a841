"""BMC simulators for tests and the lab: ipmi_sim (IPMI over LAN) and sushy-emulator (Redfish).

Both drive a :class:`~bootwright.lab.chassis.Chassis` in ``WORK_DIR/chassis``:
a power flag, or a QEMU VM when ``WORK_DIR/chassis/machine.json`` names its
command lines (see :mod:`bootwright.lab.chassis`). Every command a BMC
receives lands in ``WORK_DIR/chassis/calls.log``.

:class:`IpmiSim`
    Debian's ``ipmi_sim`` with a generated ``lan.conf``/``bmc.emu``; its
    ``chassis_control`` program is :mod:`bootwright.lab.chassis` (run by file
    path, not ``-m``: ipmi_sim starts it once per command, and importing the
    lab package would add ~0.1 s to each). Answers RMCP+ (``ipmitool -I lanplus
    -C 3``). Starting takes ~0.1 s; :func:`start_all` starts many in parallel.
:class:`RedfishSim`
    ``sushy-emulator --fake`` (one fake system, basic auth from a bcrypt
    htpasswd file, its fake-driver state in ``WORK_DIR/sushy-state``) plus a
    bridge HTTP server in this process that receives the emulator's external
    notifications (PUT of the fake system: power, boot device, boot mode) and
    applies them to the chassis. The generated config file (Python, executed
    by the emulator) also installs a request hook that reports each PATCH /
    POST to the bridge (the notifications lack ``BootSourceOverrideEnabled``
    and the ``ResetType``), keeps the emulator's ``PowerState`` in step with
    the chassis (a VM that exits reads back ``Off``), can refuse UEFI
    (``refuse_uefi=True``) and by default makes power changes immediate
    (the fake driver delays them by a random 1–11 s; ``power_delay=True``
    keeps that).

With ``netns`` the simulator runs in that (existing) network namespace
(``ip netns exec``) and its loopback is brought up; readiness probes and the
bridge socket are made inside the namespace too (``setns`` in a helper thread),
so ``address`` may be 127.0.0.1 or an address of the namespace. The API is
synchronous; every process is started in its own session and stopped by pid.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from bootwright.lab.chassis import Chassis

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
"""``setns`` flag for a network namespace (``<sched.h>``)."""


class SimulatorError(Exception):
    """A simulator did not come up (or a tool is missing); ``stderr_tail`` holds the end of its output."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(f"{message}\n--- output tail ---\n{stderr_tail}" if stderr_tail else message)
        self.stderr_tail = stderr_tail


# -- helpers ------------------------------------------------------------------


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python 3.12+
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def in_netns(netns: str | None, fn: Callable[[], T]) -> T:
    """``fn()`` with its sockets in network namespace ``netns`` (a helper thread ``setns``-es; ``None``: here).

    Sockets keep the namespace they were created in, so a server socket made
    this way can be served from any thread afterwards.
    """
    if netns is None:
        return fn()
    box: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            box.append(fn())
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"netns-{netns}", daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return box[0]


def _netns_prefix(netns: str | None) -> list[str]:
    return ["ip", "netns", "exec", netns] if netns else []


def _loopback_up(netns: str | None) -> None:
    if netns:
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=False, capture_output=True, timeout=10)


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise SimulatorError(f"{tool} is not installed")
    return found


def _check_conf_path(path: Path) -> None:
    if '"' in str(path) or "\n" in str(path):
        raise SimulatorError(f"{path}: a path with a double quote or newline cannot go into ipmi_sim's lan.conf")


def _stop_pid(proc: subprocess.Popen[bytes] | None, grace: float = 3.0) -> None:
    """SIGTERM ``proc`` (by pid), wait ``grace`` seconds, SIGKILL; reap it."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(grace)


def _udp_port_bound(pid: int, port: int) -> bool:
    """Whether a UDP socket on ``port`` exists in the network namespace of ``pid``."""
    suffix = f":{port:04X}"
    for table in ("udp", "udp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        if any(line.split()[1].endswith(suffix) for line in lines if len(line.split()) > 1):
            return True
    return False


class _Simulator:
    """What both simulators share: a user on ``address:port``, the chassis, one process stopped by pid, its log."""

    log_name: ClassVar[str]
    """The simulator's output file in ``work_dir``."""

    def __init__(self, work_dir: str | os.PathLike[str], port: int, username: str, password: str,
                 netns: str | None, address: str, start_timeout: float) -> None:
        self.work_dir = Path(work_dir).resolve()
        self.port = port
        self.address = address
        self.username = username
        self.password = password
        self.netns = netns
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def chassis(self) -> Chassis:
        """The machine this BMC switches (``WORK_DIR/chassis``)."""
        return Chassis(self.work_dir / "chassis")

    @property
    def pid(self) -> int | None:
        """The simulator's pid while it runs."""
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    @property
    def log(self) -> Path:
        """The simulator's stdout and stderr (``WORK_DIR/<log_name>``)."""
        return self.work_dir / self.log_name

    def start(self) -> Self:
        """Start the simulator and return once it answers."""
        raise NotImplementedError

    def stop(self, power_off: bool = True) -> None:
        """Stop the simulator by pid (then :meth:`_stop_helpers`); with ``power_off``, also kill the chassis's VM."""
        _stop_pid(self.proc)
        self._stop_helpers()
        if power_off and self.chassis.pid() is not None:
            self.chassis.power_off()

    def _stop_helpers(self) -> None:
        """What runs beside the simulator's process, stopped after it (nothing here)."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- IPMI ---------------------------------------------------------------------

LAN_CONF = """\
# Written by bootwright.lab.bmcsim.IpmiSim.
name "bmc{port}"
set_working_mc 0x20
startlan 1
  addr {address} {port}
  priv_limit admin
  allowed_auths_admin none md2 md5 straight
  guid {guid}
endlan
chassis_control "{chassis_control}"
user 2 true "{username}" "{password}" admin 10 none md2 md5 straight
"""
"""ipmi_sim's ``lan.conf``: one LAN channel (RMCP+ needs the guid), one admin user; filled in by :class:`IpmiSim`."""

BMC_EMU = """\
# Written by bootwright.lab.bmcsim.IpmiSim; the LAN port opens only because of the last line.
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
"""
"""ipmi_sim's emulator commands (``-f``): one BMC at IPMB address 0x20, LAN enabled."""


class IpmiSim(_Simulator):
    """One ``ipmi_sim`` on ``address:port`` (UDP) with one user, driving ``WORK_DIR/chassis``.

    Files in ``work_dir``: ``lan.conf``, ``bmc.emu``, ``state/`` (ipmi_sim's
    ``-s``), ``ipmi_sim.log`` (its output) and ``chassis/``. Use as a context
    manager, or :meth:`start` / :meth:`stop`.
    """

    log_name = "ipmi_sim.log"

    def __init__(
        self,
        work_dir: str | os.PathLike[str],
        port: int,
        username: str = "admin",
        password: str = "secret",
        netns: str | None = None,
        address: str = "127.0.0.1",
        start_timeout: float = 10.0,
    ) -> None:
        super().__init__(work_dir, port, username, password, netns, address, start_timeout)

    def __repr__(self) -> str:
        where = f" in {self.netns}" if self.netns else ""
        return f"IpmiSim({self.address}:{self.port}{where}, {str(self.work_dir)!r})"

    def ipmitool(self, *args: str, password: str | None = None) -> list[str]:
        """The ``ipmitool -I lanplus -C 3 …`` command line for this BMC (inside its namespace), plus ``args``."""
        return [
            *_netns_prefix(self.netns), "ipmitool", "-I", "lanplus", "-C", "3",
            "-H", self.address, "-p", str(self.port), "-U", self.username,
            "-P", self.password if password is None else password, *args,
        ]  # fmt: skip

    def chassis_control(self) -> str:
        """The ``chassis_control`` command ipmi_sim runs (through ``/bin/sh -c``, appending ``get power`` etc.)."""
        program = Path(__file__).with_name("chassis.py")
        parts = [sys.executable, "-I", str(program), str(self.work_dir / "chassis"), "0x20"]
        return " ".join(shlex.quote(p) for p in parts)

    def write_config(self) -> None:
        """Write ``lan.conf`` and ``bmc.emu`` and create the state and chassis directories."""
        _check_conf_path(self.work_dir)
        for text in (self.username, self.password):
            if not re.fullmatch(r"[^\"\s]{1,16}", text):
                raise SimulatorError(f"IPMI user name/password {text!r}: 1–16 characters, no spaces or quotes")
        (self.work_dir / "state").mkdir(parents=True, exist_ok=True)
        self.chassis.state_dir.mkdir(parents=True, exist_ok=True)
        guid = uuid.uuid5(uuid.NAMESPACE_URL, f"bootwright-ipmisim:{self.work_dir}:{self.port}").hex
        (self.work_dir / "lan.conf").write_text(LAN_CONF.format(
            port=self.port, address=self.address, guid=guid, chassis_control=self.chassis_control(),
            username=self.username, password=self.password,
        ))  # fmt: skip
        (self.work_dir / "bmc.emu").write_text(BMC_EMU)

    def start(self, wait: bool = True) -> Self:
        """Write the config and start ipmi_sim; with ``wait``, return once it answers (:meth:`wait_ready`)."""
        if self.pid is not None:
            return self
        binary = _require("ipmi_sim")
        self.write_config()
        _loopback_up(self.netns)
        cmd = [
            *_netns_prefix(self.netns), binary, "-c", str(self.work_dir / "lan.conf"),
            "-f", str(self.work_dir / "bmc.emu"), "-s", str(self.work_dir / "state"), "-n",
        ]  # fmt: skip
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=self.work_dir, start_new_session=True
            )
        if wait:
            try:
                self.wait_ready()
            except BaseException:
                self.stop(power_off=False)
                raise
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until the UDP port is bound and ``ipmitool … chassis power status`` answers; :class:`SimulatorError`."""
        if self.proc is None:
            raise SimulatorError(f"{self!r} was not started")
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        tool = _require("ipmitool")
        probe = [*self.ipmitool("-N", "1", "-R", "1", "chassis", "power", "status")]
        probe[len(_netns_prefix(self.netns))] = tool
        last = ""
        while True:
            if self.proc.poll() is not None:
                self._check_bound()  # it may also exit after "Unable to bind": say that, not just the code
                raise SimulatorError(
                    f"ipmi_sim on port {self.port} exited with {self.proc.returncode}", _tail(self.log)
                )
            self._check_bound()
            if _udp_port_bound(self.proc.pid, self.port):
                result = subprocess.run(probe, capture_output=True, timeout=10, check=False)
                if result.returncode == 0 and b"Chassis Power is" in result.stdout:
                    return
                last = (result.stderr or result.stdout).decode(errors="replace").strip()
            if time.monotonic() >= deadline:
                self._check_bound()
                raise SimulatorError(
                    f"ipmi_sim on {self.address}:{self.port} did not answer ipmitool in time"
                    + (f" (ipmitool: {last})" if last else " (port never bound)"),
                    _tail(self.log),
                )
            time.sleep(0.02)

    def _check_bound(self) -> None:
        if b"Unable to bind" in _read_bytes(self.log):  # ipmi_sim keeps running without its port
            raise SimulatorError(f"ipmi_sim cannot bind {self.address}:{self.port}", _tail(self.log))



def start_all(sims: Sequence[IpmiSim], timeout: float = 30.0) -> None:
    """Start every sim, then wait until all answer (probing in parallel); all are stopped again if one fails."""
    try:
        for sim in sims:
            sim.start(wait=False)
        deadline = time.monotonic() + timeout
        # The probes (ipmitool plus one chassis_control run each) mostly wait: overlap them.
        with ThreadPoolExecutor(max_workers=max(1, min(len(sims), 4 * (os.cpu_count() or 1)))) as pool:
            for future in [pool.submit(sim.wait_ready, max(0.5, deadline - time.monotonic())) for sim in sims]:
                future.result()
    except BaseException:
        stop_all(sims)
        raise


def stop_all(sims: Iterable[IpmiSim]) -> None:
    """SIGTERM every running sim first, then reap them (and kill their VMs): faster than one by one."""
    sims = list(sims)
    for sim in sims:
        if sim.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(sim.pid, signal.SIGTERM)
    for sim in sims:
        sim.stop()


# -- Redfish ------------------------------------------------------------------

SUSHY_CONFIG = """\
# Written by bootwright.lab.bmcsim.RedfishSim; sushy-emulator executes this file
# (flask Config.from_pyfile) and keeps the UPPER-CASE names as settings.
SUSHY_EMULATOR_LISTEN_IP = {address!r}
SUSHY_EMULATOR_LISTEN_PORT = {port!r}
SUSHY_EMULATOR_AUTH_FILE = {auth_file!r}
SUSHY_EMULATOR_STATE_DIR = {state_dir!r}
SUSHY_EMULATOR_FAKE_DRIVER = True
# The fake driver PUTs a system's dict to this URL on each change of a system
# whose "external_notifier" is true (there is no global switch in sushy-tools 2.2).
EXTERNAL_NOTIFICATION_URL = {notify_url!r}
SUSHY_EMULATOR_FAKE_SYSTEMS = {systems!r}

import re as _re
import sys as _sys

import flask as _flask
import requests as _requests

_bridge = {bridge_url!r}
_refuse_uefi = {refuse_uefi!r}
_power_delay = {power_delay!r}
_app = _sys.modules["sushy_tools.emulator.main"].app

if not _power_delay:
    # fakedriver.set_power_state delays by random.randint(1, 11) s; 0 makes the
    # change land at the next read of the system.
    from sushy_tools.emulator.resources.systems import fakedriver as _fakedriver

    class _NoDelay:
        @staticmethod
        def randint(a, b):
            return 0

    _fakedriver.random = _NoDelay()

_SYSTEM = _re.compile(r"^/redfish/v1/Systems/[^/]+(/Actions/ComputerSystem\\.Reset)?/?$")


def _refused(prop, value):
    message = (f"The value {{value}} for the property {{prop}} is not in the list of "
               "acceptable values.")
    body = {{"error": {{"code": "Base.1.0.PropertyValueNotInList", "message": message,
                      "@Message.ExtendedInfo": [{{
                          "@odata.type": "#Message.v1_1_1.Message",
                          "MessageId": "Base.1.0.PropertyValueNotInList",
                          "Message": message, "MessageArgs": [value, prop], "Severity": "Warning",
                          "Resolution": "Choose a value from the enumeration list that the "
                                        "implementation can support and resubmit the request."}}]}}}}
    return _flask.jsonify(body), 400


def _sync_power():
    # The machine may have changed on its own (a VM that exits): read it back.
    try:
        power = _requests.get(_bridge + "/power", timeout=5).json()["power"]
    except Exception:
        return
    driver = _app.systems
    for key in list(driver._systems):
        system = driver._systems[key]
        want = "On" if power else "Off"
        if not system.get("pending_power") and system.get("power_state") != want:
            system["power_state"] = want
            driver._systems[key] = system


@_app.before_request
def _bootwright_hook():
    match = _SYSTEM.match(_flask.request.path)
    if not match:
        return None
    _sync_power()
    if _flask.request.method not in ("PATCH", "POST"):
        return None
    body = _flask.request.get_json(silent=True)
    refused = None
    if _refuse_uefi and isinstance(body, dict) and isinstance(body.get("Boot"), dict):
        boot = body["Boot"]
        if boot.get("BootSourceOverrideMode") == "UEFI":
            refused = ("BootSourceOverrideMode", "UEFI")
        elif boot.get("BootSourceOverrideTarget") == "UefiHttp":
            refused = ("BootSourceOverrideTarget", "UefiHttp")
    try:
        _requests.put(_bridge + "/request", timeout=5, json={{
            "method": _flask.request.method, "path": _flask.request.path, "body": body,
            "refused": refused is not None}})
    except Exception as exc:
        _app.logger.error("bootwright bridge unreachable: %s", exc)
    if refused:
        return _refused(*refused)
    return None
"""
"""sushy-emulator's ``--config`` file (Python): settings, the no-delay patch and the request hook."""


def _boot_to_chassis(target: str | None) -> str:
    """A Redfish ``BootSourceOverrideTarget`` as a chassis boot device."""
    return {"Pxe": "pxe", "UefiHttp": "pxe", "Cd": "cdrom", "BiosSetup": "bios"}.get(target or "", "default")


class RedfishBridge:
    """Applies the fake system's notifications (and the request hook's reports) to a :class:`Chassis`.

    Notifications are the fake driver's system dict (``power_state``,
    ``pending_power``, ``boot_device``, ``boot_mode``). The first
    ``pending_power`` after a Reset request is acted on at once (``On`` → power on, ``Off`` → soft
    off after a ``GracefulShutdown`` request else power off, ``…Restart`` →
    reset); the boot device is applied when it changed or a PATCH preceded
    the notification, persistent when the last PATCH said
    ``BootSourceOverrideEnabled: Continuous`` (default ``Once``).

    ``calls.log`` gets ``redfish PATCH|POST <path> <JSON body>[ refused]`` per
    reported request and ``redfish power <state> boot <target> mode <mode>
    enabled <Once|Continuous|Disabled>[ pending]`` per notification
    (``pending``: the requested state, which the chassis takes at once; the
    emulator reports it after its delay, at the next read of the system).
    """

    def __init__(self, chassis: Chassis) -> None:
        self.chassis = chassis
        self.enabled = "Once"
        self.reset_type: str | None = None
        self.notifications: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._patched = False
        self._boot_device: str | None = None
        self._reset_requested = False

    def on_request(self, report: dict[str, Any]) -> None:
        """A PATCH/POST the emulator received (``method``, ``path``, ``body``, ``refused``)."""
        with self._lock:
            body = report.get("body")
            refused = " refused" if report.get("refused") else ""
            self.chassis.record(
                f"redfish {report.get('method')} {report.get('path')} {json.dumps(body, sort_keys=True)}{refused}"
            )
            if refused or not isinstance(body, dict):
                return
            boot = body.get("Boot")
            if report.get("method") == "PATCH" and isinstance(boot, dict):
                self._patched = True
                if boot.get("BootSourceOverrideEnabled") in ("Once", "Continuous", "Disabled"):
                    self.enabled = boot["BootSourceOverrideEnabled"]
            if "ResetType" in body:
                self.reset_type = str(body["ResetType"])
                self._reset_requested = True

    def on_notification(self, system: dict[str, Any]) -> None:
        """A PUT of the fake system's dict: record it, then switch the chassis."""
        with self._lock:
            self.notifications.append(system)
            pending = system.get("pending_power") or {}
            power = pending.get("power_state") or system.get("power_state")
            device, mode = system.get("boot_device", "Hdd"), system.get("boot_mode", "UEFI")
            requested = " pending" if pending else ""
            self.chassis.record(f"redfish power {power} boot {device} mode {mode} enabled {self.enabled}{requested}")
            if device != self._boot_device or self._patched:
                dev = "default" if self.enabled == "Disabled" else _boot_to_chassis(device)
                self.chassis.set_bootdev(dev, persistent=self.enabled == "Continuous")
                self._boot_device, self._patched = device, False
            # A pending change is in every notification until it lands: act once per Reset request.
            if pending and self._reset_requested:
                self._reset_requested = False
                target = str(pending.get("power_state"))
                if "Restart" in target:
                    self.chassis.reset()
                elif target == "On":
                    self.chassis.power_on()
                elif self.reset_type == "GracefulShutdown":
                    self.chassis.soft_off()
                else:
                    self.chassis.power_off()


class _BridgeHandler(BaseHTTPRequestHandler):
    server: _BridgeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the emulator's own log has the requests

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/power":
            self._reply(200, {"power": self.server.bridge.chassis.power()})
        else:
            self._reply(404, {"error": "not found"})

    def do_PUT(self) -> None:
        try:
            body = self._body()
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            if self.path.rstrip("/") == "/notify":
                self.server.bridge.on_notification(body)
            elif self.path.rstrip("/") == "/request":
                self.server.bridge.on_request(body)
            else:
                self._reply(404, {"error": "not found"})
                return
        except Exception as exc:  # answer the emulator; the reason goes to calls.log
            self.server.bridge.chassis.record(f"redfish bridge error {type(exc).__name__}: {exc}")
            self._reply(500, {"error": str(exc)})
            return
        self._reply(200, {})


class _BridgeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], bridge: RedfishBridge) -> None:
        self.bridge = bridge
        super().__init__(address, _BridgeHandler)


class RedfishSim(_Simulator):
    """``sushy-emulator --fake`` with one system on ``address:port``, basic auth, and a bridge to ``WORK_DIR/chassis``.

    The system's id is a UUID (``system_id``), its path ``system_path``
    (``/redfish/v1/Systems/<uuid>``; ``/redfish/v1/Systems/<system_name>``
    redirects there with 307). Files in ``work_dir``: ``sushy.conf``,
    ``htpasswd``, ``sushy-state/`` (the fake driver's sqlite, recreated at
    each start), ``sushy-emulator.log`` and ``chassis/``.

    ``refuse_uefi``: PATCHes with ``BootSourceOverrideMode: UEFI`` or target
    ``UefiHttp`` get 400 ``Base.1.0.PropertyValueNotInList`` (and the system
    reads back ``Legacy``). ``power_delay``: keep the fake driver's random
    1–11 s before ``PowerState`` changes (the chassis is switched at once
    either way).
    """

    log_name = "sushy-emulator.log"

    def __init__(
        self,
        work_dir: str | os.PathLike[str],
        port: int,
        username: str = "admin",
        password: str = "secret",
        netns: str | None = None,
        system_name: str = "vm0",
        address: str = "127.0.0.1",
        mac: str = "52:54:00:00:00:01",
        refuse_uefi: bool = False,
        power_delay: bool = False,
        start_timeout: float = 30.0,
    ) -> None:
        super().__init__(work_dir, port, username, password, netns, address, start_timeout)
        self.system_name = system_name
        self.mac = mac
        self.refuse_uefi = refuse_uefi
        self.power_delay = power_delay
        self.system_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bootwright-redfishsim:{self.work_dir}:{system_name}"))
        self.bridge = RedfishBridge(self.chassis)
        self._server: _BridgeServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = f" in {self.netns}" if self.netns else ""
        return f"RedfishSim({self.url}{where}, {str(self.work_dir)!r})"

    @property
    def url(self) -> str:
        """``http://ADDRESS:PORT``."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}"

    @property
    def system_path(self) -> str:
        """``/redfish/v1/Systems/<system_id>``."""
        return f"/redfish/v1/Systems/{self.system_id}"

    @property
    def bridge_port(self) -> int | None:
        """The bridge's port on 127.0.0.1 (in the same namespace), while it runs."""
        return self._server.server_address[1] if self._server is not None else None

    def request(
        self, method: str, path: str, body: Any = None, *, auth: tuple[str, str] | None = None, timeout: float = 10.0
    ) -> tuple[int, Any]:
        """One HTTP request to the emulator (inside its namespace): ``(status, parsed JSON or None)``.

        ``auth`` defaults to the sim's user; redirects are not followed.
        """
        user, password = auth or (self.username, self.password)
        headers = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        opener = urllib.request.build_opener(_NoRedirect)

        def call() -> tuple[int, bytes]:
            try:
                with opener.open(req, timeout=timeout) as resp:
                    return resp.status, resp.read()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read()

        status, raw = in_netns(self.netns, call)
        try:
            return status, json.loads(raw) if raw.strip() else None
        except ValueError:
            return status, None

    def write_config(self, bridge_url: str) -> Path:
        """Write ``htpasswd`` (bcrypt, cost 4) and ``sushy.conf``; reset the fake driver's state."""
        try:
            import bcrypt
        except ImportError:
            raise SimulatorError("bcrypt is not installed (it comes with sushy-tools)") from None
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.chassis.state_dir.mkdir(parents=True, exist_ok=True)
        if ":" in self.username or "\n" in self.username + self.password:
            raise SimulatorError("the Redfish user name may not contain ':' or a newline")
        digest = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=4)).decode()
        auth_file = self.work_dir / "htpasswd"
        auth_file.write_text(f"{self.username}:{digest}\n")
        state_dir = self.work_dir / "sushy-state"
        shutil.rmtree(state_dir, ignore_errors=True)
        system: dict[str, Any] = {
            "uuid": self.system_id,
            "name": self.system_name,
            "power_state": "On" if self.chassis.power() else "Off",
            "external_notifier": True,
            "nics": [{"mac": self.mac}],
        }
        if self.refuse_uefi:
            system["boot_mode"] = "Legacy"
        config = self.work_dir / "sushy.conf"
        config.write_text(SUSHY_CONFIG.format(
            address=self.address, port=self.port, auth_file=str(auth_file), state_dir=str(state_dir),
            notify_url=f"{bridge_url}/notify", systems=[system], bridge_url=bridge_url,
            refuse_uefi=self.refuse_uefi, power_delay=self.power_delay,
        ))  # fmt: skip
        return config

    def start(self) -> Self:
        """Start the bridge and the emulator; return once ``GET /redfish/v1/Systems`` answers 200 with auth."""
        if self.pid is not None:
            return self
        emulator = Path(sys.executable).parent / "sushy-emulator"
        if not emulator.exists():
            raise SimulatorError(f"{emulator} is missing (pip install sushy-tools)")
        _loopback_up(self.netns)
        try:
            self._server = in_netns(self.netns, lambda: _BridgeServer(("127.0.0.1", 0), self.bridge))
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="redfish-bridge", daemon=True
            )
            self._thread.start()
            config = self.write_config(f"http://127.0.0.1:{self.bridge_port}")
            env = {k: v for k, v in os.environ.items() if not k.startswith("SUSHY_EMULATOR_")}
            cmd = [*_netns_prefix(self.netns), str(emulator), "--fake", "--config", str(config)]
            with open(self.log, "ab") as out:
                self.proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    cwd=self.work_dir,
                    env=env,
                    start_new_session=True,
                )
            self._wait_ready()
        except BaseException:
            self.stop(power_off=False)
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        last = ""
        while True:
            if self.proc.poll() is not None:
                raise SimulatorError(f"sushy-emulator exited with {self.proc.returncode}", _tail(self.log))
            try:
                status, _ = self.request("GET", "/redfish/v1/Systems", timeout=2)
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as exc:
                last = str(exc)
            if time.monotonic() >= deadline:
                raise SimulatorError(f"sushy-emulator on {self.url} did not answer in time ({last})", _tail(self.log))
            time.sleep(0.05)

    def _stop_helpers(self) -> None:
        """The bridge (after the emulator, which sends to it)."""
        if self._server is not None:
            if self._thread is not None:  # shutdown() waits for serve_forever, which only the thread runs
                self._server.shutdown()
                self._thread.join(5)
                self._thread = None
            self._server.server_close()
            self._server = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
