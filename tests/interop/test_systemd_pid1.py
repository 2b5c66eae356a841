"""bootwright really running under systemd as PID 1 (issue 18).

This machine's PID 1 is not systemd, but ``/lib/systemd/systemd`` boots as the
init of new pid, mount, network, UTS, IPC and cgroup namespaces. The test
boots it there, installs the shipped unit (``bootwright systemd-unit``) and
drives it with ``systemctl`` and ``journalctl`` run through ``nsenter``:

- ``systemctl start bootwright`` returns with the service ``active (running)``
  as ``Type=notify`` (the READY=1 came from bootwright's sd_notify) and its
  STATUS line; the process runs as the dynamic user with exactly the unit's
  capabilities (CapEff = CAP_NET_BIND_SERVICE|CAP_NET_RAW|CAP_NET_ADMIN);
  HTTP serves a file on 192.0.2.1:80 and TFTP/DHCPv4 listen on 69/67;
- the journal has bootwright's native entries (SYSLOG_IDENTIFIER=bootwright,
  BOOTWRIGHT_LOGGER, BOOTWRIGHT_EVENT);
- ``systemctl reload`` (RELOADING=1 … READY=1) succeeds and the journal shows
  "configuration reloaded"; ``systemctl stop`` ends it with "bootwright stopped"
  and a clean exit (no failed state).

Safety: before systemd is exec'd the new mount namespace (propagation private)
gets fresh tmpfs mounts on /run, /tmp, /var/tmp, /var/lib and /var/log, so what
systemd, journald, StateDirectory= and PrivateTmp= write never reaches the
host; systemd boots ``--unit=bwtest.target`` (journald only), not the
machine's default target, and the service has ``DefaultDependencies=no`` so
sysinit.target (systemd-sysctl, udev, tmpfiles, …) is never started. Its
cgroups live in a cgroup made for the test in every hierarchy (and a cgroup
namespace rooted there), removed at the end. Teardown SIGKILLs the
namespace's PID 1 by pid (it ignores SIGTERM), which ends every process in
it, and checks that none is left.

Adapted: the repository venv's Python lives under /root (mode 0700, and the unit
has ProtectHome=yes), which the service's dynamic user cannot reach; so the
namespace gets a venv of the system /usr/bin/python3 (same 3.11 ABI) that
imports the repository venv's site-packages, and the unit's ExecStart is that
venv's ``bootwright`` (``bootwright systemd-unit --exec``). Everything else in the
unit is as shipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

REPO = Path(__file__).resolve().parents[2]
BOOTWRIGHT = REPO / ".venv" / "bin" / "bootwright"
SYSTEMD = Path("/lib/systemd/systemd")
SYSTEM_PYTHON = Path("/usr/bin/python3")
SITE = "/run/bwtest"  # inside the namespace's private /run
VENV = f"{SITE}/venv"
PYVER = f"python{sys.version_info.major}.{sys.version_info.minor}"
# CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13): the unit's AmbientCapabilities=.
UNIT_CAPS = (1 << 10) | (1 << 12) | (1 << 13)
BOOT_TIMEOUT = 30.0


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create namespaces and boot systemd in them"
    if not SYSTEMD.exists():
        return f"{SYSTEMD} is not installed (Debian: systemd)"
    for tool in ("unshare", "nsenter", "ip", "curl"):
        if shutil.which(tool) is None:
            return f"{tool!r} is not installed"
    if not BOOTWRIGHT.exists():
        return f"{BOOTWRIGHT} is missing (run scripts/setup.sh)"
    if not SYSTEM_PYTHON.exists():
        return f"{SYSTEM_PYTHON} is missing: the service's dynamic user needs a Python outside /root"
    hidden = ("/root", "/home", "/run/user")  # ProtectHome=yes makes these inaccessible to the service
    for needed in (REPO, Path(sysconfig.get_paths()["purelib"])):
        if any(needed == Path(h) or needed.is_relative_to(h) for h in hidden):
            return f"{needed} is under {', '.join(hidden)}, which the unit's ProtectHome=yes hides from the service"
    same = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                          capture_output=True, text=True).stdout.strip()
    if same != str(sys.version_info[:2]):
        return f"{SYSTEM_PYTHON} is {same}, the repository venv {sys.version_info[:2]}: its packages would not import"
    return None


if (_why := _why_not()) is not None:
    pytest.skip(_why, allow_module_level=True)


CONFIG = f"""\
state_dir = "/var/lib/bootwright"
root = "{SITE}/root"

[server]
interfaces = ["bw0"]
address4 = "192.0.2.1"

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "bw0"
pools = ["192.0.2.100-192.0.2.199"]

[dhcp6]
enabled = false

[tftp]
port = 69

[http]
port = 80
"""

TARGET = """\
# The test machine's only boot target: journald, nothing of the machine's default target.
[Unit]
Description=bootwright test machine
DefaultDependencies=no
Wants=systemd-journald.socket systemd-journald-dev-log.socket systemd-journald.service
After=systemd-journald.socket systemd-journald-dev-log.socket systemd-journald.service
"""

DROP_IN = """\
# The only change to the shipped unit. DefaultDependencies=no keeps sysinit.target and basic.target
# out of this namespace: they would start systemd-sysctl (global kernel settings), udev, tmpfiles and
# the rest of a real boot. The service itself (Type=notify, DynamicUser, capabilities, ProtectSystem=,
# StateDirectory=, PrivateTmp=, ...) is unchanged.
[Unit]
DefaultDependencies=no
"""

# A console script for the namespace's venv (the entry point of pyproject.toml).
SCRIPT = f"""#!{VENV}/bin/python
import sys
from bootwright.cli.main import main
sys.exit(main())
"""

INNER = """\
set -e
mount -t tmpfs -o mode=0755 bwtest-run /run
mkdir -p /run/systemd/system {site}
cp -a {stage}/units/. /run/systemd/system/
cp -a {stage}/site/. {site}/
{python} -m venv --without-pip {venv}
cp {stage}/bwtest.pth {venv}/lib/{pyver}/site-packages/
install -m 0755 {stage}/bootwright {venv}/bin/bootwright
mount -t tmpfs -o mode=1777 bwtest-tmp /tmp
mount -t tmpfs -o mode=1777 bwtest-vartmp /var/tmp
mount -t tmpfs -o mode=0755 bwtest-varlib /var/lib
mount -t tmpfs -o mode=0755 bwtest-varlog /var/log
hostname bwtest
ip link set lo up
ip link add bw0 type veth peer name bw1
ip addr add 192.0.2.1/24 dev bw0
ip link set bw1 up
ip link set bw0 up
exec env -i container=other {systemd} --system --unit=bwtest.target --log-target=console
"""

OUTER = """\
set -e
for d in {cgroups}; do mkdir "$d"; echo $$ > "$d/cgroup.procs"; done
exec unshare --pid --fork --mount --net --uts --ipc --cgroup --propagation private --mount-proc -- sh -c '{inner}'
"""


def _test_cgroups(tag: str) -> list[Path]:
    """A new cgroup below this process's own in every mounted hierarchy (cpuset needs settings first: not it)."""
    mine: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        mine[controllers or "cgroup2"] = path
    found: list[Path] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        sep = fields.index("-")
        fstype, mountpoint, options = fields[sep + 1], fields[4], fields[sep + 3].split(",")
        if fstype == "cgroup2":
            key = "cgroup2"
        elif fstype == "cgroup":
            key = ",".join(o for o in options if o not in ("rw", "ro") and not o.startswith("release_agent"))
            if "cpuset" in key.split(","):
                continue
        else:
            continue
        if key in mine and fields[3] == "/":
            found.append(Path(mountpoint + mine[key].rstrip("/")) / tag)
    return found


def _cgroup_pids(root: Path) -> list[int]:
    pids: list[int] = []
    for procs in root.rglob("cgroup.procs"):
        with contextlib.suppress(OSError):
            pids += [int(p) for p in procs.read_text().split()]
    return pids


def _remove_cgroup(root: Path) -> None:
    if root.exists():
        for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                d.rmdir()
        with contextlib.suppress(OSError):
            root.rmdir()


@dataclass
class Machine:
    """systemd as PID 1 of its own namespaces; ``pid`` is its pid on the host."""

    pid: int
    log: Path

    def run(self, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        enter = ["nsenter", "--target", str(self.pid), "--mount", "--pid", "--net", "--uts", "--ipc", "--"]
        return subprocess.run([*enter, *cmd], capture_output=True, text=True, timeout=timeout, cwd="/",
                              stdin=subprocess.DEVNULL, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                                             "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"})

    def show(self, *props: str) -> dict[str, str]:
        out = self.run("systemctl", "show", "bootwright.service", *(f"--property={p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self) -> list[dict[str, object]]:
        out = self.run("journalctl", "--no-pager", "-o", "json", "-u", "bootwright.service").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def messages(self) -> list[str]:
        return [str(e.get("MESSAGE", "")) for e in self.journal()]

    def diagnose(self) -> str:
        status = self.run("systemctl", "status", "--no-pager", "-l", "bootwright.service")
        journal = self.run("journalctl", "--no-pager", "-b", "-n", "80")
        return f"{status.stdout}{status.stderr}\n--- journal ---\n{journal.stdout}{journal.stderr}"


def _until(what: str, check: object, timeout: float, diagnose: object = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f"\n{diagnose()}" if diagnose else ""))  # type: ignore[operator]
        time.sleep(0.1)


def _pid1(unshare: subprocess.Popen[bytes]) -> int | None:
    """The child unshare forked (PID 1 inside), once it is systemd."""
    for children in Path(f"/proc/{unshare.pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for pid in children.read_text().split():
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/exe").endswith("/systemd/systemd"):
                        return int(pid)
    return None


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    stage = tmp_path_factory.mktemp("pid1")
    (stage / "units" / "bootwright.service.d").mkdir(parents=True)
    (stage / "site" / "root").mkdir(parents=True)
    (stage / "site" / "bootwright.toml").write_text(CONFIG)
    (stage / "site" / "root" / "hello.txt").write_text("hello from systemd\n")
    unit = subprocess.run([str(BOOTWRIGHT), "systemd-unit", "--config", f"{SITE}/bootwright.toml",
                           "--exec", f"{VENV}/bin/bootwright"], capture_output=True, text=True, check=True).stdout
    (stage / "units" / "bootwright.service").write_text(unit)
    (stage / "units" / "bwtest.target").write_text(TARGET)
    (stage / "units" / "bootwright.service.d" / "bwtest.conf").write_text(DROP_IN)
    site_packages = sysconfig.get_path("purelib")
    (stage / "bwtest.pth").write_text(f"import site; site.addsitedir({site_packages!r})\n")
    (stage / "bootwright").write_text(SCRIPT)
    for p in [stage, *stage.rglob("*")]:  # the dynamic user reads the site (config, root) after cp -a
        p.chmod(0o755 if p.is_dir() else 0o644)

    cgroups = _test_cgroups(f"bwtest-{os.getpid()}")
    inner = INNER.format(site=SITE, stage=stage, python=SYSTEM_PYTHON, venv=VENV, pyver=PYVER, systemd=SYSTEMD)
    outer = OUTER.format(cgroups=" ".join(str(c) for c in cgroups), inner=inner)
    log = stage / "systemd.log"
    with log.open("wb") as out:
        unshare = subprocess.Popen(["sh", "-c", outer], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    pid: int | None = None
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while (pid := _pid1(unshare)) is None:
            if unshare.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"systemd did not start in new namespaces: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        box = Machine(pid, log)
        while box.run("systemctl", "is-active", "bwtest.target").stdout.strip() != "active":
            if unshare.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"systemd did not come up within {BOOT_TIMEOUT:.0f} s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield box
    finally:
        if pid is not None:  # PID 1 of the namespace ignores SIGTERM; SIGKILL ends every process in it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        elif unshare.poll() is None:
            unshare.kill()
        unshare.wait(30)
        left: list[int] = []
        deadline = time.monotonic() + 10
        while (left := [p for c in cgroups for p in _cgroup_pids(c)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        for c in cgroups:
            _remove_cgroup(c)
        assert not left, f"processes left in the test's cgroups: {left}"
        assert not [c for c in cgroups if c.exists()], "cgroups left behind"


def test_bootwright_runs_under_systemd(machine: Machine) -> None:
    started = machine.run("systemctl", "start", "bootwright.service")
    assert started.returncode == 0, f"{started.stderr}\n{machine.diagnose()}"
    # Type=notify: start returns only after READY=1, which only bootwright's sd_notify sends.
    show = machine.show("Type", "ActiveState", "SubState", "StatusText", "MainPID", "NotifyAccess", "User")
    assert show["Type"] == "notify" and show["NotifyAccess"] == "main", show
    assert (show["ActiveState"], show["SubState"]) == ("active", "running"), f"{show}\n{machine.diagnose()}"
    assert show["StatusText"].startswith("serving "), show
    status = machine.run("systemctl", "status", "--no-pager", "bootwright.service").stdout
    assert "Active: active (running)" in status, status

    # Not root: the dynamic user, with exactly the unit's capabilities.
    main = int(show["MainPID"])
    proc = dict(line.split(":", 1) for line in machine.run("cat", f"/proc/{main}/status").stdout.splitlines())
    uids = proc["Uid"].split()
    assert uids[0] != "0" and uids[1] != "0", proc["Uid"]
    assert int(proc["CapEff"], 16) == UNIT_CAPS, proc["CapEff"]
    assert int(proc["CapBnd"], 16) == UNIT_CAPS, proc["CapBnd"]
    assert proc["NoNewPrivs"].strip() == "1"

    # The unit's sandbox is in force (this kernel and cgroup v1 support all of it): ProtectSystem=strict,
    # ProtectHome=yes, PrivateTmp=yes, StateDirectory= the only writable state (on the test's /var/lib tmpfs).
    mounts: dict[str, tuple[str, str]] = {}
    for line in machine.run("cat", f"/proc/{main}/mountinfo").stdout.splitlines():
        fields = line.split()
        mounts[fields[4]] = (fields[3], fields[5])  # the last mount on a path wins: root within the fs, options
    assert "ro" in mounts["/"][1].split(","), mounts["/"]
    assert mounts["/home"][0] == mounts["/root"][0] == "/systemd/inaccessible/dir", (mounts["/home"], mounts["/root"])
    assert mounts["/tmp"][0].startswith("/systemd-private-") and "-bootwright.service-" in mounts["/tmp"][0]
    assert "rw" in mounts["/var/lib/private/bootwright"][1].split(","), mounts["/var/lib/private/bootwright"]

    # It serves: HTTP gets a file; DHCPv4 and TFTP listen.
    got = machine.run("curl", "-sS", "--max-time", "10", "http://192.0.2.1/hello.txt")
    assert got.stdout == "hello from systemd\n", f"{got}\n{machine.diagnose()}"
    listening = machine.run("ss", "-Hlnup").stdout
    assert ":67 " in listening and ":69 " in listening, listening

    # The journal: native entries with bootwright's fields.
    entries = machine.journal()
    ours = [e for e in entries if e.get("SYSLOG_IDENTIFIER") == "bootwright"]
    assert ours and all("BOOTWRIGHT_LOGGER" in e for e in ours), entries[-5:]
    assert any(" ready: " in str(e.get("MESSAGE")) for e in ours), [e.get("MESSAGE") for e in ours]
    assert any("BOOTWRIGHT_EVENT" in e for e in ours), [e.get("MESSAGE") for e in ours]

    # Reload: ExecReload sends SIGHUP; systemctl waits for RELOADING=1 ... READY=1.
    reloaded = machine.run("systemctl", "reload", "bootwright.service")
    assert reloaded.returncode == 0, f"{reloaded.stderr}\n{machine.diagnose()}"
    _until("the reload line in the journal",
           lambda: any(m.startswith("configuration reloaded from ") for m in machine.messages()), 10,
           machine.diagnose)
    assert any(e.get("BOOTWRIGHT_EVENT") == "config.reloaded" for e in machine.journal())
    assert machine.show("ActiveState")["ActiveState"] == "active"
    assert int(machine.show("MainPID")["MainPID"]) == main

    # Stop: SIGTERM, STOPPING=1, exit 0.
    stopped = machine.run("systemctl", "stop", "bootwright.service")
    assert stopped.returncode == 0, stopped.stderr
    after = machine.show("ActiveState", "Result", "ExecMainStatus")
    assert after == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}, after
    messages = machine.messages()
    assert "bootwright stopping: SIGTERM received" in messages and "bootwright stopped" in messages, messages[-10:]
    assert machine.run("kill", "-0", str(main)).returncode != 0
