"""Foreign DHCP servers: the probe's DISCOVER, reading an OFFER, and what it means for full and proxy subnets."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from hypothesis import given
from hypothesis import strategies as st

from bootwright.boot.foreign import (
    PROBE_VENDOR_CLASS,
    ForeignServer,
    discover,
    is_offer_for,
    judge,
    offer_of,
    subnets_on,
)
from bootwright.config import Subnet4, parse_config
from bootwright.wire.dhcp4 import BOOTREPLY, BOOTREQUEST, Dhcp4Message, decode, encode

XID = 0x0B0071
CHADDR = bytes.fromhex("02a1b2c3d4e5")
SERVER = IPv4Address("192.0.2.254")
SERVER_MAC = bytes.fromhex("525400aabbcc")
ZERO = IPv4Address(0)

CONFIG = parse_config("""
[[subnet4]]
subnet = "192.0.2.0/24"
interface = "br0"
pools = ["192.0.2.10-192.0.2.20"]

[[subnet4]]
subnet = "198.51.100.0/24"
mode = "proxy"
""")
FULL, PROXY = CONFIG.subnet4


def offer(**fields: object) -> Dhcp4Message:
    """A dnsmasq-like OFFER to the probe; ``fields`` replace message fields, ``options`` is merged in."""
    options = {
        53: b"\x02",
        54: SERVER.packed,
        1: bytes((255, 255, 255, 0)),
        3: SERVER.packed,
        6: SERVER.packed,
        51: (3600).to_bytes(4, "big"),
    }
    options.update(fields.pop("options", {}))  # type: ignore[arg-type]
    base = Dhcp4Message(op=BOOTREPLY, xid=XID, chaddr=CHADDR, yiaddr=IPv4Address("192.0.2.150"), options=options)
    return replace(base, **fields)  # type: ignore[arg-type]


def server(**fields: object) -> ForeignServer:
    return replace(offer_of(offer(), SERVER, SERVER_MAC), **fields)  # type: ignore[arg-type]


# -- the DISCOVER ---------------------------------------------------------------------------


def test_discover_as_a_pxe_rom() -> None:
    msg = decode(encode(discover(XID, CHADDR, pxe=True, secs=2)))
    assert (msg.op, msg.xid, msg.chaddr, msg.secs, msg.broadcast) == (BOOTREQUEST, XID, CHADDR, 2, True)
    assert msg.option(53).name == "DISCOVER"
    assert msg.options[60] == PROBE_VENDOR_CLASS.encode()
    assert msg.options[93] == b"\x00\x00" and msg.options[94] == b"\x01\x02\x01"
    assert msg.options[97][0] == 0 and len(msg.options[97]) == 17  # RFC 4578 §2.3: type 0 + 16-octet GUID
    assert {43, 54, 60, 66, 67} <= set(msg.options[55])  # asked, so servers that send only what is asked send it


def test_discover_as_a_plain_client_has_no_pxe_options() -> None:
    msg = decode(encode(discover(XID, CHADDR, pxe=False)))
    assert not {60, 93, 94, 97} & set(msg.options)
    assert msg.broadcast and 55 in msg.options


# -- the OFFER ------------------------------------------------------------------------------


def test_is_offer_for_the_probe_only() -> None:
    assert is_offer_for(offer(), XID, CHADDR)
    assert not is_offer_for(offer(xid=XID + 1), XID, CHADDR)
    assert not is_offer_for(offer(chaddr=SERVER_MAC), XID, CHADDR)
    assert not is_offer_for(offer(op=BOOTREQUEST), XID, CHADDR)
    assert not is_offer_for(offer(options={53: b"\x05"}), XID, CHADDR)  # an ACK
    assert not is_offer_for(offer(options={53: b"\x02\x02"}), XID, CHADDR)  # malformed option 53


def test_offer_of_reads_every_field() -> None:
    msg = offer(
        siaddr=IPv4Address("192.0.2.5"), giaddr=IPv4Address("198.51.100.1"), sname=b"tftp.example", file=b"pxelinux.0",
        options={60: b"PXEClient", 43: b"\x06\x01\x08\xff", 6: SERVER.packed + IPv4Address("192.0.2.53").packed},
    )  # fmt: skip
    got = offer_of(msg, IPv4Address("198.51.100.1"), SERVER_MAC, local=True)
    assert got == ForeignServer(
        source=IPv4Address("198.51.100.1"), mac="52:54:00:aa:bb:cc", server_id=SERVER,
        offered=IPv4Address("192.0.2.150"), vendor_class="PXEClient", siaddr=IPv4Address("192.0.2.5"),
        boot_file="pxelinux.0", tftp_server="tftp.example", vendor_options=True, routers=(SERVER,),
        dns=(SERVER, IPv4Address("192.0.2.53")), subnet_mask=IPv4Address("255.255.255.0"), lease_time=3600,
        relay=IPv4Address("198.51.100.1"), local=True,
    )  # fmt: skip
    assert got.pxe_client and not got.proxy
    assert got.name == "192.0.2.254 (52:54:00:aa:bb:cc, through relay 198.51.100.1, on this host)"


def test_option_67_wins_over_the_file_field_and_66_over_sname() -> None:
    got = offer_of(offer(file=b"old.0", sname=b"old", options={67: b"new.efi", 66: b"192.0.2.7"}), SERVER, SERVER_MAC)
    assert (got.boot_file, got.tftp_server) == ("new.efi", "192.0.2.7")


def test_a_proxy_offer() -> None:
    got = offer_of(offer(yiaddr=ZERO, options={60: b"PXEClient"}), SERVER, SERVER_MAC)
    assert got.proxy and got.pxe_client and got.offered == ZERO


def test_a_foreign_servers_mistakes_show_as_absent() -> None:
    """A router option of 5 octets or a mask of 3 is the server's mistake: shown as no value, never raised."""
    got = offer_of(offer(options={3: b"\x01\x02\x03\x04\x05", 1: b"\xff\xff\xff", 54: b"\x01", 60: b"\xffPXE"}),
                   SERVER, SERVER_MAC)  # fmt: skip
    assert (got.routers, got.subnet_mask, got.server_id) == ((), None, None)
    assert got.vendor_class == "\ufffdPXE" and not got.pxe_client
    assert got.name.startswith("192.0.2.254 ")  # no option 54: named by its source


@given(st.dictionaries(st.integers(1, 254).filter(lambda c: c != 52), st.binary(max_size=40), max_size=12))
def test_offer_of_never_raises(options: dict[int, bytes]) -> None:
    msg = Dhcp4Message(op=BOOTREPLY, xid=XID, chaddr=CHADDR, options=options)
    got = offer_of(decode(encode(msg)), SERVER, SERVER_MAC)
    assert got.source == SERVER


# -- the judgement --------------------------------------------------------------------------


def test_a_full_subnet_beside_another_address_server_is_a_loud_warning() -> None:
    (line,) = judge([server()], [FULL], "br0", 5)
    assert "192.0.2.254 (52:54:00:aa:bb:cc)" in line and "offered 192.0.2.150" in line
    assert "192.0.2.0/24" in line and "conflicting addresses" in line and 'mode = "proxy"' in line


def test_a_full_subnet_alone_is_fine() -> None:
    assert judge([], [FULL], "br0", 5) == []


def test_a_pxeclient_server_beside_a_proxy_subnet_is_named() -> None:
    pxe = server(vendor_class="PXEClient", boot_file="undionly.kpxe", vendor_options=True)
    (line,) = judge([pxe], [PROXY], "br0", 5)
    assert (
        "firmware prefers its PXEClient offer over any proxy: proxy boots on 198.51.100.0/24 will likely fail" in line
    )
    assert line.endswith("remove the PXE options (option 60, 43, boot file) from 192.0.2.254 (52:54:00:aa:bb:cc)")
    assert "'undionly.kpxe'" in line


def test_a_plain_address_server_beside_a_proxy_subnet_is_what_proxy_mode_wants() -> None:
    assert judge([server()], [PROXY], "br0", 5) == []
    assert judge([server(vendor_class="MSFT 5.0")], [PROXY], "br0", 5) == []


def test_a_proxy_subnet_without_an_address_server() -> None:
    (line,) = judge([], [PROXY], "br0", 2.5)
    assert "no DHCP server offered an address in 2.5 s" in line and "198.51.100.0/24 is a proxy subnet" in line


def test_another_proxy_server() -> None:
    other = server(offered=ZERO, vendor_class="PXEClient", boot_file="ipxe.efi")
    lines = judge([other], [PROXY], "br0", 5)
    assert len(lines) == 2  # no address server, and a second proxy
    assert "another proxyDHCP server answers booting clients" in lines[1] and "'ipxe.efi'" in lines[1]
    (line,) = judge([other], [FULL], "br0", 5)  # beside a full subnet: the proxy warning only
    assert "another proxyDHCP server" in line


def test_a_link_bootwright_does_not_serve_has_no_warnings() -> None:
    assert judge([server(vendor_class="PXEClient")], [], "eth9", 5) == []


def test_both_modes_on_one_link() -> None:
    pxe = server(vendor_class="PXEClient")
    lines = judge([pxe], [FULL, PROXY], "br0", 5)
    assert len(lines) == 2 and "conflicting addresses" in lines[0] and "prefers its PXEClient offer" in lines[1]


def test_subnets_on_an_interface_as_the_engine_places_them() -> None:
    assert subnets_on(CONFIG, "br0", []) == [FULL]  # named by interface
    assert subnets_on(CONFIG, "eth1", [IPv4Address("198.51.100.1")]) == [PROXY]  # holds our address
    assert subnets_on(CONFIG, "eth2", [IPv4Address("203.0.113.1")]) == []
    assert all(isinstance(s, Subnet4) for s in subnets_on(CONFIG, "br0", [IPv4Address("198.51.100.1")]))


def test_a_server_on_this_host_is_bootwright_itself_beside_a_full_subnet() -> None:
    """Only one process can hold UDP 67 here: an answer from this host on a full link is bootwright's own."""
    assert judge([server(local=True)], [FULL], "br0", 5) == []
    assert judge([server(local=True, offered=ZERO, vendor_class="PXEClient")], [PROXY], "br0", 5) != []  # no address


def test_a_server_on_this_host_beside_a_proxy_subnet_counts() -> None:
    """libvirt's dnsmasq on this host: it gives the addresses, and its PXEClient matters."""
    assert judge([server(local=True)], [PROXY], "virbr0", 5) == []
    (line,) = judge([server(local=True, vendor_class="PXEClient")], [PROXY], "virbr0", 5)
    assert "on this host" in line and "prefers its PXEClient offer" in line
