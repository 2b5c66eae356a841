"""The BIND zones ``bootwright hosts export`` writes load in BIND: the real ``named-checkzone`` says so.

Seed 003 keeps one table of hosts and generates dhcpd include files and DNS
zones from it. Here that table is imported the way the seed writes it (its
``home.4.dhcp.inc`` host blocks) plus a CSV with IPv6 addresses, against
``examples/seed003-home-lab.toml``, and every zone is exported with the
``bootwright hosts`` commands (in process: 12 runs of the command as
processes cost 15 s of start-up) and checked with Debian's ``named-checkzone``
(bind9-utils): the forward zone, the ``in-addr.arpa`` zone and the nibble
``ip6.arpa`` zone, with the name server taken from the config (server.address4)
and given with ``--ns``. A zone whose in-zone name server has no address — what
the export wrote before — is refused by the same checker, so it is not a
checker that accepts anything. ``named-checkzone`` runs in a network namespace
of its own (``unshare -n``): nothing it might look up leaves the machine.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import REPO, require_module
from typer.testing import CliRunner

from bootwright.cli.main import app

pytestmark = pytest.mark.interop

require_module(("named-checkzone", "unshare"))

CONFIG = REPO / "examples" / "seed003-home-lab.toml"
DOMAIN = "home.kraxel.org"

# More of /etc/dhcp/home.4.dhcp.inc as seed 003's script generates it (the example config holds its
# photosmart), and a table of dual-stack hosts.
SEED003_INC = """\
host nas {
        hardware ethernet 52:54:00:aa:bb:01;
        fixed-address 192.168.2.14;
}
host pi3 {
        hardware ethernet b8:27:eb:00:00:03;
        fixed-address 192.168.2.108;
}
"""
DUAL_CSV = """\
name,mac,ipv4,ipv6
xeni,52:54:00:00:00:0b,192.168.2.60,2001:db8::60
v6box,52:54:00:00:00:0c,,2001:db8::c
"""


def _bootwright(state: Path, *args: str) -> str:
    done = CliRunner().invoke(app, [*args, "--config", str(CONFIG), "--state-dir", str(state)])
    assert done.exit_code == 0, done.stderr
    return done.stdout


def _checkzone(origin: str, zone: Path) -> subprocess.CompletedProcess[str]:
    checker = shutil.which("named-checkzone")
    assert checker is not None
    return subprocess.run(
        ["unshare", "-n", checker, origin, str(zone)], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("zones")
    inc, csv = base / "home.4.dhcp.inc", base / "dual.csv"
    inc.write_text(SEED003_INC)
    csv.write_text(DUAL_CSV)
    state = base / "state"
    state.mkdir()
    _bootwright(state, "hosts", "import", str(inc))
    _bootwright(state, "hosts", "import", str(csv))
    yield state


@pytest.mark.parametrize(
    ("fmt", "network", "origin"),
    [
        ("bind-forward", None, DOMAIN),
        ("bind-reverse", "192.168.2.0/24", "2.168.192.in-addr.arpa"),
        ("bind-reverse", "2001:db8::/64", "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
    ],
)
@pytest.mark.parametrize(
    "ns",
    [[], ["--ns", "dns=192.168.2.10,2001:db8::10"], ["--ns", "ns1.example.net.", "--ns", "nas"]],
    ids=["config", "in-zone", "outside+host"],
)
def test_exported_zone_loads(state: Path, tmp_path: Path, fmt: str, network: str | None, origin: str,
                             ns: list[str]) -> None:  # fmt: skip
    args = ["hosts", "export", "--format", fmt, *ns, *(["--network", network] if network else [])]
    text = _bootwright(state, *args)
    zone = tmp_path / f"{origin}.zone"
    zone.write_text(text)
    done = _checkzone(origin, zone)
    assert done.returncode == 0, f"{done.stdout}{done.stderr}\n{text}"
    assert f"zone {origin}/IN: loaded serial" in done.stdout
    if fmt == "bind-forward":
        assert "v6box\tIN\tAAAA\t2001:db8::c" in text and "photosmart\tIN\tA\t192.168.2.53" in text
        if not ns:  # the config's server.address4 names the name server's address
            assert "ns\tIN\tA\t192.168.2.10" in text
    else:
        assert text.count("\tPTR\t") == (4 if "in-addr" in origin else 2)


def test_checker_refuses_a_name_server_without_an_address(state: Path, tmp_path: Path) -> None:
    text = _bootwright(state, "hosts", "export", "--format", "bind-forward")
    broken = tmp_path / "broken.zone"
    broken.write_text("\n".join(line for line in text.splitlines() if not line.startswith("ns\t")) + "\n")
    done = _checkzone(DOMAIN, broken)
    assert done.returncode != 0 and "has no address records" in done.stdout
