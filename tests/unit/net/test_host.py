"""Host facts (net/host.py): the neighbour table snapshot and its rate limits, interfaces."""

from __future__ import annotations

import pytest

from bootwright.net import host
from bootwright.net.host import KernelHost, NeighbourTable
from bootwright.runtime.hostfacts import HostFacts


def test_neighbour_table_caches_and_rate_limits_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    dumps: list[int] = []
    table_now = {"192.0.2.10": "02:00:00:00:00:0a"}

    def fake_dump(timeout: float = 0.5) -> dict[str, str]:
        dumps.append(1)
        return dict(table_now)

    now = [100.0]
    monkeypatch.setattr(host, "dump_neighbours", fake_dump)
    table = NeighbourTable(min_interval=1.0, max_age=30.0, clock=lambda: now[0])
    assert table.mac("192.0.2.10") == "02:00:00:00:00:0a"
    assert table.mac("192.0.2.10") == "02:00:00:00:00:0a" and len(dumps) == 1
    assert table.mac("192.0.2.99") is None and len(dumps) == 1  # a miss within min_interval: no dump
    now[0] += 2
    assert table.mac("192.0.2.99") is None and len(dumps) == 2
    table_now["192.0.2.10"] = "02:00:00:00:00:0b"
    now[0] += 31
    assert table.mac("192.0.2.10") == "02:00:00:00:00:0b"  # a stale snapshot is refreshed


def test_neighbour_table_refreshes_a_snapshot_older_than_the_talk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transfer's first reply resolves an IPv6 client: a snapshot taken before it cannot know the MAC."""
    dumps: list[int] = []
    table_now: dict[str, str] = {}

    def fake_dump(timeout: float = 0.5) -> dict[str, str]:
        dumps.append(1)
        return dict(table_now)

    now = [100.0]
    monkeypatch.setattr(host, "dump_neighbours", fake_dump)
    table = NeighbourTable(min_interval=1.0, clock=lambda: now[0])
    assert table.mac("2001:db8::2") is None and len(dumps) == 1  # the transfer's start: not resolved yet
    table_now["2001:db8::2"] = "02:00:00:00:00:0a"
    now[0] = 100.25
    assert table.mac("2001:db8::2", since=99.0) is None and len(dumps) == 1  # snapshot newer than the start
    assert table.mac("2001:db8::2", since=100.05) == "02:00:00:00:00:0a" and len(dumps) == 2
    assert table.mac("2001:db8::3", since=100.05) is None and len(dumps) == 2  # once per start, not per miss
    now[0] = 100.3
    assert table.mac("2001:db8::4", since=100.28) is None and len(dumps) == 2  # 50 ms after the last dump: no
    now[0] = 100.4
    assert table.mac("2001:db8::4", since=100.28) is None and len(dumps) == 3  # 150 ms: over a tenth of 1 s


def test_dump_neighbours_runs() -> None:
    assert isinstance(host.dump_neighbours(), dict)


def test_kernel_host_is_the_runtime_host_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "dump_neighbours", lambda timeout=0.5: {"192.0.2.7": "02:00:00:00:00:07"})
    facts: HostFacts = KernelHost(NeighbourTable(clock=lambda: 5.0))
    assert facts.neighbour_mac("192.0.2.7") == "02:00:00:00:00:07"
    assert facts.neighbour_mac("192.0.2.8", since=4.0) is None


def test_discover_interfaces_sees_loopback() -> None:
    found = {i.name: i for i in host.discover_interfaces()}
    assert "lo" in found and found["lo"].up
    assert [str(a.ip) for a in found["lo"].addresses][:1] == ["127.0.0.1"]
    assert [i.name for i in host.discover_interfaces(["lo"])] == ["lo"]
