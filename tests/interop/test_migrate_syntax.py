"""The importers' test inputs are real configuration: each daemon's own checker accepts them.

The files under tests/data/migrate (the seeds' radvd.conf and BIRD radv
verbatim, and own dnsmasq.conf, kea-dhcp4.conf and kea-dhcp6.conf covering every
construct the importers read) are checked with the real tools — ``radvd -c -C``,
``bird -p -c``, ``dnsmasq --test -C``, ``kea-dhcp4 -t``, ``kea-dhcp6 -t`` — so the
unit tests in tests/unit/migrate translate what those daemons really run. Kea
checks that the interfaces it names exist, so every checker runs in a network
namespace of its own with an ``eth1`` (one end of a veth pair), which also keeps
anything they might look up off the machine. A broken file is refused by the same
checkers: they are not checkers that accept anything.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import REPO, require_module

pytestmark = pytest.mark.interop

require_module(("radvd", "bird", "dnsmasq", "kea-dhcp4", "kea-dhcp6"))

DATA = REPO / "tests" / "data" / "migrate"
CHECKERS = {
    "radvd.conf": ["radvd", "-c", "-C"],
    "bird.conf": ["bird", "-p", "-c"],
    "dnsmasq.conf": ["dnsmasq", "--test", "-C"],
    "kea-dhcp4.conf": ["kea-dhcp4", "-t"],
    "kea-dhcp6.conf": ["kea-dhcp6", "-t"],
}
FILES = sorted(p for p in DATA.glob("*/*") if p.name in CHECKERS)


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    name = f"bwmig{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"], check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "eth1", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def check(netns: str, path: Path) -> subprocess.CompletedProcess[str]:
    """The daemon's own syntax check of ``path``, run next to it (includes are relative) in ``netns``."""
    return subprocess.run(
        ["ip", "netns", "exec", netns, *CHECKERS[path.name], str(path)],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_inputs_are_all_there() -> None:
    assert {str(p.relative_to(DATA)) for p in FILES} >= {
        "seed000/bird.conf",
        "seed001/radvd.conf",
        "own/radvd.conf",
        "own/bird.conf",
        "own/dnsmasq.conf",
        "own/kea-dhcp4.conf",
        "own/kea-dhcp6.conf",
    }


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(DATA)) for p in FILES])
def test_the_daemon_accepts_it(netns: str, path: Path) -> None:
    result = check(netns, path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "broken"),
    [
        ("radvd.conf", "interface eth1 {\n AdvSendAdvert on\n};\n"),
        ("bird.conf", 'protocol radv {\n interface "eth1" { managed maybe; };\n}\n'),
        ("dnsmasq.conf", "dhcp-range=192.0.2.10\n"),
        ("kea-dhcp4.conf", '{ "Dhcp4": { "subnet4": [ { "subnet": "192.0.2.0/33" } ] } }\n'),
        ("kea-dhcp6.conf", '{ "Dhcp6": { "valid-lifetime": "soon" } }\n'),
    ],
)
def test_the_checkers_refuse_a_broken_file(netns: str, tmp_path: Path, name: str, broken: str) -> None:
    path = tmp_path / name
    path.write_text(broken)
    assert check(netns, path).returncode != 0
