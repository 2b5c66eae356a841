"""The perfdhcp rate ladder shared by ``bench/dhcp4_bench.py`` and ``bench/dhcp6_bench.py``.

Both benchmarks measure the same way: every server runs in a server namespace on
``bw-srv`` (the ``bench/bench.toml`` contract), perfdhcp in a client namespace over
a veth pair (``tests/interop/netns.py``). Every trial starts a fresh server on an
empty lease database, waits until it answers, runs one bounded perfdhcp at one
rate and stops it. A rate is clean when neither exchange of the 4-way exchange
drops more than 0.1 % and perfdhcp sent at least 97 % of it; each server climbs
its ladder until a rate fails twice, then bisects twice. The servers take turns,
one trial each per round, so background load hits them alike. Logging: two
passes, *warnings* (every server logs warnings only) and *default* (the servers at
their default levels, dnsmasq left out).

This module holds all of that, the shared lock, the JSON and markdown output and
the command line; a script describes its address family with a :class:`Family`
(how to start each server, perfdhcp's family flag and target, the ladder, the
docs section text) and calls :func:`main`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
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
"""The repository root."""

sys.path.insert(0, str(REPO / "tests" / "interop"))

from netns import NetnsPair, missing_requirements  # noqa: E402

__all__ = [
    "CLIENT_IF",
    "DOCS",
    "LOCK",
    "LOGGING",
    "REPO",
    "SERVER_IF",
    "Family",
    "NetnsPair",
    "Passes",
    "Run",
    "Search",
    "StartServer",
    "bench_lock",
    "best_of",
    "cpu_seconds",
    "main",
    "parse_perfdhcp",
    "search_all",
    "start_bootwright",
    "trial",
    "wait_answering",
]

SERVER_IF, CLIENT_IF = "bw-srv", "bw-cli"
"""The server and client ends of the veth pair (``bench/bench.toml`` names the server's)."""
MAX_DROPS = 0.1
"""Percent of either exchange a clean run may drop."""
MIN_ACHIEVED = 0.97
"""Share of the requested rate perfdhcp must have sent in a clean run."""
LOCK = Path("/tmp/bootwright-bench.lock")
"""The lock every benchmark of the project takes, so runs never overlap."""
LOCK_WAIT = 1800.0
"""Seconds to wait for another benchmark to finish."""
DOCS = REPO / "docs" / "benchmarks.md"
"""The page whose section ``--update-docs`` rewrites."""
LOGGING = {"quiet": "warnings", "default": "default (INFO)"}
"""The logging passes, as the table names them."""


@dataclass
class Run:
    """One perfdhcp run against a fresh server."""

    rate: int
    achieved: float  # second exchange's replies (ACK, Reply) received per second of the sending period
    drops_first: float  # DISCOVER-OFFER or SOLICIT-ADVERTISE drop ratio, percent
    drops_second: float  # REQUEST-ACK or REQUEST-REPLY drop ratio, percent
    delay_ms: float  # second exchange's average delay
    cpu_us: float  # server CPU (user + system) per completed exchange
    dupes: int  # non-unique addresses reported
    ok: bool


Passes = dict[str, dict[str, Run | None]]
"""The clean run at the highest rate, per logging pass and server (``None``: no clean rate)."""

StartServer = Callable[[NetnsPair, Path, bool], subprocess.Popen[Any]]
"""Starts one server in the link's server namespace, working in a directory; ``True``: warnings only."""


@dataclass(frozen=True)
class Family:
    """What differs between the DHCPv4 and the DHCPv6 benchmark."""

    name: str  # "DHCPv4": the docs section is "## DHCPv4"
    prog: str  # "dhcp4_bench": the prefix of error messages
    description: str  # the script's docstring, for --help
    flag: str  # perfdhcp's family option, "-4" or "-6"
    target: str  # perfdhcp's server argument (an address, or "all")
    ladder: tuple[int, ...]  # the rates to climb, per second
    drop_keys: tuple[str, str]  # the JSON names of Run.drops_first and Run.drops_second
    reply: str  # what answers the second exchange ("ACK", "Reply"): the delay's name
    servers: dict[str, StartServer]  # every server it can measure, by name
    requirements: tuple[str, ...]  # the programs it needs
    tag: str  # "d4b": names the namespaces and the servers' work directories
    pair_per_server: bool  # one namespace pair per server (else one for all)
    docs_section: Callable[[str, dict[str, Any]], str]  # (markdown table, run metadata) -> docs section

    @property
    def section(self) -> str:
        """The heading of this family's section of docs/benchmarks.md."""
        return f"## {self.name}"

    def perfdhcp(self, *options: str) -> list[str]:
        """A perfdhcp command line from the client end: family flag, ``options``, the target."""
        return ["perfdhcp", self.flag, "-l", CLIENT_IF, *options, self.target]

    def run_to_json(self, run: Run) -> dict[str, Any]:
        """A run as the family's JSON names it (its drop ratios have family names)."""
        names = dict(zip(("drops_first", "drops_second"), self.drop_keys, strict=True))
        return {names.get(k, k): v for k, v in asdict(run).items()}

    def run_from_json(self, saved: dict[str, Any]) -> Run:
        """The inverse of :meth:`run_to_json`."""
        names = dict(zip(self.drop_keys, ("drops_first", "drops_second"), strict=True))
        return Run(**{names.get(k, k): v for k, v in saved.items()})

    def log_line(self, name: str, run: Run) -> str:
        """One progress line for a finished trial."""
        return (
            f"  {name:10s} {run.rate:5d}/s: achieved {run.achieved:8.1f}/s, drops {run.drops_first:.3f}% / "
            f"{run.drops_second:.3f}%, {self.reply} delay {run.delay_ms:6.1f} ms, CPU {run.cpu_us:5.0f} µs/exchange "
            f"{'ok' if run.ok else 'FAIL'}"
        )

    def table(self, passes: Passes) -> list[str]:
        """The markdown result table: one row per (logging, server), ratios to Kea within a pass."""
        lines = [
            "| logging | server | highest clean rate (4-way exchanges/s, ≤ 0.1 % drops) | × Kea | CPU per exchange "
            f"| {self.reply} delay |",
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

    def update_docs(self, section: str) -> None:
        """Replace (or add) this family's section of docs/benchmarks.md, leaving every other section alone."""
        text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
        start = text.find(self.section + "\n")
        if start < 0:
            text = text.rstrip("\n") + "\n\n" + section
        else:
            nxt = text.find("\n## ", start + len(self.section))
            text = text[:start] + section + ("\n" + text[nxt + 1 :] if nxt >= 0 else "")
        DOCS.write_text(text)


def parse_perfdhcp(rate: int, period: float, out: str, cpu_s: float) -> Run:
    """The two drop ratios, reply count, delay and duplicate counts from perfdhcp's report."""
    drops = [float(x) for x in re.findall(r"drops ratio: ([\d.]+) %", out)]
    sent = [int(x) for x in re.findall(r"sent packets: (\d+)", out)]
    received = [int(x) for x in re.findall(r"received packets: (\d+)", out)]
    delays = [float(x) for x in re.findall(r"avg delay: ([\d.]+) ms", out)]
    dupes = sum(int(x) for x in re.findall(r"non unique addresses: (\d+)", out))
    first, second = [*drops, 100.0, 100.0][:2]
    replies = received[1] if len(received) >= 2 else 0
    kept_up = bool(sent) and sent[0] >= MIN_ACHIEVED * rate * period  # perfdhcp itself kept up
    ok = len(drops) >= 2 and max(first, second) <= MAX_DROPS and kept_up and dupes == 0
    delay = delays[-1] if delays else 0.0
    return Run(rate, replies / period, first, second, delay, 1e6 * cpu_s / max(replies, 1), dupes, ok)


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its reaped children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def wait_answering(family: Family, link: NetnsPair, proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Wait until one 4-way exchange completes (the server is bound and answering)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        # -n 3: with -n 1 perfdhcp stops as soon as its one DISCOVER (Solicit) is answered and counts an
        # ACK (Reply) that takes longer than a fraction of a millisecond (an fsync) as dropped.
        probe = family.perfdhcp("-r", "10", "-n", "3", "-R", "1", "-W", "500000")
        res = link.run_client(probe, timeout=15, text=True)
        if len(re.findall(r"received packets: [1-9]", res.stdout)) >= 2:
            return
        time.sleep(0.3)
    raise RuntimeError("server did not answer within the start-up timeout")


def trial(family: Family, link: NetnsPair, name: str, rate: int, period: float, clients: int, quiet: bool) -> Run:
    """A fresh server on an empty lease database, one bounded perfdhcp run against it."""
    work = Path(tempfile.mkdtemp(prefix=f"bwt-{family.tag}-{name}-"))
    proc = family.servers[name](link, work, quiet)  # `ip netns exec` execs the server: same pid
    try:
        try:
            wait_answering(family, link, proc)
        except RuntimeError as e:
            logs = sorted(work.glob("*.log")) + sorted(work.glob("*.out"))
            tail = "\n".join(p.read_text(errors="replace")[-1500:] for p in logs)
            raise RuntimeError(f"{e}\n{tail}") from None
        before = cpu_seconds(proc.pid)
        cmd = family.perfdhcp("-r", str(rate), "-R", str(clients), "-p", str(int(period)), "-W", "1000000")
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

    def __init__(self, name: str, ladder: tuple[int, ...], max_rate: int) -> None:
        """Start at the bottom of the ladder (rungs above ``max_rate`` are left out)."""
        self.name = name
        self.ladder = [r for r in ladder if r <= max_rate]
        self.runs: list[Run] = []
        self.best: Run | None = None
        self.fail: int | None = None
        self.step = 0  # ladder index
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
    family: Family, links: dict[str, NetnsPair], period: float, clients: int, quiet: bool, max_rate: int,
    log: Callable[[str], None],
) -> dict[str, Search]:  # fmt: skip
    """Every server's search (``links``: its namespace pair, by name), round-robin, one trial each per round."""
    searches = {n: Search(n, family.ladder, max_rate) for n in links}
    for _ in range(60):  # bounded: at most 60 rounds
        active = [s for s in searches.values() if s.next_rate() is not None]
        if not active:
            break
        for s in active:
            rate = s.next_rate()
            if rate is None:
                continue
            try:
                run = trial(family, links[s.name], s.name, rate, period, clients, quiet)
            except RuntimeError as e:
                log(f"  {s.name:10s} {rate:5d}/s: server failed: {e}")
                s.done = True
                continue
            s.record(run)
            log(family.log_line(s.name, run))
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


def _links(family: Family, names: list[str], stack: contextlib.ExitStack) -> dict[str, NetnsPair]:
    """The namespace pair each server runs in (entered on ``stack``): its own, or one for all."""

    def pair(tag: str) -> NetnsPair:
        return stack.enter_context(NetnsPair(
            tag, server_if=SERVER_IF, client_if=CLIENT_IF, server4="198.51.100.1/16", client4="198.51.100.2/16",
            server6="2001:db8:1::1/64", client6="2001:db8:1::2/64",
        ))  # fmt: skip

    if family.pair_per_server:
        return {n: pair(f"{family.tag}{n[:3]}") for n in names}
    shared = pair(family.tag)
    return dict.fromkeys(names, shared)


def _measure(
    family: Family, names: list[str], modes: list[str], period: float, clients: int, max_rate: int,
    log: Callable[[str], None],
) -> tuple[Passes, dict[str, dict[str, list[dict[str, Any]]]], float]:  # fmt: skip
    """Every logging pass under the shared lock: the best runs, every run as JSON, the load average at the start."""
    passes: Passes = {}
    every: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with bench_lock(log), contextlib.ExitStack() as stack:
        links = _links(family, names, stack)
        load_start = os.getloadavg()[0]
        log(f"load average at start: {load_start:.2f} ({os.cpu_count()} CPUs)")
        for mode in modes:
            log(f"logging: {LOGGING[mode]}")
            run_names = [n for n in names if mode == "quiet" or n != "dnsmasq"]
            links_now = {n: links[n] for n in run_names}
            searches = search_all(family, links_now, period, clients, mode == "quiet", max_rate, log)
            passes[mode] = {n: best_of(s.runs) for n, s in searches.items()}
            every[mode] = {n: [family.run_to_json(r) for r in s.runs] for n, s in searches.items()}
        log(f"load average at end: {os.getloadavg()[0]:.2f}")
    return passes, every, load_start


def main(family: Family) -> int:
    """The benchmark's command line: run the comparison and print the table (markdown)."""
    ap = argparse.ArgumentParser(description=family.description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--period", type=int, default=10, help="seconds per perfdhcp run (default 10)")
    ap.add_argument("--clients", type=int, default=20000, help="perfdhcp -R: distinct clients (default 20000)")
    ap.add_argument("--servers", default=",".join(family.servers), help="comma-separated subset, in order")
    ap.add_argument(
        "--logging", choices=["both", "quiet", "default"], default="both",
        help="quiet: every server logs warnings only; default: their default levels (dnsmasq left out); both",
    )  # fmt: skip
    ap.add_argument("--max-rate", type=int, default=family.ladder[-1], help="highest ladder rung to try")
    ap.add_argument("--json", type=Path, help="also write every run as JSON here")
    ap.add_argument(
        "--update-docs", action="store_true", help=f"rewrite the {family.name} section of docs/benchmarks.md"
    )
    ap.add_argument("--from-json", type=Path, help="render a saved --json run instead of measuring")
    args = ap.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        raw = saved["passes"] if "passes" in saved else {"default": saved.get("runs", saved)}
        passes = {
            m: {n: best_of([family.run_from_json(r) for r in runs]) for n, runs in by.items()} for m, by in raw.items()
        }
        print("\n".join(family.table(passes)))
        if args.update_docs:
            family.update_docs(family.docs_section("\n".join(family.table(passes)), saved.get("meta", {})))
        return 0
    why = missing_requirements(family.requirements)
    if why:
        print(f"{family.prog}: {why}", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    unknown = [n for n in names if n not in family.servers]
    if unknown:
        known = ", ".join(family.servers)
        print(f"{family.prog}: unknown server {', '.join(unknown)} (known: {known})", file=sys.stderr)
        return 2
    modes = {"both": ["quiet", "default"], "quiet": ["quiet"], "default": ["default"]}[args.logging]

    def log(text: str) -> None:
        print(text, flush=True)

    passes, every, load_start = _measure(family, names, modes, args.period, args.clients, args.max_rate, log)
    meta = {
        "period": args.period, "clients": args.clients, "load_start": load_start,
        "load_end": os.getloadavg()[0], "kernel": f"Linux {os.uname().release}",
        "python": sys.version.split()[0], "when": time.strftime("%Y-%m-%d %H:%M"),
    }  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "passes": every}, indent=1))
    log("")
    log("\n".join(family.table(passes)))
    if args.update_docs:
        family.update_docs(family.docs_section("\n".join(family.table(passes)), meta))
        log(f"updated the {family.section} section of {DOCS}")
    return 0
