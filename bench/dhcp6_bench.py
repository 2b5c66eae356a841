"""DHCPv6 benchmark: perfdhcp -6 against bootwright, kea-dhcp6 (memfile) and dnsmasq.

Not a test: it measures, it asserts nothing. One namespace pair per server (server
interface ``bw-srv`` with 2001:db8:1::1/64, the shared ``bench/bench.toml`` contract;
perfdhcp on ``bw-cli`` across a veth pair). Every trial starts a fresh server on an
empty lease database, runs one bounded perfdhcp -6 at one rate (4-way exchanges:
Solicit/Advertise/Request/Reply, to ff02::1:2) and stops it. A rate is clean when
neither exchange drops more than 0.1 % and perfdhcp sent at least 97 % of it; each
server climbs the ladder until a rate fails twice, then bisects twice. The servers
take turns, one trial each per round, so background load hits them alike. Logging:
two passes, *warnings* (every server logs warnings only; bootwright still records
every Advertise and Reply as an event in its SQLite history) and *default* (bootwright
and Kea at their default levels, dnsmasq left out), as ``bench/dhcp4_bench.py`` does.

    .venv/bin/python bench/dhcp6_bench.py [--period 10] [--logging both] [--update-docs]

It takes ``/tmp/bootwright-bench.lock`` (the machine is shared with other benchmarks).
Every load loop is bounded (a fixed ladder, at most 60 rounds, fixed periods); every
process and namespace is removed on exit, also on failure (``tests/interop/netns.py``).
Needs root, perfdhcp and kea-dhcp6 (Debian kea-admin, kea-dhcp6-server), dnsmasq-base.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "interop"))

from netns import NetnsPair, missing_requirements  # noqa: E402

SERVER_IF, CLIENT_IF = "bw-srv", "bw-cli"
PREFIX = "2001:db8:1::/64"
POOL = ("2001:db8:1::1:0", "2001:db8:1::ffff:ffff")  # bench/bench.toml subnet6 pool
LADDER = (250, 500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 7000, 8000, 10000)
MAX_DROPS = 0.1  # percent, each exchange
MIN_ACHIEVED = 0.97  # of the requested rate
LOCK = Path("/tmp/bootwright-bench.lock")
LOCK_WAIT = 1800.0  # seconds to wait for another benchmark to finish
DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## DHCPv6"
LOGGING = {"quiet": "warnings", "default": "default (INFO)"}


@dataclass
class Run:
    """One perfdhcp run against a fresh server."""

    rate: int
    achieved: float  # Replies received per second of the sending period
    drops_sa: float  # SOLICIT-ADVERTISE drop ratio, percent
    drops_rr: float  # REQUEST-REPLY drop ratio, percent
    delay_ms: float  # REQUEST-REPLY average delay
    cpu_us: float  # server CPU (user + system) per completed exchange
    dupes: int  # non-unique addresses reported
    ok: bool


def parse_perfdhcp(rate: int, period: float, out: str, cpu_s: float) -> Run:
    """The two drop ratios, Reply count, delay and duplicate counts from perfdhcp's report."""
    drops = [float(x) for x in re.findall(r"drops ratio: ([\d.]+) %", out)]
    sent = [int(x) for x in re.findall(r"sent packets: (\d+)", out)]
    received = [int(x) for x in re.findall(r"received packets: (\d+)", out)]
    delays = [float(x) for x in re.findall(r"avg delay: ([\d.]+) ms", out)]
    dupes = sum(int(x) for x in re.findall(r"non unique addresses: (\d+)", out))
    sa, rr = [*drops, 100.0, 100.0][:2]
    replies = received[1] if len(received) >= 2 else 0
    kept_up = bool(sent) and sent[0] >= MIN_ACHIEVED * rate * period  # perfdhcp itself kept up
    ok = len(drops) >= 2 and max(sa, rr) <= MAX_DROPS and kept_up and dupes == 0
    delay = delays[-1] if delays else 0.0
    return Run(rate, replies / period, sa, rr, delay, 1e6 * cpu_s / max(replies, 1), dupes, ok)


# ---------------------------------------------------------------- servers


def start_bootwright(link: NetnsPair, work: Path, quiet: bool) -> subprocess.Popen[Any]:
    """bootwright serve --config bench/bench.toml (the shared contract: every service of it runs)."""
    (work / "root").mkdir(exist_ok=True)
    log = (work / "bootwright.log").open("w")
    cmd = [
        str(REPO / ".venv" / "bin" / "bootwright"), "serve", "--config", str(REPO / "bench" / "bench.toml"),
        "--root", str(work / "root"), "--state-dir", str(work / "state"),
        *(["--log-level", "warning"] if quiet else []),
    ]  # fmt: skip
    return link.spawn_server(cmd, stdout=log, stderr=subprocess.STDOUT)


def start_kea(link: NetnsPair, work: Path, quiet: bool) -> subprocess.Popen[Any]:
    """kea-dhcp6, memfile with persist and lfc-interval 0, data-directory, the same prefix and pool."""
    conf = {
        "Dhcp6": {
            "interfaces-config": {"interfaces": [SERVER_IF]},
            "data-directory": str(work),
            "lease-database": {
                "type": "memfile", "persist": True, "lfc-interval": 0, "name": str(work / "kea-leases6.csv"),
            },
            "preferred-lifetime": 3000, "valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 2000,
            "subnet6": [{
                "id": 1, "subnet": PREFIX, "interface": SERVER_IF,
                "pools": [{"pool": f"{POOL[0]}-{POOL[1]}"}],
                "option-data": [{"name": "dns-servers", "data": "2001:db8:1::1"}],
            }],
            "loggers": [{
                "name": "kea-dhcp6", "severity": "WARN" if quiet else "INFO",
                "output_options": [{"output": str(work / "kea.log")}],
            }],
        }
    }  # fmt: skip
    (work / "kea.json").write_text(json.dumps(conf, indent=1))
    env = {**os.environ, "KEA_PIDFILE_DIR": str(work), "KEA_LOCKFILE_DIR": str(work)}
    log = (work / "kea.out").open("w")
    return link.spawn_server(["kea-dhcp6", "-c", str(work / "kea.json")], stdout=log, stderr=subprocess.STDOUT, env=env)


def start_dnsmasq(link: NetnsPair, work: Path, quiet: bool) -> subprocess.Popen[Any]:
    """dnsmasq as a DHCPv6-only server on the same prefix and pool (DNS off)."""
    cmd = [
        "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--user=root",
        f"--interface={SERVER_IF}", "--bind-interfaces", "--no-resolv", "--no-hosts",
        f"--dhcp-range={POOL[0]},{POOL[1]},64,4000", "--dhcp-option=option6:dns-server,[2001:db8:1::1]",
        "--dhcp-lease-max=1000000", f"--dhcp-leasefile={work / 'dnsmasq.leases'}",
        f"--pid-file={work / 'dnsmasq.pid'}", "--dhcp-authoritative", f"--log-facility={work / 'dnsmasq.log'}",
        *(["--quiet-dhcp6"] if quiet else []),
    ]  # fmt: skip
    log = (work / "dnsmasq.out").open("w")
    return link.spawn_server(cmd, stdout=log, stderr=subprocess.STDOUT)


SERVERS: dict[str, Callable[[NetnsPair, Path, bool], subprocess.Popen[Any]]] = {
    "bootwright": start_bootwright,
    "kea": start_kea,
    "dnsmasq": start_dnsmasq,
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its reaped children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def wait_answering(link: NetnsPair, proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Wait until one 4-way exchange completes (the server is bound and answering)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        probe = ["perfdhcp", "-6", "-l", CLIENT_IF, "-r", "10", "-n", "3", "-R", "1", "-W", "500000", "all"]
        res = link.run_client(probe, timeout=15, text=True)
        if len(re.findall(r"received packets: [1-9]", res.stdout)) >= 2:
            return
        time.sleep(0.3)
    raise RuntimeError("server did not answer within the start-up timeout")


def trial(link: NetnsPair, name: str, rate: int, period: float, clients: int, quiet: bool) -> Run:
    """A fresh server on an empty lease database, one bounded perfdhcp -6 run against it."""
    work = Path(tempfile.mkdtemp(prefix=f"bwt-d6b-{name}-"))
    proc = SERVERS[name](link, work, quiet)  # `ip netns exec` execs the server: same pid
    try:
        try:
            wait_answering(link, proc)
        except RuntimeError as e:
            logs = sorted(work.glob("*.log")) + sorted(work.glob("*.out"))
            tail = "\n".join(p.read_text(errors="replace")[-1500:] for p in logs)
            raise RuntimeError(f"{e}\n{tail}") from None
        before = cpu_seconds(proc.pid)
        cmd = [
            "perfdhcp", "-6", "-l", CLIENT_IF, "-r", str(rate), "-R", str(clients), "-p", str(int(period)),
            "-W", "1000000", "all",
        ]  # fmt: skip
        res = link.run_client(cmd, timeout=period + 30, text=True)
        return parse_perfdhcp(rate, period, res.stdout, cpu_seconds(proc.pid) - before)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(work, ignore_errors=True)


class Search:
    """One server's rate search: climb the ladder, then bisect twice; a failing rate is retried once."""

    def __init__(self, name: str, max_rate: int = LADDER[-1]) -> None:
        """Start at the bottom of the ladder (rungs above ``max_rate`` are left out)."""
        self.name = name
        self.ladder = [r for r in LADDER if r <= max_rate]
        self.runs: list[Run] = []
        self.best: Run | None = None
        self.fail: int | None = None
        self.step = 0
        self.bisections = 0
        self.retrying: int | None = None
        self.done = False

    def next_rate(self) -> int | None:
        """The rate to try next, or ``None`` when the search is over."""
        if self.done:
            return None
        if self.retrying is not None:
            return self.retrying
        if self.fail is None:
            if self.step < len(self.ladder):
                return self.ladder[self.step]
            self.done = True
            return None
        lo = self.best.rate if self.best else 0
        if self.bisections >= 2 or self.fail - lo <= max(25, self.fail // 20):
            self.done = True
            return None
        return (lo + self.fail) // 2

    def record(self, run: Run) -> None:
        """Take a run's verdict."""
        self.runs.append(run)
        if run.ok:
            self.retrying = None
            self.best = run
            if self.fail is None:
                self.step += 1
            else:
                self.bisections += 1
            return
        if self.retrying is None:  # one more try: a busy machine can spoil one run
            self.retrying = run.rate
            return
        self.retrying = None
        if self.fail is not None:
            self.bisections += 1
        self.fail = run.rate


def search_all(
    links: dict[str, NetnsPair], period: float, clients: int, quiet: bool, max_rate: int,
    log: Callable[[str], None],
) -> dict[str, Search]:  # fmt: skip
    """Every server's search, round-robin, one trial each per round (bounded: 60 rounds)."""
    searches = {n: Search(n, max_rate) for n in links}
    for _ in range(60):
        active = [s for s in searches.values() if s.next_rate() is not None]
        if not active:
            break
        for s in active:
            rate = s.next_rate()
            if rate is None:
                continue
            try:
                run = trial(links[s.name], s.name, rate, period, clients, quiet)
            except RuntimeError as e:
                log(f"  {s.name:10s} {rate:5d}/s: server failed: {e}")
                s.done = True
                continue
            s.record(run)
            log(
                f"  {s.name:10s} {rate:5d}/s: achieved {run.achieved:8.1f}/s, drops {run.drops_sa:.3f}% / "
                f"{run.drops_rr:.3f}%, Reply delay {run.delay_ms:6.1f} ms, CPU {run.cpu_us:5.0f} µs/exchange "
                f"{'ok' if run.ok else 'FAIL'}"
            )
    return searches


@contextlib.contextmanager
def bench_lock(log: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock the benchmarks share, waiting (bounded) for a running one to finish."""
    with LOCK.open("a") as f:
        deadline = time.monotonic() + LOCK_WAIT
        said = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{LOCK} stayed locked for {LOCK_WAIT:.0f} s") from None
                if not said:
                    log(f"waiting for {LOCK} (another benchmark is running)")
                    said = True
                time.sleep(5)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def best_of(runs: list[Run]) -> Run | None:
    """The clean run at the highest rate."""
    clean = [r for r in runs if r.ok]
    return max(clean, key=lambda r: r.rate) if clean else None


def table(passes: dict[str, dict[str, Run | None]]) -> list[str]:
    """The markdown result table: one row per (logging, server), ratios to Kea within a pass."""
    lines = [
        "| logging | server | highest clean rate (4-way exchanges/s, ≤ 0.1 % drops) | × Kea | CPU per exchange "
        "| Reply delay |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for mode, results in passes.items():
        kea = results.get("kea")
        for name, r in results.items():
            rate = f"{r.achieved:,.0f}" if r else "n/a"
            ratio = f"{r.achieved / kea.achieved:.2f}×" if r and kea else "–"
            cpu = f"{r.cpu_us:.0f} µs" if r else "–"
            delay = f"{r.delay_ms:.1f} ms" if r else "–"
            lines.append(f"| {LOGGING[mode]} | {name} | {rate} | {ratio} | {cpu} | {delay} |")
    return lines


def docs_section(passes: dict[str, dict[str, Run | None]], meta: dict[str, Any]) -> str:
    """The DHCPv6 section of docs/benchmarks.md; ``meta["notes"]`` (bench/dhcp6_notes.md) ends it."""
    clients, period = meta.get("clients", 20000), meta.get("period", 10)
    return f"""{SECTION}

perfdhcp -6 (Debian kea-admin) in a client namespace, over the veth pair of `bench/bench.toml`
(`bw-srv` 2001:db8:1::1/64), to ff02::1:2, against bootwright (`bootwright serve --config
bench/bench.toml`, every service of that file running), Kea 2.2 (`kea-dhcp6`, memfile with `persist`,
`lfc-interval` 0 and a `data-directory`) and dnsmasq 2.90: the same prefix, pool
(2001:db8:1::1:0-2001:db8:1::ffff:ffff) and DNS option, in one run. {clients:,} distinct clients
(`-R`), {period} s per rate, every rate on a fresh server with an empty lease database. A rate is clean
when neither exchange (SOLICIT-ADVERTISE, REQUEST-REPLY) drops more than 0.1 % and perfdhcp sent at
least 97 % of it; the ladder climbs until a rate fails twice, then bisects twice. The servers take
turns, one rate each per round, so background load on the machine hits them alike. Logging: two
passes. *warnings*: every server logs warnings only (bootwright `--log-level warning`: every
Advertise and Reply is still an event in the SQLite history and for live listeners, without a log
line; Kea severity WARN; dnsmasq `--quiet-dhcp6`), as the project's other benchmarks run it.
*default*: bootwright and Kea at their default level, to a file (bootwright one `dhcp6.advertise` and
one `dhcp6.reply` line per exchange, Kea `DHCP6_LEASE_ADVERT` and `DHCP6_LEASE_ALLOC`).

Durability differs: bootwright sends a Reply only after its lease is committed to SQLite (WAL,
`synchronous=FULL`, one fsync per group commit, binding Replies gathered for up to 5 ms); Kea
appends each lease to its CSV file without fsync; dnsmasq rewrites its lease file.

Reproduce (as root, after `bash scripts/setup.sh`):

```sh
.venv/bin/python bench/dhcp6_bench.py --update-docs
```

{chr(10).join(table(passes))}

Machine: {os.cpu_count()} CPUs, {meta.get("kernel", "")}, Python {meta.get("python", "")}; measured
{meta.get("when", "")}, load average {meta.get("load_start", 0):.2f} at the start and {meta.get("load_end", 0):.2f} at
the end. Other work shares this machine (QEMU guests, other benchmarks), so absolute rates move
between runs, and so does the ratio; compare within one run. "CPU per exchange" is the server's
user + system time divided by the Replies perfdhcp received at the clean rate; "Reply delay" is
perfdhcp's average REQUEST→REPLY time there (bootwright's includes the commit window and, near its
limit, requests queued in its 4 MiB socket buffer).
{meta.get("notes", "")}"""


def update_docs(section: str) -> None:
    """Replace (or add) the DHCPv6 section of docs/benchmarks.md, leaving every other section alone."""
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("\n" + text[nxt + 1 :] if nxt >= 0 else "")
    DOCS.write_text(text)


NOTES_FILE = Path(__file__).with_name("dhcp6_notes.md")
"""Free text appended to the section (where the time goes, what was tuned); kept with the script."""


def main() -> int:
    """Run the comparison and print the table (markdown)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--period", type=int, default=10, help="seconds per perfdhcp run (default 10)")
    ap.add_argument("--clients", type=int, default=20000, help="perfdhcp -R: distinct clients (default 20000)")
    ap.add_argument("--servers", default="bootwright,kea,dnsmasq", help="comma-separated subset, in order")
    ap.add_argument(
        "--logging", choices=["both", "quiet", "default"], default="both",
        help="quiet: every server logs warnings only; default: their default levels (dnsmasq left out); both",
    )  # fmt: skip
    ap.add_argument("--max-rate", type=int, default=LADDER[-1], help="highest ladder rung to try")
    ap.add_argument("--json", type=Path, help="also write every run as JSON here")
    ap.add_argument("--update-docs", action="store_true", help="rewrite the DHCPv6 section of docs/benchmarks.md")
    ap.add_argument("--from-json", type=Path, help="render a saved --json run instead of measuring")
    args = ap.parse_args()
    notes = NOTES_FILE.read_text() if NOTES_FILE.exists() else ""
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        meta = {**saved.get("meta", {}), "notes": notes}
        passes = {m: {n: best_of([Run(**r) for r in runs]) for n, runs in by.items()}
                  for m, by in saved["passes"].items()}  # fmt: skip
        print("\n".join(table(passes)))
        if args.update_docs:
            update_docs(docs_section(passes, meta))
        return 0
    why = missing_requirements(["perfdhcp", "kea-dhcp6", "dnsmasq"])
    if why:
        print(f"dhcp6_bench: {why}", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVERS]
    if unknown:
        print(f"dhcp6_bench: unknown server {', '.join(unknown)} (known: {', '.join(SERVERS)})", file=sys.stderr)
        return 2
    modes = {"both": ["quiet", "default"], "quiet": ["quiet"], "default": ["default"]}[args.logging]
    passes: dict[str, dict[str, Run | None]] = {}
    every: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def log(text: str) -> None:
        print(text, flush=True)

    meta: dict[str, Any] = {
        "clients": args.clients, "period": args.period, "kernel": f"Linux {platform.release()}",
        "python": platform.python_version(), "when": time.strftime("%Y-%m-%d %H:%M"),
    }  # fmt: skip
    with bench_lock(log), contextlib.ExitStack() as stack:
        meta["load_start"] = os.getloadavg()[0]
        links: dict[str, NetnsPair] = {}
        for name in names:
            link = stack.enter_context(NetnsPair(
                f"d6b{name[:3]}", server_if=SERVER_IF, client_if=CLIENT_IF, server4="198.51.100.1/16",
                client4="198.51.100.2/16", server6="2001:db8:1::1/64", client6="2001:db8:1::2/64",
            ))  # fmt: skip
            links[name] = link
        for mode in modes:
            log(f"logging: {LOGGING[mode]}")
            run_names = [n for n in names if mode == "quiet" or n != "dnsmasq"]
            searches = search_all({n: links[n] for n in run_names}, args.period, args.clients,
                                  mode == "quiet", args.max_rate, log)  # fmt: skip
            passes[mode] = {n: best_of(s.runs) for n, s in searches.items()}
            every[mode] = {n: [asdict(r) for r in s.runs] for n, s in searches.items()}
        meta["load_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "passes": every}, indent=1))
    log("")
    log("\n".join(table(passes)))
    if args.update_docs:
        update_docs(docs_section(passes, {**meta, "notes": notes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
