"""Capture the golden DHCP packets of ``tests/data/`` from the lab's real firmware.

Run as root on a machine that runs ``bootwright lab`` (Debian packages: the
lab's, plus ``tcpdump``), from the repository root::

    sudo .venv/bin/python tests/data/capture.py                 # all six scenarios
    sudo .venv/bin/python tests/data/capture.py efi6 efihttp6   # some of them
    sudo .venv/bin/python tests/data/capture.py --reference     # served by the lab's dnsmasq instead
    UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/unit/wire/test_golden.py   # then re-render the .txt files

One lab session (namespace ``bwlab-<pid>``, ``bootwright serve`` with
``examples/quickstart.toml``), one VM at a time. For each VM, ``tcpdump``
runs *inside the namespace* on that VM's tap (``bwtapN``: only the lab's
bridge port, never a real interface) while the VM boots. Of what it saw, only
the client's DHCP packets of the scenario's family are kept — UDP to port 67
or 4011 (DHCPv4), 547 (DHCPv6), sent from the VM's MAC — and written, per
client, to ``tests/data/<client>-v<family>.pcap``:

* ``seabios-ipxe``: the iPXE option ROM under SeaBIOS (``bios4``/``bios6``);
* ``ovmf-pxe``, ``ovmf-http``: OVMF's own UEFI PXE and UEFI HTTP boot clients;
* ``ipxe-efi``: the ``ipxe.efi`` that UEFI PXE / HTTP boot loads (recognised
  by its user class ``iPXE``, DHCPv4 option 77 or DHCPv6 option 15).

At most :data:`PER_FILE` packets are kept per file (the first ones), so
retransmissions do not bloat the files. Capture all scenarios in one run: the
golden test replays each family's files through one engine in capture order. The namespace, servers, VM and
tcpdump are stopped by the lab session / by their process id.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from bootwright.lab import scenarios
from bootwright.lab.options import LabOptions
from bootwright.lab.session import LabSession
from bootwright.wire import dhcp4, dhcp6

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository, for the test module's packet parser
from tests.unit.wire.test_golden import udp_datagram  # noqa: E402

SERVER_PORTS4 = (67, 4011)
SERVER_PORT6 = 547
PER_FILE = 8
Records = list[tuple[bytes, bytes]]  # (pcap record header, frame)
Captures = dict[str, tuple[bytes, Records]]  # file stem → (pcap global header, records)
TEST = "tests/unit/wire/test_golden.py"
BPF = "udp and (port 67 or port 68 or port 546 or port 547 or port 4011)"


def read_pcap(path: Path) -> tuple[bytes, Records]:
    """The global header and (record header, frame) pairs of a classic pcap file."""
    data = path.read_bytes()
    header, records, i = data[:24], [], 24
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    while i + 16 <= len(data):
        incl = struct.unpack_from(endian + "I", data, i + 8)[0]
        records.append((data[i : i + 16], data[i + 16 : i + 16 + incl]))
        i += 16 + incl
    return header, records


def client_payload(frame: bytes, mac: str, family: int) -> bytes | None:
    """The UDP payload of a client → server DHCP packet of ``family`` from ``mac``, else None."""
    try:
        d = udp_datagram(0.0, frame)
    except (ValueError, IndexError, struct.error):
        return None
    ports = SERVER_PORTS4 if family == 4 else (SERVER_PORT6,)
    return d.payload if d.mac == mac and d.family == family and d.dport in ports else None


def client_kind(firmware: str, family: int, payload: bytes) -> str:
    """Which client sent ``payload``: the file stem without the family."""
    if firmware == "bios":
        return "seabios-ipxe"
    ipxe = 77 in dhcp4.decode(payload).options if family == 4 else bool(dhcp6.decode(payload).find(15))
    return "ipxe-efi" if ipxe else ("ovmf-http" if firmware == "efihttp" else "ovmf-pxe")


def split(raw: Path, scenario: scenarios.Scenario, out: Captures) -> None:
    """Add the client's DHCP packets of ``raw`` to ``out`` (file stem → header, records)."""
    header, records = read_pcap(raw)
    for rec, frame in records:
        payload = client_payload(frame, scenario.mac, scenario.family)
        if payload is None:
            continue
        stem = f"{client_kind(scenario.firmware, scenario.family, payload)}-v{scenario.family}"
        kept = out.setdefault(stem, (header, []))[1]
        if len(kept) < PER_FILE:
            kept.append((rec, frame))


def write_pcap(path: Path, header: bytes, records: Records) -> None:
    """A classic pcap file: the global header, then each record header and frame."""
    path.write_bytes(header + b"".join(rec + frame for rec, frame in records))


async def capture(names: list[str], reference: bool, timeout: float) -> Captures:
    chosen = [scenarios.by_name(n) for n in names]
    options = LabOptions(scenarios=chosen, reference=reference, live=False, timeout=timeout, parallel=1)
    out: Captures = {}
    async with LabSession(options, Console(width=160, force_terminal=False)) as lab:
        assert lab.ns is not None and lab.work is not None
        for scenario in chosen:
            vm = lab.vm(scenario)
            raw = lab.work / f"{scenario.name}.raw.pcap"
            dump_args = ["-i", vm.tap, "-n", "-U", "-s", "0", "-Z", "root", "-w", str(raw), BPF]
            cmd = [*lab.ns.exec_prefix(), "tcpdump", *dump_args]
            dump = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                assert dump.stderr is not None
                line = dump.stderr.readline().decode()  # "listening on bwtapN, …" once it captures
                if "listening" not in line:
                    raise SystemExit(f"tcpdump did not start: {line.strip()}")
                await lab.boot([vm])
                await asyncio.sleep(1.0)
            finally:
                dump.send_signal(signal.SIGINT)  # tcpdump flushes and exits
                try:
                    dump.wait(10)
                except subprocess.TimeoutExpired:
                    dump.kill()
                    dump.wait()
            split(raw, scenario, out)
            print(f"{scenario.name}: {vm.timeline.outcome}; files so far: {sorted(out)}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=[s.name for s in scenarios.ALL])
    parser.add_argument("--reference", action="store_true", help="serve with the lab's dnsmasq reference stack")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per VM")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("capture.py needs root (the lab makes a network namespace and taps)", file=sys.stderr)
        return 3
    started = time.monotonic()
    out = asyncio.run(capture(args.scenarios, args.reference, args.timeout))
    for stem, (header, records) in sorted(out.items()):
        write_pcap(args.out / f"{stem}.pcap", header, records)
        print(f"{args.out / stem}.pcap: {len(records)} packet(s)")
    print(f"done in {time.monotonic() - started:.0f} s; then: UPDATE_GOLDEN=1 .venv/bin/pytest -q {TEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
