"""Real DHCPv4 clients and a real relay against ``bootwright serve``, in network namespaces.

Every test builds its own namespaces (``bwt-d4…-<pid>-…``, veth pairs, the
documentation ranges 192.0.2.0/24 and 198.51.100.0/24) through the shared
:class:`netns.NetnsPair` and removes them afterwards, also on failure. Only
the DHCPv4 service runs. Clients:

- ISC dhclient (Debian isc-dhcp-client) and busybox udhcpc: leases, options,
  boot file; a hook script records what they were told (nothing is configured).
- ISC dhcrelay (Debian isc-dhcp-relay) between two namespaces, adding option 82.
- perfdhcp (Debian kea-admin): many clients, no duplicate addresses.
- kill -9 of the server mid-load: every ACK it sent has its lease on disk, and
  a restarted server ACKs the clients' INIT-REBOOT requests.
- A plain RFC 951 BOOTREQUEST (no magic cookie), sent from a UDP socket and
  answered seen with an ``AF_PACKET`` socket in the client namespace.
- dhclient renewing (unicast, RFC 2131 §4.3.2 RENEWING) and, when its unicast
  cannot leave, rebinding (broadcast, REBINDING): the ACK events name the state.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from netns import NetnsPair, require_module, start_bootwright

pytestmark = pytest.mark.interop

HOST_MAC = "52:54:00:12:34:56"

require_module(("dhclient", "busybox", "dhcrelay", "perfdhcp"))

CONFIG = """
[server]
interfaces = ["srv0"]
address4 = "{server}"

[dhcp4]
lease_time = 600
per_mac_rate = 100000

[[subnet4]]
subnet = "{subnet}"
pools = ["{pool}"]
routers = ["{router}"]
dns = ["{router}"]
domain_name = "example.test"

[dhcp6]
enabled = false
[tftp]
enabled = false
[http]
enabled = false

[boot]
builtin = false

[[rule]]
name = "all"
bootfile = "pxelinux.0"
next_server = "{server}"

[[host]]
name = "fixedhost"
mac = "{host_mac}"
ipv4 = "{fixed}"
"""

HOOK = """#!/bin/sh
# Record what the client was told; configure nothing.
env | sort > "{dir}/env.${{reason:-$1}}.$$"
"""

DHCLIENT_CONF = """timeout 15;
retry 1;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, host-name, bootfile-name;
"""


@dataclass
class Server:
    """A running ``bootwright serve`` in a namespace, with its files."""

    proc: subprocess.Popen[bytes]
    dir: Path
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def rows(self) -> dict[str, tuple[str, str]]:
        """address -> (mac, state) from the lease table."""
        conn = sqlite3.connect(self.dir / "state" / "state.db")
        try:
            return {a: (m, s) for a, m, s in conn.execute("SELECT address, mac, state FROM leases WHERE family = 4")}
        finally:
            conn.close()


def write_config(d: Path, **kw: str) -> Path:
    values = {"server": "192.0.2.1", "subnet": "192.0.2.0/24", "pool": "192.0.2.100-192.0.2.199",
              "router": "192.0.2.1", "fixed": "192.0.2.50", "host_mac": HOST_MAC}
    values.update(kw)
    path = d / "bootwright.toml"
    path.write_text(CONFIG.format(**values))
    return path


def start_server(link: NetnsPair, d: Path, config: Path, log_name: str = "serve.log") -> Server:
    (d / "root").mkdir(exist_ok=True)
    log = d / log_name
    return Server(start_bootwright(link, config, d / "root", d / "state", log, timeout=20), d, log)


def hook(d: Path) -> Path:
    path = d / "hook.sh"
    path.write_text(HOOK.format(dir=d))
    path.chmod(0o755)
    return path


def told(d: Path, reason: str) -> dict[str, str]:
    """The environment the client's hook saw for ``reason`` (BOUND, REBOOT, bound...)."""
    files = sorted(d.glob(f"env.{reason}.*"), key=lambda p: p.stat().st_mtime)
    assert files, f"the client never reported {reason}: {sorted(p.name for p in d.glob('env.*'))}"
    return dict(line.split("=", 1) for line in files[-1].read_text().splitlines() if "=" in line)


def dhclient(link: NetnsPair, d: Path, *, pidfile: str = "dhclient.pid", ns: str | None = None,
             ifname: str = "cli0") -> subprocess.CompletedProcess[str]:
    conf = d / "dhclient.conf"
    conf.write_text(DHCLIENT_CONF)
    cmd = ["dhclient", "-4", "-1", "-v", "-cf", str(conf), "-sf", str(hook(d)), "-lf", str(d / "dhclient.leases"),
           "-pf", str(d / pidfile), ifname]
    prefix = ["ip", "netns", "exec", ns] if ns else link.exec_prefix(False)
    result = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=40, check=False)
    stop_dhclient(d / pidfile)
    return result


def stop_dhclient(pidfile: Path) -> None:
    """dhclient daemonizes once bound: stop it by its pid file (no RELEASE is sent)."""
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)


@pytest.fixture
def link(tmp_path: Path) -> Iterator[NetnsPair]:
    with NetnsPair("d4") as pair:
        subprocess.run([*pair.exec_prefix(False), "ip", "addr", "flush", "dev", "cli0"], check=True, timeout=10)
        yield pair


def set_client_mac(link: NetnsPair, mac: str) -> None:
    subprocess.run([*link.exec_prefix(False), "ip", "link", "set", "cli0", "address", mac], check=True, timeout=10)


# --------------------------------------------------------------------------- clients on the link


def test_dhclient_gets_its_reservation_options_and_boot_file(link: NetnsPair, tmp_path: Path) -> None:
    set_client_mac(link, HOST_MAC)
    server = start_server(link, tmp_path, write_config(tmp_path))
    result = dhclient(link, tmp_path)
    assert result.returncode == 0, result.stderr
    env = told(tmp_path, "BOUND")
    assert env["new_ip_address"] == "192.0.2.50"  # the host's reservation
    assert env["new_host_name"] == "fixedhost"
    assert env["new_subnet_mask"] == "255.255.255.0" and env["new_routers"] == "192.0.2.1"
    assert env["new_domain_name"] == "example.test" and env["new_domain_name_servers"] == "192.0.2.1"
    assert env["new_filename"] == "pxelinux.0" and env["new_bootfile_name"] == "pxelinux.0"
    assert env["new_next_server"] == "192.0.2.1" and env["new_dhcp_lease_time"] == "600"
    assert server.rows()["192.0.2.50"] == (HOST_MAC, "bound")
    log = server.text()
    assert "dhcp4.offer mac=52:54:00:12:34:56 host=fixedhost yiaddr=192.0.2.50" in log
    assert "dhcp4.ack mac=52:54:00:12:34:56 host=fixedhost yiaddr=192.0.2.50" in log


@pytest.mark.parametrize("broadcast", [False, True], ids=["unicast-reply", "broadcast-flag"])
def test_udhcpc_gets_a_pool_lease(link: NetnsPair, tmp_path: Path, broadcast: bool) -> None:
    server = start_server(link, tmp_path, write_config(tmp_path))
    cmd = ["busybox", "udhcpc", "-i", "cli0", "-n", "-q", "-f", "-t", "5", "-T", "2", "-s", str(hook(tmp_path)),
           "-O", "bootfile", "-x", "hostname:udhcpc-test", *(["-B"] if broadcast else [])]
    result = link.run_client(cmd, timeout=30, text=True)
    assert result.returncode == 0, result.stderr
    env = told(tmp_path, "bound")
    assert env["ip"] == "192.0.2.100" and env["subnet"] == "255.255.255.0"
    assert env["router"] == "192.0.2.1" and env["domain"] == "example.test"
    assert env["boot_file"] == "pxelinux.0" and env["bootfile"] == "pxelinux.0" and env["siaddr"] == "192.0.2.1"
    assert env["serverid"] == "192.0.2.1" and env["lease"] == "600"
    rows = server.rows()
    assert rows["192.0.2.100"][1] == "bound"
    conn = sqlite3.connect(tmp_path / "state" / "state.db")
    [(hostname,)] = conn.execute("SELECT hostname FROM leases WHERE address = '192.0.2.100'").fetchall()
    conn.close()
    assert hostname == "udhcpc-test"  # option 12 from the client, kept with the lease


TWO_LINKS = """
[server]
interfaces = ["srv0", "srv1"]

[dhcp4]
lease_time = 600

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "srv0"
server = "192.0.2.1"
pools = ["192.0.2.100-192.0.2.199"]
routers = ["192.0.2.1"]

[[subnet4]]
subnet = "198.51.100.0/24"
server = "198.51.100.1"
pools = ["198.51.100.100-198.51.100.199"]
routers = ["198.51.100.1"]

[dhcp6]
enabled = false
[tftp]
enabled = false
[http]
enabled = false
"""


def test_two_interfaces_each_get_their_own_subnet(link: NetnsPair, tmp_path: Path) -> None:
    # a second veth pair between the same namespaces: srv1 (198.51.100.1/24) -- cli1 (no address)
    subprocess.run(["ip", "-n", link.server_ns, "link", "add", "srv1", "type", "veth", "peer", "name", "cli1",
                    "netns", link.client_ns], check=True, timeout=10)
    subprocess.run(["ip", "-n", link.server_ns, "addr", "add", "198.51.100.1/24", "dev", "srv1"], check=True,
                   timeout=10)
    for ns, ifname in ((link.server_ns, "srv1"), (link.client_ns, "cli1")):
        subprocess.run(["ip", "-n", ns, "link", "set", ifname, "up"], check=True, timeout=10)
    config = tmp_path / "two.toml"
    config.write_text(TWO_LINKS)
    server = start_server(link, tmp_path, config)
    got = {}
    for ifname in ("cli0", "cli1"):
        d = tmp_path / ifname
        d.mkdir()
        cmd = ["busybox", "udhcpc", "-i", ifname, "-n", "-q", "-f", "-t", "5", "-T", "2", "-s", str(hook(d))]
        result = link.run_client(cmd, timeout=30, text=True)
        assert result.returncode == 0, result.stderr
        env = told(d, "bound")
        got[ifname] = (env["ip"], env["router"], env["serverid"])
    assert got["cli0"] == ("192.0.2.100", "192.0.2.1", "192.0.2.1")  # subnet4.interface = srv0
    assert got["cli1"] == ("198.51.100.100", "198.51.100.1", "198.51.100.1")  # the subnet of srv1's address
    assert {"192.0.2.100", "198.51.100.100"} <= set(server.rows())


# --------------------------------------------------------------------------- through a relay


def test_relayed_dhclient_through_dhcrelay(tmp_path: Path) -> None:
    # server ns (srv0 198.51.100.1) -- relay ns (cli0 198.51.100.2, rly0 192.0.2.254) -- client ns (dn0)
    with NetnsPair("d4r", server4="198.51.100.1/24", client4="198.51.100.2/24") as link:
        client_ns = f"bwt-d4r-{os.getpid()}-h"
        try:
            _ip = ["ip", "-n"]
            subprocess.run(["ip", "netns", "add", client_ns], check=True, timeout=10)
            subprocess.run([*_ip, link.client_ns, "link", "add", "rly0", "type", "veth", "peer", "name", "dn0",
                            "netns", client_ns], check=True, timeout=10)
            subprocess.run([*_ip, link.client_ns, "addr", "add", "192.0.2.254/24", "dev", "rly0"], check=True, timeout=10)
            subprocess.run([*_ip, link.client_ns, "link", "set", "rly0", "up"], check=True, timeout=10)
            subprocess.run([*_ip, client_ns, "link", "set", "dn0", "up"], check=True, timeout=10)
            subprocess.run([*_ip, client_ns, "link", "set", "lo", "up"], check=True, timeout=10)
            subprocess.run([*_ip, link.server_ns, "route", "add", "192.0.2.0/24", "via", "198.51.100.2"], check=True,
                           timeout=10)
            config = write_config(tmp_path)  # 192.0.2.0/24 is not on the server's link: only the relay leads there
            server = start_server(link, tmp_path, config)
            relay_log = (tmp_path / "dhcrelay.log").open("wb")
            link.spawn_client(["dhcrelay", "-4", "-d", "-a", "-iu", "cli0", "-id", "rly0", "198.51.100.1"],
                              stdout=relay_log, stderr=subprocess.STDOUT)
            time.sleep(0.5)
            result = dhclient(link, tmp_path, ns=client_ns, ifname="dn0")
            assert result.returncode == 0, result.stderr + (tmp_path / "dhcrelay.log").read_text()
            env = told(tmp_path, "BOUND")
            assert env["new_ip_address"] == "192.0.2.100"
            assert env["new_routers"] == "192.0.2.1" and env["new_filename"] == "pxelinux.0"
            assert env["new_dhcp_server_identifier"] == "192.0.2.1"
            log = server.text()
            assert re.search(r"dhcp4\.ack mac=\S+ yiaddr=192\.0\.2\.100 .*relay=192\.0\.2\.254", log), log
            assert "192.0.2.100" in server.rows()
        finally:
            for pid in subprocess.run(["ip", "netns", "pids", client_ns], capture_output=True, text=True,
                                      check=False).stdout.split():
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", client_ns], check=False, timeout=10)


# --------------------------------------------------------------------------- load and crash


def perfdhcp_summary(text: str) -> tuple[list[int], list[int]]:
    """(received per exchange, non-unique addresses per exchange) from perfdhcp's report."""
    received = [int(x) for x in re.findall(r"received packets: (\d+)", text)]
    dupes = [int(x) for x in re.findall(r"non unique addresses: (\d+)", text)]
    return received, dupes


def test_perfdhcp_leases_without_duplicates(tmp_path: Path) -> None:
    with NetnsPair("d4p", server4="198.51.100.1/24", client4="198.51.100.2/24") as link:
        config = write_config(tmp_path, server="198.51.100.1", subnet="198.51.100.0/24",
                              pool="198.51.100.10-198.51.100.250", router="198.51.100.1", fixed="198.51.100.5")
        server = start_server(link, tmp_path, config)
        result = link.run_client(["perfdhcp", "-4", "-l", "cli0", "-r", "300", "-R", "200", "-n", "600", "-p", "6",
                                  "198.51.100.1"], timeout=30, text=True)
        received, dupes = perfdhcp_summary(result.stdout)
        assert len(received) == 2 and received[1] >= 500, result.stdout + result.stderr
        assert dupes == [0, 0], result.stdout
        rows = server.rows()
        assert 150 <= len(rows) <= 200 and "198.51.100.5" not in rows  # 200 clients, reservation untouched
        assert len({mac for mac, _ in rows.values()}) == len(rows)


def test_kill_9_loses_no_acked_lease_and_restart_keeps_them(link: NetnsPair, tmp_path: Path) -> None:
    config = write_config(tmp_path, pool="192.0.2.10-192.0.2.250")
    server = start_server(link, tmp_path, config)
    assert dhclient(link, tmp_path).returncode == 0
    before = told(tmp_path, "BOUND")["new_ip_address"]
    # perfdhcp needs an address of its own (it relays from it); dhclient is done with cli0
    subprocess.run([*link.exec_prefix(False), "ip", "addr", "add", "192.0.2.2/24", "dev", "cli0"], check=True,
                   timeout=10)
    load = link.spawn_client(["perfdhcp", "-4", "-l", "cli0", "-r", "400", "-R", "100000", "-p", "4",
                              "192.0.2.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(2.0)
    server.proc.send_signal(signal.SIGKILL)  # mid-load, no chance to flush anything
    server.proc.wait(10)
    load.wait(30)
    acked = re.findall(r"dhcp4\.ack mac=(\S+) (?:host=\S+ )?yiaddr=(\S+)", server.text())
    assert len(acked) > 100, server.text()[-2000:]
    rows = server.rows()
    lost = [(mac, ip) for mac, ip in acked if rows.get(ip, ("", ""))[0] != mac]
    assert lost == []  # every ACK that left had its lease on disk
    # restart on the same state: the leases are back, and a client's INIT-REBOOT is ACKed
    subprocess.run([*link.exec_prefix(False), "ip", "addr", "flush", "dev", "cli0"], check=True, timeout=10)
    again = start_server(link, tmp_path, config, "serve2.log")
    m = re.search(r"dhcp4 ready: .*; (\d+) leases loaded", again.text())
    assert m is not None and int(m.group(1)) == len(rows)
    assert dhclient(link, tmp_path, pidfile="dhclient2.pid").returncode == 0
    assert told(tmp_path, "REBOOT")["new_ip_address"] == before  # RFC 2131 §3.2: INIT-REBOOT, ACKed
    assert re.search(rf"dhcp4\.ack mac=\S+ yiaddr={re.escape(before)} .*state=init-reboot", again.text())


# --------------------------------------------------------------------------- RFC 951 BOOTP without the cookie

BOOTP_CONFIG = """
[server]
interfaces = ["srv0"]
address4 = "192.0.2.1"

[dhcp4]
allow_bootp = true
per_mac_rate = 100000

[[subnet4]]
subnet = "192.0.2.0/24"
pools = [{ start = "192.0.2.150", end = "192.0.2.159", dynamic_bootp = true }]
routers = ["192.0.2.1"]

[dhcp6]
enabled = false
[tftp]
enabled = false
[http]
enabled = false

[boot]
builtin = false

[[rule]]
name = "all"
bootfile = "vmunix"
next_server = "192.0.2.1"
"""

# Runs in the client namespace: send one BOOTREQUEST from UDP port 68 to 255.255.255.255:67, then
# report every IPv4/UDP datagram to port 68 seen on cli0 (AF_PACKET sees the link-layer unicast reply
# the kernel would not deliver to a socket: the client has no address yet, RFC 2131 §4.1).
BOOTP_CLIENT = r"""
import json, socket, struct, sys, time
payload = bytes.fromhex(sys.argv[1])
cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
cap.bind(("cli0", 0x0800))
cap.settimeout(0.5)
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
tx.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"cli0")
tx.bind(("0.0.0.0", 68))
tx.sendto(payload, ("255.255.255.255", 67))
deadline = time.monotonic() + 8
while time.monotonic() < deadline:
    try:
        pkt = cap.recv(2048)
    except socket.timeout:
        continue
    ihl = (pkt[0] & 15) * 4
    if pkt[9] != 17:
        continue
    sport, dport = struct.unpack_from("!HH", pkt, ihl)
    if (sport, dport) == (67, 68):
        print(json.dumps({"dst": socket.inet_ntoa(pkt[16:20]), "payload": pkt[ihl + 8:].hex()}))
        break
"""


def rfc951_request(mac: bytes, xid: int, flags: int) -> bytes:
    """RFC 951 §3 BOOTREQUEST: 236 header octets, then a 64-octet vendor area with no magic cookie."""
    return struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, flags, bytes(4), bytes(4), bytes(4),
                       bytes(4), mac.ljust(16, b"\0"), bytes(64), bytes(128)) + bytes(64)


@pytest.mark.parametrize("flags", [0, 0x8000], ids=["link-layer-unicast", "broadcast-flag"])
def test_rfc951_bootrequest_without_cookie(link: NetnsPair, tmp_path: Path, flags: int) -> None:
    # the sender needs an address to send from; BOOTP itself works on chaddr
    subprocess.run([*link.exec_prefix(False), "ip", "addr", "add", "192.0.2.2/24", "dev", "cli0"], check=True,
                   timeout=10)
    config = tmp_path / "bootp.toml"
    config.write_text(BOOTP_CONFIG)
    server = start_server(link, tmp_path, config)
    script = tmp_path / "bootp_client.py"
    script.write_text(BOOTP_CLIENT)
    mac = bytes.fromhex(HOST_MAC.replace(":", ""))
    request = rfc951_request(mac, 0x0BEEF001, flags)
    assert len(request) == 300 and request[236:240] != b"\x63\x82\x53\x63"
    result = link.run_client([sys.executable, str(script), request.hex()], timeout=30, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), f"no BOOTREPLY seen\n{server.text()}"
    seen = json.loads(result.stdout)
    reply = bytes.fromhex(seen["payload"])
    assert len(reply) == 300  # RFC 951 §3, RFC 1542 §2.1
    op, _htype, hlen, _hops, xid, _secs, rflags, ciaddr, yiaddr, siaddr, giaddr = struct.unpack_from(
        "!BBBBIHH4s4s4s4s", reply)
    assert (op, hlen, xid, rflags) == (2, 6, 0x0BEEF001, flags)
    assert reply[28:34] == mac
    assert (ciaddr, yiaddr, siaddr, giaddr) == (bytes(4), bytes([192, 0, 2, 150]), bytes([192, 0, 2, 1]), bytes(4))
    assert reply[108:236].rstrip(b"\0") == b"vmunix"
    assert reply[236:] == bytes(64)  # no cookie, no options: the client did not speak RFC 1048
    assert seen["dst"] == ("255.255.255.255" if flags else "192.0.2.150")  # RFC 2131 §4.1
    assert server.rows()["192.0.2.150"] == (HOST_MAC, "bound")
    assert re.search(r"dhcp4\.ack mac=52:54:00:12:34:56 yiaddr=192\.0\.2\.150 .*rfc951=True", server.text()), \
        server.text()


# --------------------------------------------------------------------------- RENEWING and REBINDING

HOOK_CONFIGURE = """#!/bin/sh
# Record what the client was told; on BOUND put the address on the interface so that renewals
# can be unicast (RFC 2131 §4.4.5). Runs in the test's client namespace only.
env | sort > "{dir}/env.${{reason:-$1}}.$$"
if [ "$reason" = BOUND ] && [ -n "$new_ip_address" ]; then
    ip addr add "$new_ip_address/24" dev "$interface"
fi
"""


@pytest.mark.parametrize(("configure", "state"), [(True, "renewing"), (False, "rebinding")])
def test_dhclient_renews_by_unicast_and_rebinds_by_broadcast(
    link: NetnsPair, tmp_path: Path, configure: bool, state: str
) -> None:
    """RFC 2131 §4.4.5: at T1 dhclient unicasts a REQUEST (RENEWING); with no address to send it from the
    unicast fails, and at T2 it broadcasts one (REBINDING). The server's ACK event names the state."""
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("lease_time = 600", "lease_time = 20"))  # T1 10 s, T2 17.5 s
    server = start_server(link, tmp_path, config)
    hook_path = tmp_path / "hook.sh"
    hook_path.write_text((HOOK_CONFIGURE if configure else HOOK).format(dir=tmp_path))
    hook_path.chmod(0o755)
    conf = tmp_path / "dhclient.conf"
    # retransmit every 1-3 s, so a failing renewal reaches T2 (and rebinds) well before the lease expires
    conf.write_text(DHCLIENT_CONF + "initial-interval 1;\nbackoff-cutoff 2;\n")
    pidfile = tmp_path / "dhclient.pid"
    proc = link.spawn_client(["dhclient", "-4", "-d", "-v", "-cf", str(conf), "-sf", str(hook_path), "-lf",
                              str(tmp_path / "dhclient.leases"), "-pf", str(pidfile), "cli0"],
                             stdout=subprocess.DEVNULL, stderr=(tmp_path / "dhclient.log").open("wb"))
    try:
        pattern = re.compile(rf"dhcp4\.ack mac=\S+ yiaddr=192\.0\.2\.100 .*state={state}")
        deadline = time.monotonic() + 45
        while not pattern.search(server.text()):
            assert proc.poll() is None, (tmp_path / "dhclient.log").read_text()
            assert time.monotonic() < deadline, server.text() + (tmp_path / "dhclient.log").read_text()
            time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait(10)
    log = server.text()
    assert "state=selecting" in log
    if state == "rebinding":
        assert "state=renewing" not in log  # the unicast never reached us
