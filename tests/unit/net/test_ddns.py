"""The DNS update service's queue (net/ddns.py): coalescing, ordering, retries, hosts, never on the DHCP path.

The UPDATEs themselves are checked on the wire in tests/unit/inventory/test_ddns.py and against BIND in
tests/interop/test_ddns_bind.py; here the sending is replaced by a script of rcodes.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import dns.exception
import pytest
from dns.rcode import Rcode

from bootwright.boot.policy import BootPolicy
from bootwright.inventory.ddns import Step
from bootwright.model import Host, Lease, LeaseState
from bootwright.net.ddns import DdnsService, create_service
from bootwright.runtime import Runtime, ServiceError
from tests import helpers

CONFIG = """
[[subnet4]]
subnet = "192.0.2.0/24"
[ddns]
enabled = true
server = "192.0.2.53"
forward_zone = "lab.example."
key_name = "bootwright."
key_secret_env = "BW_TEST_DDNS"
retries = 2
"""
MAC = "52:54:00:00:00:01"


def _lease(address: str, name: str | None, state: LeaseState = LeaseState.BOUND, mac: str = MAC) -> Lease:
    return Lease(4, address, b"\x01" + bytes.fromhex(mac.replace(":", "")), mac, 2e9, name, state)


class Script:
    """Stands in for the network: records each step, answers from a list of rcodes (or raises)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.answers: list[Rcode | Exception] = []

    async def __call__(self, step: Step) -> Rcode:
        self.sent.append(step.what)
        answer = self.answers.pop(0) if self.answers else Rcode.NOERROR
        if isinstance(answer, Exception):
            raise answer
        return answer


def _service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[DdnsService, Script, Runtime]:
    monkeypatch.setenv("BW_TEST_DDNS", base64.b64encode(b"secret").decode())
    runtime = helpers.make_runtime(tmp_path, CONFIG)
    service = create_service(runtime)
    assert service is not None
    script = Script()
    service._send = script  # type: ignore[method-assign]
    service._follow_hosts()
    return service, script, runtime


def _drain(service: DdnsService) -> None:
    async def run() -> None:
        while (key := service._next()) is not None:
            await service._sync(key)

    asyncio.run(run())


def test_a_lease_is_sent_once_however_often_it_changed_and_a_renewal_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, script, _ = _service(tmp_path, monkeypatch)
    service.on_leases([_lease("192.0.2.10", "web1")])
    service.on_leases([_lease("192.0.2.10", "web1", LeaseState.RELEASED)])
    service.on_leases([_lease("192.0.2.10", "web1")])
    _drain(service)
    assert script.sent == ["A/AAAA of web1.lab.example.", "PTR 10.2.0.192.in-addr.arpa."]  # forward first
    script.sent.clear()
    service.on_leases([_lease("192.0.2.10", "web1")])  # a renewal
    _drain(service)
    assert script.sent == []
    service.on_leases([_lease("192.0.2.10", "web1", LeaseState.EXPIRED)])
    _drain(service)
    assert script.sent == ["A/AAAA of web1.lab.example.", "PTR 10.2.0.192.in-addr.arpa."]
    assert service.counts["ok"] == 4


def test_a_conflict_writes_no_ptr_and_is_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service, script, _ = _service(tmp_path, monkeypatch)
    script.answers = [Rcode.YXDOMAIN, Rcode.NXRRSET]  # in use, and not by this client (RFC 4703 §5.3)
    service.on_leases([_lease("192.0.2.10", "web1")])
    _drain(service)
    assert script.sent == ["A/AAAA of web1.lab.example.", "A/AAAA of web1.lab.example."]
    assert service.counts["conflict"] == 1 and not service._retry


def test_timeouts_are_retried_a_bounded_number_of_times_refusals_never(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service, script, _ = _service(tmp_path, monkeypatch)
    script.answers = [dns.exception.Timeout()] * 5
    service.on_leases([_lease("192.0.2.10", "web1")])
    _drain(service)
    for _ in range(3):  # the retries come due (backoff 1, 2 s): here at once
        service._retry = [(0.0, seq, key) for _, seq, key in service._retry]
        _drain(service)
    assert script.sent == ["A/AAAA of web1.lab.example."] * 3  # the first attempt and retries = 2
    assert service.counts["retried"] == 2 and service.counts["failed"] == 1 and not service._retry
    script.answers = [Rcode.REFUSED]
    service.on_leases([_lease("192.0.2.11", "web2")])
    _drain(service)
    assert service.counts["failed"] == 2 and not service._retry
    refusals = [r.getMessage() for r in caplog.records if "REFUSED" in r.getMessage()]
    assert refusals == [
        "ddns: A/AAAA of web2.lab.example.: 192.0.2.53:53 refused the update: REFUSED (the zone's "
        "allow-update / update-policy does not allow this key or address)"
    ]


def test_inventory_hosts_win_over_leases_and_follow_the_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service, script, runtime = _service(tmp_path, monkeypatch)
    service.on_leases([_lease("192.0.2.10", "db1")])
    _drain(service)
    script.sent.clear()
    runtime.policy = BootPolicy(runtime.config, hosts=[Host("db1", ipv4="192.0.2.20")])
    service._follow_hosts()
    _drain(service)
    # The lease's claim on the name ends (its PTR goes); the host's A replaces the name, its PTR is written.
    assert sorted(script.sent) == [
        "A/AAAA of db1.lab.example.",
        "PTR 10.2.0.192.in-addr.arpa.",
        "PTR 20.2.0.192.in-addr.arpa.",
    ]
    assert service._had_names[next(iter(service._had_names))].dhcid is None
    script.sent.clear()
    runtime.policy = BootPolicy(runtime.config, hosts=[])
    service._follow_hosts()
    _drain(service)
    assert "PTR 20.2.0.192.in-addr.arpa." in script.sent and "A/AAAA of db1.lab.example." in script.sent


def test_a_bug_never_reaches_the_dhcp_path_and_a_missing_secret_stops_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _, runtime = _service(tmp_path, monkeypatch)
    service.on_leases([object()])  # type: ignore[list-item]
    assert service.errors == 1
    monkeypatch.delenv("BW_TEST_DDNS")
    with pytest.raises(ServiceError, match="BW_TEST_DDNS is not set"):
        create_service(runtime)
