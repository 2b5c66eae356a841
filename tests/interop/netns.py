"""Two network namespaces joined by a veth pair, for interop tests and benchmarks.

Usage::

    with NetnsPair("tftp") as link:          # bwt-tftp-<pid>-s / bwt-tftp-<pid>-c
        server = start_bootwright(link, config, root, state, log, ready=("tftp ready",))
        link.run_client(["curl", ...], timeout=10)

Everything is created with unique names (tag + pid) and removed on exit, also
when the body raises: processes started through :meth:`spawn_server` /
:meth:`spawn_client` are stopped by pid, then every process still inside the
namespaces (listed with ``ip netns pids``) is killed by pid, then the
namespaces are deleted (which deletes the veth pair). Addresses default to
the documentation ranges 192.0.2.0/24 and 2001:db8::/64 (RFC 5737, RFC 3849);
IPv6 addresses are added with ``nodad`` so they are usable at once.

Needs root and ``ip`` (iproute2). :func:`missing_requirements` says why not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BOOTWRIGHT = REPO / ".venv" / "bin" / "bootwright"
"""The ``bootwright`` command of the repository's venv (made by scripts/setup.sh)."""


def missing_requirements(tools: Sequence[str] = ()) -> str | None:
    """A reason to skip (not root, no ``ip``, a missing tool), or ``None``."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    for tool in ("ip", *tools):
        if shutil.which(tool) is None:
            return f"{tool!r} is not installed (run scripts/setup.sh)"
    return None


def require_module(tools: Sequence[str] = ()) -> None:
    """Skip the calling test module unless it runs as root with ``tools`` and ``BOOTWRIGHT`` installed."""
    why = missing_requirements(tools)
    if why is None and not BOOTWRIGHT.exists():
        why = f"{BOOTWRIGHT} is missing (run scripts/setup.sh)"
    if why is not None:
        import pytest  # only test modules call this; the benchmarks import this module without pytest

        pytest.skip(why, allow_module_level=True)


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=20)


@dataclass
class NetnsPair:
    """A server namespace and a client namespace joined by one veth pair."""

    tag: str
    server_if: str = "srv0"
    client_if: str = "cli0"
    server4: str = "192.0.2.1/24"
    client4: str = "192.0.2.2/24"
    server6: str = "2001:db8::1/64"
    client6: str = "2001:db8::2/64"
    mtu: int | None = None
    client_mac: str | None = None
    # False: no duplicate address detection on the veth, so link-local addresses are usable at once
    # (DAD costs 1-2 s per pair; the pair's two ends cannot collide).
    dad: bool = True
    server_ns: str = field(init=False)
    client_ns: str = field(init=False)
    _procs: list[subprocess.Popen[Any]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        base = f"bwt-{self.tag}-{os.getpid()}"
        self.server_ns, self.client_ns = f"{base}-s", f"{base}-c"

    @property
    def server_addr4(self) -> str:
        """The server's IPv4 address without prefix length."""
        return self.server4.split("/")[0]

    @property
    def server_addr6(self) -> str:
        """The server's IPv6 address without prefix length."""
        return self.server6.split("/")[0]

    @property
    def client_addr4(self) -> str:
        """The client's IPv4 address without prefix length."""
        return self.client4.split("/")[0]

    @property
    def client_addr6(self) -> str:
        """The client's IPv6 address without prefix length."""
        return self.client6.split("/")[0]

    # -- life cycle -------------------------------------------------------

    def __enter__(self) -> NetnsPair:
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self) -> None:
        for ns in (self.server_ns, self.client_ns):
            _ip("netns", "add", ns)
            _ip("link", "set", "lo", "up", netns=ns)
            if not self.dad:  # before the veth exists: it takes the namespace's defaults
                sysctl = ["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0"]
                subprocess.run(["ip", "netns", "exec", ns, *sysctl], check=True, capture_output=True, timeout=20)
        _ip(
            "link", "add", self.server_if, "type", "veth", "peer", "name", self.client_if,
            "netns", self.client_ns, netns=self.server_ns,
        )  # fmt: skip
        for ns, ifname, a4, a6 in (
            (self.server_ns, self.server_if, self.server4, self.server6),
            (self.client_ns, self.client_if, self.client4, self.client6),
        ):
            if self.mtu is not None:
                _ip("link", "set", ifname, "mtu", str(self.mtu), netns=ns)
            if ns == self.client_ns and self.client_mac:
                _ip("link", "set", ifname, "address", self.client_mac, netns=ns)
            _ip("addr", "add", a4, "dev", ifname, netns=ns)
            _ip("addr", "add", a6, "dev", ifname, "nodad", netns=ns)
            _ip("link", "set", ifname, "up", netns=ns)
        deadline = time.monotonic() + 5
        while "state UP" not in _ip("link", "show", self.client_if, netns=self.client_ns).stdout:
            if time.monotonic() > deadline:
                raise RuntimeError(f"veth {self.client_if} in {self.client_ns} did not come up")
            time.sleep(0.02)

    def close(self) -> None:
        """Stop every process started here or still inside the namespaces; delete them."""
        for proc in self._procs:
            stop_process(proc)
        self._procs.clear()
        for ns in (self.server_ns, self.client_ns):
            pids = _ip("netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            _ip("netns", "del", ns, check=False)

    # -- processes --------------------------------------------------------

    def exec_prefix(self, server: bool) -> list[str]:
        """``ip netns exec NS`` for the server or the client namespace."""
        return ["ip", "netns", "exec", self.server_ns if server else self.client_ns]

    def spawn_server(self, cmd: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
        """Start ``cmd`` in the server namespace; it is stopped on exit."""
        return self._spawn(True, cmd, popen)

    def spawn_client(self, cmd: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
        """Start ``cmd`` in the client namespace; it is stopped on exit."""
        return self._spawn(False, cmd, popen)

    def _spawn(self, server: bool, cmd: Sequence[str], popen: dict[str, Any]) -> subprocess.Popen[Any]:
        popen.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen([*self.exec_prefix(server), *cmd], **popen)
        self._procs.append(proc)
        return proc

    def run_client(self, cmd: Sequence[str], timeout: float = 30, **kw: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``cmd`` in the client namespace to completion (bounded by ``timeout``)."""
        kw.setdefault("capture_output", True)
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([*self.exec_prefix(False), *cmd], timeout=timeout, check=False, **kw)

    def run_server(self, cmd: Sequence[str], timeout: float = 30, **kw: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``cmd`` in the server namespace to completion (bounded by ``timeout``)."""
        kw.setdefault("capture_output", True)
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([*self.exec_prefix(True), *cmd], timeout=timeout, check=False, **kw)


def stop_process(proc: subprocess.Popen[Any], grace: float = 3.0) -> None:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; by pid only."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(grace)


def start_bootwright(link: NetnsPair | None, config: Path, root: Path, state: Path, log: Path, *,
                     ready: Sequence[str] = ("dhcp4 ready",), flags: Sequence[str] = (),
                     timeout: float = 30) -> subprocess.Popen[bytes]:  # fmt: skip
    """Start ``bootwright serve`` with its output in ``log``; return once every text of ``ready`` is in the log.

    It runs in ``link``'s server namespace (stopped when the pair closes), or here for ``None`` (the caller
    stops it, :func:`stop_process`). ``flags`` follow ``--config``/``--root``/``--state-dir``.
    """
    cmd = [str(BOOTWRIGHT), "serve", "--config", str(config), "--root", str(root), "--state-dir", str(state), *flags]
    with log.open("wb") as out:  # the child keeps its own descriptor
        if link is None:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        else:
            proc = link.spawn_server(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_log(log, ready, proc, timeout)
    except BaseException:
        if link is None:
            stop_process(proc)
        raise
    return proc


def wait_log(log: Path, needles: Sequence[str], proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Wait until every text of ``needles`` is in ``log``; fail with the log if ``proc`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text(errors="replace")
        missing = [n for n in needles if n not in text]
        if not missing:
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            state = f"exited with {proc.returncode}" if proc.returncode is not None else f"not after {timeout:g} s"
            raise AssertionError(f"bootwright: no {missing[0]!r} in its log ({state}):\n{text}")
        time.sleep(0.05)


def wait_link_local(link: NetnsPair, server: bool, ifname: str, ns: str | None = None, timeout: float = 10) -> None:
    """Wait for DAD to finish on the link-local address (DHCPv6 clients and servers bind to it)."""
    target = ns or (link.server_ns if server else link.client_ns)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = _ip("-6", "addr", "show", "dev", ifname, "scope", "link", netns=target).stdout
        if "inet6" in out and "tentative" not in out:
            return
        time.sleep(0.1)
    raise AssertionError(f"{ifname} in {target}: no usable link-local address after {timeout} s")


def wait_udp_port(link: NetnsPair, port: int, proc: subprocess.Popen[Any], name: str, log: Path,
                  timeout: float = 10, sockets: int = 1) -> None:  # fmt: skip
    """Wait until ``sockets`` UDP sockets on ``port`` are bound in the server namespace (``ss``; 2: one per family).

    Fails with ``log`` if ``proc`` exits or ``timeout`` passes first.
    """
    deadline = time.monotonic() + timeout
    while link.run_server(["ss", "-uan"]).stdout.decode().count(f":{port} ") < sockets:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{name} did not bind UDP port {port}:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)


DHCP4_ONLY_CONFIG = """
[server]
interfaces = ["srv0"]
address4 = "192.0.2.1"

[dhcp4]
lease_time = 600

[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[dhcp6]
enabled = false
[tftp]
enabled = false
[http]
enabled = false
"""
"""A config serving DHCPv4 only, on the pair's ``srv0`` (192.0.2.1) with a pool of 192.0.2.100-199; tests append
their sections (no braces in it: it can precede a ``str.format`` template)."""


NO_DHCP_CONFIG = """
[server]
interfaces = ["srv0"]
address4 = "192.0.2.1"
address6 = "2001:db8::1"

[dhcp4]
enabled = false
[dhcp6]
enabled = false
"""
"""The start of a config serving no DHCP, on the pair's ``srv0`` (192.0.2.1, 2001:db8::1); tests append their
services (no braces in it: it can precede a ``str.format`` template)."""


def loopback_http_config(directory: Path, extra: str = "") -> tuple[Path, int]:
    """``directory/bootwright.toml`` serving only HTTP on 127.0.0.1 and a free port (nothing binds DHCP or TFTP).

    ``root`` and ``state`` are next to it (the root is created); ``extra`` is appended (targets, hosts).
    Returns the file and the port.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    (directory / "root").mkdir(exist_ok=True)
    config = directory / "bootwright.toml"
    config.write_text(f"""
state_dir = "state"
root = "root"
[dhcp4]
enabled = false
[dhcp6]
enabled = false
[tftp]
enabled = false
[http]
listen = ["127.0.0.1"]
port = {port}
{extra}""")
    return config, port
