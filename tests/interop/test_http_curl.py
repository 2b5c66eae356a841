"""curl against ``bootwright serve`` over a veth pair between two network namespaces.

The server namespace holds 192.0.2.1/24 and 2001:db8::1/64, the client one
192.0.2.10/24 and 2001:db8::10/64 with the MAC of a configured host; only the
HTTP service is enabled. Everything is named ``bwt-http-<pid>-…`` and removed
afterwards, also when a test fails.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from netns import NetnsPair, require_module, start_bootwright

pytestmark = pytest.mark.interop

CLIENT_MAC = "02:00:00:00:00:0a"
PORT = 8080

require_module(("curl",))


CONFIG = f"""
[server]
address4 = "192.0.2.1"
address6 = "2001:db8::1"

[[subnet4]]
subnet = "192.0.2.0/24"

[[subnet6]]
prefix = "2001:db8::/64"

[dhcp4]
enabled = false

[dhcp6]
enabled = false

[tftp]
enabled = false

[http]
port = {PORT}
scripts = {{ "script.ipxe" = "menu" }}
aliases = {{ "/tftpboot/" = "" }}  # seed 003: Alias "/tftpboot" "/var/lib/tftpboot" (the root)

[boot]
default = "linux"

[targets.linux]
kernel = "{{{{ http }}}}/vmlinuz"
initrd = "{{{{ http }}}}/initrd.img"
cmdline = "console=ttyS0"

[targets.local]
exit = true

[menus.menu]
items = [{{ target = "linux" }}, {{ target = "local" }}]

[[host]]
name = "client"
mac = "{CLIENT_MAC}"
target = "linux"
"""


class Lab:
    """The two namespaces, the running server and a way to run curl in the client namespace."""

    def __init__(self, link: NetnsPair, root: Path, log: Path, server: subprocess.Popen[bytes]) -> None:
        self.link = link
        self.root = root
        self.log = log
        self.server = server

    def curl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        proc = self.link.run_client(["curl", "-sS", "--max-time", "20", *args], timeout=30)
        if check and proc.returncode != 0:
            raise AssertionError(f"curl {' '.join(args)} failed: {proc.stderr.decode()}")
        return proc

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("http-interop")
    root = tmp / "root"
    root.mkdir()
    (root / "vmlinuz").write_bytes(os.urandom(5 * 1024 * 1024 + 123))
    (root / "initrd.img").write_bytes(os.urandom(1024 * 1024))
    (root / "ipxe.efi").write_bytes(b"MZ" + os.urandom(4094))
    (root / "pxelinux.0").write_bytes(os.urandom(42 * 1024))
    (tmp / "secret").write_text("secret")
    config = tmp / "bootwright.toml"
    config.write_text(CONFIG)
    log = tmp / "serve.log"
    with NetnsPair("http", client4="192.0.2.10/24", client6="2001:db8::10/64", client_mac=CLIENT_MAC) as link:
        server = start_bootwright(link, config, root, tmp / "state", log, ready=("http ready",), timeout=20)
        yield Lab(link, root, log, server)


def url4(path: str) -> str:
    return f"http://192.0.2.1:{PORT}{path}"


def url6(path: str) -> str:
    return f"http://[2001:db8::1]:{PORT}{path}"


@pytest.mark.parametrize("url", [url4, url6], ids=["ipv4", "ipv6"])
def test_whole_file_over_both_families(lab: Lab, url: Callable[[str], str]) -> None:
    data = lab.curl("-g", url("/vmlinuz")).stdout
    assert hashlib.sha256(data).digest() == hashlib.sha256((lab.root / "vmlinuz").read_bytes()).digest()


@pytest.mark.parametrize("url", [url4, url6], ids=["ipv4", "ipv6"])
def test_seed003_tftpboot_alias(lab: Lab, url: Callable[[str], str]) -> None:
    data = lab.curl("-g", url("/tftpboot/pxelinux.0")).stdout  # what seed 003's dhcpd hands iPXE
    assert data == (lab.root / "pxelinux.0").read_bytes()


@pytest.mark.parametrize("url", [url4, url6], ids=["ipv4", "ipv6"])
def test_head_like_uefi_http_boot(lab: Lab, url: Callable[[str], str]) -> None:
    head = lab.curl("-g", "-I", url("/ipxe.efi")).stdout.decode()
    assert head.startswith("HTTP/1.1 200")
    assert re.search(r"(?im)^content-length: 4096\r?$", head)
    assert re.search(r"(?im)^content-type: application/efi\r?$", head)
    assert re.search(r"(?im)^accept-ranges: bytes\r?$", head)


@pytest.mark.parametrize("url", [url4, url6], ids=["ipv4", "ipv6"])
def test_single_and_multiple_ranges(lab: Lab, url: Callable[[str], str]) -> None:
    kernel = (lab.root / "vmlinuz").read_bytes()
    part = lab.curl("-g", "-r", "1000-1999", url("/vmlinuz")).stdout
    assert part == kernel[1000:2000]
    tail = lab.curl("-g", "-r", "-77", url("/vmlinuz")).stdout
    assert tail == kernel[-77:]
    proc = lab.curl("-g", "-i", "-r", "0-9,4000000-4000009", url("/vmlinuz"))
    head, _, body = proc.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206")
    assert b"multipart/byteranges; boundary=" in head
    assert kernel[:10] in body and kernel[4000000:4000010] in body


def test_range_past_the_end_is_416(lab: Lab) -> None:
    proc = lab.curl("-o", "/dev/null", "-w", "%{http_code}", "-r", "99999999-", url4("/vmlinuz"))
    assert proc.stdout == b"416"


def test_conditional_get_is_304(lab: Lab) -> None:
    head = lab.curl("-I", url4("/initrd.img")).stdout.decode()
    match = re.search(r'(?im)^etag: ("[^"]+")', head)
    assert match is not None
    proc = lab.curl(
        "-o", "/dev/null", "-w", "%{http_code}", "-H", f"If-None-Match: {match.group(1)}", url4("/initrd.img")
    )
    assert proc.stdout == b"304"


@pytest.mark.parametrize("path", ["/../secret", "/%2e%2e/secret", "/a/..%2f..%2fsecret"])
def test_traversal_is_refused(lab: Lab, path: str) -> None:
    proc = lab.curl("--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", url4(path))
    assert proc.stdout == b"400"


def test_scripts_over_ipv4_and_ipv6(lab: Lab) -> None:
    entry = lab.curl(url4("/boot.ipxe")).stdout.decode()
    assert f"chain --autofree http://192.0.2.1:{PORT}/boot/${{netX/mac:hexhyp}}.ipxe?" in entry
    mac = CLIENT_MAC.replace(":", "-")
    script = lab.curl("-g", url6(f"/boot/{mac}.ipxe?platform=efi&buildarch=x86_64")).stdout.decode()
    assert f"# bootwright: linux for {CLIENT_MAC} (client)" in script
    assert f"kernel http://[2001:db8::1]:{PORT}/vmlinuz initrd=initrd.img console=ttyS0" in script
    unknown = lab.curl(url4("/boot/02-00-00-00-00-99.ipxe")).stdout.decode()
    assert unknown.startswith("#!ipxe\n") and "linux for 02:00:00:00:00:99" in unknown
    menu = lab.curl(url4("/script.ipxe")).stdout.decode()
    assert menu.startswith("#!ipxe\n") and "choose" in menu


def test_events_name_the_client_mac_from_the_neighbour_tables(lab: Lab) -> None:
    lab.curl("-o", "/dev/null", url4("/initrd.img"))
    lab.curl("-g", "-o", "/dev/null", url6("/initrd.img"))
    deadline = time.monotonic() + 10
    pattern = re.compile(rf"http\.download_complete mac={CLIENT_MAC} host=client path=/initrd\.img .*client=(\S+)")
    while time.monotonic() < deadline:
        clients = set(pattern.findall(lab.log_text()))
        if {"192.0.2.10", "2001:db8::10"} <= clients:
            break
        if "192.0.2.10" in clients:  # the IPv6 neighbour table is read in the background: ask again
            lab.curl("-g", "-o", "/dev/null", url6("/initrd.img"))
        time.sleep(0.5)
    assert {"192.0.2.10", "2001:db8::10"} <= set(pattern.findall(lab.log_text())), lab.log_text()[-3000:]
