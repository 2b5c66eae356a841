"""An empty root still boots: real clients fetch Debian's iPXE through ``bootwright serve`` in network namespaces.

The server namespace runs ``bootwright serve`` (TFTP and HTTP only) on an
empty root with the default ``[boot] ipxe_dir`` — the machine's real
``/usr/lib/ipxe`` from Debian's ``ipxe`` package, where ``ipxe.efi`` is a
symlink to ``/boot/ipxe.efi``. tftp-hpa and curl in the client namespace get
the exact bytes of the packaged ``undionly.kpxe`` and ``ipxe.efi`` over TFTP
(IPv4 and IPv6) and of ``ipxe.efi`` over HTTP (what UEFI HTTP boot fetches),
and the server's log names the packaged file each transfer came from.
``bootwright check --root`` on the same root says so too.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from netns import BOOTWRIGHT, NO_DHCP_CONFIG, NetnsPair, require_module, start_bootwright

pytestmark = pytest.mark.interop

PACKAGE = Path("/usr/lib/ipxe")
require_module(["tftp", "curl"])
if not (PACKAGE / "ipxe.efi").is_file() or not (PACKAGE / "undionly.kpxe").is_file():
    pytest.skip("Debian's ipxe package is not installed (run scripts/setup.sh)", allow_module_level=True)

CONFIG = NO_DHCP_CONFIG + """
[tftp]
timeout = 1
[http]
port = 80
"""


@dataclass
class Served:
    """The running server, its empty root and its log."""

    link: NetnsPair
    root: Path
    out: Path
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("empty-root")
    root, out, state = base / "root", base / "out", base / "state"
    for d in (root, out, state):
        d.mkdir()
    config = base / "bootwright.toml"
    config.write_text(CONFIG)
    log = base / "serve.log"
    with NetnsPair("empty") as link:
        start_bootwright(link, config, root, state, log, ready=("tftp ready", "http ready"))
        yield Served(link, root, out, log)


def fetched(served: Served, cmd: list[str], dest: Path) -> bytes:
    result = served.link.run_client(cmd, timeout=60, text=True)
    assert result.returncode == 0 and dest.exists(), result.stdout + result.stderr
    data = dest.read_bytes()
    dest.unlink()
    return data


def logged(served: Served, pattern: str) -> bool:
    """Whether a log line matches: events are written after the transfer ends, so wait a little."""
    for _ in range(50):
        if re.search(pattern, served.log.read_text(errors="replace")):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("name", ["undionly.kpxe", "ipxe.efi"])
def test_tftp_hpa_gets_the_packaged_program_from_an_empty_root(served: Served, name: str) -> None:
    assert not list(served.root.iterdir())
    dest = served.out / f"hpa-{name}"
    cmd = ["tftp", "-4", "-m", "binary", served.link.server_addr4, "-c", "get", name, str(dest)]
    assert fetched(served, cmd, dest) == (PACKAGE / name).read_bytes()
    assert logged(served, rf"tftp\.done .*file={re.escape(name)} .*source={re.escape(str(PACKAGE / name))}")


def test_curl_gets_ipxe_efi_over_tftp_on_ipv6(served: Served) -> None:
    dest = served.out / "curl-tftp6"
    cmd = ["curl", "-sS", "-g", "--max-time", "30", "-o", str(dest), f"tftp://[{served.link.server_addr6}]/ipxe.efi"]
    assert fetched(served, cmd, dest) == (PACKAGE / "ipxe.efi").read_bytes()


def test_curl_gets_ipxe_efi_over_http_like_uefi_http_boot(served: Served) -> None:
    dest = served.out / "curl-http"
    head = served.link.run_client(["curl", "-sS", "-I", f"http://{served.link.server_addr4}/ipxe.efi"], text=True)
    size = (PACKAGE / "ipxe.efi").stat().st_size
    assert head.stdout.startswith("HTTP/1.1 200") and re.search(rf"(?im)^content-length: {size}\r?$", head.stdout)
    cmd = ["curl", "-sS", "--max-time", "30", "-o", str(dest), f"http://{served.link.server_addr4}/ipxe.efi"]
    assert fetched(served, cmd, dest) == (PACKAGE / "ipxe.efi").read_bytes()
    assert logged(served, rf"http\.download_complete .*path=/ipxe\.efi .*source={re.escape(str(PACKAGE))}/ipxe\.efi")


def test_other_names_stay_out_of_the_package(served: Served) -> None:
    for url in (f"http://{served.link.server_addr4}/ipxe.iso", f"http://{served.link.server_addr4}/x/ipxe.efi"):
        got = served.link.run_client(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url], text=True)
        assert got.stdout == "404", url
    result = served.link.run_client(["tftp", "-4", "-m", "binary", served.link.server_addr4, "-c", "get",
                                     "../../usr/lib/ipxe/ipxe.efi", str(served.out / "x")], text=True)  # fmt: skip
    assert re.search(r"Error code 2", result.stdout + result.stderr)


def test_check_names_the_packaged_files(served: Served, tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(CONFIG)
    result = subprocess.run(
        [str(BOOTWRIGHT), "check", "-c", str(config), "--root", str(served.root), "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    out = re.sub(r"\s+", " ", result.stdout)
    assert result.returncode == 0 and "cannot boot" not in result.stderr, result.stderr
    assert "undionly.kpxe /usr/lib/ipxe/undionly.kpxe x86 BIOS (0)" in out
    assert "ipxe.efi /usr/lib/ipxe/ipxe.efi x64 UEFI (7, 9), x64 UEFI HTTP (16)" in out
