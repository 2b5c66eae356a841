"""``hosts import --sync``: a file owns the hosts imported from it; every problem of a file comes in one pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bootwright.config import parse_config
from bootwright.inventory import IMPORT_KEYS, Inventory, InventoryError, read_hosts

CONFIG = """
[[subnet4]]
subnet = "192.168.2.0/24"

[targets.local]
exit = true

[[host]]
name = "router"
mac = "52:54:00:ff:ff:ff"
ipv4 = "192.168.2.1"
"""
# Seed 003's generated include (/etc/dhcp/home.4.dhcp.inc): the table is regenerated, the import follows it.
TABLE_V1 = """\
host photosmart { hardware ethernet 10:60:4b:11:71:34; fixed-address 192.168.2.53; }
host nas { hardware ethernet 52:54:00:aa:bb:01; fixed-address 192.168.2.14; }
host pi { hardware ethernet b8:27:eb:00:00:01; fixed-address 192.168.2.108; }
"""
TABLE_V2 = """\
host photosmart { hardware ethernet 10:60:4b:11:71:34; fixed-address 192.168.2.53; }
host nas { hardware ethernet 52:54:00:aa:bb:01; fixed-address 192.168.2.15; }
host xeni { hardware ethernet 52:54:00:00:00:0b; fixed-address 192.168.2.60; }
"""


@pytest.fixture
def inv(tmp_path: Path) -> Iterator[Inventory]:
    from bootwright.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "state.db")
    store.open()
    inventory = Inventory(store.host_store(), parse_config(CONFIG, "site.toml"))
    inventory.sync_config(inventory.config)
    try:
        yield inventory
    finally:
        store.close()


def sync(inv: Inventory, text: str, origin: str = "/etc/dhcp/home.4.dhcp.inc", **kw: object):  # type: ignore[no-untyped-def]
    parsed = read_hosts("isc", text)
    return inv.import_hosts(
        parsed.hosts,
        "home.4.dhcp.inc",
        sync=True,
        origin=origin,
        keys=IMPORT_KEYS["isc"],
        file_problems=parsed.problems,
        **kw,
    )  # type: ignore[arg-type]


def test_sync_adds_updates_removes_and_leaves_the_rest(inv: Inventory) -> None:
    inv.add({"name": "laptop", "mac": "52:54:00:00:00:99"})  # by hand: never touched by the sync
    other = read_hosts("csv", "printer2,52:54:00:00:00:98,192.168.2.98\n").hosts
    inv.import_hosts(other, "printers.csv", origin="/srv/printers.csv")  # another file's host
    first = sync(inv, TABLE_V1)
    assert (sorted(first.added), first.updated, first.removed, first.unchanged) == (
        ["nas", "photosmart", "pi"],
        [],
        [],
        [],
    )
    assert inv.view("nas").origin == "/etc/dhcp/home.4.dhcp.inc"
    inv.update("nas", {"target": "local"})  # a key the file cannot carry stays through a sync
    generation = inv.snapshot().generation
    again = sync(inv, TABLE_V1)
    assert (again.added, again.updated, again.removed, sorted(again.unchanged)) == (
        [],
        [],
        [],
        ["nas", "photosmart", "pi"],
    )
    assert inv.snapshot().generation == generation  # nothing written: nothing to reload
    dry = sync(inv, TABLE_V2, dry_run=True)
    assert (dry.added, dry.updated, dry.removed, dry.unchanged) == (["xeni"], ["nas"], ["pi"], ["photosmart"])
    assert dry.summary(dry_run=True) == "would add 1, would update 1, would remove 1, unchanged 1"
    assert "pi" in [h.name for h in inv.hosts()] and "xeni" not in [h.name for h in inv.hosts()]
    done = sync(inv, TABLE_V2)
    assert done.to_dict() == {
        "added": ["xeni"],
        "updated": ["nas"],
        "removed": ["pi"],
        "unchanged": ["photosmart"],
        "adopted": [],
    }
    hosts = {h.name: h for h in inv.hosts()}
    assert sorted(hosts) == ["laptop", "nas", "photosmart", "printer2", "router", "xeni"]
    assert (hosts["nas"].ipv4, hosts["nas"].target) == ("192.168.2.15", "local")
    # a file key the table no longer gives is removed; an empty table removes every host of that origin
    sync(inv, TABLE_V2.replace(" fixed-address 192.168.2.60;", ""))
    assert inv.view("xeni").host.ipv4 is None
    gone = sync(inv, "")
    assert sorted(gone.removed) == ["nas", "photosmart", "xeni"]
    assert sorted(h.name for h in inv.hosts()) == ["laptop", "printer2", "router"]


def test_sync_adopts_hand_made_hosts_and_refuses_other_files_hosts(inv: Inventory) -> None:
    inv.add({"name": "nas", "mac": "52:54:00:aa:bb:01", "ipv4": "192.168.2.14"})
    report = sync(inv, TABLE_V1)
    assert report.adopted == ["nas"] and "nas" in report.unchanged
    assert inv.view("nas").origin == "/etc/dhcp/home.4.dhcp.inc"
    with pytest.raises(InventoryError) as exc:
        sync(inv, "host nas { hardware ethernet 52:54:00:aa:bb:01; }\n", origin="/etc/dhcp/other.inc")
    assert "line 1: host 'nas' was imported from /etc/dhcp/home.4.dhcp.inc" in exc.value.render()
    # a plain import of another file may still add keys (a dhcpd6.conf beside a dhcpd.conf) and keeps the owner
    v6 = read_hosts("isc", "host nas { hardware ethernet 52:54:00:aa:bb:01; fixed-address6 2001:db8::14; }").hosts
    inv.import_hosts(v6, "home.6.dhcp.inc", origin="/etc/dhcp/home.6.dhcp.inc")
    view = inv.view("nas")
    assert (view.host.ipv6, view.origin) == ("2001:db8::14", "/etc/dhcp/home.4.dhcp.inc")


def test_every_problem_of_a_file_comes_in_one_pass_ordered_by_line(inv: Inventory) -> None:
    text = """\
host ok { hardware ethernet 52:54:00:00:00:10; fixed-address 192.168.2.70; }
host router { hardware ethernet 52:54:00:00:00:11; }
host clash {
  hardware ethernet 10:60:4b:11:71:34;
  fixed-address 192.168.3.9;
}
host syntax {
  hardware ethernet 52:54:00:00:00:12
}
subnet 192.168.2.0 netmask 255.255.255.0 { }
host opts { hardware ethernet 52:54:00:00:00:13; option domain-name-servers ns1.example.org; option frob 1; }
host badmac { hardware ethernet 52:54:00:00:00:zz; }
"""
    sync(
        inv,
        "host photosmart { hardware ethernet 10:60:4b:11:71:34; fixed-address 192.168.2.53; }\n",
        origin="/etc/dhcp/printers.inc",
    )
    with pytest.raises(InventoryError) as exc:
        sync(inv, text)
    shown = [str(p) for p in exc.value.problems]
    expected = [
        "home.4.dhcp.inc: line 2: host 'router' is defined in the config file; edit it there",
        "host 'clash' (home.4.dhcp.inc line 3) mac: 10:60:4b:11:71:34 is also the MAC of host 'photosmart'",
        "host 'clash' (home.4.dhcp.inc line 3) ipv4: 192.168.3.9 is outside every subnet4",
        "home.4.dhcp.inc: line 9: missing ';' before '}'",
        "home.4.dhcp.inc: line 10: only 'host' and 'group' declarations can be imported",
        "home.4.dhcp.inc: line 11: option domain-name-servers: ns1.example.org: a name, not an IPv4 address",
        "home.4.dhcp.inc: line 11: option 'frob' is not known to the importer",
        "home.4.dhcp.inc: line 12: host 'badmac': mac[0]: '52:54:00:00:00:zz' is not a MAC address",
    ]
    assert len(shown) == len(expected), shown
    for line, needle in zip(shown, expected, strict=True):
        assert needle in line
    assert "ok" not in [h.name for h in inv.hosts()]  # all or nothing


def test_the_store_keeps_the_origin_and_opens_an_older_state_db(tmp_path: Path) -> None:
    import sqlite3

    from bootwright.store.sqlite import SqliteStore

    path = tmp_path / "state.db"
    store = SqliteStore(path)
    store.open()
    store.close()
    with sqlite3.connect(path) as conn:  # the hosts table as versions before origins wrote it
        conn.execute("DROP TABLE IF EXISTS hosts")
        conn.execute(
            "CREATE TABLE hosts (name TEXT PRIMARY KEY, source TEXT NOT NULL, record TEXT NOT NULL, "
            "overrides TEXT NOT NULL DEFAULT '{}', updated REAL NOT NULL)"
        )
        conn.execute(
            'INSERT INTO hosts VALUES (\'old\', \'local\', \'{"name": "old", "mac": ["52:54:00:00:00:01"]}\','
            " '{}', 1.0)"
        )
    store = SqliteStore(path)
    store.open()
    try:
        inv = Inventory(store.host_store(), parse_config(CONFIG, "site.toml"))
        assert inv.view("old").origin == ""
        report = inv.import_hosts(
            read_hosts("isc", TABLE_V1).hosts, "t.inc", sync=True, origin="/t.inc", keys=IMPORT_KEYS["isc"]
        )
        assert sorted(report.added) == ["nas", "photosmart", "pi"] and report.removed == []
        assert inv.view("pi").origin == "/t.inc" and inv.view("old").origin == ""
    finally:
        store.close()
