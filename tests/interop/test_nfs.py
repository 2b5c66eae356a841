"""NFS roots: ``bootwright serve`` with ``[nfs]`` runs NFS-Ganesha, and libnfs reads the exports from another namespace.

The server namespace runs ``bootwright serve`` with two exports under its
root — ``showmax`` (the lab's network) and ``private`` (another network) —
and a directory that is not exported. bootwright starts its own rpcbind (in
a private ``/run``) and ``ganesha.nfsd`` and supervises them. From the client
namespace, ``nfs-ls`` and ``nfs-cat`` (Debian ``libnfs-utils``, a user-space
NFS client: this machine's kernel has none) list and read ``showmax`` over
NFSv3 and NFSv4 by the absolute server path, as seed 002's
``nfsroot=local-server:/srv/tftp/…`` names it; ``private`` and the directory
outside every export are refused. Then the supervision: Ganesha killed is
started again, a reload that adds an export serves it, and stopping
``bootwright serve`` stops both processes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from netns import NetnsPair, require_module, start_bootwright

pytestmark = pytest.mark.interop

require_module(["nfs-ls", "nfs-cat", "ganesha.nfsd", "unshare", "nsenter"])
if not os.path.exists("/usr/sbin/rpcbind") and not os.path.exists("/sbin/rpcbind"):
    pytest.skip("rpcbind is not installed (run scripts/setup.sh)", allow_module_level=True)

CONFIG = """
[server]
interfaces = ["srv0"]
address4 = "192.0.2.1"

[dhcp4]
enabled = false
[dhcp6]
enabled = false
[tftp]
enabled = false
[http]
enabled = false

[nfs]
enabled = true
exports = [
  { path = "showmax", clients = ["192.0.2.0/24"] },
  { path = "private", clients = ["198.51.100.0/24"] },
]
"""


@dataclass
class Served:
    """The running server, its root, state directory, config and log."""

    link: NetnsPair
    proc: subprocess.Popen[bytes]
    root: Path
    state: Path
    config: Path
    log: Path

    def text(self) -> str:
        """The server's log so far."""
        return self.log.read_text(errors="replace")

    def url(self, path: str, version: int = 3) -> str:
        """An NFS URL (libnfs) of ``path`` under the root, by its absolute server path."""
        return f"nfs://{self.link.server_addr4}{self.root}/{path}?version={version}"

    def client(self, tool: str, path: str, version: int = 3) -> subprocess.CompletedProcess[bytes]:
        """Run ``nfs-ls``/``nfs-cat`` in the client namespace."""
        return self.link.run_client([tool, self.url(path, version)], timeout=30)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> None:
        """Wait (bounded) until the log matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in the server's log:\n{self.text()}")
            time.sleep(0.1)

    def ganesha_pid(self) -> int:
        """ganesha.nfsd's pid, from the pid file bootwright tells it to write."""
        return int((self.state / "nfs" / "ganesha.pid").read_text().strip())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("nfs")
    root, state = base / "root", base / "state"
    for d in (root / "showmax" / "live", root / "private", root / "secret", state):
        d.mkdir(parents=True)
    (root / "showmax" / "marker").write_text("bootwright-nfs-marker\n")
    (root / "showmax" / "live" / "filesystem.squashfs").write_bytes(bytes(range(256)) * 4096)
    (root / "private" / "p").write_text("private\n")
    (root / "secret" / "s").write_text("secret\n")
    config = base / "bootwright.toml"
    config.write_text(CONFIG)
    log = base / "serve.log"
    with NetnsPair("nfs") as link:
        started = time.monotonic()
        proc = start_bootwright(link, config, root, state, log, ready=("nfs ready",), timeout=60)
        served = Served(link, proc, root, state, config, log)
        print(f"nfs ready after {time.monotonic() - started:.1f} s")
        yield served


def test_ready_line_names_the_server_and_exports(served: Served) -> None:
    line = next(ln for ln in served.text().splitlines() if "nfs ready" in ln)
    assert "NFS-Ganesha, NFSv3/TCP + v4" in line and "its own rpcbind in a private /run" in line
    assert f"{served.root}/showmax (ro, 192.0.2.0/24)" in line
    conf = (served.state / "nfs" / "ganesha.conf").read_text()
    assert f'Pseudo = "{served.root}/showmax";' in conf and "Transports = TCP;" in conf


def test_nfsv3_lists_and_reads_the_export_by_its_server_path(served: Served) -> None:
    listing = served.client("nfs-ls", "showmax")
    assert listing.returncode == 0, listing.stderr
    names = {line.split()[-1] for line in listing.stdout.decode().splitlines() if line.strip()}
    assert {"marker", "live"} <= names
    assert served.client("nfs-cat", "showmax/marker").stdout == b"bootwright-nfs-marker\n"
    big = served.client("nfs-cat", "showmax/live/filesystem.squashfs")
    assert big.returncode == 0 and big.stdout == bytes(range(256)) * 4096


def test_nfsv4_reads_the_same_path(served: Served) -> None:
    assert served.client("nfs-cat", "showmax/marker", version=4).stdout == b"bootwright-nfs-marker\n"


def test_other_clients_and_unexported_directories_are_refused(served: Served) -> None:
    denied = served.client("nfs-cat", "private/p")
    assert denied.returncode != 0 and b"private" not in denied.stdout
    outside = served.client("nfs-cat", "secret/s")
    assert outside.returncode != 0 and b"secret" not in outside.stdout


def test_a_killed_server_is_started_again(served: Served) -> None:
    pid = served.ganesha_pid()
    os.kill(pid, signal.SIGKILL)
    served.wait_for(r"nfs: NFS-Ganesha running again \(restart 1\)")
    assert "ganesha.nfsd (pid" in served.text() and "exited with code -9" in served.text()
    assert served.ganesha_pid() != pid
    assert served.client("nfs-cat", "showmax/marker").stdout == b"bootwright-nfs-marker\n"


def test_a_reload_serves_a_new_export(served: Served) -> None:
    (served.root / "extra").mkdir()
    (served.root / "extra" / "e").write_text("extra\n")
    assert served.client("nfs-cat", "extra/e").returncode != 0
    served.config.write_text(CONFIG.replace("exports = [\n", 'exports = [\n  { path = "extra" },\n'))
    served.wait_for(r"nfs: exports changed: restarting NFS-Ganesha with .*extra")
    deadline = time.monotonic() + 30
    while (got := served.client("nfs-cat", "extra/e")).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert got.stdout == b"extra\n"
    assert served.client("nfs-cat", "showmax/marker").stdout == b"bootwright-nfs-marker\n"


def test_stopping_bootwright_stops_ganesha_and_rpcbind(served: Served) -> None:
    # Last in the module: it stops the server.
    pids = [served.ganesha_pid()]
    rpcbind = subprocess.run(["pgrep", "-P", str(served.proc.pid)], capture_output=True, text=True, check=False)
    pids += [int(p) for p in rpcbind.stdout.split()]
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(30) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
