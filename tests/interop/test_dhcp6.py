"""Real DHCPv6 clients and a real relay against ``bootwright serve``, in network namespaces.

Every test builds its own namespaces (``bwt-d6…-<pid>-…``, veth pairs, addresses
from 2001:db8::/32 only) through the shared :class:`netns.NetnsPair` and removes
them afterwards, also on failure. Only the DHCPv6 service runs. Peers:

- ISC dhclient -6 (Debian isc-dhcp-client), stateful (IA_NA) and ``-S`` stateless
  (Information-request); a hook script records what it was told, nothing is configured.
- perfdhcp -6 (Debian kea-admin): many clients, no duplicate addresses; Rapid Commit.
- ISC dhcrelay -6 (Debian isc-dhcp-relay) in a third namespace between client and server,
  with an Interface-Id; the server picks the subnet from the relay's link-address.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from netns import BOOTWRIGHT, NetnsPair, missing_requirements, require_module, start_bootwright, wait_link_local

pytestmark = pytest.mark.interop


require_module(("dhclient", "perfdhcp", "dhcrelay"))

BOOT_URL = "http://[2001:db8:1::1]/boot.ipxe"
CONFIG = """
[server]
interfaces = ["srv0"]
address6 = "2001:db8:1::1"

[dhcp4]
enabled = false
[tftp]
enabled = {web}
port = 69
[http]
enabled = {web}
port = 8080

[dhcp6]
preference = 255              # clients take the first Advertise at once (RFC 8415 §18.2.1)

[[subnet6]]
prefix = "2001:db8:1::/64"
interface = "srv0"
{pools}
dns = ["2001:db8:1::53"]
domain_search = ["example.test"]
info_refresh_time = 3600

[[subnet6]]
prefix = "2001:db8:2::/64"    # behind the relay: chosen by link-address
pools = ["2001:db8:2::100-2001:db8:2::1ff"]
dns = ["2001:db8:2::53"]

[boot]
builtin = false

[[rule]]
name = "all"
bootfile = "{boot_url}"
{hosts}
"""
STATELESS_URL = "http://[2001:db8:1::1]:8080/hello.txt"  # the {http} placeholder, bracketed (RFC 3986)

HOOK = """#!/bin/sh
env | grep -E '^(reason|new_|old_|interface)' | sort > "{out}.$reason"
exit 0
"""

DHCLIENT_CONF = """
option dhcp6.bootfile-url code 59 = string;
also request dhcp6.bootfile-url, dhcp6.domain-search, dhcp6.name-servers;
"""


def mac_of(ns: str, ifname: str) -> str:
    """The MAC of an interface inside a namespace."""
    out = subprocess.run(["ip", "-n", ns, "link", "show", ifname], capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"link/ether ([0-9a-f:]{17})", out)
    assert m, out
    return m.group(1)


@dataclass
class Served:
    """A running ``bootwright serve`` and where its files are."""

    link: NetnsPair
    work: Path
    proc: subprocess.Popen[bytes]
    state: Path = field(init=False)

    def __post_init__(self) -> None:
        self.state = self.work / "state"

    def log(self, since: int = 0) -> str:
        """The server's log so far (from character ``since``)."""
        return (self.work / "serve.log").read_text(errors="replace")[since:]

    def mark(self) -> int:
        """Where the log ends now, for :meth:`log` (servers are shared by several tests)."""
        return len(self.log())

    def leases(self) -> list[tuple[str, str, str | None]]:
        """(address, state, mac) of every IPv6 lease row in the store."""
        with sqlite3.connect(self.state / "state.db", timeout=10) as db:
            rows = db.execute("SELECT address, state, mac FROM leases WHERE family = 6").fetchall()
        return [(a, s, m) for a, s, m in rows]

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


DEBUG = ("--log-level", "debug")
POOL = 'pools = ["2001:db8:1::100-2001:db8:1::1ff"]'


def serve(link: NetnsPair, work: Path, pools: str = POOL, hosts: str = "", web: bool = False,
          boot_url: str = BOOT_URL) -> Served:  # fmt: skip
    """Write the config and start the server in the server namespace; wait until DHCPv6 is ready."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "root").mkdir(exist_ok=True)
    (work / "root" / "hello.txt").write_text("hello over IPv6\n")
    cfg = work / "bootwright.toml"
    cfg.write_text(CONFIG.format(pools=pools, hosts=hosts, boot_url=boot_url, web=str(web).lower()))
    ready = [f"{n} ready" for n in (("dhcp6", "http", "tftp") if web else ("dhcp6",))]
    proc = start_bootwright(link, cfg, work / "root", work / "state", work / "serve.log", ready=ready, flags=DEBUG)
    return Served(link, work, proc)


def dhclient(link: NetnsPair, work: Path, *flags: str, ns: str | None = None, ifname: str = "cli0",
             tag: str = "c", conf_extra: str = "") -> dict[str, str]:  # fmt: skip
    """Run ``dhclient -6 -1`` once (bounded) and return the variables its hook got for the bound state."""
    hook = work / f"hook-{tag}.sh"
    out = work / f"env-{tag}"
    hook.write_text(HOOK.format(out=out))
    hook.chmod(0o755)
    conf = work / "dhclient.conf"
    conf.write_text(DHCLIENT_CONF + conf_extra)
    cmd = ["dhclient", "-6", "-1", "-v", "-cf", str(conf), "-sf", str(hook), "-lf", str(work / f"lease-{tag}"),
           "-pf", str(work / f"pid-{tag}"), *flags, ifname]  # fmt: skip
    prefix = ["ip", "netns", "exec", ns] if ns else link.exec_prefix(False)
    res = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=40, stdin=subprocess.DEVNULL)
    pidfile = work / f"pid-{tag}"
    if pidfile.exists():  # with a lease, dhclient goes on in the background: stop it (by its pid)
        words: list[str] = []
        for _ in range(50):  # the daemonised child may not have written its pid yet (bounded: ~1 s)
            words = pidfile.read_text().split()
            if words:
                break
            time.sleep(0.02)
        with contextlib.suppress(ValueError, ProcessLookupError, IndexError):
            os.kill(int(words[0]), signal.SIGKILL)
    for reason in ("BOUND6", "REBOOT6", "RENEW6"):
        env_file = Path(f"{out}.{reason}")
        if env_file.exists():
            return dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    raise AssertionError(f"dhclient got no lease (exit {res.returncode}):\n{res.stderr[-3000:]}")


def release(link: NetnsPair, work: Path, tag: str = "c", ifname: str = "cli0") -> None:
    """``dhclient -6 -r``: send a Release for the lease in the tag's lease file."""
    cmd = ["dhclient", "-6", "-r", "-cf", str(work / "dhclient.conf"), "-sf", str(work / f"hook-{tag}.sh"),
           "-lf", str(work / f"lease-{tag}"), "-pf", str(work / f"pid-{tag}"), ifname]  # fmt: skip
    link.run_client(cmd, timeout=30)


def _pair(tag: str) -> NetnsPair:
    """Server and client namespaces: srv0 2001:db8:1::1/64 and cli0."""
    return NetnsPair(tag, server6="2001:db8:1::1/64", client6="2001:db8:1::ffff/64",
                     server4="192.0.2.1/24", client4="192.0.2.2/24")  # fmt: skip


@pytest.fixture
def link() -> Iterator[NetnsPair]:
    """A fresh namespace pair for one test."""
    with _pair("d6") as pair:
        wait_link_local(pair, True, "srv0")
        wait_link_local(pair, False, "cli0")
        yield pair


@pytest.fixture(scope="module")
def stateful(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One stateful server (pool 2001:db8:1::100-1ff) shared by the tests that only add clients."""
    with _pair("d6a") as pair:
        wait_link_local(pair, True, "srv0")
        wait_link_local(pair, False, "cli0")
        served = serve(pair, tmp_path_factory.mktemp("d6a"), pools='pools = ["2001:db8:1::1:0-2001:db8:1::ffff:ffff"]')
        yield served
        served.stop()


@pytest.fixture(scope="module")
def stateless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One stateless server (seed 000: no pool) with HTTP and TFTP, its boot URL from ``{http}``."""
    with _pair("d6b") as pair:
        wait_link_local(pair, True, "srv0")
        wait_link_local(pair, False, "cli0")
        served = serve(pair, tmp_path_factory.mktemp("d6b"), pools="", web=True, boot_url="{http}/hello.txt")
        yield served
        served.stop()


def test_dhclient_stateful_pool_options_and_release(stateful: Served, tmp_path: Path) -> None:
    link = stateful.link
    env = dhclient(link, tmp_path)
    addr = env["new_ip6_address"]
    assert addr.startswith("2001:db8:1::") and addr.endswith(tuple("0123456789abcdef")), env
    assert env["new_dhcp6_name_servers"] == "2001:db8:1::53"
    assert env["new_dhcp6_domain_search"].strip('"') in ("example.test.", "example.test")
    assert env["new_dhcp6_bootfile_url"].strip('"') == BOOT_URL
    assert env["new_dhcp6_server_id"]
    # Durable before the Reply left: the lease row is there now.
    assert (addr, "bound", mac_of(link.client_ns, "cli0")) in stateful.leases()
    mark = stateful.mark()
    release(link, tmp_path)
    deadline = time.monotonic() + 10
    while (addr, "released") not in [(a, s) for a, s, _ in stateful.leases()]:
        assert time.monotonic() < deadline, stateful.leases()
        time.sleep(0.2)
    assert re.search(r"dhcp6\.reply .*msg=release", stateful.log(mark))


def test_dhclient_rapid_commit(stateful: Served, tmp_path: Path) -> None:
    mark = stateful.mark()
    env = dhclient(stateful.link, tmp_path, conf_extra="send dhcp6.rapid-commit;\n", tag="rc")
    assert env["new_ip6_address"].startswith("2001:db8:1::")
    # RFC 8415 §18.3.1: Solicit answered by a committed Reply, no Advertise/Request.
    log = stateful.log(mark)
    assert re.search(r"dhcp6\.reply .*msg=solicit", log), log[-3000:]
    assert "dhcp6.advertise" not in log


def test_dhclient_fqdn_is_the_leases_host_name(stateful: Served, tmp_path: Path) -> None:
    # RFC 4704 option 39, as ISC dhclient sends it: `bootwright leases` shows the name, as option 12 in DHCPv4.
    env = dhclient(stateful.link, tmp_path, conf_extra='send fqdn.fqdn "client6.example.org.";\n', tag="fq")
    addr = env["new_ip6_address"]
    with sqlite3.connect(stateful.state / "state.db", timeout=10) as db:
        row = db.execute("SELECT hostname FROM leases WHERE family = 6 AND address = ?", (addr,)).fetchone()
    assert row == ("client6.example.org",)
    res = subprocess.run([str(BOOTWRIGHT), "leases", "--family", "6", "--json", "--state-dir", str(stateful.state)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    shown = [x for x in json.loads(res.stdout) if x["address"] == addr]
    assert len(shown) == 1 and "client6.example.org" in json.dumps(shown[0]), shown


def test_perfdhcp_stateful(stateful: Served) -> None:
    # perfdhcp 2.2 cannot take a Rapid Commit Reply ("-i -c" fails with "Packets exchange not
    # specified" as soon as a server honours it), so Rapid Commit is covered by dhclient above.
    before = len(stateful.leases())
    out = _perfdhcp(stateful.link, "-r", "100", "-R", "300", "-p", "3", "-u")
    assert "non unique addresses: 0" in out
    assert re.search(r"SOLICIT-ADVERTISE\*\*\*\nsent packets: (\d+)\nreceived packets: \1", out), out
    assert len(stateful.leases()) >= before + 250


def test_dhclient_reservation_by_mac_from_duid(link: NetnsPair, tmp_path: Path) -> None:
    mac = mac_of(link.client_ns, "cli0")
    hosts = f'[[host]]\nname = "fixed6"\nmac = "{mac}"\nipv6 = "2001:db8:1::42"\n'
    serve(link, tmp_path / "srv", hosts=hosts)
    # DUID-LLT carries the MAC (RFC 8415 §11.2): the MAC-keyed host record applies.
    env = dhclient(link, tmp_path, "-D", "LLT")
    assert env["new_ip6_address"] == "2001:db8:1::42"


def test_dhclient_stateless_information_request(stateless: Served, tmp_path: Path) -> None:
    mark = stateless.mark()
    env = dhclient(stateless.link, tmp_path, "-S")
    assert "new_ip6_address" not in env
    assert env["new_dhcp6_name_servers"] == "2001:db8:1::53"
    assert env["new_dhcp6_bootfile_url"].strip('"') == STATELESS_URL
    assert "msg=information-request" in stateless.log(mark)
    assert stateless.leases() == []


def test_boot_url_over_ipv6_is_fetchable_by_http_and_tftp(stateless: Served) -> None:
    """The bracketed URL (RFC 3986 §3.2.2) stateless DHCPv6 hands out works, and so does TFTP over IPv6."""
    if missing_requirements(("curl",)):
        pytest.skip("curl is not installed")
    link = stateless.link
    got = link.run_client(["curl", "-g", "-sS", "--max-time", "10", STATELESS_URL], timeout=20, text=True)
    assert got.stdout == "hello over IPv6\n", got.stderr
    got = link.run_client(["curl", "-g", "-sS", "--max-time", "10", "tftp://[2001:db8:1::1]/hello.txt"],
                          timeout=20, text=True)  # fmt: skip
    assert got.stdout == "hello over IPv6\n", got.stderr


def _perfdhcp(link: NetnsPair, *args: str, ns: str | None = None, ifname: str = "cli0") -> str:
    cmd = ["perfdhcp", "-6", "-l", ifname, *args, "-W", "1000000", "all"]
    prefix = ["ip", "netns", "exec", ns] if ns else link.exec_prefix(False)
    res = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return res.stdout


def test_perfdhcp_stateless_link(stateless: Served) -> None:
    # No addresses to give: every Solicit still gets an Advertise (IA_NA with NoAddrsAvail,
    # RFC 8415 §18.3.9) carrying the configuration options, so perfdhcp -i sees no drops.
    out = _perfdhcp(stateless.link, "-i", "-r", "50", "-R", "50", "-p", "2")
    assert "drops ratio: 0 %" in out


@pytest.fixture
def relayed(link: NetnsPair) -> Iterator[tuple[NetnsPair, str]]:
    """A third namespace for the client behind ISC dhcrelay -6 running in the "client" namespace.

    server srv0 2001:db8:1::1 -- cli0 2001:db8:1::ffff [relay ns] rl0 2001:db8:2::1 -- c0 [client ns]
    """
    ns = link.client_ns.removesuffix("-c") + "-r"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True, timeout=10)
        subprocess.run(["ip", "-n", link.client_ns, "link", "add", "rl0", "type", "veth", "peer", "name", "c0",
                        "netns", ns], check=True, timeout=10)  # fmt: skip
        subprocess.run(["ip", "-n", link.client_ns, "addr", "add", "2001:db8:2::1/64", "dev", "rl0", "nodad"],
                       check=True, timeout=10)  # fmt: skip
        subprocess.run(["ip", "-n", link.client_ns, "link", "set", "rl0", "up"], check=True, timeout=10)
        subprocess.run(["ip", "-n", ns, "link", "set", "c0", "up"], check=True, timeout=10)
        subprocess.run(["ip", "-n", link.server_ns, "-6", "route", "add", "2001:db8:2::/64", "via",
                        "2001:db8:1::ffff"], check=True, timeout=10)  # fmt: skip
        wait_link_local(link, False, "rl0")
        wait_link_local(link, False, "c0", ns=ns)
        yield link, ns
    finally:
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=10).stdout.split()
        for pid in pids:
            subprocess.run(["kill", "-9", pid], check=False, timeout=10)
        subprocess.run(["ip", "netns", "del", ns], check=False, timeout=10)


def test_relayed_dhclient_and_perfdhcp_through_dhcrelay(relayed: tuple[NetnsPair, str], tmp_path: Path) -> None:
    link, client_ns = relayed
    served = serve(link, tmp_path / "srv")
    relay = link.spawn_client(
        ["dhcrelay", "-6", "-d", "-I", "--no-pid", "-l", "rl0", "-u", "2001:db8:1::1%cli0"],
        stdout=(tmp_path / "relay.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(1.0)  # dhcrelay binds its sockets
    assert relay.poll() is None, (tmp_path / "relay.log").read_text()
    env = dhclient(link, tmp_path, ns=client_ns, ifname="c0", tag="r")
    assert re.fullmatch(r"2001:db8:2::1[0-9a-f]{2}", env["new_ip6_address"]), env  # subnet from link-address
    assert env["new_dhcp6_name_servers"] == "2001:db8:2::53"
    assert env["new_dhcp6_bootfile_url"].strip('"') == BOOT_URL
    stateless = dhclient(link, tmp_path, "-S", ns=client_ns, ifname="c0", tag="rs")
    assert stateless["new_dhcp6_name_servers"] == "2001:db8:2::53"
    out = _perfdhcp(link, "-r", "50", "-R", "100", "-p", "2", ns=client_ns, ifname="c0")
    assert "non unique addresses: 0" in out
    assert "relay=2001:db8:1::ffff" in served.log()
    assert any(a.startswith("2001:db8:2::") for a, _, _ in served.leases())

