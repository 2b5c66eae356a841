"""Live DNS against a real BIND ``named``: RFC 2136 updates with TSIG as leases and hosts come and go.

One server namespace holds Debian's ``named`` (its own directory, ``-c``/``-g``,
no rndc, listening only on the namespace's 192.0.2.1, a TSIG key, the forward
zone ``lab.example.`` and the ``ip6.arpa`` zone with docs/dns.md's ``update-policy``, the ``in-addr.arpa``
zone with ``allow-update``) and ``bootwright serve`` with ``[ddns]`` pointing at it; the
client namespace runs busybox ``udhcpc`` sending a host name (option 12).
``dig @192.0.2.1`` is the judge:

1. the client's lease makes ``web1.lab.example.`` A (with its DHCID) and the
   PTR appear; its DHCPRELEASE (udhcpc ``-R`` on SIGUSR2) makes them go;
2. ``bootwright hosts add`` (another process, against the state directory)
   makes a host's A, AAAA and both PTRs appear; ``hosts remove`` makes them go;
3. a second ``bootwright serve`` with a key of the right name but another
   secret logs one line naming the server and the TSIG error, writes nothing
   and keeps serving DHCP.
"""

from __future__ import annotations

import base64
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from netns import BOOTWRIGHT, DHCP4_ONLY_CONFIG, NetnsPair, require_module, start_bootwright

pytestmark = pytest.mark.interop

require_module(("named", "dig", "busybox"))

SECRET = base64.b64encode(b"bootwright-ddns-interop-secret-32").decode()
WRONG = base64.b64encode(b"another-secret-of-the-same-name!").decode()
ZONE = "lab.example"
REV4 = "2.0.192.in-addr.arpa"
REV6 = "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"  # 2001:db8::/64

NAMED_CONF = """\
options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    session-keyfile "{dir}/session.key";
    listen-on port 53 {{ 192.0.2.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
    allow-query {{ any; }};
}};
controls {{ }};
key "bootwright." {{ algorithm hmac-sha256; secret "{secret}"; }};
zone "{zone}" {{ type primary; file "{dir}/fwd.db"; update-policy {{ grant bootwright. zonesub A AAAA DHCID; }}; }};
zone "{rev4}" {{ type primary; file "{dir}/rev4.db"; allow-update {{ key bootwright.; }}; }};
zone "{rev6}" {{ type primary; file "{dir}/rev6.db"; update-policy {{ grant bootwright. zonesub PTR; }}; }};
"""

ZONE_FILE = """\
$TTL 300
@ IN SOA ns.lab.example. hostmaster.lab.example. (1 3600 900 1209600 300)
@ IN NS ns.lab.example.
"""
NS_ADDRESS = "ns IN A 192.0.2.1\n"  # the forward zone's in-zone name server needs one (BIND refuses the zone)

CONFIG = DHCP4_ONLY_CONFIG + """\
[boot]
builtin = false

[ddns]
enabled = true
server = "192.0.2.1"
forward_zone = "lab.example."
reverse_zones = ["{rev4}.", "{rev6}."]
key_name = "bootwright."
key_secret_file = "ddns.key"
ttl = 60
timeout = 1
retries = 1
"""


# udhcpc's script: configure the leased address (its DHCPRELEASE is sent from it, RFC 2131 §4.4.6).
UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew) ip addr replace "$ip/$mask" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" scope global ;;
esac
"""


def _script(d: Path) -> str:
    path = d / "udhcpc.sh"
    path.write_text(UDHCPC_SCRIPT)
    path.chmod(0o755)
    return str(path)


def _wait(what: str, check: Callable[[], bool], server_log: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what} not seen in {timeout:g} s; serve log:\n{server_log.read_text(errors='replace')}"
            )
        time.sleep(0.1)


class Bind:
    """``named`` in the server namespace, asked with ``dig``."""

    def __init__(self, link: NetnsPair, d: Path) -> None:
        self.link = link
        d.mkdir()
        conf = d / "named.conf"
        conf.write_text(NAMED_CONF.format(dir=d, secret=SECRET, zone=ZONE, rev4=REV4, rev6=REV6))
        (d / "fwd.db").write_text(ZONE_FILE + NS_ADDRESS)
        for name in ("rev4.db", "rev6.db"):
            (d / name).write_text(ZONE_FILE)
        self.log = d / "named.log"
        self.proc = link.spawn_server(
            ["named", "-c", str(conf), "-g", "-n", "1"], stdout=self.log.open("wb"), stderr=subprocess.STDOUT
        )
        _wait("named listening", lambda: "running" in self.log.read_text(errors="replace"), self.log)

    def dig(self, name: str, rdtype: str) -> list[str]:
        """The answer's RDATA for ``name``/``rdtype`` (``dig +short``), sorted."""
        done = self.link.run_server(
            ["dig", "@192.0.2.1", "+short", "+norecurse", "+time=2", "+tries=1", name, rdtype], timeout=10, text=True
        )
        assert done.returncode == 0, done.stderr
        return sorted(done.stdout.split("\n")[:-1])


def _serve(link: NetnsPair, d: Path, secret: str) -> tuple[subprocess.Popen[bytes], Path]:
    d.mkdir()
    (d / "root").mkdir()
    (d / "ddns.key").write_text(f'key "bootwright." {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n')
    config = d / "bootwright.toml"
    config.write_text(CONFIG.format(rev4=REV4, rev6=REV6))
    log = d / "serve.log"
    proc = start_bootwright(link, config, d / "root", d / "state", log, timeout=10)
    assert proc.poll() is None, log.read_text()
    return proc, log


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NetnsPair, Bind, Path]]:
    d = tmp_path_factory.mktemp("ddns")
    with NetnsPair("ddns", server4="192.0.2.1/24", client4="192.0.2.2/24") as link:
        bind = Bind(link, d / "bind")
        yield link, bind, d


def test_a_lease_and_a_host_appear_in_dns_and_go(rig: tuple[NetnsPair, Bind, Path]) -> None:
    link, bind, d = rig
    proc, log = _serve(link, d / "serve", SECRET)
    try:
        _lease_and_host(link, bind, d, log)
    finally:
        proc.terminate()  # the next test serves DHCP on the same link
        proc.wait(10)


def _lease_and_host(link: NetnsPair, bind: Bind, d: Path, log: Path) -> None:
    # The client's address is not the one netns gave it: drop that first so the lease is the only one.
    link.run_client(["ip", "addr", "flush", "dev", "cli0", "scope", "global"])
    client = link.spawn_client(
        ["busybox", "udhcpc", "-i", "cli0", "-f", "-R", "-t", "5", "-T", "2", "-s", _script(d),
         "-x", "hostname:web1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait("A of web1", lambda: bool(bind.dig(f"web1.{ZONE}", "A")), log)
    (address,) = bind.dig(f"web1.{ZONE}", "A")
    assert address.startswith("192.0.2.1")  # from the pool 192.0.2.100-199
    reverse = ".".join(reversed(address.split("."))) + ".in-addr.arpa"
    assert bind.dig(reverse, "PTR") == [f"web1.{ZONE}."]
    assert len(bind.dig(f"web1.{ZONE}", "DHCID")) == 1  # RFC 4701: whose name it is

    client.send_signal(signal.SIGUSR2)  # udhcpc: release the lease (DHCPRELEASE)
    _wait("A of web1 removed", lambda: not bind.dig(f"web1.{ZONE}", "A"), log)
    assert bind.dig(reverse, "PTR") == []
    assert bind.dig(f"web1.{ZONE}", "DHCID") == []

    hosts = [str(BOOTWRIGHT), "hosts"]
    where = ["--config", str(d / "serve" / "bootwright.toml"), "--state-dir", str(d / "serve" / "state")]
    added = subprocess.run(
        [*hosts, "add", "db1", "--mac", "52:54:00:00:00:db", "--ipv4", "192.0.2.60", "--ipv6", "2001:db8::60", *where],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert added.returncode == 0, added.stderr
    _wait("AAAA of db1", lambda: bind.dig(f"db1.{ZONE}", "AAAA") == ["2001:db8::60"], log)
    assert bind.dig(f"db1.{ZONE}", "A") == ["192.0.2.60"]
    assert bind.dig("60.2.0.192.in-addr.arpa", "PTR") == [f"db1.{ZONE}."]
    _wait("PTR of 2001:db8::60", lambda: bind.dig(f"0.6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.{REV6}", "PTR") != [], log)
    assert bind.dig(f"db1.{ZONE}", "DHCID") == []  # the inventory's names are not a client's

    removed = subprocess.run([*hosts, "remove", "db1", *where], capture_output=True, text=True, timeout=30)
    assert removed.returncode == 0, removed.stderr
    _wait("db1 removed", lambda: not bind.dig(f"db1.{ZONE}", "A") and not bind.dig(f"db1.{ZONE}", "AAAA"), log)
    assert bind.dig("60.2.0.192.in-addr.arpa", "PTR") == []
    assert "Traceback" not in log.read_text()


def test_a_wrong_key_is_one_clear_line_and_dhcp_serves_on(rig: tuple[NetnsPair, Bind, Path]) -> None:
    link, bind, d = rig
    proc, log = _serve(link, d / "wrong", WRONG)
    link.run_client(["ip", "addr", "flush", "dev", "cli0", "scope", "global"])
    done = link.run_client(["busybox", "udhcpc", "-i", "cli0", "-n", "-q", "-f", "-t", "5", "-T", "2",
                            "-s", "/bin/true", "-x", "hostname:web2"], timeout=30)  # fmt: skip
    assert done.returncode == 0  # the lease came, whatever DNS said
    _wait("the refusal", lambda: "refused the update" in log.read_text(errors="replace"), log)
    lines = [line for line in log.read_text().splitlines() if "refused the update" in line]
    assert len(lines) == 1, lines
    assert "192.0.2.1:53" in lines[0] and "BADSIG" in lines[0], lines[0]
    assert bind.dig(f"web2.{ZONE}", "A") == []
    assert proc.poll() is None and "Traceback" not in log.read_text()
