"""BIRD ``protocol radv`` import: seed 000 verbatim and an own file with routing around it."""

from __future__ import annotations

from bootwright.migrate.bird import import_bird
from tests.unit.migrate.clients import checked, lines, text


def test_seed000_bird_is_the_example_ra() -> None:
    imported = import_bird(text("seed000/bird.conf"), "bird.conf")
    config = checked(imported)
    (sub,) = config.subnet6
    assert str(sub.prefix) == "2001:db8::/64" and sub.interface == "vlan123"
    ra = sub.ra
    assert ra is not None
    assert (ra.managed, ra.other, ra.on_link, ra.autonomous) == (False, True, True, True)
    assert [str(a) for a in ra.rdnss or []] == ["2001:4860:4860::8888"]  # the protocol-level rdnss
    # BIRD's own defaults where they differ from bootwright's (proto/radv/config.Y, bird(8)).
    assert ra.min_interval == 200 and ra.solicited_unicast is False and ra.dnssl == []
    assert [f.line for f in imported.findings] == [None]


def test_own_bird_radv_and_other_protocols() -> None:
    imported = import_bird(text("own/bird.conf"), "bird.conf")
    config = checked(imported)
    eth1, eth2 = config.subnet6
    assert (str(eth1.prefix), eth1.interface, str(eth2.prefix), eth2.interface) == (
        "2001:db8:1::/64",
        "eth1",
        "2001:db8:2::/64",
        "eth2",
    )
    ra1, ra2 = eth1.ra, eth2.ra
    assert ra1 is not None and ra2 is not None
    assert (ra1.max_interval, ra1.min_interval, ra1.managed, ra1.other, ra1.mtu) == (60, 20, True, True, 1500)
    assert (ra1.router_lifetime, ra1.router_preference, ra1.autonomous) == (0, "low", False)
    assert ra1.solicited_unicast is True
    # Interface rdnss first, then the protocol's; "rdnss local yes" drops the protocol's.
    assert [str(a) for a in ra1.rdnss or []] == ["2001:db8:1::54", "2001:db8:1::53"]
    assert ra2.rdnss == [] and ra2.dnssl == ["lab.example"]
    found = lines(imported)
    assert found[2] == ["ignored"] and found[3] == ["ignored"]  # router id, log
    assert found[5] == found[8] == found[12] == ["untranslated"]  # device, kernel, static: keep BIRD
    assert found[54] == ["untranslated"]  # interface "vm*": a pattern
    assert found[39] == ["ignored"]  # prefix … { skip yes; }
    assert found[22] == ["untranslated"]  # prefix ::/0: never the first match for a named prefix


def test_interface_without_named_prefix_is_reported() -> None:
    source = 'protocol radv {\n  interface "eth0" {\n    managed yes;\n  };\n}\n'
    imported = import_bird(source, "b.conf")
    assert "subnet6" not in imported.config
    assert any(f.line == 2 and "prefixes of the interface" in f.message for f in imported.findings)


def test_include_is_read_through_the_reader() -> None:
    main = 'include "radv.conf";\n'
    imported = import_bird(main, "bird.conf", read=lambda name: text("seed000/bird.conf"))
    assert [s["prefix"] for s in imported.config["subnet6"]] == ["2001:db8::/64"]
