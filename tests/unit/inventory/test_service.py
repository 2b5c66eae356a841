"""The host inventory in the state store: config hosts, CLI/API hosts, checks, overrides, one-shot requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bootwright.config import Config, parse_config
from bootwright.inventory import Inventory, InventoryError, check_inventory
from bootwright.model import Host
from bootwright.store.sqlite import SqliteStore

BASE = """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[[subnet6]]
prefix = "2001:db8::/64"

[targets.local]
exit = true

[targets.rescue]
kernel = "rescue/vmlinuz"
initrd = "rescue/initrd.img"
"""
CONFIG_HOST = """
[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
ipv4 = "192.0.2.11"
target = "local"
"""


def config(extra: str = CONFIG_HOST) -> Config:
    return parse_config(BASE + extra, "site.toml")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "state.db")
    s.open()
    yield s
    s.close()


@pytest.fixture
def inv(store: SqliteStore) -> Inventory:
    inventory = Inventory(store.host_store(), config())
    inventory.sync_config(inventory.config)
    return inventory


def test_config_hosts_load_into_the_store(inv: Inventory) -> None:
    views = inv.views()
    assert [(v.host.name, v.source) for v in views] == [("web1", "config")]
    assert inv.hosts()[0] == Host(name="web1", macs=("52:54:00:00:00:01",), ipv4="192.0.2.11", target="local")


def test_add_update_remove_local_host(inv: Inventory) -> None:
    view = inv.add({"name": "db1", "mac": ["52-54-00-00-00-02", "52:54:00:00:00:03"], "ipv4": "192.0.2.12",
                    "ipv6": "2001:db8::12", "duid": "00:03:00:01:52:54:00:00:00:02", "groups": ["db"],
                    "vars": {"role": "primary"}})
    assert view.source == "local"
    assert view.host.macs == ("52:54:00:00:00:02", "52:54:00:00:00:03")
    assert view.host.duid == bytes.fromhex("00030001525400000002")
    changed = inv.update("db1", {"target": "rescue", "ipv6": None})
    assert changed.host.target == "rescue" and changed.host.ipv6 is None
    inv.remove("db1")
    assert [h.name for h in inv.hosts()] == ["web1"]


@pytest.mark.parametrize(
    ("record", "needle"),
    [
        ({"name": "x", "mac": "52:54:00:00:00:01"}, "52:54:00:00:00:01 is also the MAC of host 'web1' (config file)"),
        ({"name": "x", "mac": "52:54:00:00:00:09", "ipv4": "192.0.2.11"}, "192.0.2.11 is also the address of host 'web1'"),
        ({"name": "x", "mac": "52:54:00:00:00:09", "ipv4": "198.51.100.5"}, "198.51.100.5 is outside every subnet4 (192.0.2.0/24)"),
        ({"name": "x", "mac": "52:54:00:00:00:09", "ipv6": "2001:db8:1::5"}, "outside every subnet6"),
        ({"name": "x", "mac": "52:54:00:00:00:09", "ipv4": "192.0.2.255"}, "network or broadcast address"),
        ({"name": "x", "mac": "52:54:00:00:00:09", "target": "nope"}, "no target or menu named 'nope' (local, rescue)"),
        ({"name": "x"}, "needs a 'mac' or a 'duid'"),
        ({"name": "bad name", "mac": "52:54:00:00:00:09"}, "not a usable host name"),
        ({"name": "x", "mac": "not-a-mac"}, "is not a MAC address"),
        ({"name": "x", "mac": "52:54:00:00:00:09", "ipv4": "192.0.2.300"}, "ipv4"),
        ({"name": "x", "mac": "52:54:00:00:00:09", "colour": "red"}, "unknown key"),
    ],
)
def test_bad_hosts_are_refused_with_the_reason(inv: Inventory, record: dict[str, object], needle: str) -> None:
    before = inv.tables.transact(lambda tx: tx.generation())
    with pytest.raises(InventoryError) as exc:
        inv.add(record)
    assert needle in exc.value.render()
    assert exc.value.status == 400
    assert inv.tables.transact(lambda tx: tx.generation()) == before  # nothing written
    assert [h.name for h in inv.hosts()] == ["web1"]


def test_conflicts_and_missing_hosts(inv: Inventory) -> None:
    with pytest.raises(InventoryError) as exc:
        inv.add({"name": "web1", "mac": "52:54:00:00:00:09"})
    assert exc.value.status == 409
    with pytest.raises(InventoryError) as exc:
        inv.remove("web1")
    assert exc.value.status == 409 and "config file" in exc.value.message
    for call in (lambda: inv.remove("ghost"), lambda: inv.update("ghost", {"target": "local"}),
                 lambda: inv.view("ghost"), lambda: inv.request_oneshot("ghost", "rescue")):
        with pytest.raises(InventoryError) as exc:
            call()
        assert exc.value.status == 404
    with pytest.raises(InventoryError) as exc:
        inv.update("web1", {"name": "web2"})
    assert "cannot be renamed" in exc.value.render()


def test_config_host_changes_are_overrides_that_survive_a_resync(inv: Inventory) -> None:
    view = inv.update("web1", {"target": "rescue"})
    assert view.source == "config" and view.overrides == {"target": "rescue"} and view.host.target == "rescue"
    inv.sync_config(config())  # the same file again: the change stays
    assert inv.view("web1").host.target == "rescue"
    edited = config(CONFIG_HOST.replace('target = "local"', 'target = "local"\ngroups = ["web"]'))
    inv.sync_config(edited)
    assert inv.view("web1").host.groups == ("web",) and inv.view("web1").host.target == "rescue"
    # the file now changes the same key: the newer edit (the file's) wins
    inv.sync_config(config(CONFIG_HOST.replace('target = "local"', 'target = "rescue"')))
    inv.sync_config(config())
    assert inv.view("web1").host.target == "local" and inv.view("web1").overrides == {}


def test_removed_config_hosts_leave_the_store(inv: Inventory) -> None:
    inv.add({"name": "db1", "mac": "52:54:00:00:00:02"})
    assert inv.sync_config(config()) is False  # the same file: nothing to write
    assert inv.sync_config(config("")) is True
    assert [h.name for h in inv.hosts()] == ["db1"]
    inv.remove("db1")
    assert inv.hosts() == []
    assert inv.sync_config(config("")) is False  # nothing changed, counter untouched


SMALLER = BASE.replace('[targets.rescue]\nkernel = "rescue/vmlinuz"\ninitrd = "rescue/initrd.img"\n', "")


def test_stored_hosts_that_no_longer_fit_are_skipped_not_refused(inv: Inventory) -> None:
    inv.add({"name": "db1", "mac": "52:54:00:00:00:02", "target": "rescue", "ipv4": "192.0.2.12"})
    smaller = parse_config(SMALLER + CONFIG_HOST, "site.toml")
    inv.sync_config(smaller)  # no exception: the config is fine, the host is stale
    snap = inv.snapshot()
    assert [h.name for h in snap.hosts] == ["web1"] and set(snap.report.skipped) == {"db1"}
    assert "host 'db1' target: no target or menu named 'rescue'" in str(snap.report.skipped["db1"][0])
    [view] = [v for v in inv.views() if v.host.name == "db1"]
    assert view.skipped and "no target or menu named 'rescue'" in view.to_dict()["skipped"][0]
    # other changes go through; the stale host can be repaired or removed
    inv.add({"name": "db2", "mac": "52:54:00:00:00:03"})
    with pytest.raises(InventoryError, match="no target or menu named 'rescue'"):
        inv.update("db1", {"groups": ["x"]})  # a change of the stale host must make it fit
    inv.update("db1", {"target": "local"})
    assert not inv.snapshot().report.skipped
    inv.remove("db2")


def test_new_changes_that_do_not_fit_are_still_refused(inv: Inventory) -> None:
    inv.add({"name": "db1", "mac": "52:54:00:00:00:02", "target": "rescue"})
    inv.sync_config(parse_config(SMALLER + CONFIG_HOST, "site.toml"))
    with pytest.raises(InventoryError, match="no target or menu named 'rescue'"):
        inv.add({"name": "db3", "mac": "52:54:00:00:00:04", "target": "rescue"})
    with pytest.raises(InventoryError, match="also the MAC of host 'db1'"):
        inv.add({"name": "db4", "mac": "52:54:00:00:00:02"})


def test_a_host_whose_target_cannot_render_for_it_is_refused(store: SqliteStore) -> None:
    cfg = parse_config(BASE + '\n[targets.disk]\nkernel = "k"\ncmdline = "{% if host %}root={{ vars.disk }}{% endif %}"\n')
    inventory = Inventory(store.host_store(), cfg)
    with pytest.raises(InventoryError) as exc:
        inventory.add({"name": "nodisk", "mac": "52:54:00:00:00:09", "target": "disk"})
    assert "targets.disk.cmdline" in exc.value.render() and "disk" in exc.value.render()
    inventory.add({"name": "disk", "mac": "52:54:00:00:00:08", "target": "disk", "vars": {"disk": "sda"}})


def test_config_changes_that_clash_with_stored_hosts_skip_instead_of_refusing(inv: Inventory) -> None:
    inv.add({"name": "db1", "mac": "52:54:00:00:00:02"})
    clash = config(CONFIG_HOST + '\n[[host]]\nname = "db1"\nmac = "52:54:00:00:00:07"\n')
    inv.sync_config(clash)
    snap = inv.snapshot()
    assert {h.name: h.macs for h in snap.hosts}["db1"] == ("52:54:00:00:00:02",)  # the stored one stays
    assert any("bootwright hosts remove db1" in p.message for p in snap.report.warnings)
    moved = config(CONFIG_HOST.replace("52:54:00:00:00:01", "52:54:00:00:00:02"))
    inv.sync_config(moved)  # the config host takes the MAC; the stored host is skipped
    snap = inv.snapshot()
    assert [h.name for h in snap.hosts] == ["web1"] and set(snap.report.skipped) == {"db1"}


def test_every_change_bumps_the_generation(inv: Inventory) -> None:
    seen = [inv.tables.transact(lambda tx: tx.generation())]
    inv.add({"name": "db1", "mac": "52:54:00:00:00:02"})
    seen.append(inv.tables.transact(lambda tx: tx.generation()))
    inv.request_oneshot("db1", "rescue")
    seen.append(inv.tables.transact(lambda tx: tx.generation()))
    inv.cancel_oneshot("db1")
    seen.append(inv.tables.transact(lambda tx: tx.generation()))
    assert seen == sorted(set(seen))


def test_oneshot_requests(inv: Inventory) -> None:
    shot = inv.request_oneshot("web1", "rescue")
    assert shot.state == "pending" and inv.view("web1").oneshot == shot
    with pytest.raises(InventoryError, match="no target or menu named 'nope'"):
        inv.request_oneshot("web1", "nope")
    assert inv.cancel_oneshot("web1") is True
    assert inv.cancel_oneshot("web1") is False
    assert inv.view("web1").oneshot is None


def test_a_second_process_sees_the_same_inventory(store: SqliteStore, inv: Inventory, tmp_path: Path) -> None:
    inv.add({"name": "db1", "mac": "52:54:00:00:00:02"})
    other = SqliteStore(tmp_path / "state.db")
    other.open()
    try:
        again = Inventory(other.host_store(), config())
        with pytest.raises(InventoryError, match="also the MAC"):
            again.add({"name": "db2", "mac": "52:54:00:00:00:02"})
        assert [h.name for h in again.hosts()] == ["db1", "web1"]
    finally:
        other.close()


def test_check_inventory_is_pure_and_names_origins() -> None:
    cfg = config("")
    hosts = [Host("a", macs=("52:54:00:00:00:01",), duid=b"\x00\x01"), Host("b", macs=("52:54:00:00:00:02",), duid=b"\x00\x01"),
             Host("a", macs=("52:54:00:00:00:03",))]
    problems = [str(p) for p in check_inventory(cfg, hosts, {"b": "hosts.csv line 3"})]
    assert "host 'b' (hosts.csv line 3) duid: 00:01 is also the DUID of host 'a'" in problems
    assert "host 'a' name: the name is used twice" in problems
