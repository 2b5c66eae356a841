"""Router advertisements from ``bootwright serve`` seen by real hosts, in network namespaces.

- ``rdisc6`` (Debian ndisc6) solicits and prints the RA: flags, prefix, RDNSS, DNSSL, MTU.
- A raw ICMPv6 listener in the client namespace checks what every RA host stack checks
  (RFC 4861 §6.1.2: IP hop limit 255, link-local source), the final RA with router
  lifetime 0 on shutdown (§6.2.5), and that a bounded flood of Router Solicitations is
  answered by at most one multicast RA per MIN_DELAY_BETWEEN_RAS (§6.2.6).

Namespaces and veths come from :class:`netns.NetnsPair` (``bwt-ra-<pid>-…``), removed
afterwards; RAs are only ever sent on the namespace's ``srv0``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import NetnsPair, require_module, start_bootwright, wait_link_local

pytestmark = pytest.mark.interop


require_module(("rdisc6",))

CONFIG = """
[server]
interfaces = ["srv0"]
address6 = "2001:db8:1::1"

[dhcp4]
enabled = false
[dhcp6]
enabled = false
[tftp]
enabled = false
[http]
enabled = false

[[subnet6]]
prefix = "2001:db8:1::/64"
interface = "srv0"
dns = ["2001:db8:1::53"]
domain_search = ["example.test", "lab.example"]

[subnet6.ra]
managed = true
other = true
autonomous = false
min_interval = 3
max_interval = 4
router_lifetime = 1800
mtu = 1400
prefix_valid_lifetime = 7200
prefix_preferred_lifetime = 3600
"""

# Runs inside the client namespace: records every RA for a while (optionally after a bounded
# RS flood, its RSs optionally carrying cli0's MAC) as JSON lines: arrival time, source,
# destination, IP hop limit, router lifetime.
LISTENER = r"""
import json, socket, struct, sys, time
duration, flood, slla = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
mac = bytes.fromhex(open("/sys/class/net/cli0/address").read().strip().replace(":", ""))
rs = bytes([133, 0, 0, 0, 0, 0, 0, 0]) + (bytes([1, 1]) + mac if slla else b"")  # RFC 4861 §4.1, §4.6.1
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.SOL_SOCKET, 25, b"cli0")
s.setsockopt(socket.IPPROTO_IPV6, 51, 1)  # IPV6_RECVHOPLIMIT
s.setsockopt(socket.IPPROTO_IPV6, 49, 1)  # IPV6_RECVPKTINFO: the destination (multicast or ours)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
idx = socket.if_nametoindex("cli0")
print(json.dumps({"ready": time.time()}), flush=True)
for _ in range(flood):  # Router Solicitations
    s.sendto(rs, ("ff02::2", 0, 0, idx))
end = time.time() + duration
while time.time() < end:
    s.settimeout(max(0.01, end - time.time()))
    try:
        data, anc, _, addr = s.recvmsg(4096, 256)
    except socket.timeout:
        break
    if data[0] != 134:
        continue
    hop = next((struct.unpack("=i", v[:4])[0] for l, t, v in anc if t == 52), None)
    dst = next((socket.inet_ntop(socket.AF_INET6, v[:16]) for l, t, v in anc if t == 50), None)
    print(json.dumps({"at": time.time(), "src": addr[0], "dst": dst, "hop": hop,
                      "lifetime": struct.unpack("!H", data[6:8])[0]}), flush=True)
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[NetnsPair, subprocess.Popen[bytes], Path]]:
    """bootwright advertising on srv0 of a fresh namespace pair."""
    with NetnsPair("ra", server6="2001:db8:1::1/64", client6="2001:db8:1::2/64") as link:
        # The client's kernel would solicit a router itself once cli0's link-local address is
        # usable; its RS would take the one unicast answer a source gets per 3 s before the
        # tests' own RSs. Only the tests solicit (set before DAD ends, well within its 1 s).
        link.run_client(["sysctl", "-q", "-w", "net.ipv6.conf.cli0.router_solicitations=0"], timeout=5)
        (tmp_path / "root").mkdir()
        cfg = tmp_path / "ra.toml"
        cfg.write_text(CONFIG)
        log = tmp_path / "serve.log"
        proc = start_bootwright(link, cfg, tmp_path / "root", tmp_path / "state", log,
                                ready=("RA: advertising on srv0",), flags=("--log-level", "debug"), timeout=20)
        # The client's RSs must come from its link-local address: while that is still tentative
        # (DAD), they leave from :: and get the multicast answer, never a unicast one.
        wait_link_local(link, False, "cli0", timeout=20)
        yield link, proc, log


def _listen(link: NetnsPair, seconds: float, flood: int = 0, slla: bool = False) -> subprocess.Popen[str]:
    return link.spawn_client([sys.executable, "-c", LISTENER, str(seconds), str(flood), "1" if slla else "0"],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip


def _records(proc: subprocess.Popen[str]) -> list[dict[str, float | int | str]]:
    out, _ = proc.communicate(timeout=30)
    return [r for r in map(json.loads, out.splitlines()) if "lifetime" in r]


def test_rdisc6_sees_the_configured_ra(served: tuple[NetnsPair, subprocess.Popen[bytes], Path]) -> None:
    link, _, _ = served
    res = link.run_client(["rdisc6", "-1", "-w", "4000", "-r", "2", "cli0"], timeout=20, text=True)
    out = res.stdout
    assert res.returncode == 0, out + res.stderr
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if v}
    assert fields["Stateful address conf."] == "Yes"  # M
    assert fields["Stateful other conf."] == "Yes"  # O
    assert fields["Router lifetime"].startswith("1800 ")
    assert fields["Prefix"] == "2001:db8:1::/64"
    assert fields["On-link"] == "Yes"
    assert fields["Autonomous address conf."] == "No"
    assert fields["Valid time"].startswith("7200 ")
    assert fields["Pref. time"].startswith("3600 ")
    assert fields["MTU"].startswith("1400 ")
    assert fields["Recursive DNS server"] == "2001:db8:1::53"
    assert re.search(r"DNS search list\s*: example\.test", out)
    assert "lab.example" in out
    assert re.search(r"from fe80::", out)  # RFC 4861 §6.1.2: link-local source


def test_hop_limit_link_local_source_and_final_ra(served: tuple[NetnsPair, subprocess.Popen[bytes], Path]) -> None:
    link, proc, log = served
    listener = _listen(link, 6.0)
    time.sleep(4.5)  # MaxRtrAdvInterval is 4 s: at least one unsolicited RA
    proc.terminate()
    proc.wait(10)
    got = _records(listener)
    assert got, "no RA received"
    assert all(r["hop"] == 255 for r in got), got
    assert all(str(r["src"]).startswith("fe80::") for r in got), got
    assert got[0]["lifetime"] == 1800
    assert got[-1]["lifetime"] == 0, got  # RFC 4861 §6.2.5: the final RA
    assert "ra.final" in log.read_text()


def test_rs_flood_is_rate_limited(served: tuple[NetnsPair, subprocess.Popen[bytes], Path]) -> None:
    link, _, _ = served
    time.sleep(0.5)
    listener = _listen(link, 3.5, flood=300)  # bounded: 300 solicitations, at once
    got = _records(listener)
    # One source: one unicast RA answers the first RS (RFC 7772 §5.1.1), the other 299 are
    # absorbed (one unicast RA per source per 3 s).
    unicast = [r for r in got if r["dst"] != "ff02::1"]
    assert len(unicast) == 1, got
    assert str(unicast[0]["dst"]).startswith("fe80::"), got  # to the soliciting link-local address
    # Multicast RAs stay MIN_DELAY_BETWEEN_RAS (3 s) apart however many RSs came, and every
    # multicast RA restarts the 3-4 s unsolicited timer: at most two in 3.5 s.
    multicast = [r for r in got if r["dst"] == "ff02::1"]
    assert len(multicast) <= 2, got
    if len(multicast) == 2:
        assert float(multicast[1]["at"]) - float(multicast[0]["at"]) >= 2.9, got


def test_a_solicitation_is_answered_by_unicast_within_max_ra_delay_time(
    served: tuple[NetnsPair, subprocess.Popen[bytes], Path],
) -> None:
    link, _, log = served
    time.sleep(0.5)
    listener = _listen(link, 1.5, flood=1)
    lines = listener.communicate(timeout=30)[0].splitlines()
    ready = json.loads(lines[0])["ready"]
    unicast = [r for r in map(json.loads, lines[1:]) if r.get("dst") not in (None, "ff02::1")]
    assert unicast, (lines, log.read_text()[-2000:])
    # RFC 4861 §6.2.6: a random delay of at most MAX_RA_DELAY_TIME (0.5 s), not the 3 s between
    # multicast RAs (generous bound: the namespaces share a busy machine).
    assert float(unicast[0]["at"]) - ready < 1.0, lines


def test_a_solicited_ra_is_an_event_of_the_soliciting_mac(
    served: tuple[NetnsPair, subprocess.Popen[bytes], Path],
) -> None:
    link, _, log = served
    mac = link.run_client(["cat", "/sys/class/net/cli0/address"], timeout=5, text=True).stdout.strip()
    time.sleep(0.5)
    got = _records(_listen(link, 4.0, flood=3, slla=True))
    assert got, "no RA received"
    deadline = time.monotonic() + 5
    while f"ra.solicited mac={mac} " not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)
    lines = [line for line in log.read_text().splitlines() if "ra.solicited" in line]
    assert len(lines) == 1, lines  # three RSs from one host before one RA: one event
    assert "interface=srv0" in lines[0] and "source=fe80::" in lines[0] and "flags=MO" in lines[0]
