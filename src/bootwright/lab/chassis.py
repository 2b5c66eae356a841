"""One simulated machine behind a simulated BMC: the ``chassis_control`` program of ipmi_sim.

ipmi_sim (Debian ``openipmi``) does not switch anything itself; for the chassis
commands it runs the program named by ``chassis_control`` in its ``lan.conf``,
synchronously, and waits for it to exit. Run by its file path (as
:mod:`bootwright.lab.bmcsim` writes it into ``lan.conf``: it needs only the
standard library, and ``-m`` would import the whole lab package first, ~0.1 s
per IPMI command)::

    python -I …/bootwright/lab/chassis.py STATE_DIR 0x20 get power      # prints "power:0" or "power:1"
    python -I …/bootwright/lab/chassis.py STATE_DIR 0x20 get boot       # prints "boot:<device>"
    python -I …/bootwright/lab/chassis.py STATE_DIR 0x20 set power 0|1
    python -I …/bootwright/lab/chassis.py STATE_DIR 0x20 set reset 1
    python -I …/bootwright/lab/chassis.py STATE_DIR 0x20 set boot none|pxe|default|cdrom|bios
    python -I …/bootwright/lab/chassis.py STATE_DIR 0x20 set shutdown 1   # soft off (ACPI power button)

``0x20`` is the IPMB address of the management controller (ipmi_sim passes
it through; any value is accepted). Exit 0 on success, 1 when the machine
could not be switched (QEMU failed to start: see ``qemu.log``), 2 for a call
this program does not understand (one line on stderr, no traceback).

The machine is described by files in ``STATE_DIR``:

``calls.log``
    One line per call: an ISO timestamp, then what the BMC was told
    (``0x20 set boot pxe``; the Redfish bridge of :mod:`bootwright.lab.bmcsim`
    writes ``redfish …`` lines). Tests assert on these lines.
``machine.json`` (optional)
    ``{"qemu_network": [argv…], "qemu_local": [argv…]}``: two full QEMU command
    lines, network boot first / local disk first. Power-on runs one of them
    with ``-daemonize -pidfile STATE_DIR/qemu.pid`` and a QMP socket
    ``STATE_DIR/qmp.sock`` appended (so the command lines must not use
    ``-nographic`` or a stdio monitor/serial, which ``-daemonize`` refuses),
    QEMU's own output going to ``STATE_DIR/qemu.log``. Without this file the
    machine is only a power flag (the ``power`` file), enough for many BMCs
    without any VM.
``bootdev``
    What the next power-on boots (``pxe``, ``default``, ``cdrom`` or ``bios``;
    ``none`` is stored as ``default``). Only ``pxe`` selects ``qemu_network``.
    Power-on resets it to ``default``: IPMI boot flags without the persistent
    bit are valid for the next boot only. ``bootdev.persistent`` (written by
    :meth:`Chassis.set_bootdev` with ``persistent=True``, e.g. a Redfish
    ``Continuous`` override) keeps it.
``last_boot``
    The device the last power-on booted from.
``power``, ``qemu.pid``, ``qmp.sock``, ``qemu.log``
    The power flag (no VM), QEMU's pid, its QMP socket and its output.

Every operation holds an exclusive ``flock`` on ``STATE_DIR/.lock``, so ipmi_sim
and the Redfish bridge can drive the same machine. Pure standard library: each
IPMI command starts this program once, so it must start fast.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

BOOT_DEVICES = ("none", "pxe", "default", "cdrom", "bios")
"""The boot devices of ``set boot`` (ipmi_sim's names)."""

QEMU_START_TIMEOUT = 30.0
"""Seconds QEMU may take to daemonize (it returns once the VM is set up)."""

_QMP_PATH_MAX = 100  # sun_path holds 108 bytes; a longer path gets no QMP socket (soft off = power off)

USAGE = (
    "usage: chassis STATE_DIR MC get power|boot | set power 0|1 | set reset 1 | "
    "set boot none|pxe|default|cdrom|bios | set shutdown 1"
)
"""The one-line usage printed (on stderr) for a call this program does not understand."""


class ChassisError(Exception):
    """The machine could not be switched (QEMU did not start, a bad ``machine.json``)."""


class Chassis:
    """The machine whose files live in ``state_dir`` (created when missing).

    The methods are what the ``chassis_control`` calls do; they do not write
    ``calls.log`` (:meth:`record` does, for whoever relays a BMC command).
    """

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"Chassis({str(self.state_dir)!r})"

    # -- files ---------------------------------------------------------------

    @property
    def calls_log(self) -> Path:
        """``STATE_DIR/calls.log``: one timestamped line per command the BMC received."""
        return self.state_dir / "calls.log"

    @property
    def machine_file(self) -> Path:
        """``STATE_DIR/machine.json``: the two QEMU command lines, when there is a VM."""
        return self.state_dir / "machine.json"

    @property
    def pidfile(self) -> Path:
        """``STATE_DIR/qemu.pid``, written by QEMU's ``-pidfile``."""
        return self.state_dir / "qemu.pid"

    @property
    def qmp_socket(self) -> Path:
        """``STATE_DIR/qmp.sock``, QEMU's QMP socket (used for the soft off)."""
        return self.state_dir / "qmp.sock"

    def record(self, text: str) -> None:
        """Append ``<ISO timestamp> <text>`` to ``calls.log`` (one ``write`` with ``O_APPEND``)."""
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        line = f"{stamp} {' '.join(text.split())}\n".encode()
        fd = os.open(self.calls_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def calls(self) -> list[str]:
        """The lines of ``calls.log`` without their timestamps, oldest first."""
        try:
            text = self.calls_log.read_text()
        except FileNotFoundError:
            return []
        return [line.partition(" ")[2] for line in text.splitlines() if line.strip()]

    def machine(self) -> dict[str, list[str]] | None:
        """The parsed ``machine.json``, or ``None`` when the machine is only a power flag."""
        try:
            data = json.loads(self.machine_file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ChassisError(f"{self.machine_file}: {exc}") from None
        if not isinstance(data, dict):
            raise ChassisError(f"{self.machine_file}: expected a JSON object")
        for key in ("qemu_network", "qemu_local"):
            argv = data.get(key)
            if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
                raise ChassisError(f"{self.machine_file}: {key!r} must be a non-empty list of strings")
        return {"qemu_network": data["qemu_network"], "qemu_local": data["qemu_local"]}

    # -- queries -------------------------------------------------------------

    def power(self) -> bool:
        """Whether the machine is on: QEMU's pid is alive (with a VM), else the ``power`` flag."""
        with self._locked():
            return self._power()

    def bootdev(self) -> str:
        """What the next power-on boots: ``pxe``, ``default``, ``cdrom`` or ``bios``."""
        try:
            value = (self.state_dir / "bootdev").read_text().strip()
        except FileNotFoundError:
            return "default"
        return value if value in BOOT_DEVICES and value != "none" else "default"

    def bootdev_persistent(self) -> bool:
        """Whether the boot device survives power-on (set with ``persistent=True``)."""
        return (self.state_dir / "bootdev.persistent").exists()

    def last_boot(self) -> str | None:
        """The device the last power-on booted from, ``None`` before the first one."""
        try:
            return (self.state_dir / "last_boot").read_text().strip() or None
        except FileNotFoundError:
            return None

    def pid(self) -> int | None:
        """QEMU's pid when it is running (the pid file names a live ``qemu`` process)."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        # A zombie (state Z) is a dead machine whose parent has not reaped it yet.
        if b"qemu" not in cmdline or stat.rpartition(")")[2].split()[:1] == ["Z"]:
            return None
        return pid

    # -- actions -------------------------------------------------------------

    def set_bootdev(self, dev: str, persistent: bool = False) -> None:
        """Boot ``dev`` (one of :data:`BOOT_DEVICES`) at the next power-on, or at every one if ``persistent``."""
        if dev not in BOOT_DEVICES:
            raise ValueError(f"unknown boot device {dev!r} (expected one of {', '.join(BOOT_DEVICES)})")
        with self._locked():
            _write(self.state_dir / "bootdev", "default" if dev == "none" else dev)
            flag = self.state_dir / "bootdev.persistent"
            if persistent:
                flag.touch()
            else:
                flag.unlink(missing_ok=True)

    def power_on(self) -> None:
        """Switch on (a no-op when on): start QEMU from the boot device, then forget a one-time boot device."""
        with self._locked():
            self._power_on()

    def power_off(self) -> None:
        """Switch off at once (a no-op when off): SIGKILL QEMU."""
        with self._locked():
            self._power_off()

    def soft_off(self) -> None:
        """Press the power button: ACPI ``system_powerdown`` over QMP; without a VM or QMP, power off.

        As on real hardware the guest decides: firmware and boot loaders
        usually ignore the button, so the machine may stay on.
        """
        with self._locked():
            if self._power() and self.pid() is not None and self._qmp("system_powerdown"):
                return
            self._power_off()

    def reset(self) -> None:
        """Power off, then on (so a changed boot device takes effect, as a hard reset does)."""
        with self._locked():
            self._power_off()
            self._power_on()

    # -- internals (called with the lock held) -------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.state_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _power(self) -> bool:
        if self.machine() is not None:
            return self.pid() is not None
        try:
            return (self.state_dir / "power").read_text().strip() == "1"
        except FileNotFoundError:
            return False

    def _power_on(self) -> None:
        if self._power():
            return
        dev = self.bootdev()
        machine = self.machine()
        if machine is None:
            _write(self.state_dir / "power", "1")
        else:
            self._start_qemu(machine["qemu_network" if dev == "pxe" else "qemu_local"])
        _write(self.state_dir / "last_boot", dev)
        if not self.bootdev_persistent():
            _write(self.state_dir / "bootdev", "default")

    def _start_qemu(self, argv: Sequence[str]) -> None:
        self.pidfile.unlink(missing_ok=True)
        self.qmp_socket.unlink(missing_ok=True)
        cmd = [*argv, "-daemonize", "-pidfile", str(self.pidfile)]
        if len(str(self.qmp_socket)) <= _QMP_PATH_MAX:
            cmd += ["-qmp", f"unix:{self.qmp_socket},server=on,wait=off"]
        log = self.state_dir / "qemu.log"
        with open(log, "ab") as out:
            out.write(f"# {datetime.datetime.now(datetime.UTC).isoformat()} {' '.join(cmd)}\n".encode())
            out.flush()
            try:
                # QEMU's stdout/stderr go to the log, never to our stdout: ipmi_sim reads that until EOF.
                result = subprocess.run(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    timeout=QEMU_START_TIMEOUT,
                    check=False,
                    start_new_session=True,
                )
            except FileNotFoundError:
                raise ChassisError(f"{argv[0]} is not installed") from None
            except subprocess.TimeoutExpired:
                raise ChassisError(f"QEMU did not daemonize within {QEMU_START_TIMEOUT:.0f} s (see {log})") from None
        if result.returncode != 0 or self.pid() is None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:]
            raise ChassisError(f"QEMU failed to start (exit {result.returncode}): {' '.join(tail)} (see {log})")

    def _power_off(self) -> None:
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5.0
            while self.pid() is not None and time.monotonic() < deadline:
                time.sleep(0.01)
        self.pidfile.unlink(missing_ok=True)
        self.qmp_socket.unlink(missing_ok=True)
        _write(self.state_dir / "power", "0")

    def _qmp(self, command: str, timeout: float = 2.0) -> bool:
        """Send one QMP command; ``True`` when QEMU answered ``return``."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(str(self.qmp_socket))
                reader = sock.makefile("rb")
                reader.readline()  # the greeting
                for name in ("qmp_capabilities", command):
                    sock.sendall(json.dumps({"execute": name}).encode() + b"\n")
                    while True:  # skip asynchronous events until the answer
                        reply = json.loads(reader.readline() or b"{}")
                        if "event" not in reply:
                            break
                    if "return" not in reply:
                        return False
                return True
        except (OSError, ValueError):
            return False


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


def _parse(args: Sequence[str]) -> tuple[str, str, str]:
    """``(verb, what, value)`` of ``get power|boot`` / ``set …``; ``ValueError`` with a one-line reason."""
    if len(args) < 2:
        raise ValueError("expected get or set and a parameter")
    verb, what, rest = args[0], args[1], list(args[2:])
    if verb == "get":
        if what not in ("power", "boot") or rest:
            raise ValueError(f"cannot get {' '.join(args[1:])!r}")
        return verb, what, ""
    if verb != "set":
        raise ValueError(f"unknown verb {verb!r}")
    if len(rest) != 1:
        raise ValueError(f"set {what} takes one value")
    value = rest[0]
    allowed = {"power": ("0", "1"), "reset": ("1",), "shutdown": ("1",), "boot": BOOT_DEVICES}.get(what)
    if allowed is None:
        raise ValueError(f"cannot set {what!r}")
    if value not in allowed:
        raise ValueError(f"set {what}: bad value {value!r} (expected {'|'.join(allowed)})")
    return verb, what, value


def main(argv: Sequence[str] | None = None) -> int:
    """The ``chassis_control`` program: ``STATE_DIR MC get …|set …``; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print(f"chassis: {USAGE}", file=sys.stderr)
        return 2
    try:
        chassis = Chassis(args[0])
        chassis.record(" ".join(args[1:]))
    except OSError as exc:
        print(f"chassis: cannot use state directory {args[0]!r}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        verb, what, value = _parse(args[2:])
    except ValueError as exc:
        print(f"chassis: {exc}; {USAGE}", file=sys.stderr)
        return 2
    try:
        if verb == "get":
            print(f"power:{int(chassis.power())}" if what == "power" else f"boot:{chassis.bootdev()}")
        elif what == "boot":
            chassis.set_bootdev(value)
        elif what == "power" and value == "1":
            chassis.power_on()
        elif what == "power":
            chassis.power_off()
        elif what == "reset":
            chassis.reset()
        else:
            chassis.soft_off()
    except (ChassisError, OSError) as exc:
        print(f"chassis: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
