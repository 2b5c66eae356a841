"""Real TFTP clients against ``bootwright serve`` across a veth pair between two namespaces.

The server namespace (``bwt-tftp-<pid>-s``, 192.0.2.1/24, 2001:db8::1/64)
runs ``bootwright serve`` with only the TFTP service; the client namespace
(``…-c``, 192.0.2.2, 2001:db8::2, MAC 02:00:00:00:00:0a) runs tftp-hpa,
curl, atftp and busybox.  Files must arrive byte for byte over IPv4 and
IPv6; traversal attempts through those clients must fail; a stranger TID
gets ERROR 5 while the transfer completes; a second server with
``per_client = 1`` refuses a second transfer with a message naming the
reason.  Everything is removed afterwards, also on failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from netns import BOOTWRIGHT, NO_DHCP_CONFIG, NetnsPair, require_module, wait_udp_port

pytestmark = pytest.mark.interop

CLIENT_MAC = "02:00:00:00:00:0a"
TOOLS = ["tftp", "curl", "atftp", "busybox", "ss"]

require_module(TOOLS)

CONFIG = NO_DHCP_CONFIG + f"""
[http]
enabled = false

[tftp]
port = {{port}}
per_client = {{per_client}}
timeout = 1
retries = 3

[boot]
default = "linux"

[targets.linux]
kernel = "{{{{{{{{ http }}}}}}}}/vmlinuz"
cmdline = "console=ttyS0"

[[host]]
name = "client-a"
mac = "{CLIENT_MAC}"
"""


@dataclass
class Served:
    """The running servers and where their files are."""

    link: NetnsPair
    root: Path
    out: Path
    log: Path
    files: dict[str, bytes]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("tftp")
    root, out = base / "root", base / "out"
    root.mkdir()
    out.mkdir()
    files = {
        "big.bin": os.urandom(3_000_000),
        "exact.bin": os.urandom(512 * 64),
        "small.txt": b"hello\n",
        "empty": b"",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    (root / "sub" / "dir").mkdir(parents=True)
    (root / "sub" / "dir" / "nested.bin").write_bytes(files["small.txt"])
    (root / "evil").symlink_to("/etc/passwd")
    log = base / "server.log"
    with NetnsPair("tftp", client_mac=CLIENT_MAC) as link:
        procs = []
        for port, per_client in ((69, 20), (6970, 1)):
            cfg = base / f"config-{port}.toml"
            cfg.write_text(CONFIG.format(port=port, per_client=per_client))
            state = base / f"state-{port}"
            state.mkdir()
            cmd = [str(BOOTWRIGHT), "serve", "--config", str(cfg), "--root", str(root), "--state-dir", str(state)]
            handle = open(log if port == 69 else base / "limited.log", "wb")  # noqa: SIM115
            procs.append((port, link.spawn_server(cmd, stdout=handle, stderr=subprocess.STDOUT)))
        for port, proc in procs:
            wait_udp_port(link, port, proc, "bootwright", log, timeout=20)
        yield Served(link, root, out, log, files)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _client_cmd(client: str, server: str, name: str, dest: Path, family: int) -> list[str]:
    host = f"[{server}]" if ":" in server else server
    if client == "tftp-hpa":
        return ["tftp", f"-{family}", "-m", "binary", server, "-c", "get", name, str(dest)]
    if client == "curl":
        return ["curl", "-sS", "--max-time", "20", "-o", str(dest), f"tftp://{host}/{name}"]
    if client == "curl-blksize":
        return ["curl", "-sS", "--max-time", "20", "--tftp-blksize", "1428", "-o", str(dest), f"tftp://{host}/{name}"]
    if client == "atftp":
        return [
            "atftp",
            "--option",
            "blksize 1428",
            "--option",
            "windowsize 16",
            "-g",
            "-r",
            name,
            "-l",
            str(dest),
            server,
        ]
    if client == "busybox":
        return ["busybox", "tftp", "-g", "-r", name, "-l", str(dest), server]
    if client == "busybox-blksize":
        return ["busybox", "tftp", "-b", "1428", "-g", "-r", name, "-l", str(dest), server]
    raise ValueError(client)


CLIENTS = ["tftp-hpa", "curl", "curl-blksize", "atftp", "busybox", "busybox-blksize"]


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("client", CLIENTS)
def test_clients_fetch_byte_exact(served: Served, client: str, family: int) -> None:
    server = served.link.server_addr4 if family == 4 else served.link.server_addr6
    for name in ("big.bin", "exact.bin", "small.txt", "sub/dir/nested.bin"):
        dest = served.out / f"{client}-{family}-{name.replace('/', '_')}"
        result = served.link.run_client(_client_cmd(client, server, name, dest, family), timeout=30, text=True)
        assert result.returncode == 0, f"{client} {name}: {result.stdout}{result.stderr}"
        expected = served.files.get(name, served.files["small.txt"])
        assert dest.read_bytes() == expected, f"{client} over IPv{family}: {name} differs"
        dest.unlink()


@pytest.mark.parametrize(
    ("client", "name"),
    [
        ("tftp-hpa", "../../etc/passwd"),
        ("tftp-hpa", "..\\..\\etc\\passwd"),
        ("tftp-hpa", "sub/../../etc/passwd"),
        ("tftp-hpa", "/etc/passwd"),
        ("atftp", "../etc/passwd"),
        ("atftp", "evil"),
        ("busybox", "../../../../etc/passwd"),
        ("curl", "%2e%2e/%2e%2e/etc/passwd"),
        ("curl", "..%2f..%2fetc%2fpasswd"),
    ],
)
def test_traversal_refused(served: Served, client: str, name: str) -> None:
    dest = served.out / "stolen"
    dest.unlink(missing_ok=True)
    result = served.link.run_client(_client_cmd(client, served.link.server_addr4, name, dest, 4), timeout=30, text=True)
    got = dest.read_bytes() if dest.exists() else b""
    assert b"root:" not in got, f"{client} fetched {name!r}"
    text = result.stdout + result.stderr
    if client == "tftp-hpa":  # tftp-hpa exits 0 even on errors; it prints the ERROR packet
        assert re.search(r"Error code [12]", text), text
    else:
        assert result.returncode != 0, text
    dest.unlink(missing_ok=True)


STRANGER = textwrap.dedent(
    """
    import json, socket, sys
    server = sys.argv[1]
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.settimeout(5)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.settimeout(5)
    a.sendto(b"\\x00\\x01big.bin\\x00octet\\x00", (server, 69))
    data, tid = a.recvfrom(600)
    b.sendto(b"\\x00\\x04\\x00\\x01", tid)           # an ACK from a stranger's port
    error, _ = b.recvfrom(100)
    got = bytearray(data[4:])
    while True:
        a.sendto(b"\\x00\\x04" + data[2:4], tid)
        if len(data) < 516:
            break
        data, peer = a.recvfrom(600)
        assert peer == tid
        got += data[4:]
    print(json.dumps({"error": error.hex(), "size": len(got), "sha": __import__("hashlib").sha256(got).hexdigest()}))
    """
)


def test_stranger_tid_gets_error_5(served: Served) -> None:
    result = served.link.run_client([sys.executable, "-c", STRANGER, served.link.server_addr4], timeout=60, text=True)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["error"].startswith("00050005")  # ERROR, code 5 (RFC 1350 §4)
    assert report["size"] == len(served.files["big.bin"])
    assert report["sha"] == hashlib.sha256(served.files["big.bin"]).hexdigest()


HOLDER = textwrap.dedent(
    """
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
    s.sendto(b"\\x00\\x01small.txt\\x00octet\\x00", (sys.argv[1], 6970))
    data, tid = s.recvfrom(600)                       # DATA 1, deliberately not acknowledged
    print("holding", flush=True)
    sys.stdin.readline()
    s.sendto(b"\\x00\\x05\\x00\\x00done\\x00", tid)    # end it with an ERROR
    """
)


def test_per_client_limit_names_the_reason(served: Served) -> None:
    holder = served.link.spawn_client(
        [sys.executable, "-c", HOLDER, served.link.server_addr4],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        dest = served.out / "limited"
        cmd = ["tftp", "-m", "binary", served.link.server_addr4, "6970", "-c", "get", "small.txt", str(dest)]
        result = served.link.run_client(cmd, timeout=30, text=True)
        assert "Too many transfers from 192.0.2.2 (limit 1)" in result.stdout + result.stderr
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(10)


def test_dynamic_pxelinux_config_for_this_mac(served: Served) -> None:
    dest = served.out / "pxe.cfg"
    name = "pxelinux.cfg/01-" + CLIENT_MAC.replace(":", "-")
    result = served.link.run_client(_client_cmd("curl", served.link.server_addr4, name, dest, 4), timeout=30)
    assert result.returncode == 0
    text = dest.read_text()
    assert "KERNEL http://192.0.2.1/vmlinuz" in text and "client-a" in text


def test_zz_events_and_no_transfer_left(served: Served) -> None:
    """Last (by name): every transfer ended, with one event each keyed by the client's MAC."""
    time.sleep(1.5)  # the holder's and the stranger's transfers are over by now
    sockets = served.link.run_server(["ss", "-Huan"], timeout=5, text=True).stdout.splitlines()
    left = [line for line in sockets if not re.search(r":(69|6970)\s", line)]
    assert not left, "transfer sockets still open:\n" + "\n".join(left)
    log = served.log.read_text()
    done = [line for line in log.splitlines() if "tftp.done" in line]
    assert done and all(f"mac={CLIENT_MAC}" in line and "host=client-a" in line for line in done)
    assert re.search(r"tftp\.done .*file=big\.bin size=3000000 blksize=1428 windowsize=16 ", log)
    failed = [line for line in log.splitlines() if "tftp.failed" in line]
    assert any("passwd" in line and "refused" in line for line in failed)
