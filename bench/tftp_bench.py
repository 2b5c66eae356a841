"""TFTP benchmark: bootwright against tftpd-hpa and dnsmasq on one veth pair (not a test).

    sudo flock /tmp/bootwright-bench.lock .venv/bin/python bench/tftp_bench.py [--repeat 3] [--update-docs]
        [--servers bootwright,tftpd-hpa,dnsmasq] [--cases single|fanout|all] [--json FILE] [--pin]

Uses ``bench/bench.toml`` as it is: bootwright runs ``serve --config
bench/bench.toml`` in a server namespace whose interface ``bw-srv`` carries
the addresses of its ``[server]`` section; the peers listen on the same
address, one server at a time.  Clients run in a client namespace on the
other end of the veth pair.

Cases (each file compared byte for byte after every run):

* one 50 MB file at (blksize, windowsize) = (512,1), (1468,1), (8192,1),
  (1468,16), (1468,64), fetched with atftp (the client that speaks every
  option, RFC 2348 and RFC 7440).  A server that does not implement
  windowsize leaves it out of its OACK and atftp falls back to lock-step:
  that time is reported and marked "(ws 1)".
* 200 atftp clients at once fetching a 1 MB file with blksize 1468: all must
  complete; total time from the first start to the last exit.

Servers are run in rounds (every server once per round, ``--repeat``
rounds) so slow phases of a shared machine hit every server alike; the table
shows the median.  Every wait is bounded: a client run by ``--timeout``,
server start-up by 20 s.  Namespaces, processes and files are removed on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import importlib.util
import ipaddress
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import tftp_report  # noqa: E402

CASES = [(512, 1), (1468, 1), (8192, 1), (1468, 16), (1468, 64)]
FANOUT_BLKSIZE = 1468


def _load_netns() -> Any:
    spec = importlib.util.spec_from_file_location("bw_netns", REPO / "tests" / "interop" / "netns.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bw_netns"] = module
    spec.loader.exec_module(module)
    return module


netns = _load_netns()


@dataclass
class Setup:
    """Addresses and paths of one benchmark run."""

    config: Path
    interface: str
    server4: str
    prefix4: int
    root: Path
    out: Path
    state: Path
    results: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)
    cpu: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    user: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    notes: dict[str, dict[str, str]] = field(default_factory=dict)


def read_setup(config: Path, work: Path) -> Setup:
    """Interface and address from bench.toml's ``[server]`` and first ``[[subnet4]]``."""
    data = tomllib.loads(config.read_text())
    server = data["server"]
    prefix = ipaddress.ip_network(data["subnet4"][0]["subnet"]).prefixlen
    return Setup(
        config=config,
        interface=server["interfaces"][0],
        server4=server["address4"],
        prefix4=prefix,
        root=work / "root",
        out=Path(tempfile.mkdtemp(prefix="bwbench-out-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)),
        state=work / "state",
    )


def make_files(root: Path, size_mb: int) -> None:
    """``f50`` (the big file), ``f1`` (1 MB) and ``ready`` (readiness probe), pseudo-random bytes."""
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(4)
    (root / "f1").write_bytes(rng.randbytes(1_000_000))
    with (root / "f50").open("wb") as fh:
        for _ in range(size_mb):
            fh.write(rng.randbytes(1_000_000))
    (root / "ready").write_bytes(b"ready\n")


# ----------------------------------------------------------------------------- servers


class Placement:
    """The namespace pair, optionally with servers pinned to CPU 0 and clients to CPU 1 (``--pin``).

    Pinning models two machines: the server side and the client side each
    get a CPU of their own, whatever the scheduler would have done.
    """

    def __init__(self, link: Any, pin: bool) -> None:
        self.link = link
        self.pin = pin and (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None

    def _cpu(self, cpu: int) -> list[str]:
        return ["taskset", "-c", str(cpu)] if self.pin else []

    def spawn_server(self, cmd: list[str], **kw: Any) -> Any:
        """Start a server in the server namespace."""
        return self.link.spawn_server([*self._cpu(0), *cmd], **kw)

    def run_client(self, cmd: list[str], **kw: Any) -> Any:
        """Run a client (or the fan-out helper and its children) in the client namespace."""
        return self.link.run_client([*self._cpu(1), *cmd], **kw)


def start_bootwright(link: Any, s: Setup) -> Any:
    """``bootwright serve --config bench/bench.toml`` in the server namespace."""
    s.state.mkdir(parents=True, exist_ok=True)
    cmd = [str(REPO / ".venv" / "bin" / "bootwright"), "serve", "--config", str(s.config)]
    cmd += ["--root", str(s.root), "--state-dir", str(s.state), "--log-level", "warning"]
    return link.spawn_server(cmd, stdout=subprocess.DEVNULL, stderr=open(s.out / "bootwright.log", "ab"))


def start_tftpd_hpa(link: Any, s: Setup) -> Any:
    """tftpd-hpa in the foreground (``-L``), serving the same root."""
    return link.spawn_server(
        ["in.tftpd", "-L", "-a", f"{s.server4}:69", "-s", str(s.root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_dnsmasq(link: Any, s: Setup) -> Any:
    """dnsmasq with only its TFTP server (``--port=0``), up to 1000 transfers (default 50)."""
    cmd = ["dnsmasq", "-d", "--port=0", "--enable-tftp", f"--tftp-root={s.root}", "--tftp-max=1000"]
    cmd += [f"--listen-address={s.server4}", "--bind-interfaces", "--conf-file=/dev/null", "--user=root"]
    cmd += [f"--pid-file={s.out / 'dnsmasq.pid'}", "--log-facility=/dev/null"]
    return link.spawn_server(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


SERVERS: dict[str, Callable[[Any, Setup], Any]] = {
    "bootwright": start_bootwright,
    "tftpd-hpa": start_tftpd_hpa,
    "dnsmasq": start_dnsmasq,
}


def wait_ready(link: Any, s: Setup, proc: Any, name: str) -> None:
    """Fetch ``ready`` until it works (20 s at most)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} at start (see {s.out})")
        probe = ["atftp", "--tftp-timeout", "1", "-g", "-r", "ready", "-l", str(s.out / "ready"), s.server4]
        with contextlib.suppress(subprocess.TimeoutExpired):
            if link.run_client(probe, timeout=5).returncode == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer within 20 s")


class CpuAccount:
    """CPU time of a server and every process it forks (tftpd-hpa forks one per transfer).

    A cgroup-v1 ``cpuacct`` group made for the run (``bwbench-tftp-<pid>``),
    removed afterwards; ``usage()`` is ``None`` where cgroups are unavailable.
    """

    BASE = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self) -> None:
        self.path = self.BASE / f"bwbench-tftp-{os.getpid()}"
        try:
            self.path.mkdir()
            self.ok = True
        except OSError:
            self.ok = False

    def attach(self, pid: int) -> None:
        """Move ``pid`` (and its later children) into the group."""
        if self.ok:
            with contextlib.suppress(OSError):
                (self.path / "cgroup.procs").write_text(str(pid))

    def usage(self) -> float | None:
        """Seconds of CPU used in the group so far."""
        if not self.ok:
            return None
        try:
            return int((self.path / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def split(self) -> tuple[float, float] | None:
        """Seconds of CPU so far in user space and in the kernel (``None`` without cgroups)."""
        if not self.ok:
            return None
        try:
            user = int((self.path / "cpuacct.usage_user").read_text()) / 1e9
            kernel = int((self.path / "cpuacct.usage_sys").read_text()) / 1e9
        except (OSError, ValueError):
            return None
        return user, kernel

    def remove(self) -> None:
        """Move anything left back to the root group and delete the group."""
        if not self.ok:
            return
        with contextlib.suppress(OSError):
            for pid in (self.path / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    (self.BASE / "cgroup.procs").write_text(pid)
            self.path.rmdir()


@contextlib.contextmanager
def running(link: Any, s: Setup, name: str, cpu: CpuAccount) -> Iterator[None]:
    """One server up for the block (its CPU accounted in ``cpu``), stopped (by pid) after it."""
    proc = SERVERS[name](link, s)
    cpu.attach(proc.pid)
    try:
        wait_ready(link, s, proc, name)
        yield
    finally:
        netns._stop(proc)


# ----------------------------------------------------------------------------- cases


def grants_windowsize(link: Any, s: Setup) -> bool:
    """Whether the server acknowledges ``windowsize`` (RFC 7440) in its OACK (atftp ``--trace``)."""
    cmd = ["atftp", "--trace", "--option", "windowsize 16", "-g", "-r", "ready", "-l", str(s.out / "ready"), s.server4]
    r = link.run_client(cmd, timeout=10, text=True)
    lines = (r.stdout + r.stderr).splitlines()  # atftp traces to stderr when not on a terminal
    return any(line.startswith("received OACK") and "windowsize" in line for line in lines)


def single(link: Any, s: Setup, blksize: int, windowsize: int, timeout: float) -> tuple[float | None, str]:
    """One 50 MB fetch: seconds, or None and why."""
    out = s.out / "f50"
    with contextlib.suppress(FileNotFoundError):
        out.unlink()
    cmd = ["atftp", "--option", f"blksize {blksize}"]
    if windowsize > 1:
        cmd += ["--option", f"windowsize {windowsize}"]
    cmd += ["-g", "-r", "f50", "-l", str(out), s.server4]
    start = time.monotonic()
    try:
        r = link.run_client(cmd, timeout=timeout, text=True)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    elapsed = time.monotonic() - start
    if r.returncode != 0 or not filecmp.cmp(out, s.root / "f50", shallow=False):
        return None, f"failed (exit {r.returncode})"
    out.unlink()
    return elapsed, ""


def fanout(link: Any, s: Setup, clients: int, timeout: float) -> tuple[float | None, str]:
    """``clients`` atftp processes at once, each fetching ``f1``; all must arrive intact."""
    outdir = s.out / "fan"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir()
    cmd = [sys.executable, str(REPO / "bench" / "tftp_fanout.py"), "--count", str(clients), "--timeout", str(timeout)]
    cmd += ["--", "atftp", "--option", f"blksize {FANOUT_BLKSIZE}", "-g", "-r", "f1", "-l", f"{outdir}/out-{{N}}"]
    cmd += [s.server4]
    try:
        r = link.run_client(cmd, timeout=timeout + 30, text=True)
        report = json.loads(r.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, IndexError, ValueError):
        return None, "no report"
    good = sum(
        1
        for i in range(clients)
        if (outdir / f"out-{i}").exists() and filecmp.cmp(outdir / f"out-{i}", s.root / "f1", shallow=False)
    )
    shutil.rmtree(outdir, ignore_errors=True)
    if good != clients:
        return None, f"{good}/{clients} complete"
    return float(report["elapsed"]), ""


# ----------------------------------------------------------------------------- report


def case_names(clients: int, size_mb: int) -> list[str]:
    """Row labels, in order."""
    return [f"{size_mb} MB, blksize {b}, windowsize {w}" for b, w in CASES] + [
        f"{clients} clients × 1 MB, blksize {FANOUT_BLKSIZE}"
    ]


def _cell(values: list[float], note: str, unit: str = "s") -> str:
    return f"{statistics.median(values):.2f} {unit}" + (f" ({note})" if note else "")


def table(s: Setup, servers: list[str], labels: list[str]) -> str:
    """Markdown table: median wall time (and server CPU) per server, bootwright ÷ best peer."""
    peers = [n for n in servers if n != "bootwright"]
    ratio = "bootwright" in servers and bool(peers)
    head = "| case | " + " | ".join(servers) + (" | bootwright ÷ best peer |" if ratio else " |")
    lines = [head, "|---|" + "---:|" * (len(servers) + (1 if ratio else 0))]
    for case in labels:
        if not any(case in s.results.get(n, {}) for n in servers):
            continue
        for what, source in (("time", s.results), ("server CPU", s.cpu), ("of it in user space", s.user)):
            cells, medians = [], {}
            for name in servers:
                good = [t for t in source.get(name, {}).get(case, []) if t is not None]
                note = s.notes.get(name, {}).get(case, "") if what == "time" else ""
                if not good:
                    cells.append("failed" if what == "time" else "–")
                    continue
                medians[name] = statistics.median(good)
                cells.append(_cell(good, note))
            if what != "time" and not medians:
                continue
            label = case if what == "time" else f"  {what}"
            row = f"| {label} | " + " | ".join(cells) + " |"
            if ratio:
                best = min((medians[p] for p in peers if p in medians), default=None)
                row += f" {medians['bootwright'] / best:.2f} |" if "bootwright" in medians and best else " n/a |"
            lines.append(row)
    return "\n".join(lines)


@dataclass
class Measured:
    """One case against one server: seconds (``None``: failed), server CPU seconds, of it in user space."""

    took: float | None
    note: str
    cpu: float | None = None
    user: float | None = None


def _record(s: Setup, name: str, label: str, m: Measured, rnd: int) -> None:
    s.results.setdefault(name, {}).setdefault(label, []).append(m.took)
    if m.took is not None:
        for store, value in ((s.cpu, m.cpu), (s.user, m.user)):
            if value is not None:
                store.setdefault(name, {}).setdefault(label, []).append(value)
    if m.note:
        s.notes.setdefault(name, {})[label] = m.note
    shown = "failed" if m.took is None else f"{m.took:.3f} s"
    user = "" if m.user is None else f", user {m.user:.3f} s"
    used = "" if m.cpu is None else f"(server CPU {m.cpu:.3f} s{user})"
    print(f"round {rnd + 1} {name:10} {label:40} {shown} {used} {m.note}", flush=True)


def _measured(cpu: CpuAccount, case: Callable[[], tuple[float | None, str]]) -> Measured:
    """Run ``case``: its seconds and note, the server's CPU seconds meanwhile and their user-space share.

    The user/kernel split says where to look when a server is slower: its own
    code, or system calls and the network stack.
    """
    before, split_before = cpu.usage(), cpu.split()
    took, note = case()
    after, split_after = cpu.usage(), cpu.split()
    m = Measured(took, note)
    if before is not None and after is not None:
        m.cpu = after - before
    if split_before is not None and split_after is not None:
        m.user = split_after[0] - split_before[0]
    return m


def run_round(link: Any, s: Setup, name: str, rnd: int, args: argparse.Namespace, cpu: CpuAccount) -> None:
    """Every selected case once against the running server ``name``."""
    labels = case_names(args.clients, args.size_mb)
    if args.cases in ("all", "single"):
        windows = grants_windowsize(link, s)
        for label, (bs, ws) in zip(labels, CASES, strict=False):
            m = _measured(cpu, lambda bs=bs, ws=ws: single(link, s, bs, ws, args.timeout))
            if not m.note and ws > 1 and not windows:
                m.note = "ws 1"  # no RFC 7440: atftp fell back to lock-step
            _record(s, name, label, m, rnd)
    if args.cases in ("all", "fanout"):
        _record(s, name, labels[-1], _measured(cpu, lambda: fanout(link, s, args.clients, args.timeout)), rnd)


def _ratios(s: Setup, peers: list[str], labels: list[str]) -> str:
    found = []
    for label in labels:
        mine = tftp_report._median(s.results.get("bootwright", {}).get(label, []))
        best = min((m for p in peers if (m := tftp_report._median(s.results.get(p, {}).get(label, []))) is not None),
                   default=None)  # fmt: skip
        if mine is not None and best:
            found.append(mine / best)
    if not found:
        return "n/a"
    return f"{min(found):.2f}" if len(found) == 1 else f"{min(found):.2f}–{max(found):.2f}"


def write_docs(s: Setup, servers: list[str], labels: list[str], text: str, args: argparse.Namespace, load: str) -> None:
    """The TFTP section of docs/benchmarks.md from this run."""
    blocks = [args.size_mb * 1_000_000 // bs + 1 for bs, _ in CASES] + [
        args.clients * (1_000_000 // FANOUT_BLKSIZE + 1)
    ]
    rows = ["| case | " + " | ".join(servers) + " |", "|---|" + "---:|" * len(servers)]
    for label, count in zip(labels, blocks, strict=True):
        cells = [tftp_report.per_block_us(s.results, s.cpu, name, label, count) for name in servers]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    peers = [n for n in servers if n != "bootwright"]
    command = "sudo flock /tmp/bootwright-bench.lock .venv/bin/python bench/tftp_bench.py"
    command += f" --repeat {args.repeat} --update-docs"
    section = tftp_report.section(text, args, rows, load, command, _ratios(s, peers, labels[:3]),
                                  _ratios(s, peers, labels[-1:]))  # fmt: skip
    tftp_report.update(section)
    print(f"wrote the TFTP section of {tftp_report.DOCS}")


def report_from(args: argparse.Namespace) -> int:
    """Rebuild the table (and the docs section) from the raw results of an earlier run."""
    raw = json.loads(args.report.read_text())
    for key in ("repeat", "size_mb", "clients"):
        setattr(args, key, raw[key])
    s = Setup(args.config, "", "", 0, Path(), Path(), Path(), raw["results"], raw["cpu"], raw.get("user", {}),
              raw["notes"])  # fmt: skip
    labels = case_names(args.clients, args.size_mb)
    text = table(s, raw["servers"], labels)
    print(text)
    if args.update_docs:
        write_docs(s, raw["servers"], labels, text, args, raw["load"])
    return 0


def main() -> int:
    """Run every server through every case, print the table (and JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "bench" / "bench.toml")
    parser.add_argument("--servers", default="bootwright,tftpd-hpa,dnsmasq")
    parser.add_argument("--repeat", type=int, default=3, help="rounds over all servers (median shown)")
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per client run")
    parser.add_argument("--cases", default="all", help="'single', 'fanout' or 'all'")
    parser.add_argument("--json", type=Path, help="also write raw results here")
    parser.add_argument("--pin", action="store_true", help="servers on CPU 0, clients on CPU 1 (two machines)")
    parser.add_argument("--update-docs", action="store_true", help="write the TFTP section of docs/benchmarks.md")
    parser.add_argument("--report", type=Path, help="no run: the table (and docs with --update-docs) of a --json file")
    args = parser.parse_args()
    if args.report is not None:
        return report_from(args)
    servers = [n.strip() for n in args.servers.split(",") if n.strip()]
    unknown = [n for n in servers if n not in SERVERS]
    if unknown:
        parser.error(f"unknown server(s) {unknown}; choose from {sorted(SERVERS)}")
    why = netns.missing_requirements(["atftp", "in.tftpd", "dnsmasq"])
    if why:
        print(f"tftp_bench: cannot run: {why}", file=sys.stderr)
        return 2
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    work = Path(tempfile.mkdtemp(prefix="bwbench-"))
    s = read_setup(args.config.resolve(), work)
    try:
        make_files(s.root, args.size_mb)
        link = netns.NetnsPair(
            "bench",
            server_if=s.interface,
            client_if="bw-cli",
            server4=f"{s.server4}/{s.prefix4}",
            client4=f"{ipaddress.ip_address(s.server4) + 1}/{s.prefix4}",
            server6="2001:db8:1::1/64",
            client6="2001:db8:1::2/64",
        )
        cpu = CpuAccount()
        try:
            with link:
                place = Placement(link, args.pin)
                for rnd in range(args.repeat):
                    order = servers if rnd % 2 == 0 else servers[::-1]  # alternate who goes first
                    for name in order:
                        with running(place, s, name, cpu):
                            run_round(place, s, name, rnd, args, cpu)
        finally:
            cpu.remove()
        labels = case_names(args.clients, args.size_mb)
        text = table(s, servers, labels)
        print()
        print(text)
        if args.update_docs:
            write_docs(s, servers, labels, text, args, load)
        if args.json:
            raw = {"results": s.results, "cpu": s.cpu, "user": s.user, "notes": s.notes, "load": load,
                   "servers": servers, "repeat": args.repeat, "size_mb": args.size_mb,
                   "clients": args.clients}  # fmt: skip
            args.json.write_text(json.dumps(raw, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(s.out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
