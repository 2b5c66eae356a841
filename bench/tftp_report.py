"""The "TFTP" section of docs/benchmarks.md, written from one run of bench/tftp_bench.py.

Only that section is replaced (from ``## TFTP`` to the next ``## `` heading);
the other sections belong to other benchmarks.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def _median(values: list[Any]) -> float | None:
    good = [v for v in values if v is not None]
    return statistics.median(good) if good else None


def per_block_us(results: dict[str, dict[str, list[Any]]], cpu: dict[str, dict[str, list[float]]], name: str,
                 label: str, blocks: int) -> str:  # fmt: skip
    """Median server CPU per DATA block, in µs, as text ("–" when unknown)."""
    used = _median(cpu.get(name, {}).get(label, []))
    return "–" if used is None or not blocks else f"{used / blocks * 1e6:.1f} µs"


def section(table: str, args: Any, cpu_rows: list[str], load: str, command: str, lockstep: str, fanout: str) -> str:
    """The whole section text: set-up, command, table, CPU per block, why the ratios are what they are.

    ``lockstep`` and ``fanout`` are the measured ratios (bootwright ÷ best peer) as text.
    """
    machine = f"{os.cpu_count()} CPUs, Linux {platform.release()}, Python {platform.python_version()}"
    return f"""## TFTP

bootwright's TFTP service next to tftpd-hpa 5.2 (`in.tftpd -L -a ADDR:69 -s ROOT`) and dnsmasq
2.90 (`--enable-tftp --port=0 --tftp-max=1000`) in one run over the veth pair of
`bench/bench.toml` (server namespace: `bw-srv`, 198.51.100.1/16; clients in the namespace at
the other end). bootwright runs as `bootwright serve --config bench/bench.toml` (every service
of that file, `--log-level warning`; each transfer still becomes two events in the SQLite
history). One server at a time listens on 198.51.100.1:69 and serves the same root. The
client is atftp 0.8, the one client that speaks every option (RFC 2348 `blksize`, RFC 7440
`windowsize`); every file is compared byte for byte after every run. Servers are run in
{args.repeat} rounds, the order reversing every round; the table shows medians, and bootwright ÷ best
peer is a ratio of times (below 1: bootwright is faster). "server CPU" is the
CPU time of the server and every process it forks (a cgroup-v1 `cpuacct` group per run), which
the other work on this shared machine changes much less than wall time.

Reproduce (as root, after `bash scripts/setup.sh`):

```sh
{command}
```

{table}

"(ws 1)": the server does not implement RFC 7440; it leaves `windowsize` out of its OACK
and atftp falls back to lock-step, so that is their lock-step time at that blksize.
dnsmasq grants at most the interface MTU as blksize (1468 here when 8192 is asked), so its
8192 row moves 1,468-octet blocks. bootwright's CPU includes its busy polling (below).

Server CPU per DATA block (median):

{chr(10).join(cpu_rows)}

Machine: {machine}; load average {load} when the run started (other sessions run QEMU
labs and benchmarks on the same two CPUs, so absolute figures move between runs).

### Where bootwright is ahead, and where it is not

* **Windows (RFC 7440)**: the peers do not implement `windowsize`; bootwright sends each
  window with UDP GSO, one `sendmsg` per up to 44 datagrams of 1,472 octets, straight
  from the read-ahead buffer (headers and file bytes side by side, no copies).
* **Lock-step** (windowsize 1, one round trip per block; bootwright ÷ best peer
  {lockstep}): no Python runs per block. The engine states the answers to the next
  ACKs in advance (`ReadTransfer.lockstep_run`: on ACK *b* send DATA *b*+1 from the
  read-ahead buffer, and so on), and the native pump (`bootwright.net.tftp._tftp_pump`) executes
  that run inside the transfers' epoll drain: `recv`, compare four octets, `send` —
  one positioned read per 64 KiB rather than one per block. Whatever else arrives ends
  the run and goes to the engine. bootwright also shortens the round trip by not
  sleeping while it waits for the ACK: after each send it polls its sockets for up to
  200 µs, yielding the CPU each turn (`sched_yield`), so a client woken on the same CPU
  runs at once and its ACK is read without a sleep and a wake-up of the server. On a
  veth pair the kernel runs the *client's* receive path and wake-up inside the server's
  `send()`, so that CPU is charged to the server too, and the CPU rows count the spin.
  The spin switches itself off when recent spins came back empty (slow or distant
  clients) and while more than 8 transfers run (they keep the loop busy on their own).
* **200 clients at once** (bootwright ÷ best peer {fanout}): the machine's two CPUs
  are saturated by the server, the 200 atftp processes and the wake-ups between them,
  so the time follows the server's CPU. The "user space" row shows where bootwright's
  CPU goes: almost all of it is the kernel's `recv`/`send` path (on veth that includes
  the clients' receive path and wake-ups, and the woken clients preempt the server on
  its own CPU — tens of thousands of involuntary context switches per run, for every
  server alike); what is left in user space is the per-transfer work (request, path,
  sockets, events) and one engine call per 64 KiB. Before the native pump, Python was
  about 0.58 s of 1.72 s here and bootwright took 1.1× dnsmasq's time. On a real
  network the client's receive path runs on the client machine, not inside the server's
  `send()`.
"""


def update(text: str, path: Path = DOCS) -> None:
    """Replace (or append) the TFTP section of docs/benchmarks.md."""
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    match = re.search(r"^## TFTP\b.*?(?=^## |\Z)", current, flags=re.M | re.S)
    if match:
        current = current[: match.start()] + text.rstrip("\n") + "\n\n" + current[match.end() :]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current.rstrip("\n") + "\n")
