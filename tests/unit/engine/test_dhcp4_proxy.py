"""proxyDHCP on bytes: real firmware's DISCOVERs and boot server REQUESTs against a ``mode = "proxy"`` subnet.

The requests are the golden captures of ``tests/data`` (SeaBIOS iPXE, OVMF
UEFI PXE, OVMF UEFI HTTP boot, chain-loaded ipxe.efi); the replies are decoded
with the codec and checked field by field against what the firmware needs
(PXE 2.1 §2.2.2-§2.2.3; facts in docs/proxy.md).
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from bootwright.boot.policy import BootPolicy
from bootwright.config import ConfigError, parse_config
from bootwright.engine.dhcp4.proxy import DISCOVERY_USE_BOOTFILE
from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext
from bootwright.model import EventKind
from bootwright.wire.dhcp4 import BROADCAST_FLAG, Dhcp4Message, MessageType, decode, encode
from tests.unit.wire.test_golden import DATA, datagrams

CONFIG = """
[server]
interfaces = ["tap0"]
address4 = "192.0.2.1"

[dhcp4]
ipxe = { no-pxedhcp = 1 }

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "tap0"
mode = "proxy"
routers = ["192.0.2.254"]

[boot]
builtin = true
default = "linux"

[targets.linux]
kernel = "{{ http }}/vmlinuz"
"""

SERVER = IPv4Address("192.0.2.1")
RX = RxContext("tap0", (SERVER,), 1500)
T0 = 1_000_000.0


def engine(text: str = CONFIG) -> Dhcp4Engine:
    return Dhcp4Engine(BootPolicy.from_config(parse_config(text)), own_addresses=[SERVER])


def first(name: str, kind: MessageType) -> bytes:
    """The first client → server packet of ``kind`` in a golden capture."""
    for d in datagrams(DATA / f"{name}.pcap"):
        if d.family == 4 and decode(d.payload).message_type == kind:
            return d.payload
    raise AssertionError(f"{name}: no {kind.name}")


def plain_request(kind: MessageType) -> bytes:
    """What an OS DHCP client sends: no vendor class, user class or architecture."""
    msg = Dhcp4Message(op=1, xid=7, chaddr=bytes.fromhex("020000000009"), options={53: bytes((kind,))})
    return encode(msg)


def answer(eng: Dhcp4Engine, payload: bytes, rx: RxContext = RX) -> tuple[Dhcp4Message, object]:
    out = eng.handle(payload, rx, T0)
    assert out is not None and len(out.replies) == 1, f"no reply: {out}"
    data, dest = out.replies[0]
    return decode(bytes(data)), dest


def test_bios_ipxe_gets_the_file_and_discovery_control_8() -> None:
    reply, dest = answer(engine(), first("seabios-ipxe-v4", MessageType.DISCOVER))
    assert reply.message_type == MessageType.OFFER
    assert reply.yiaddr == IPv4Address(0)  # never an address
    assert reply.siaddr == SERVER
    assert reply.options[54] == SERVER.packed
    assert reply.options[60] == b"PXEClient"
    assert reply.options[43] == DISCOVERY_USE_BOOTFILE
    assert reply.file.rstrip(b"\0") == b"http://192.0.2.1/boot/entry.ipxe" or reply.options.get(67)
    assert reply.flags & BROADCAST_FLAG
    assert dest.address == IPv4Address("255.255.255.255")  # type: ignore[attr-defined]
    # The boot part only: no lease, mask, routers or DNS (the link's own server's job).
    for code in (1, 3, 6, 51, 58, 59):
        assert code not in reply.options, code
    # iPXE's no-pxedhcp would be meaningless coming from the proxy itself.
    assert b"\xb0" not in reply.options.get(175, b"")[:1]


def test_uefi_pxe_gets_no_option_43_and_the_boot_server_answers_on_4011() -> None:
    eng = engine()
    discover = first("ovmf-pxe-v4", MessageType.DISCOVER)
    offer, _ = answer(eng, discover)
    assert offer.options[60] == b"PXEClient"
    assert 43 not in offer.options  # EDK2 takes it as a BINL offer and asks on port 4011
    assert offer.options[97] == decode(discover).options[97]  # PXE 2.1 §2.2.1 echo
    # The firmware's boot server REQUEST: from its new address (given by the other server), port 4011.
    msg = decode(first("ovmf-pxe-v4", MessageType.REQUEST))
    options = {code: value for code, value in msg.options.items() if code not in (50, 54)}
    request = encode(replace(msg, ciaddr=IPv4Address("192.0.2.150"), options=options))
    client = (IPv4Address("192.0.2.150"), 4011)
    rx = replace(RX, boot_server=True, source=client)
    out = eng.handle(request, rx, T0)
    assert out is not None and out.events[0].kind == EventKind.DHCP4_PROXY_ACK
    ack = decode(bytes(out.replies[0].data))
    dest = out.replies[0].to
    assert ack.message_type == MessageType.ACK
    assert ack.yiaddr == IPv4Address(0) and ack.ciaddr == IPv4Address("192.0.2.150")
    assert ack.file.rstrip(b"\0") == b"ipxe.efi" and ack.siaddr == SERVER
    assert (dest.address, dest.port) == client
    # Its HTTP and TFTP requests now join its timeline.
    assert eng.mac_for_ip("192.0.2.150", T0) == "52:54:00:b0:01:04"


def test_uefi_http_boot_gets_httpclient_and_the_url() -> None:
    reply, _ = answer(engine(), first("ovmf-http-v4", MessageType.DISCOVER))
    assert reply.options[60] == b"HTTPClient"
    assert 43 not in reply.options
    url = reply.options.get(67) or reply.file.rstrip(b"\0")
    assert url == b"http://192.0.2.1/ipxe.efi"


def test_plain_clients_and_the_other_servers_traffic_get_nothing() -> None:
    eng = engine()
    plain = plain_request(MessageType.DISCOVER)
    assert eng.handle(plain, RX, T0) is None
    # The booting client's REQUEST to the other server: no reply, no NAK, no event - but its address is learnt.
    request = first("ovmf-pxe-v4", MessageType.REQUEST)
    assert eng.handle(request, RX, T0) is None
    assert eng.mac_for_ip("192.0.2.101", T0) == "52:54:00:b0:01:04"
    assert eng.stats["foreign"] == 2 and eng.stats["nak"] == 0


def test_malformed_boot_server_traffic_is_dropped_and_counted() -> None:
    eng = engine()
    rx = replace(RX, boot_server=True, source=(IPv4Address("192.0.2.150"), 4011))
    assert eng.handle(b"\x01" * 40, rx, T0) is None  # undecodable
    assert eng.handle(first("ovmf-pxe-v4", MessageType.DISCOVER), rx, T0) is None  # not a REQUEST
    plain = plain_request(MessageType.REQUEST)
    assert eng.handle(plain, rx, T0) is None  # not booting
    assert eng.stats["undecodable"] == 1 and eng.stats["boot_server_dropped"] == 2


def test_chain_loaded_ipxe_gets_its_script_from_the_proxy() -> None:
    reply, _ = answer(engine(), first("ipxe-efi-v4", MessageType.DISCOVER))
    assert reply.options[43] == DISCOVERY_USE_BOOTFILE  # iPXE boots the offer's file directly
    url = reply.options.get(67) or reply.file.rstrip(b"\0")
    assert url.endswith(b"/boot/entry.ipxe") or url.endswith(b".ipxe")


@pytest.mark.parametrize(
    ("extra", "key"),
    [('pools = ["192.0.2.100-192.0.2.199"]', "subnet4[0].pools"), ("authoritative = true", "subnet4[0].authoritative")],
)
def test_a_proxy_subnet_with_addresses_is_a_config_error(extra: str, key: str) -> None:
    text = CONFIG.replace('mode = "proxy"', f'mode = "proxy"\n{extra}')
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert key in str(err.value)


def test_golden_data_present() -> None:
    assert Path(DATA / "ovmf-pxe-v4.pcap").is_file()
