"""Client IP → MAC, the one resolution: leases first, then the neighbour table."""

from __future__ import annotations

from pathlib import Path

from bootwright.boot.policy import BootPolicy
from bootwright.config import parse_config
from bootwright.runtime import Runtime
from bootwright.runtime.events import EventSink
from bootwright.runtime.hostfacts import plain_address, resolve_mac


class Neighbours:
    """HostFacts with a fixed neighbour table, recording what it was asked."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.asked: list[tuple[str, float | None]] = []

    def neighbour_mac(self, address: str, since: float | None = None) -> str | None:
        self.asked.append((address, since))
        return self.table.get(address)


def runtime(tmp_path: Path) -> Runtime:
    cfg = parse_config("")
    return Runtime(
        config=cfg,
        config_path=tmp_path / "c.toml",
        root=tmp_path,
        state_dir=tmp_path,
        store=None,  # type: ignore[arg-type]
        events=EventSink(None),
        policy=BootPolicy.from_config(cfg),
    )


def test_leases_first_then_the_neighbour_table(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    neighbours = Neighbours({"192.0.2.9": "52:54:00:00:00:09", "192.0.2.10": "52:54:00:00:00:99"})
    rt.host = neighbours
    rt.mac_for_address = {"192.0.2.10": "52:54:00:00:00:10"}.get
    assert rt.client_mac("192.0.2.10") == "52:54:00:00:00:10"  # the lease wins over a stale neighbour entry
    assert neighbours.asked == []  # and the kernel was not asked at all
    assert rt.client_mac("192.0.2.9", since=3.0) == "52:54:00:00:00:09"
    assert neighbours.asked == [("192.0.2.9", 3.0)]
    assert rt.client_mac("192.0.2.11") is None and rt.client_mac(None) is None and rt.client_mac("") is None


def test_addresses_are_plain_before_either_table_is_asked(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    asked: list[str] = []

    def leases(address: str) -> str | None:
        asked.append(address)
        return None

    rt.mac_for_address = leases
    rt.host = Neighbours({"192.0.2.9": "52:54:00:00:00:09", "fe80::1": "52:54:00:00:00:01"})
    assert rt.client_mac("::ffff:192.0.2.9") == "52:54:00:00:00:09"  # IPv4-mapped (dual-stack socket)
    assert rt.client_mac("fe80::1%eth0") == "52:54:00:00:00:01"  # zone dropped
    assert asked == ["192.0.2.9", "fe80::1"]
    assert plain_address("fe80::1%eth0") == "fe80::1" and plain_address("192.0.2.1") == "192.0.2.1"


def test_a_failing_lease_lookup_falls_through_and_no_host_means_leases_only() -> None:
    def broken(address: str) -> str | None:
        raise RuntimeError("store gone")

    assert resolve_mac("192.0.2.9", broken, Neighbours({"192.0.2.9": "52:54:00:00:00:09"})) == "52:54:00:00:00:09"
    assert resolve_mac("192.0.2.9", None, None) is None
    assert resolve_mac("192.0.2.9", {"192.0.2.9": "52:54:00:00:00:01"}.get, None) == "52:54:00:00:00:01"
