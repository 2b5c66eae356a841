"""The comparison itself, on built packets (no namespaces): address classes, fields, allow-list, table."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from bootwright.wire.dhcp4 import Dhcp4Message, MessageType, encode
from bootwright.wire.dhcp6 import (
    BootFileUrl,
    Dhcp6Message,
    Dhcp6Relay,
    DnsServers,
    IaAddr,
    IaNa,
    RelayMessage,
    decode,
    relay_reply,
)
from bootwright.wire.dhcp6 import MessageType as Msg6

from .clientset import ALL_CLIENTS, CLIENTS, INTERFACE_ID, client_mac, discover, link_local, relay_forward, solicit
from .compare import AddressClasses, compare, observe4, observe6, observe_ra, table, unexplained

DHCPD = """
subnet 192.0.2.0 netmask 255.255.255.0 {
  range dynamic-bootp 192.0.2.10 192.0.2.20;   # a comment: range 9.9.9.9;
  host h { hardware ethernet 52:54:00:00:00:01; fixed-address 192.0.2.15; }
}
subnet6 2001:db8::/64 { range6 2001:db8::100 2001:db8::1ff; }
subnet6 2001:db8:2::/64 { range6 2001:db8:2::/112; range6 2001:db8:2::/64 temporary; }
"""
CLASSES = AddressClasses.from_configs(DHCPD)


def _ack(yiaddr: str, **options: bytes) -> bytes:
    opts = {53: bytes((MessageType.ACK,)), **{int(k[1:]): v for k, v in options.items()}}
    return encode(Dhcp4Message(op=2, xid=1, chaddr=bytes(6), yiaddr=IPv4Address(yiaddr), file=b"ipxe.efi",
                               options=opts))  # fmt: skip


def test_address_classes_name_the_pool_and_prefer_the_fixed_address() -> None:
    assert CLASSES.classify(IPv4Address("192.0.2.11")) == "pool 192.0.2.10-192.0.2.20"
    assert CLASSES.classify(IPv4Address("192.0.2.15")) == "fixed 192.0.2.15"  # inside the pool too
    assert CLASSES.classify(IPv4Address("192.0.2.99")) == "outside every range"
    assert CLASSES.classify(IPv6Address("2001:db8::1a0")) == "pool 2001:db8::100-2001:db8::1ff"
    assert CLASSES.classify(IPv6Address("2001:db8:2::9")) == "pool 2001:db8:2::/112"  # a prefix, not `temporary`
    assert CLASSES.classify(IPv6Address("2001:db8:2::1:9")) == "outside every range"
    assert CLASSES.classify(None) == "-"


def test_dhcp4_fields_decode_sub_options_and_list_other_codes() -> None:
    obs = observe4([_ack("192.0.2.12", o175=bytes.fromhex("b00101"), o58=bytes.fromhex("0000012c"))], CLASSES)
    assert obs["reply"] == "ACK" and obs["yiaddr"] == "pool 192.0.2.10-192.0.2.20"
    assert obs["file"] == "ipxe.efi" and obs["opt67"] == "-" and obs["opt175"] == "no-pxedhcp=01"
    assert obs["opt58"] == "300"  # a code without a named field gets one of its own


def test_dhcp6_fields() -> None:
    reply = Dhcp6Message(Msg6.REPLY, 7, (
        IaNa(1, 10, 20, (IaAddr(IPv6Address("2001:db8::150"), 30, 40),)),
        BootFileUrl("tftp://[2001:db8::1]/ipxe.efi"), DnsServers((IPv6Address("2001:db8::53"),)),
    )).encode()  # fmt: skip
    obs = observe6([reply], CLASSES)
    assert obs["ia_na"] == "pool 2001:db8::100-2001:db8::1ff"
    assert obs["ia_times"] == "T1 10 T2 20 preferred 30 valid 40"
    assert obs["opt59"] == "tftp://[2001:db8::1]/ipxe.efi" and obs["opt23"] == "2001:db8::53"


def test_a_relay_reply_counts_as_its_message_plus_the_relay_fields() -> None:
    mac = client_mac(ALL_CLIENTS["ipxe-efi"], 0, 9)
    assert link_local(mac) == IPv6Address("fe80::5054:ff:fed1:900")  # modified EUI-64 (RFC 4291 App. A)
    fwd = decode(relay_forward(solicit(ALL_CLIENTS["ipxe-efi"], 7, mac), IPv6Address("2001:db8::2"),
                               link_local(mac), INTERFACE_ID, b"rack-4"))  # fmt: skip
    assert isinstance(fwd, Dhcp6Relay) and fwd.interface_id == INTERFACE_ID
    reply = Dhcp6Message(Msg6.REPLY, 7, (BootFileUrl("http://[2001:db8::1]/boot.ipxe"),))
    relayed = observe6([relay_reply(reply, [fwd]).encode()], CLASSES)
    assert relayed == {
        **observe6([reply.encode()], CLASSES),
        "relay": "Relay-Repl hop 0 link 2001:db8::2 peer fe80::5054:ff:fed1:900",
        "relay-opt18": "srv0:vlan7",  # echoed; the Remote-Id (37) is not (RFC 8415 §19.3)
    }
    silent = Dhcp6Relay(Msg6.RELAY_REPL, 0, fwd.link_address, fwd.peer_address, (RelayMessage(reply),))
    assert observe6([silent.encode()], CLASSES)["relay-opt18"] == "-"  # a server that does not echo it: a field


def test_rdisc6_output_becomes_fields() -> None:
    out = ("Hop limit                 :           64 (      0x40)\n"
           "Stateful address conf.    :           No\nPrefix                   : 2001:db8::/64\n"
           " On-link                 :          Yes\n")  # fmt: skip
    obs = observe_ra(out)
    assert (obs["M"], obs["prefix"], obs["L"], obs["rdnss"]) == ("No", "2001:db8::/64", "Yes", "-")


def test_differences_are_explained_by_wildcard_keys_only() -> None:
    ref = {"a/v4": {"file": "x", "opt67": "-"}, "rdisc6/ra": {"M": "Yes"}}
    ours = {"a/v4": {"file": "x", "opt67": "x"}, "rdisc6/ra": {"M": "No"}}
    diffs = compare("seed009", ref, ours, {("seed*", "*/v4*", "opt67"): "because"})
    assert [(d.client, d.field, d.reason) for d in diffs] == [("a/v4", "opt67", "because"), ("rdisc6/ra", "M", None)]
    assert [d.field for d in unexplained(diffs)] == ["M"]
    text = table(diffs)
    assert [line.split()[:4] for line in text.splitlines()[2:]] == [
        ["ok", "seed009", "a/v4", "opt67"],
        ["!!", "seed009", "rdisc6/ra", "M"],
    ]


def test_the_client_set_encodes() -> None:
    for i, c in enumerate(CLIENTS):
        assert len(discover(c, i, client_mac(c, i, 0))) >= 300  # RFC 1542 §2.1 minimum
