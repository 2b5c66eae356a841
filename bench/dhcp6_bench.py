"""DHCPv6 benchmark: perfdhcp -6 against bootwright, kea-dhcp6 (memfile) and dnsmasq.

Not a test: it measures, it asserts nothing. Every server runs in its own pair of
namespaces (server interface ``bw-srv`` with 2001:db8:1::1/64, the shared
``bench/bench.toml`` contract; perfdhcp on ``bw-cli`` over a veth pair), all at
once, idle until measured. The rate ladder is climbed with every server in turn at
each rate, so all of them see the same machine load; a server leaves the climb
when a run (and its one repeat) drops more than 0.1 % of its exchanges or
perfdhcp could not send at the rate; then two bisection steps between its last
clean and first failing rate. The result is the highest sustained rate of 4-way
exchanges (Solicit/Advertise/Request/Reply) with at most 0.1 % drops, one line
per server, and the ratio to Kea.

    flock /tmp/bootwright-bench.lock .venv/bin/python bench/dhcp6_bench.py \\
        [--period 10] [--servers bootwright,kea,dnsmasq]

Every load loop is bounded (a fixed ladder, fixed periods); every process and
namespace is removed on exit, also on failure (``tests/interop/netns.py``).
Needs root, perfdhcp and kea-dhcp6 (Debian kea-dhcp6-server, kea-admin), dnsmasq-base.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "interop"))

from netns import NetnsPair, missing_requirements  # noqa: E402

SERVER_IF, CLIENT_IF = "bw-srv", "bw-cli"
PREFIX = "2001:db8:1::/64"
POOL = ("2001:db8:1::1:0", "2001:db8:1::ffff:ffff")  # bench/bench.toml subnet6 pool
LADDER = (100, 200, 300, 500, 750, 1000, 1250, 1500, 1750, 2000, 2500, 3000, 4000)
MAX_DROPS = 0.1  # percent
MIN_ACHIEVED = 0.97  # of the requested rate


@dataclass
class Run:
    """One perfdhcp run."""

    rate: int
    achieved: float
    drops_sa: float
    drops_rr: float
    sent: int
    ok: bool
    delay_ms: float
    cpu_us: float = 0.0  # server user+system CPU per completed exchange


def parse_perfdhcp(rate: int, period: float, out: str) -> Run:
    """Read the two drop ratios, packet counts and the Request-Reply delay from perfdhcp's report.

    ``achieved`` is completed exchanges (Replies received) per second of the sending period;
    perfdhcp's own "Rate" also divides by the exit wait (``-W``).
    """
    drops = [float(x) for x in re.findall(r"drops ratio: ([\d.]+) %", out)]
    sent = [int(x) for x in re.findall(r"sent packets: (\d+)", out)]
    received = [int(x) for x in re.findall(r"received packets: (\d+)", out)]
    delays = [float(x) for x in re.findall(r"avg delay: ([\d.]+) ms", out)]
    sa, rr = [*drops, 100.0, 100.0][:2]
    achieved = received[1] / period if len(received) >= 2 else 0.0
    sent_ok = bool(sent) and sent[0] >= MIN_ACHIEVED * rate * period  # perfdhcp itself kept up
    ok = len(drops) >= 2 and max(sa, rr) <= MAX_DROPS and sent_ok
    return Run(rate, achieved, sa, rr, sent[0] if sent else 0, ok, delays[-1] if delays else 0.0)


# ---------------------------------------------------------------- servers


def wait_link_local(link: NetnsPair, server: bool, ifname: str, timeout: float = 10) -> None:
    """Wait until DAD finished on the interface's link-local address."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = link.run_server if server else link.run_client
        out = run(["ip", "-6", "addr", "show", "dev", ifname, "scope", "link"], text=True).stdout
        if "inet6" in out and "tentative" not in out:
            return
        time.sleep(0.1)
    raise RuntimeError(f"no usable link-local address on {ifname}")


def start_bootwright(link: NetnsPair, work: Path) -> subprocess.Popen[Any]:
    """bootwright serve --config bench/bench.toml, logging at warning level."""
    (work / "root").mkdir()
    log = (work / "bootwright.log").open("w")
    cmd = [
        str(REPO / ".venv" / "bin" / "bootwright"), "serve", "--config", str(REPO / "bench" / "bench.toml"),
        "--root", str(work / "root"), "--state-dir", str(work / "state"), "--log-level", "warning",
    ]  # fmt: skip
    return link.spawn_server(cmd, stdout=log, stderr=subprocess.STDOUT)


def start_kea(link: NetnsPair, work: Path) -> subprocess.Popen[Any]:
    """kea-dhcp6 with memfile (persist, lfc-interval 0), same prefix and pool, WARN logging."""
    conf = {
        "Dhcp6": {
            "interfaces-config": {"interfaces": [SERVER_IF]},
            "data-directory": str(work),
            "lease-database": {
                "type": "memfile", "persist": True, "lfc-interval": 0, "name": str(work / "kea-leases6.csv"),
            },
            "renew-timer": 1000, "rebind-timer": 2000, "preferred-lifetime": 3000, "valid-lifetime": 4000,
            "subnet6": [{
                "subnet": PREFIX, "interface": SERVER_IF,
                "pools": [{"pool": f"{POOL[0]}-{POOL[1]}"}],
                "option-data": [{"name": "dns-servers", "data": "2001:db8:1::1"}],
            }],
            "loggers": [{
                "name": "kea-dhcp6", "severity": "WARN",
                "output_options": [{"output": str(work / "kea.log")}],
            }],
        }
    }  # fmt: skip
    (work / "kea.json").write_text(json.dumps(conf, indent=1))
    env = {**os.environ, "KEA_PIDFILE_DIR": str(work), "KEA_LOCKFILE_DIR": str(work)}
    log = (work / "kea.out").open("w")
    return link.spawn_server(["kea-dhcp6", "-c", str(work / "kea.json")], stdout=log, stderr=subprocess.STDOUT, env=env)


def start_dnsmasq(link: NetnsPair, work: Path) -> subprocess.Popen[Any]:
    """dnsmasq as a DHCPv6-only server on the same prefix and pool (DNS off, quiet logging)."""
    cmd = [
        "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--user=root",
        f"--interface={SERVER_IF}", "--bind-interfaces", "--no-resolv", "--no-hosts",
        f"--dhcp-range={POOL[0]},{POOL[1]},64,4000", "--dhcp-option=option6:dns-server,[2001:db8:1::1]",
        f"--dhcp-leasefile={work / 'dnsmasq.leases'}", f"--pid-file={work / 'dnsmasq.pid'}",
        "--dhcp-authoritative", "--quiet-dhcp6",
    ]  # fmt: skip
    log = (work / "dnsmasq.out").open("w")
    return link.spawn_server(cmd, stdout=log, stderr=subprocess.STDOUT)


SERVERS: dict[str, Callable[[NetnsPair, Path], subprocess.Popen[Any]]] = {
    "bootwright": start_bootwright,
    "kea": start_kea,
    "dnsmasq": start_dnsmasq,
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/PID/stat`` fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def perfdhcp(link: NetnsPair, rate: int, period: float, clients: int, pid: int | None = None) -> Run:
    """One bounded perfdhcp -6 run at ``rate`` exchanges/s for ``period`` seconds."""
    cmd = [
        "perfdhcp", "-6", "-l", CLIENT_IF, "-r", str(rate), "-R", str(clients), "-p", str(int(period)),
        "-W", "1000000", "all",
    ]  # fmt: skip
    before = cpu_seconds(pid) if pid else 0.0
    res = link.run_client(cmd, timeout=period + 30, text=True)
    run = parse_perfdhcp(rate, period, res.stdout)
    done = run.achieved * period
    if pid and done:
        run.cpu_us = (cpu_seconds(pid) - before) / done * 1e6
    return run


def wait_answering(link: NetnsPair, proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    """Wait until one exchange completes (the server is bound and answering)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        probe = ["perfdhcp", "-6", "-l", CLIENT_IF, "-r", "10", "-n", "1", "-W", "500000", "all"]
        res = link.run_client(probe, timeout=15, text=True)
        if re.search(r"received packets: [1-9]", res.stdout):  # an Advertise came back
            return
        time.sleep(0.3)
    raise RuntimeError("server did not answer within the start-up timeout")


def _line(name: str, run: Run) -> str:
    verdict = "ok" if run.ok else "FAIL"
    return (f"  {name:10s} {run.rate:5d}/s: completed {run.achieved:8.1f}/s, drops {run.drops_sa:.3f}% / "
            f"{run.drops_rr:.3f}%, Request-Reply {run.delay_ms:.1f} ms, server CPU {run.cpu_us:.0f} µs/exchange "
            f"{verdict}")  # fmt: skip


PIDS: dict[str, int] = {}  # server name -> pid, for the CPU figures


def measure(link: NetnsPair, name: str, rate: int, period: int, clients: int, log: Callable[[str], None]) -> Run:
    """One run at ``rate``; a failure is repeated once, so one scheduling hiccup of a busy
    machine does not end the climb (bounded: at most two runs)."""
    run = perfdhcp(link, rate, period, clients, PIDS.get(name))
    log(_line(name, run))
    if not run.ok:
        run = perfdhcp(link, rate, period, clients, PIDS.get(name))
        log(_line(name, run) + " (repeat)")
    return run


def search(
    links: dict[str, NetnsPair], period: int, clients: int, log: Callable[[str], None], start: int = 0
) -> dict[str, Run | None]:
    """Climb the ladder (from ``start``) with every server in turn at each rate, then bisect twice per server."""
    best: dict[str, Run | None] = dict.fromkeys(links)
    fail: dict[str, int | None] = dict.fromkeys(links)
    for rate in (r for r in LADDER if r >= start):
        active = [n for n in links if fail[n] is None]
        if not active:
            break
        for name in active:
            run = measure(links[name], name, rate, period, clients, log)
            if run.ok:
                best[name] = run
            else:
                fail[name] = rate
    for name, link in links.items():
        for _ in range(2):
            found, hi = best[name], fail[name]
            lo = found.rate if found is not None else 0
            if hi is None or hi - lo <= 50:
                break
            run = measure(link, name, (lo + hi) // 2, period, clients, log)
            if run.ok:
                best[name] = run
            else:
                fail[name] = run.rate
    return best


@contextlib.contextmanager
def workdir(name: str) -> Iterator[Path]:
    """A temporary directory removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"bwt-d6-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def main() -> int:
    """Run the comparison and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--period", type=int, default=10, help="seconds per perfdhcp run (default 10)")
    ap.add_argument("--clients", type=int, default=100000, help="perfdhcp -R: distinct clients (default 100000)")
    ap.add_argument("--servers", default="bootwright,kea,dnsmasq", help="comma-separated subset, in order")
    ap.add_argument("--from", dest="start", type=int, default=0, help="skip ladder rates below this")
    args = ap.parse_args()
    why = missing_requirements(["perfdhcp", "kea-dhcp6", "dnsmasq"])
    if why:
        print(f"dhcp6_bench: {why}", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.servers.split(",") if n.strip() in SERVERS]

    def log(text: str) -> None:
        print(text, flush=True)

    with contextlib.ExitStack() as stack:
        # One namespace pair per server, all running at once (an idle server costs nothing).
        links: dict[str, NetnsPair] = {}
        for name in names:
            link = stack.enter_context(NetnsPair(
                f"d6b{name[:3]}", server_if=SERVER_IF, client_if=CLIENT_IF, server4="198.51.100.1/16",
                client4="198.51.100.2/16", server6="2001:db8:1::1/64", client6="2001:db8:1::2/64",
            ))  # fmt: skip
            wait_link_local(link, True, SERVER_IF)
            wait_link_local(link, False, CLIENT_IF)
            work = stack.enter_context(workdir(name))
            proc = SERVERS[name](link, work)
            PIDS[name] = proc.pid  # `ip netns exec` execs the server: same process
            stack.callback(_stop, proc)
            try:
                wait_answering(link, proc)
                links[name] = link
            except RuntimeError as e:
                log(f"{name}: {e}")
        log(f"load average before: {os.getloadavg()[0]:.2f}")
        results = search(links, args.period, args.clients, log, args.start)
        log(f"load average after: {os.getloadavg()[0]:.2f}")
    kea = results.get("kea")
    log("")
    log("| server | highest clean rate (4-way exchanges/s, ≤ 0.1 % drops) | × Kea "
        "| Request→Reply delay there | server CPU per exchange there |")
    log("|---|---:|---:|---:|---:|")
    for name in names:
        r = results.get(name)
        rate = f"{r.rate:,}" if r else "n/a"
        ratio = f"{r.rate / kea.rate:.2f}×" if r and kea else "-"
        delay = f"{r.delay_ms:.1f} ms" if r else "-"
        cpu = f"{r.cpu_us:.0f} µs" if r else "-"
        log(f"| {name} | {rate} | {ratio} | {delay} | {cpu} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
