"""The benchmark link of bench/bench.toml: a veth pair between two fresh namespaces.

Server namespace ``bwt-http-<pid>-s`` holds ``bw-srv`` with 198.51.100.1/16
and 2001:db8:1::1/64 (the contract in bench/bench.toml); the client namespace
``bwt-http-<pid>-c`` holds ``bw-cli`` with 198.51.100.2/16 and
2001:db8:1::2/64. Both ends are created directly inside their namespaces, so
nothing appears on the machine's own interfaces. :meth:`BenchLink.close`
stops every process started through it (by pid), kills anything left in the
namespaces (``ip netns pids``) and deletes them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import IO, Any

SERVER4, CLIENT4 = "198.51.100.1", "198.51.100.2"
SERVER6, CLIENT6 = "2001:db8:1::1", "2001:db8:1::2"


def ip(*args: str, netns: str | None = None) -> None:
    """Run one ``ip`` command (in a namespace), failing loudly."""
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=10)


class BenchLink:
    """Two namespaces joined by bw-srv ⇄ bw-cli; a context manager."""

    def __init__(self, tag: str = "http") -> None:
        base = f"bwt-{tag}-{os.getpid()}"
        self.server_ns, self.client_ns = f"{base}-s", f"{base}-c"
        self.procs: list[subprocess.Popen[Any]] = []

    def __enter__(self) -> BenchLink:
        try:
            ip("netns", "add", self.server_ns)
            ip("netns", "add", self.client_ns)
            ip(
                "link", "add", "bw-srv", "netns", self.server_ns, "type", "veth",
                "peer", "name", "bw-cli", "netns", self.client_ns,
            )  # fmt: skip
            for ns, dev, a4, a6 in (
                (self.server_ns, "bw-srv", SERVER4, SERVER6),
                (self.client_ns, "bw-cli", CLIENT4, CLIENT6),
            ):
                ip("link", "set", "lo", "up", netns=ns)
                ip("addr", "add", f"{a4}/16", "dev", dev, netns=ns)
                ip("addr", "add", f"{a6}/64", "dev", dev, "nodad", netns=ns)
                ip("link", "set", dev, "up", netns=ns)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def spawn(self, server: bool, cmd: Sequence[str], out: IO[bytes] | int | None = None) -> subprocess.Popen[Any]:
        """Start ``cmd`` in the server or client namespace; remembered for :meth:`close`."""
        ns = self.server_ns if server else self.client_ns
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *cmd],
            stdout=out if out is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if out is not None else subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def client(self, cmd: Sequence[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
        """Run ``cmd`` in the client namespace and wait (bounded by ``timeout``)."""
        return subprocess.run(["ip", "netns", "exec", self.client_ns, *cmd], capture_output=True, timeout=timeout)

    def close(self) -> None:
        """Stop our processes by pid, kill leftovers in the namespaces, delete them."""
        for proc in self.procs:
            stop(proc)
        for ns in (self.server_ns, self.client_ns):
            listing = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in listing.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def stop(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate()`` every 0.1 s until true or raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)
