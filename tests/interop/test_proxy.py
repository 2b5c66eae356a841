"""proxyDHCP beside a DHCP server bootwright does not own, in network namespaces (issue 15).

The link's addresses come from a real foreign server — dnsmasq with a plain
range and no boot options, or ISC dhcpd — started by the test in the server
namespace, *before* ``bootwright serve`` (``mode = "proxy"``), so it holds UDP
67 and bootwright must hear the link through its packet socket and answer from
port 67 through a raw socket; or with no foreign server on that host, where
bootwright binds port 67 itself. The client (``pxeclient.py``, the DHCP half of
OVMF's UEFI PXE and SeaBIOS iPXE) sends a DISCOVER and collects every offer,
then asks the boot server port 4011 as EDK2 does. The firmware boots through
the same set-ups in ``tests/e2e/test_lab_proxy.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from netns import BOOTWRIGHT, NetnsPair, require_module, wait_udp_port
from test_dhcp4 import Server, start_server

pytestmark = pytest.mark.interop

require_module(("dnsmasq", "dhcpd"))

CLIENT = Path(__file__).with_name("pxeclient.py")
MAC = "52:54:00:b0:01:04"

CONFIG = """
[server]
interfaces = ["srv0"]
address4 = "192.0.2.1"

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "srv0"
mode = "proxy"

[dhcp6]
enabled = false
[tftp]
enabled = false
[http]
enabled = false

[boot]
builtin = true
default = "linux"

[targets.linux]
kernel = "{{ http }}/vmlinuz"
"""

DHCPD = """
ping-check false;
default-lease-time 600;
max-lease-time 600;
subnet 192.0.2.0 netmask 255.255.255.0 {
  range 192.0.2.160 192.0.2.170;
  option routers 192.0.2.1;
}
"""


def start_dnsmasq(link: NetnsPair, d: Path) -> subprocess.Popen[bytes]:
    """dnsmasq as the link's DHCP server: addresses only, no boot options (no ``dhcp-boot``, no PXE).

    ``--no-ping``: dnsmasq pings a new address for 3 s before offering it, longer than the client waits.
    """
    log = (d / "dnsmasq.log").open("wb")
    proc = link.spawn_server(
        ["dnsmasq", "--no-daemon", "--port=0", "--conf-file=/dev/null", "--interface=srv0",
         "--dhcp-range=192.0.2.100,192.0.2.150,10m", "--no-ping", f"--dhcp-leasefile={d / 'dnsmasq.leases'}",
         f"--pid-file={d / 'dnsmasq.pid'}", "--log-dhcp"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_udp_port(link, 67, proc, "dnsmasq", d / "dnsmasq.log")
    return proc


def start_dhcpd(link: NetnsPair, d: Path) -> subprocess.Popen[bytes]:
    """ISC dhcpd (Debian isc-dhcp-server) as the link's DHCP server, in the foreground."""
    conf = d / "dhcpd.conf"
    conf.write_text(DHCPD)
    leases = d / "dhcpd.leases"
    leases.touch()
    log = (d / "dhcpd.log").open("wb")
    proc = link.spawn_server(
        ["dhcpd", "-4", "-f", "-d", "-cf", str(conf), "-lf", str(leases), "-pf", str(d / "dhcpd.pid"), "srv0"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    wait_udp_port(link, 67, proc, "dhcpd", d / "dhcpd.log")
    return proc


def pxe_exchange(link: NetnsPair, *flags: str) -> list[dict[str, object]]:
    """Run the PXE client in the client namespace; the replies it saw, as dicts."""
    result = link.run_client([sys.executable, str(CLIENT), "--mac", MAC, "--interface", "cli0", *flags], timeout=30)
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]


def proxy_replies(replies: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in replies if str(r["from"]).startswith("192.0.2.1:") and r["yiaddr"] == "0.0.0.0"]


def events(server: Server) -> list[str]:
    return [line for line in server.text().splitlines() if "dhcp4" in line]


@pytest.fixture
def link(tmp_path: Path):  # type: ignore[no-untyped-def]
    with NetnsPair("proxy", client_mac=MAC) as pair:
        yield pair


def serve(link: NetnsPair, d: Path) -> Server:
    config = d / "bootwright.toml"
    config.write_text(CONFIG)
    return start_server(link, d, config)


def test_alone_it_binds_port_67_and_answers_uefi_pxe_on_port_4011(link: NetnsPair, tmp_path: Path) -> None:
    server = serve(link, tmp_path)
    assert "proxy on srv0 (port 67 bound)" in server.text() and "boot server port 4011" in server.text()
    replies = pxe_exchange(link, "--arch", "7", "--boot-server", "192.0.2.1", "--client-address", "192.0.2.2")
    offer, ack = proxy_replies(replies)
    assert offer["type"] == "OFFER" and offer["options"]["60"] == b"PXEClient".hex()
    assert "43" not in offer["options"]  # UEFI: no PXE_DISCOVERY_CONTROL, ask port 4011
    assert offer["options"]["97"]  # the client's UUID echoed (PXE 2.1 §2.2.1)
    assert ack["type"] == "ACK" and ack["from"] == "192.0.2.1:4011" and ack["file"] == "ipxe.efi"
    assert ack["ciaddr"] == "192.0.2.2" and ack["siaddr"] == "192.0.2.1"


@pytest.mark.parametrize("foreign", ["dnsmasq", "dhcpd"])
def test_beside_a_foreign_server_on_the_same_host(link: NetnsPair, tmp_path: Path, foreign: str) -> None:
    other = start_dnsmasq(link, tmp_path) if foreign == "dnsmasq" else start_dhcpd(link, tmp_path)
    server = serve(link, tmp_path)
    assert "proxy on srv0 through a packet socket (UDP 67 is held by another process)" in server.text()
    # BIOS PXE: the address from the foreign server, the boot file from us, with discovery control 8.
    replies = pxe_exchange(link, "--arch", "0")
    addressed = [r for r in replies if r["yiaddr"] != "0.0.0.0"]
    assert addressed and addressed[0]["type"] == "OFFER", f"{foreign} gave no address: {replies}"
    (offer,) = proxy_replies(replies)
    assert offer["file"] == "undionly.kpxe" and offer["options"]["43"] == "060108ff"
    assert offer["from"] == "192.0.2.1:67"  # from port 67 although another process holds it
    # UEFI PXE: port 4011 is ours alone.
    replies = pxe_exchange(link, "--arch", "7", "--boot-server", "192.0.2.1", "--client-address", "192.0.2.2")
    assert [r["type"] for r in proxy_replies(replies)] == ["OFFER", "ACK"]
    # A plain client (no PXEClient, no option 93) is the foreign server's alone: nothing from us.
    replies = pxe_exchange(link, "--plain")
    assert not proxy_replies(replies) and any(r["yiaddr"] != "0.0.0.0" for r in replies)
    assert other.poll() is None, f"{foreign} died"
    # The start-up probe hears the server on this host (it sends a copy of its DISCOVER through the IP
    # stack where bootwright does not hold UDP 67) and so does not claim the link has no DHCP server.
    heard = wait_for_line(server, "probe: srv0: DHCP server")
    assert "192.0.2.1" in heard and "no DHCP server offered" not in server.text()
    lines = events(server)
    assert not any("dhcp4.offer" in line or "dhcp4.ack" in line for line in lines), lines


def wait_for_line(server: Server, text: str, timeout: float = 20) -> str:
    """The first log line containing ``text`` (the start-up probe runs in the background for a few seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.text().splitlines():
            if text in line:
                return line
        time.sleep(0.2)
    raise AssertionError(f"no log line with {text!r}:\n{server.text()}")


def test_at_start_a_foreign_pxeclient_server_is_named(link: NetnsPair, tmp_path: Path) -> None:
    # On the other end of the link: a dnsmasq that answers PXE clients with PXEClient itself (pxe-service).
    log = (tmp_path / "other.log").open("wb")
    link.spawn_client(
        ["dnsmasq", "--no-daemon", "--port=0", "--conf-file=/dev/null", "--interface=cli0", "--no-ping",
         "--dhcp-range=192.0.2.100,192.0.2.150,10m", f"--dhcp-leasefile={tmp_path / 'other.leases'}",
         '--pxe-service=x86PC,"Their menu",pxelinux', f"--pid-file={tmp_path / 'other.pid'}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(0.5)
    server = serve(link, tmp_path)
    line = wait_for_line(server, "sends option 60 PXEClient")
    assert "proxy boots on 192.0.2.0/24 will likely fail" in line


def test_at_start_a_second_server_beside_a_full_subnet_is_a_loud_warning(link: NetnsPair, tmp_path: Path) -> None:
    log = (tmp_path / "other.log").open("wb")
    link.spawn_client(
        ["dnsmasq", "--no-daemon", "--port=0", "--conf-file=/dev/null", "--interface=cli0", "--no-ping",
         "--dhcp-range=192.0.2.100,192.0.2.150,10m", f"--dhcp-leasefile={tmp_path / 'other.leases'}",
         f"--pid-file={tmp_path / 'other.pid'}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(0.5)
    config = tmp_path / "bootwright.toml"
    config.write_text(CONFIG.replace('mode = "proxy"', 'pools = ["192.0.2.200-192.0.2.210"]'))
    server = start_server(link, tmp_path, config)
    line = wait_for_line(server, "another DHCP server answers on this link")
    assert "WARNING" in line and "conflicting addresses" in line and "192.0.2.2" in line


def test_another_process_on_the_boot_server_port_is_named(link: NetnsPair, tmp_path: Path) -> None:
    holder = link.spawn_server([sys.executable, "-c", "import socket, time\ns = socket.socket(socket.AF_INET, "
                                "socket.SOCK_DGRAM)\ns.bind(('0.0.0.0', 4011))\ntime.sleep(30)"])
    deadline = time.monotonic() + 10
    while ":4011 " not in link.run_server(["ss", "-uan"]).stdout.decode():
        assert holder.poll() is None and time.monotonic() < deadline, "the port holder did not start"
        time.sleep(0.05)
    config = tmp_path / "bootwright.toml"
    config.write_text(CONFIG)
    (tmp_path / "root").mkdir()
    result = link.run_server([str(BOOTWRIGHT), "serve", "--config", str(config), "--root", str(tmp_path / "root"),
                              "--state-dir", str(tmp_path / "state")], timeout=30)
    text = (result.stdout + result.stderr).decode()
    assert result.returncode != 0 and "Traceback" not in text
    assert "cannot listen on the boot server port 4011 on srv0" in text and "another proxyDHCP server" in text
