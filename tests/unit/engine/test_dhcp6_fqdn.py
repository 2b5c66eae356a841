"""The DHCPv6 client's name (Client FQDN, option 39, RFC 4704) kept in its lease, as DHCPv4 keeps option 12."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from bootwright.engine.dhcp6.server import Received, client_fqdn
from bootwright.wire import DecodeError
from bootwright.wire.dhcp6 import ClientFqdn, ClientId, Dhcp6Message, IaAddr, IaNa, MessageType, decode
from tests.unit.engine.test_dhcp6 import NOW, SID, cid, exchange, make, msg, reply, send

# ISC dhclient 4.4 (Debian 12) `dhclient -6 -1` with `send fqdn.fqdn "client6.example.org.";`: its first
# Solicit, captured on the server's veth with tcpdump (UDP payload). Option 39 (offset 38) is the flags octet
# 0x00 (S, O, N clear: RFC 4704 §4.1) and the name in DNS wire format, ending in the root label.
DHCLIENT_SOLICIT = bytes.fromhex(
    "015d861d"
    "0001000e0001000132a4036d36ba8965456a"  # Client Identifier: DUID-LLT, MAC 36:ba:89:65:45:6a
    "000600040017"
    "0018"  # ORO: DNS servers, domain list
    "000800020000"  # Elapsed Time
    "002700160007636c69656e7436076578616d706c65036f726700"  # Client FQDN
    "0003000c8965456a00000e1000001518"  # IA_NA
)
DHCLIENT_LL = IPv6Address("fe80::34ba:89ff:fe65:456a")  # its link-local source


def test_dhclients_option_39_decodes_to_its_name() -> None:
    m = decode(DHCLIENT_SOLICIT)
    assert isinstance(m, Dhcp6Message)
    fqdn = m.get(ClientFqdn)
    assert fqdn is not None and fqdn.flags == 0 and fqdn.domain_name() == "client6.example.org"
    assert fqdn.payload() == DHCLIENT_SOLICIT[40:62]  # the option body, kept as sent


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        (b"\x00" + b"\x07client6\x07example\x03org\x00", "client6.example.org"),  # fully qualified
        (b"\x01" + b"\x07client6", "client6"),  # partial: no root label (RFC 4704 §4.2), S bit set
        (b"\x00" + b"\x07client6\x07example", "client6.example"),  # partial, two labels
        (b"\x00", ""),  # no name: the client asks the server for one (§4.2)
        (b"\x00\x00", ""),  # the root name alone
    ],
)
def test_full_partial_and_empty_names(payload: bytes, name: str) -> None:
    assert ClientFqdn.decode_payload(payload, 0, len(payload)).domain_name() == name


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00\x07client6\x00junk",  # octets after the root label
        b"\x00\xc0\x0c",  # a compression pointer (RFC 8415 §10 forbids them)
        b"\x00\x09client6",  # a label running past the end
    ],
)
def test_malformed_names_are_decode_errors_and_no_host_name(payload: bytes) -> None:
    option = ClientFqdn.decode_payload(payload, 0, len(payload))
    with pytest.raises(DecodeError):
        option.domain_name()
    assert client_fqdn(option) is None  # the client still gets its address, without a name


def test_names_are_cleaned_for_logs_and_the_store() -> None:
    hostile = b"\x00\x0cweb<script>1\x07example\x00"
    assert client_fqdn(ClientFqdn.decode_payload(hostile, 0, len(hostile))) == "webscript1.example"
    assert client_fqdn(None) is None
    longest = b"\x00" + (b"\x3f" + b"a" * 63) * 3 + b"\x3d" + b"b" * 61 + b"\x00"  # 255 octets: the most
    name = client_fqdn(ClientFqdn.decode_payload(longest, 0, len(longest)))
    assert name is not None and len(name) == 253
    longer = b"\x00" + (b"\x3f" + b"a" * 63) * 4  # partial, but 257 octets with its root label: refused
    assert client_fqdn(ClientFqdn.decode_payload(longer, 0, len(longer))) is None


def test_dhclients_solicit_and_request_bind_the_lease_with_its_name() -> None:
    e = make()
    out = e.handle(DHCLIENT_SOLICIT, Received(DHCLIENT_LL, "eth0", True), NOW)
    adv = reply(out)
    assert adv.msg_type == MessageType.ADVERTISE and out is not None and not out.writes
    assert out.events[0].detail["hostname"] == "client6.example.org"
    assert adv.get(ClientFqdn) is None  # no DNS updates here: the server does not answer option 39 (§4.1)
    client = adv.get(ClientId)
    ia = adv.get(IaNa)
    assert client is not None and ia is not None
    address = ia.get(IaAddr)
    assert address is not None
    fqdn = ClientFqdn(0, b"\x07client6\x07example\x03org\x00")
    request = msg(MessageType.REQUEST, client, SID, IaNa(ia.iaid, 0, 0, (IaAddr(address.address, 0, 0),)), fqdn)
    out = send(e, request, src=DHCLIENT_LL)
    assert out is not None
    (lease,) = out.writes
    assert lease.hostname == "client6.example.org" and lease.mac == "36:ba:89:65:45:6a"
    assert out.events[0].kind == "dhcp6.reply" and out.events[0].detail["hostname"] == "client6.example.org"


def test_without_option_39_the_lease_keeps_the_inventorys_name() -> None:
    e = make()
    fixed = cid(bytes.fromhex("525400aabbcc"))  # the config's host "fixed"
    _, out = exchange(e, fixed)
    (lease,) = out.writes
    assert lease.hostname == "fixed" and "hostname" not in out.events[0].detail
    # With the option, the client's own name wins, as option 12 does in DHCPv4.
    _, out = exchange(e, fixed, ClientFqdn(0, b"\x05named"))
    (lease,) = out.writes
    assert lease.hostname == "named"


def test_a_renew_keeps_the_name() -> None:
    e = make()
    fqdn = ClientFqdn(1, b"\x05node7\x00")
    rep, _ = exchange(e, cid(), fqdn)
    ia = rep.get(IaNa)
    assert ia is not None
    addr = ia.get(IaAddr)
    assert addr is not None
    renew = msg(MessageType.RENEW, cid(), SID, IaNa(ia.iaid, 0, 0, (IaAddr(addr.address, 0, 0),)), fqdn)
    out = send(e, renew, now=NOW + 2000)
    assert out is not None
    (lease,) = out.writes
    assert lease.hostname == "node7" and lease.expires == NOW + 2000 + 4000
