"""Real syslog senders against ``bootwright serve``'s syslog receiver, in network namespaces.

The server namespace holds 192.0.2.1/24 and 2001:db8::1/64 and runs
``bootwright serve`` with DHCPv4 and the syslog receiver on port 514 (a
namespace of its own: nothing else listens there); the client namespace holds
192.0.2.2/24 and 2001:db8::2/64 on a veth with the MAC of the configured host
``client``. The client first takes its address as a DHCPv4 lease from the
server (busybox udhcpc; the host's fixed address is 192.0.2.2), so its IPv4
lines are mapped to its MAC by the lease table; its IPv6 lines by the
server's neighbour table. Senders:

- util-linux ``logger --udp --rfc5424`` and ``--rfc3164``, over IPv4 and IPv6;
- busybox ``syslogd -R`` forwarding busybox ``logger`` lines (glibc's form,
  no HOSTNAME), run under ``unshare -m`` with a private ``/dev`` so its
  ``/dev/log`` never touches the machine's;
- iPXE's exact datagram (``src/net/udp/syslog.c``), from a UDP socket.

The lines are read back with ``bootwright events client --json``: the boot
timeline of the host, as an operator reads it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import BOOTWRIGHT, DHCP4_ONLY_CONFIG, NetnsPair, require_module, start_bootwright

pytestmark = pytest.mark.interop

require_module(("logger", "busybox", "unshare"))

CLIENT_MAC = "52:54:00:5e:10:02"

CONFIG = DHCP4_ONLY_CONFIG + f"""
[syslog]
enabled = true

[[host]]
name = "client"
mac = "{CLIENT_MAC}"
ipv4 = "192.0.2.2"
"""

HOOK = "#!/bin/sh\n# udhcpc: the address is already configured (the fixed one); record nothing.\nexit 0\n"


class Server:
    """``bootwright serve`` in the server namespace."""

    def __init__(self, link: NetnsPair, d: Path) -> None:
        self.link, self.dir = link, d
        (d / "root").mkdir()
        (d / "site.toml").write_text(CONFIG)
        self.log = d / "serve.log"
        self.proc = start_bootwright(link, d / "site.toml", d / "root", d / "state", self.log,
                          ready=("syslog ready", "dhcp4 ready"), timeout=20)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def steps(self, want: int, timeout: float = 10.0) -> list[dict[str, object]]:
        """The syslog steps of host ``client``'s timeline (``bootwright events client --json``), once ``want`` are."""
        deadline = time.monotonic() + timeout
        while True:
            out = subprocess.run(
                [str(BOOTWRIGHT), "events", "client", "--state-dir", str(self.dir / "state"), "--json"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            assert out.returncode == 0, out.stderr
            steps = [s for a in json.loads(out.stdout) for s in a["steps"] if s["kind"] == "syslog.message"]
            if len(steps) >= want or time.monotonic() > deadline:
                return steps
            time.sleep(0.3)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with NetnsPair("syslog", client_mac=CLIENT_MAC) as link:
        srv = Server(link, tmp_path)
        hook = tmp_path / "hook.sh"
        hook.write_text(HOOK)
        hook.chmod(0o755)
        got = link.run_client(["busybox", "udhcpc", "-i", "cli0", "-n", "-q", "-f", "-t", "5", "-T", "2",
                               "-s", str(hook)], timeout=30, text=True)  # fmt: skip
        assert got.returncode == 0, got.stderr
        assert "dhcp4.ack mac=52:54:00:5e:10:02 host=client yiaddr=192.0.2.2" in srv.text()
        yield srv


def logger(link: NetnsPair, *args: str) -> None:
    got = link.run_client(["logger", "--udp", "--port", "514", *args], timeout=10, text=True)
    assert got.returncode == 0, got.stderr


def test_util_linux_logger_lines_join_the_hosts_timeline(server: Server) -> None:
    link = server.link
    logger(link, "--server", "192.0.2.1", "--rfc5424", "-t", "installer", "-p", "user.notice",
           "--sd-id", "bw@32473", "--sd-param", 'step="partitioning"', "partitioning /dev/vda")  # fmt: skip
    logger(link, "--server", "192.0.2.1", "--rfc3164", "-t", "installer", "-p", "daemon.err", "no space left on /")
    logger(link, "--server", "2001:db8::1", "--rfc5424", "-t", "v6", "-p", "local0.info", "over IPv6")
    steps = server.steps(3)
    texts = [s["text"] for s in steps]
    assert "syslog installer: partitioning /dev/vda" in texts
    assert "syslog installer (err): no space left on /" in texts
    assert "syslog v6: over IPv6" in texts  # mapped by the neighbour table: no DHCPv6 lease
    assert [s["problem"] for s in steps if "no space" in str(s["text"])] == [True]
    log = server.text()
    assert ('syslog.message mac=52:54:00:5e:10:02 host=client source=192.0.2.2 severity=notice facility=user '
            'app=installer text="partitioning /dev/vda"') in log  # fmt: skip
    assert "source=2001:db8::2 severity=info facility=local0 app=v6" in log


def test_busybox_syslogd_forwards_busybox_logger_lines(server: Server, tmp_path: Path) -> None:
    script = tmp_path / "busybox.sh"
    script.write_text(
        "#!/bin/sh\n"
        "set -e\n"
        "mount -t tmpfs bw-syslog-dev /dev\n"  # a private /dev: syslogd's /dev/log stays in this mount namespace
        "mknod -m 666 /dev/null c 1 3\n"
        "busybox syslogd -n -R 192.0.2.1:514 &\n"
        "pid=$!\n"
        "for i in 1 2 3 4 5 6 7 8 9 10; do [ -S /dev/log ] && break; sleep 0.1; done\n"
        "busybox logger -t bbtest -p user.warning 'hello from busybox'\n"
        "sleep 0.5\n"
        "kill $pid\n"
    )  # fmt: skip
    got = server.link.run_client(["unshare", "--mount", "--propagation", "private", "sh", str(script)],
                                 timeout=20, text=True)  # fmt: skip
    assert got.returncode == 0, got.stderr
    [step] = server.steps(1)
    assert step["text"] == "syslog bbtest (warning): hello from busybox"


def test_ipxes_own_datagram(server: Server) -> None:
    # src/net/udp/syslog.c syslog_send(): "<%d>%s%s%s%sipxe: %s%s", facility 0; sent from port 514's peer.
    code = (
        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
        "s.sendto(b'<6>client ipxe: http://192.0.2.1/boot.ipxe... ok', ('192.0.2.1', 514)); "
        "s.sendto(b'<3>client ipxe: Could not boot: Connection timed out (http://ipxe.org/4c0a6035)', ('192.0.2.1', 514))"
    )  # fmt: skip
    got = server.link.run_client([sys.executable, "-c", code], timeout=10, text=True)
    assert got.returncode == 0, got.stderr
    texts = [s["text"] for s in server.steps(2)]
    assert texts == ["iPXE syslog: http://192.0.2.1/boot.ipxe... ok",
                     "iPXE syslog (err): Could not boot: Connection timed out (http://ipxe.org/4c0a6035)"]  # fmt: skip
