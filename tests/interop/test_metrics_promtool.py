"""``promtool check metrics`` (Debian ``prometheus``) on what ``/metrics`` really serves.

Two outputs are checked, both with no lint warning allowed: the exposition of a
``bootwright serve`` process (HTTP only, on 127.0.0.1 and a free port: DHCP,
TFTP and RA are off, so nothing binds anywhere else), fetched with urllib; and
the exposition of a runtime whose engines were driven in this process, so that
every family carries samples (pools, per-interface RA counters, histogram
observations) — a server without DHCP has none of those to show.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from types import SimpleNamespace

import pytest
from netns import BOOTWRIGHT, loopback_http_config, start_bootwright, stop_process
from prometheus_client import generate_latest

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.engine.dhcp6.server import Dhcp6Engine, Received
from bootwright.engine.ra import RouterAdvertiser, RsContext, ra_settings
from bootwright.model import EventKind
from bootwright.net.dhcp4 import Dhcp4Service
from bootwright.net.dhcp6 import Dhcp6Service
from bootwright.net.hooks import HookService
from bootwright.net.ra import RaService
from bootwright.net.tftp.service import TftpService
from bootwright.runtime import Runtime
from bootwright.runtime.events import EventSink
from bootwright.web.metrics import metrics_registry
from bootwright.wire.dhcp4 import Dhcp4Message
from bootwright.wire.dhcp4 import encode as encode4
from bootwright.wire.dhcp6 import ClientId, Dhcp6Message, DuidLL, IaNa, MessageType

pytestmark = pytest.mark.interop

PROMTOOL = shutil.which("promtool")

if PROMTOOL is None:
    pytest.skip("promtool is not installed (Debian package prometheus; scripts/setup.sh installs it)",
                allow_module_level=True)  # fmt: skip


def promtool_check(exposition: bytes) -> None:
    """promtool's parser and linter accept it: exit 0 and nothing printed (a lint warning exits 3)."""
    assert PROMTOOL is not None
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=exposition, capture_output=True, timeout=30)
    report = (proc.stdout + proc.stderr).decode(errors="replace").strip()
    assert proc.returncode == 0 and not report, f"promtool check metrics exited {proc.returncode}:\n{report}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``bootwright serve`` with HTTP on 127.0.0.1 only; yields its base URL."""
    if not BOOTWRIGHT.exists():
        pytest.skip(f"{BOOTWRIGHT} is missing (run scripts/setup.sh)")
    tmp = tmp_path_factory.mktemp("metrics-promtool")
    config, port = loopback_http_config(tmp, '\n[boot]\ndefault = "local"\n\n[targets.local]\nexit = true\n')
    root = tmp / "root"
    (root / "ipxe.efi").write_bytes(b"MZ" + bytes(4094))
    proc = start_bootwright(None, config, root, tmp / "state", tmp / "serve.log", ready=("http ready",))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc, grace=10)


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def test_promtool_accepts_what_serve_exposes(server: str) -> None:
    assert fetch(f"{server}/ipxe.efi")[0] == 200
    assert fetch(f"{server}/boot.ipxe")[0] == 200
    assert fetch(f"{server}/missing.efi")[0] == 404
    assert fetch(f"{server}/metrics")[0] == 200
    time.sleep(0.2)  # the scrape's own event is emitted after its response
    status, ctype, body = fetch(f"{server}/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    text = body.decode()
    assert 'bootwright_service_ready{service="http"} 1.0' in text
    assert 'bootwright_http_requests_total{kind="file",status="404"} 1.0' in text
    assert 'bootwright_http_requests_total{kind="metrics",status="200"} 1.0' in text
    assert "process_cpu_seconds_total" in text
    promtool_check(body)


def test_promtool_accepts_every_family_with_samples(tmp_path: Path) -> None:
    """Engines driven in-process, so pools, RA interfaces and histograms all have samples to lint."""
    config = parse_config("""
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[[subnet6]]
prefix = "2001:db8::/64"
interface = "eth0"
pools = ["2001:db8::100-2001:db8::1ff"]
ra = { managed = true }
""")  # fmt: skip
    rt = Runtime(config, tmp_path / "site.toml", tmp_path, tmp_path, None, EventSink(), BootPolicy.from_config(config))  # type: ignore[arg-type]
    now = time.time()
    v4 = Dhcp4Service(rt)
    engine4 = v4.engine = Dhcp4Engine(rt.policy)
    rt.metrics.add_source("dhcp4", v4.reading)
    discover = encode4(Dhcp4Message(op=1, xid=1, chaddr=bytes.fromhex("525400000007"), options={53: b"\x01"}))
    out = engine4.handle(discover, RxContext("eth0", (IPv4Address("192.0.2.1"),), 1500, True), now)
    assert out is not None
    v6 = Dhcp6Service(rt)
    engine6 = v6.engine = Dhcp6Engine(rt.policy, bytes.fromhex("000300010200000000fe"), {"eth0": rt.config.subnet6[0]})
    rt.metrics.add_source("dhcp6", v6.reading)
    solicit = Dhcp6Message(MessageType.SOLICIT, 1, (ClientId(DuidLL(1, bytes.fromhex("525400000007"))), IaNa(1)))
    engine6.handle(solicit.encode(), Received(IPv6Address("fe80::7"), "eth0", True), now)
    ra = RaService(rt)
    adv = RouterAdvertiser(ra_settings(rt.config, rt.config.subnet6), lambda: 0.5)
    adv.handle(b"\x85\x00\x00\x00\x00\x00\x00\x00", RsContext(IPv6Address("fe80::7"), 255), now)
    ra.links["eth0"] = SimpleNamespace(adv=adv)  # what reading() looks at
    rt.metrics.add_source("ra", ra.reading)
    rt.metrics.add_source("tftp", TftpService(rt).reading)
    rt.metrics.add_source("hooks", HookService(rt).reading)
    emit = rt.events.emit
    mac = "52:54:00:00:00:07"
    for offset, kind, detail in (
        (0.0, EventKind.DHCP4_OFFER, {"yiaddr": "192.0.2.100", "bootfile": "ipxe.efi"}),
        (0.4, EventKind.DHCP4_ACK, {"yiaddr": "192.0.2.100", "bootfile": "ipxe.efi", "state": "selecting"}),
        (1.0, EventKind.TFTP_DONE, {"file": "ipxe.efi", "size": 4096, "outcome": "complete"}),
        (2.0, EventKind.HTTP_REQUEST, {"path": "/boot/x.ipxe", "status": 200, "bytes": 99, "script": "linux"}),
        (6.0, EventKind.HTTP_DOWNLOAD_COMPLETE, {"path": "/vmlinuz", "bytes": 9000}),
        (9.0, EventKind.HTTP_DOWNLOAD_COMPLETE, {"path": "/initrd.img", "bytes": 9000}),
    ):
        rt.events.clock = lambda offset=offset: now + offset  # type: ignore[misc]
        emit(kind, mac, **detail)
    emit(EventKind.TFTP_FAILED, mac, file="x", outcome="client error: disk full", write=True)
    emit(EventKind.CONFIG_RELOAD_FAILED, error="bad")
    body = generate_latest(metrics_registry(rt))
    text = body.decode()
    assert 'bootwright_dhcp_pool_used_addresses{family="6",subnet="2001:db8::/64"} 1.0' in text
    assert 'bootwright_ra_solicitations_received_total{interface="eth0"} 1.0' in text
    assert 'bootwright_boot_duration_seconds_bucket{le="10.0"} 1.0' in text
    promtool_check(body)
