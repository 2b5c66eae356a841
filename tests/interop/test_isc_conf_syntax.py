"""The importer's own test configs are real dhcpd syntax: ``dhcpd -t`` / ``dhcpd -6 -t`` accept them.

So every construct ``tests/unit/migrate/test_isc_conf.py`` translates is one
ISC dhcpd 4.4 parses. ``-t`` only reads the file (no sockets, no leases).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DHCPD = shutil.which("dhcpd") or "/usr/sbin/dhcpd"
OWN = Path(__file__).parents[1] / "data" / "migrate" / "own"

pytestmark = pytest.mark.skipif(not Path(DHCPD).exists(), reason="isc-dhcp-server is not installed")


@pytest.mark.parametrize(("name", "flag"), [("dhcpd.conf", "-4"), ("dhcpd6.conf", "-6")])
def test_dhcpd_accepts_the_own_configs(name: str, flag: str, tmp_path: Path) -> None:
    # dhcpd opens include files relative to its working directory: run it beside them.
    result = subprocess.run(
        [DHCPD, flag, "-t", "-cf", str(OWN / name), "-lf", str(tmp_path / "leases"), "-pf", str(tmp_path / "pid")],
        cwd=OWN,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
