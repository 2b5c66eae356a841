"""Start N TFTP client processes at once, wait for all (bounded), print one JSON line.

Run inside the client namespace by ``bench/tftp_bench.py``; stdlib only.
``{N}`` in the command is replaced by the client's index (output file names)::

    python3 tftp_fanout.py --count 200 --timeout 60 -- atftp -g -r f1 -l /dev/shm/x/out-{N} 198.51.100.1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time


def main() -> None:
    """Parse arguments, run the clients, report ``elapsed``, ``ok`` and ``failed``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"]
    start = time.monotonic()
    procs = [
        subprocess.Popen(
            [part.replace("{N}", str(i)) for part in command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(args.count)
    ]
    deadline = start + args.timeout
    codes: list[int | None] = []
    for proc in procs:
        try:
            codes.append(proc.wait(max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            codes.append(None)
    elapsed = time.monotonic() - start
    ok = sum(1 for c in codes if c == 0)
    print(json.dumps({"elapsed": elapsed, "ok": ok, "failed": len(codes) - ok}))


if __name__ == "__main__":
    main()
