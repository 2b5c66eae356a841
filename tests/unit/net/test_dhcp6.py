"""The DHCPv6/RA service glue that needs no sockets: server DUID persistence, interface choice."""

from __future__ import annotations

from ipaddress import IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bootwright.config import parse_config
from bootwright.net.dhcp6 import DUID_META_KEY, load_server_duid, served_links
from bootwright.net.host import LinkAddress, interface_addresses
from bootwright.net.ra import ra_links
from bootwright.store.sqlite import SqliteStore
from bootwright.wire.dhcp6 import DuidLLT, DuidUUID, decode_duid


def test_server_duid_persists_across_restarts(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    first = load_server_duid(store, ["no-such-interface"], now=946684800 + 5)
    assert isinstance(decode_duid(first), DuidUUID)  # no MAC to build a DUID-LLT from (RFC 6355)
    assert load_server_duid(store, ["lo"]) == first
    store.close()
    again = SqliteStore(tmp_path / "state.db")
    again.open()
    assert load_server_duid(again, []) == first
    again.set_meta(DUID_META_KEY, b"\x00")  # unusable: replaced, not fatal
    assert load_server_duid(again, []) != b"\x00"
    again.close()


def test_duid_llt_from_interface_mac(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bootwright.net.dhcp6 as svc

    mac = bytes.fromhex("525400123456")
    monkeypatch.setattr(svc, "mac_address", lambda name: mac if name == "eth0" else None)
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    try:
        duid = decode_duid(load_server_duid(store, ["eth0"], now=946684800 + 77))
    finally:
        store.close()
    assert duid == DuidLLT(1, 77, mac)  # RFC 8415 §11.2: time since 2000-01-01


def _addrs(**links: list[str]) -> dict[str, list[LinkAddress]]:
    return {n: [LinkAddress(IPv6Address(a), 64, i + 1, 0) for a in addrs] for i, (n, addrs) in enumerate(links.items())}


CFG = """
[[subnet6]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::10-2001:db8:1::20"]
ra = { managed = true }
[[subnet6]]
prefix = "2001:db8:2::/64"
interface = "eth2"
ra = { other = true }
"""


def test_served_links_named_and_discovered() -> None:
    addrs = _addrs(eth1=["2001:db8:1::1", "fe80::1"], eth2=["fe80::2"], eth9=["2001:db8:9::1"])
    named = parse_config('[server]\ninterfaces = ["eth1"]\n' + CFG)
    links = served_links(named, addrs)
    assert {n: str(s.prefix) if s else None for n, s in links.items()} == {
        "eth1": "2001:db8:1::/64", "eth2": "2001:db8:2::/64",
    }  # fmt: skip
    unnamed = parse_config(CFG.replace('interface = "eth2"\n', ""))
    assert list(served_links(unnamed, addrs)) == ["eth1"]  # only interfaces carrying a subnet6


def test_ra_only_on_named_interfaces() -> None:
    addrs = _addrs(eth1=["2001:db8:1::1"], eth2=[])
    unnamed = parse_config(CFG.replace('interface = "eth2"\n', ""))
    assert ra_links(unnamed, addrs) == {}  # never a rogue router on an unnamed link
    named = parse_config('[server]\ninterfaces = ["eth1", "eth2"]\n' + CFG)
    got = {n: [str(s.prefix) for s in subs] for n, subs in ra_links(named, addrs).items()}
    assert got == {"eth1": ["2001:db8:1::/64"], "eth2": ["2001:db8:2::/64"]}


def test_proc_if_inet6_parsing(tmp_path: Path) -> None:
    f = tmp_path / "if_inet6"
    f.write_text(
        "fe80000000000000505400fffe123456 02 40 20 80     eth0\n"
        "20010db8000000000000000000000001 02 40 00 c0     eth0\n"
        "fe800000000000000000000000000009 03 40 20 40     tap0\n"
        "garbage\n"
    )
    got = interface_addresses(str(f))
    assert [str(a.address) for a in got["eth0"]] == ["fe80::5054:ff:fe12:3456", "2001:db8::1"]
    assert got["eth0"][0].usable and not got["tap0"][0].usable  # 0x40: tentative (DAD running)
    assert interface_addresses(str(tmp_path / "missing")) == {}


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0x2001, 0xDB8, 0xABCD]), min_size=8, max_size=8))
def test_fast_address_text_is_str(groups: list[int]) -> None:
    from bootwright.net.dhcp6 import address_text

    addr = IPv6Address(int("".join(f"{g:04x}" for g in groups), 16))
    assert address_text(addr.packed) == str(addr)
