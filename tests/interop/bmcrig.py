"""What the BMC simulator tests share (``test_bmc_sims.py``, ``test_power.py``): free ports, bounded waits."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SUSHY_EMULATOR = Path(sys.executable).parent / "sushy-emulator"


def free_ports(count: int, kind: int = socket.SOCK_DGRAM) -> list[int]:
    """``count`` distinct ports on 127.0.0.1 the kernel says are free (held open together, then released)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``check`` until it returns something true, bounded by ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)
