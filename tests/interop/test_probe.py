"""``bootwright probe dhcp`` against real DHCP servers, and the packet socket under it, in network namespaces.

The servers run in the server namespace of a :class:`netns.NetnsPair` (and,
for two at once, in a third namespace on a bridge: the lab's
:class:`~bootwright.lab.netns.PeerNamespace`); the probe runs as the
``bootwright`` command in the client namespace, across the veth:

- dnsmasq with addresses only (``test_proxy.start_dnsmasq``), and with PXE
  options (``pxe-service``, so it sends option 60 ``PXEClient`` and 43);
- ISC dhcpd (``test_proxy.start_dhcpd``) and dnsmasq also on the probe's own
  host (the link-layer DISCOVER reaches dhcpd's packet socket, its IP-stack
  copy dnsmasq's UDP socket; their OFFERs are heard as outgoing frames);
- both at once, each listed; nobody, and the "no DHCP server answered" line;
- ``--config``: the judgement of docs/probe.md for full and proxy subnets;
- ``check_link``, the coroutine the DHCPv4 service runs at start;
- :class:`~bootwright.net.linklayer.PacketReceiver` hearing UDP 67 while
  another socket holds that port, and nothing the kernel filter drops.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from bmcrig import wait_for
from netns import BOOTWRIGHT, NetnsPair, require_module, wait_udp_port
from test_proxy import DHCPD, start_dhcpd, start_dnsmasq

from bootwright.lab.netns import BRIDGE, Namespace, PeerNamespace

pytestmark = pytest.mark.interop

require_module(("dnsmasq", "dhcpd", "ss"))

SERVER_MAC = "52:54:00:b0:02:01"
OTHER = "192.0.2.254"  # the second server's address (the peer namespace)
FULL = """
[[subnet4]]
subnet = "192.0.2.0/24"
interface = "{iface}"
pools = ["192.0.2.200-192.0.2.210"]
"""
PROXY = """
[[subnet4]]
subnet = "192.0.2.0/24"
interface = "{iface}"
mode = "proxy"
"""


@pytest.fixture
def link() -> Iterator[NetnsPair]:
    with NetnsPair("probe") as pair:
        pair.run_server(["ip", "link", "set", pair.server_if, "address", SERVER_MAC])
        yield pair


def probe(link: NetnsPair, *flags: str, iface: str = "cli0", server: bool = False) -> subprocess.CompletedProcess[str]:
    """``bootwright probe dhcp IFACE FLAGS`` in the client (or server) namespace."""
    cmd = [str(BOOTWRIGHT), "probe", "dhcp", iface, *flags]
    run = link.run_server if server else link.run_client
    done: subprocess.CompletedProcess[str] = run(cmd, timeout=60, text=True)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def probe_json(link: NetnsPair, *flags: str, **kw: Any) -> dict[str, Any]:
    done = probe(link, "--json", *flags, **kw)
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def in_range(address: str, first: str, last: str) -> bool:
    return IPv4Address(first) <= IPv4Address(address) <= IPv4Address(last)


def config(tmp_path: Path, template: str, iface: str = "cli0") -> Path:
    path = tmp_path / "probe.toml"
    path.write_text(template.format(iface=iface) + "\n[dhcp6]\nenabled = false\n")
    return path


def start_pxe_dnsmasq(link: NetnsPair, d: Path) -> subprocess.Popen[bytes]:
    """dnsmasq as a site runs it for PXE: addresses plus ``dhcp-boot`` and ``pxe-service`` for PXEClient clients.

    With ``pxe-service`` dnsmasq answers a PXE client with option 60 ``PXEClient`` and a boot menu in 43.
    """
    log = (d / "dnsmasq-pxe.log").open("wb")
    proc = link.spawn_server(
        ["dnsmasq", "--no-daemon", "--port=0", "--conf-file=/dev/null", "--interface=srv0", "--no-ping",
         "--dhcp-range=192.0.2.100,192.0.2.150,10m", f"--dhcp-leasefile={d / 'dnsmasq-pxe.leases'}",
         f"--pid-file={d / 'dnsmasq-pxe.pid'}", "--dhcp-vendorclass=set:pxe,PXEClient",
         "--dhcp-boot=tag:pxe,undionly.kpxe,,192.0.2.1", '--pxe-service=tag:pxe,x86PC,"Network boot",undionly'],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_udp_port(link, 67, proc, "dnsmasq", d / "dnsmasq-pxe.log")
    return proc


@contextlib.contextmanager
def second_host(link: NetnsPair, d: Path) -> Iterator[PeerNamespace]:
    """A third namespace on the probe's link, running ISC dhcpd at :data:`OTHER`.

    The client namespace gets the lab's bridge (``tap0``) with ``cli0`` as a
    port, and :class:`PeerNamespace` joins it with a veth; the probe then runs
    on ``tap0`` and reaches the server namespace and the peer alike.
    """
    client = Namespace(link.client_ns)  # not created by it: never deleted by it
    client.ip("addr", "flush", "dev", "cli0")
    client.ip("link", "add", BRIDGE, "type", "bridge")
    client.ip("link", "set", "cli0", "master", BRIDGE)
    client.ip("addr", "add", "192.0.2.2/24", "dev", BRIDGE)
    client.ip("link", "set", BRIDGE, "up")
    peer = PeerNamespace(client, OTHER)
    try:
        peer.create()
        conf, leases = d / "peer-dhcpd.conf", d / "peer-dhcpd.leases"
        conf.write_text(DHCPD)
        leases.touch()
        log = (d / "peer-dhcpd.log").open("wb")
        cmd = ["dhcpd", "-4", "-f", "-d", "-cf", str(conf), "-lf", str(leases), "-pf", str(d / "peer-dhcpd.pid"),
               PeerNamespace.IFACE]  # fmt: skip
        proc = subprocess.Popen([*peer.exec_prefix(), *cmd], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            wait_for("dhcpd in the peer namespace to bind port 67", lambda: ":67 " in peer.sh(["ss", "-uan"]))
            yield peer
        finally:
            proc.kill()
            proc.wait(10)
    finally:
        peer.delete()  # kills by pid whatever is left inside, deletes the namespace


# -- the probe against real servers ---------------------------------------------------------------


def test_dnsmasq_with_addresses_only(link: NetnsPair, tmp_path: Path) -> None:
    start_dnsmasq(link, tmp_path)
    found = probe_json(link)
    assert (found["interface"], found["timeout"], found["pxe"], found["warnings"]) == ("cli0", 5.0, True, [])
    (server,) = found["servers"]
    assert in_range(server.pop("offered"), "192.0.2.100", "192.0.2.150")
    assert server == {
        "server_id": "192.0.2.1", "source": "192.0.2.1", "mac": SERVER_MAC, "local": False, "relay": None,
        "proxy": False, "vendor_class": None, "pxe_client": False, "next_server": "192.0.2.1", "boot_file": None,
        "tftp_server": None, "option43": False, "subnet_mask": "255.255.255.0", "routers": ["192.0.2.1"],
        "dns": [], "lease_time": 600,  # --port=0: no DNS, so dnsmasq sends no option 6
    }  # fmt: skip
    table = probe(link, "--timeout", "2")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["server", "from", "offers", "option", "60", "next", "server", "boot", "file", "43",
                                "router", "dns"]  # fmt: skip
    assert lines[1].startswith(f"192.0.2.1  192.0.2.1 {SERVER_MAC}  192.0.2.1")
    assert lines[-1] == "1 DHCP server answered on cli0 in 2 s"


def test_dnsmasq_with_pxe_options_sends_pxeclient(link: NetnsPair, tmp_path: Path) -> None:
    start_pxe_dnsmasq(link, tmp_path)
    (server,) = probe_json(link)["servers"]
    assert server["vendor_class"] == "PXEClient" and server["pxe_client"] and server["option43"]
    assert server["boot_file"] == "undionly.kpxe" and server["next_server"] == "192.0.2.1"
    assert not server["proxy"] and in_range(server["offered"], "192.0.2.100", "192.0.2.150")
    # Asked as a plain client, the same server shows nothing of it: why --pxe is the default.
    (plain,) = probe_json(link, "--no-pxe", "--timeout", "2")["servers"]
    assert (plain["vendor_class"], plain["option43"], plain["boot_file"]) == (None, False, None)


def test_a_pxeclient_server_beside_a_proxy_subnet_is_named(link: NetnsPair, tmp_path: Path) -> None:
    start_pxe_dnsmasq(link, tmp_path)
    done = probe(link, "--config", str(config(tmp_path, PROXY)))
    assert done.returncode == 0
    (warning,) = [line for line in done.stderr.splitlines() if line.strip()]
    assert warning.startswith("warning: cli0: 192.0.2.1 (52:54:00:b0:02:01) sends option 60 PXEClient")
    assert (
        "firmware prefers its PXEClient offer over any proxy: proxy boots on 192.0.2.0/24 will likely fail" in warning
    )


def test_isc_dhcpd(link: NetnsPair, tmp_path: Path) -> None:
    start_dhcpd(link, tmp_path)
    (server,) = probe_json(link)["servers"]
    assert in_range(server["offered"], "192.0.2.160", "192.0.2.170")
    assert (server["server_id"], server["source"], server["mac"]) == ("192.0.2.1", "192.0.2.1", SERVER_MAC)
    assert (server["routers"], server["lease_time"], server["vendor_class"]) == (["192.0.2.1"], 600, None)
    assert not server["local"] and not server["proxy"]


def test_isc_dhcpd_on_the_probes_own_host_is_heard(link: NetnsPair, tmp_path: Path) -> None:
    """dhcpd reads the link through a packet socket, so it sees the probe's frame; its OFFER leaves this host."""
    start_dhcpd(link, tmp_path)
    found = probe_json(link, "--timeout", "3", iface="srv0", server=True)
    (server,) = found["servers"]
    assert server["local"] and server["mac"] == SERVER_MAC and server["server_id"] == "192.0.2.1"


def test_dnsmasq_on_the_probes_own_host_is_heard(link: NetnsPair, tmp_path: Path) -> None:
    """libvirt's case: dnsmasq reads a UDP socket; the DISCOVER's IP-stack copy is looped back to it."""
    start_pxe_dnsmasq(link, tmp_path)
    found = probe_json(link, "--config", str(config(tmp_path, PROXY, "srv0")), iface="srv0", server=True)
    (server,) = found["servers"]
    assert server["local"] and server["server_id"] == "192.0.2.1" and server["pxe_client"]
    (warning,) = found["warnings"]
    assert "192.0.2.1 (52:54:00:b0:02:01, on this host) sends option 60 PXEClient" in warning


def test_two_servers_at_once_are_both_listed(link: NetnsPair, tmp_path: Path) -> None:
    start_dnsmasq(link, tmp_path)
    with second_host(link, tmp_path):
        done = probe(link, "--json", "--config", str(config(tmp_path, FULL, BRIDGE)), iface=BRIDGE)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["subnets"] == ["192.0.2.0/24"]
    by_id = {s["server_id"]: s for s in found["servers"]}
    assert set(by_id) == {"192.0.2.1", OTHER}
    assert in_range(by_id["192.0.2.1"]["offered"], "192.0.2.100", "192.0.2.150")
    assert in_range(by_id[OTHER]["offered"], "192.0.2.160", "192.0.2.170")
    assert by_id[OTHER]["source"] == OTHER and by_id[OTHER]["mac"] != SERVER_MAC
    assert len(found["warnings"]) == 2 and all("conflicting addresses" in w for w in found["warnings"])


def test_no_server(link: NetnsPair, tmp_path: Path) -> None:
    done = probe(link, "--timeout", "1")
    assert (done.returncode, done.stdout, done.stderr) == (0, "no DHCP server answered on cli0 in 1 s\n", "")
    found = probe_json(link, "--timeout", "1", "--config", str(config(tmp_path, PROXY)))
    assert found["servers"] == [] and found["subnets"] == ["192.0.2.0/24"]
    (warning,) = found["warnings"]
    assert "no DHCP server offered an address in 1 s, but 192.0.2.0/24 is a proxy subnet" in warning


def test_interface_down_is_a_usage_error(link: NetnsPair) -> None:
    link.run_client(["ip", "link", "set", "cli0", "down"])
    done = probe(link, "--timeout", "1")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: interface cli0 is down (`ip link set cli0 up`)"


# -- check_link: what the DHCPv4 service runs at start -------------------------------------------

CHECK_LINK = """
import asyncio, json, sys
from bootwright.config import parse_config
from bootwright.net.probe import check_link

subnets = parse_config(sys.argv[2]).subnet4
print(json.dumps(asyncio.run(check_link(sys.argv[1], subnets, timeout=float(sys.argv[3])))))
"""


def check_link(link: NetnsPair, iface: str, template: str, timeout: float = 3.0) -> list[str]:
    done = link.run_client([sys.executable, "-c", CHECK_LINK, iface, template.format(iface=iface), str(timeout)],
                           timeout=60, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines: list[str] = json.loads(done.stdout)
    return lines


def test_check_link_judges_and_never_raises(link: NetnsPair, tmp_path: Path) -> None:
    start_pxe_dnsmasq(link, tmp_path)
    (line,) = check_link(link, "cli0", FULL)
    assert "another DHCP server answers on this link: 192.0.2.1 (52:54:00:b0:02:01)" in line
    (line,) = check_link(link, "cli0", PROXY)
    assert "sends option 60 PXEClient" in line
    assert check_link(link, "bwnosuch0", FULL, 1) == [
        "bwnosuch0: could not look for other DHCP servers: no network interface named 'bwnosuch0' (see `ip link`)"
    ]


# -- the packet socket under it -------------------------------------------------------------------

RECEIVER = """
import json, select, socket, sys, time
from bootwright.net.linklayer import PacketReceiver

holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
holder.bind(("0.0.0.0", 67))  # a plain bind, as dnsmasq's: nobody else can bind 67 now
rx = PacketReceiver("srv0", 67)
holder.sendto(b"from-this-host", ("192.0.2.2", 67))  # an outgoing frame to port 67: never heard
print("ready", flush=True)
got, deadline = [], time.monotonic() + 20
while time.monotonic() < deadline and not (got and got[-1]["payload"] == "end"):
    select.select([rx], [], [], 0.5)
    while (d := rx.receive()) is not None:
        got.append({"source": str(d.source), "destination": str(d.destination), "sport": d.sport,
                    "dport": d.dport, "payload": d.payload.decode(), "mac": d.mac.hex(":")})
holder.setblocking(False)
held = []
while True:
    try:
        held.append(holder.recv(65536).decode())
    except BlockingIOError:
        break
print(json.dumps({"got": got, "dropped": rx.dropped, "held": held}), flush=True)
"""

SENDER = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"cli0")
s.bind(("0.0.0.0", 6800))
s.sendto(b"unicast", ("192.0.2.1", 67))
s.sendto(b"broadcast", ("255.255.255.255", 67))
s.sendto(b"other port", ("192.0.2.1", 68))
s.sendto(b"x" * 3000, ("192.0.2.1", 67))  # fragmented by the sender's IP stack: fragments are not heard
s.sendto(b"end", ("192.0.2.1", 67))
"""


def test_packet_receiver_hears_a_port_another_socket_holds(link: NetnsPair) -> None:
    receiver = link.spawn_server([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    assert receiver.stdout is not None and receiver.stdout.readline().strip() == "ready"
    sent = link.run_client([sys.executable, "-c", SENDER], timeout=20, text=True)
    assert sent.returncode == 0, sent.stderr
    result = json.loads(receiver.stdout.readline())
    client_mac = link.run_client(["cat", "/sys/class/net/cli0/address"], text=True).stdout.strip()
    common = {"source": "192.0.2.2", "sport": 6800, "dport": 67, "mac": client_mac}
    assert result["got"] == [
        {**common, "destination": "192.0.2.1", "payload": "unicast"},
        {**common, "destination": "255.255.255.255", "payload": "broadcast"},
        {**common, "destination": "192.0.2.1", "payload": "end"},
    ]
    assert result["dropped"] == 0  # port 68, the fragments and our own frame never reached the process
    assert {"unicast", "broadcast", "end"} <= set(result["held"])  # the holder got them too: nothing was taken


def test_packet_receiver_on_an_unknown_interface_raises_enodev(link: NetnsPair) -> None:
    script = textwrap.dedent("""
        import errno
        from bootwright.net.linklayer import PacketReceiver
        try:
            PacketReceiver("bwnosuch0", 67)
        except OSError as e:
            print(errno.errorcode[e.errno])
    """)
    done = link.run_client([sys.executable, "-c", script], timeout=20, text=True)
    assert done.stdout.strip() == "ENODEV", done.stderr
