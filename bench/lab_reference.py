#!/usr/bin/env python3
"""Lab boots: boot time per scenario, reference stack vs bootwright (not a test).

Run as root from the repository (after ``bash scripts/setup.sh``)::

    .venv/bin/python bench/lab_reference.py [--rounds 1] [--accel tcg] [--update-docs]

Each round boots every scenario twice, back to back — once against the
reference stack (dnsmasq for DHCPv4/DHCPv6/RA/TFTP + a plain Python HTTP
server, configured as the seeds would; ``bootwright lab --reference``) and once
against ``bootwright serve --config examples/quickstart.toml`` — alternating
which goes first, one VM at a time so boots do not compete for the CPUs. A boot's time is QEMU start → the marker on
the serial console. Medians over the rounds are printed as a Markdown table with
the ratio bootwright / reference (lower is better for bootwright; the target is
≤ 1.0 in every scenario) and, with ``--update-docs``, written to the "Lab boots"
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console

from bootwright.lab import scenarios
from bootwright.lab.proc import LabError
from bootwright.lab.runner import LabOptions, LabReport, run_lab
from bootwright.lab.timeline import LABELS, Stage

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
STACKS = ("reference", "bootwright")


def one_run(stack: str, scenario: scenarios.Scenario, args: argparse.Namespace) -> LabReport:
    """One lab run booting one scenario's VM against one stack."""
    options = LabOptions(
        reference=stack == "reference",
        config=None if stack == "reference" else REPO / "examples" / "quickstart.toml",
        scenarios=[scenario],
        accel=args.accel,
        timeout=args.timeout,
        parallel=1,
        live=False,
        skip_unserved=True,
    )
    report = run_lab(options, Console(width=160, highlight=False, quiet=not args.verbose))
    if not args.verbose:
        shutil.rmtree(report.work, ignore_errors=True)  # a failed boot's logs are kept only with --verbose
    return report


Samples = dict[str, dict[str, list[float]]]  # stack → scenario → seconds
StageSamples = dict[str, dict[str, dict[Stage, list[float]]]]  # stack → scenario → stage → seconds


def collect(args: argparse.Namespace) -> tuple[Samples, StageSamples, dict[str, dict[str, str]], str]:
    """Boot seconds and stage times per stack and scenario; failures; the accelerator used.

    Scenario by scenario, the two stacks back to back (alternating which goes
    first), so a change in the machine's load hits both alike.
    """
    times: Samples = {s: {} for s in STACKS}
    stages: StageSamples = {s: {} for s in STACKS}
    failures: dict[str, dict[str, str]] = {s: {} for s in STACKS}
    accel = args.accel
    chosen = [scenarios.by_name(n) for n in args.scenarios] if args.scenarios else list(scenarios.ALL)
    for round_no in range(args.rounds):
        for i, scenario in enumerate(chosen):
            order = STACKS if (round_no + i) % 2 == 0 else tuple(reversed(STACKS))
            for stack in order:
                try:
                    report = one_run(stack, scenario, args)
                except LabError as exc:
                    failures[stack][scenario.name] = str(exc).splitlines()[0]
                    continue
                accel = report.accel
                failures[stack].update(report.skipped)
                for t in report.timelines:
                    for stage, seconds in t.seen.items():
                        stages[stack].setdefault(t.name, {}).setdefault(stage, []).append(seconds)
                    if t.boot_seconds is not None:
                        times[stack].setdefault(t.name, []).append(t.boot_seconds)
                    else:
                        failures[stack][t.name] = t.stopped_at()
                got = times[stack].get(scenario.name, [])
                shown = f"{got[-1]:.1f} s" if got and report.timelines and report.timelines[0].ok else "did not boot"
                print(f"lab_reference: round {round_no + 1}/{args.rounds} {scenario.name:<9} {stack:<10} {shown}")
    return times, stages, failures, accel


def _cell(samples: list[float] | None, failure: str | None) -> str:
    if samples:
        return f"{statistics.median(samples):.1f} s"
    if failure and "does not serve" in failure:
        return "not served yet"
    return "did not boot"


def table(times: dict[str, dict[str, list[float]]], failures: dict[str, dict[str, str]]) -> str:
    """The Markdown table: scenario, reference, bootwright, ratio."""
    rows = [
        "| scenario | reference (dnsmasq + HTTP) | bootwright | bootwright / reference |",
        "|---|---:|---:|---:|",
    ]
    for s in scenarios.ALL:
        ref, bw = times["reference"].get(s.name), times["bootwright"].get(s.name)
        ratio = f"{statistics.median(bw) / statistics.median(ref):.2f}×" if ref and bw else "–"
        rows.append(
            f"| {s.title} | {_cell(ref, failures['reference'].get(s.name))} | "
            f"{_cell(bw, failures['bootwright'].get(s.name))} | {ratio} |"
        )
    return "\n".join(rows)


def stage_table(stages: StageSamples) -> str:
    """Median seconds to each stage, reference / bootwright: where the time goes."""
    head = "| scenario | " + " | ".join(LABELS[s] for s in Stage) + " |"
    rows = [head, "|---|" + "---:|" * len(Stage)]
    for sc in scenarios.ALL:
        cells = []
        for stage in Stage:
            pair = []
            for stack in STACKS:
                samples = stages[stack].get(sc.name, {}).get(stage)
                pair.append(f"{statistics.median(samples):.1f}" if samples else "–")
            cells.append(" / ".join(pair))
        rows.append(f"| {sc.title} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def notes(times: Samples, failures: dict[str, dict[str, str]]) -> str:
    """One line per scenario that never booted on a stack, naming where it stopped."""
    lines = [
        f"- {stack}, {name}: {why}"
        for stack in STACKS
        for name, why in sorted(failures[stack].items())
        if not times[stack].get(name)
    ]
    return "\n".join(lines)


def docs_section(result: str, breakdown: str, failed: str, accel: str, args: argparse.Namespace) -> str:
    """The "## Lab boots" section of docs/benchmarks.md."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    stages = " → ".join(LABELS[s] for s in Stage)
    text = f"""## Lab boots

Seconds from QEMU start to the marker the lab's initrd prints on the serial
console ({stages}), one VM at a time, the two stacks back to back per scenario,
median of {args.rounds} round(s), QEMU accelerator `{accel}`. *Reference*: dnsmasq
(DHCPv4, DHCPv6, RA, TFTP) and a plain Python HTTP server, configured as the seeds would (`bootwright lab --reference`);
*bootwright*: `bootwright serve --config examples/quickstart.toml`. Target:
bootwright ≤ 1.0× the reference in each scenario.

{result}

Where the time goes — seconds from QEMU start to each stage, reference / bootwright
(the first sighting in the servers' logs or on the serial console; a BIOS machine's
boot program is its iPXE ROM; a DHCPv6 answer counts once the lab can tie it to the
VM — dnsmasq logs the client's MAC, bootwright's `dhcp6.*` events carry it, from the
DUID or the client's EUI-64 link-local address). UEFI PXE v6 is even since the quick
start sends DHCPv6 Preference 255 (OVMF no longer waits 4 s for more Advertises); the
IPv6 scenarios then spend most of their time in iPXE's DHCPv4 attempt timing out on
the IPv6-only link, the same with both stacks:

{breakdown}

Machine: {os.cpu_count()} CPUs, Linux {platform.release()}, load average at the end {load}
(other work on the machine slows TCG guests: compare ratios, not seconds);
measured {time.strftime("%Y-%m-%d")}. Under TCG the firmware itself dominates: the
IPv6 scenarios include iPXE's DHCPv4 attempt timing out (about 15 s: the lab's
IPv6 VMs sit on an IPv6-only link), UEFI HTTP v6 also OVMF's HTTP-over-IPv4
attempt (about 60 s) before it tries IPv6.

Reproduce (as root, after `bash scripts/setup.sh`):

```sh
.venv/bin/python bench/lab_reference.py --rounds {args.rounds} --update-docs
```
"""
    if failed:
        text += f"\nWhere the boots that did not finish stopped:\n\n{failed}\n"
    return text


def update_docs(section: str) -> None:
    """Replace the "## Lab boots" section of docs/benchmarks.md, keeping every other section."""
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    match = re.search(r"^## Lab boots\b.*?(?=^## |\Z)", text, flags=re.M | re.S)
    if match:
        text = text[: match.start()] + section.rstrip("\n") + "\n\n" + text[match.end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text.rstrip("\n") + "\n")


def main() -> int:
    """Run the rounds, print the table, optionally write the docs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="rounds (median reported)")
    parser.add_argument("--accel", default="tcg", help="tcg (default, comparable with issue 7's figures), kvm, auto")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per VM")
    parser.add_argument("--scenarios", nargs="*", help="only these (bios4 … efihttp6)")
    parser.add_argument("--verbose", action="store_true", help="show each lab run's stage lines and table")
    parser.add_argument("--update-docs", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("lab_reference: needs root (network namespaces, taps)", file=sys.stderr)
        return 2
    times, stages, failures, accel = collect(args)
    result = table(times, failures)
    breakdown = stage_table(stages)
    failed = notes(times, failures)
    print(result)
    print("\n" + breakdown)
    if failed:
        print("\n" + failed)
    if args.update_docs:
        update_docs(docs_section(result, breakdown, failed, accel, args))
        print(f"\nwritten to {DOCS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
