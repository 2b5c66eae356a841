"""Golden packets: real firmware's DHCP requests, decoded by bootwright's codecs.

``tests/data/<client>-v<family>.pcap`` hold the client → server DHCP packets
that real firmware sent in the lab (QEMU; see ``tests/data/README.md``):

==================  ==========================================================
``seabios-ipxe``    SeaBIOS with the iPXE option ROM (Debian ``ipxe-qemu``)
``ovmf-pxe``        OVMF (EDK2) UEFI PXE
``ovmf-http``       OVMF (EDK2) UEFI HTTP boot
``ipxe-efi``        Debian's ``ipxe.efi``, chain-loaded by OVMF
==================  ==========================================================

Each ``.pcap`` has a ``.txt`` beside it: every packet decoded with
:func:`bootwright.wire.dhcp4.decode` / :func:`bootwright.wire.dhcp6.decode`
and rendered by :func:`render` (message type, header fields, options by code
and name with their values). The test compares the two (netboot's
``dhcp4/packet_test.go`` pattern); with ``UPDATE_GOLDEN=1`` it rewrites the
``.txt`` instead::

    UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/unit/wire/test_golden.py

It also checks that every packet survives decode → encode → decode, and that
the engines, fed the real packets in order, see what bootwright relies on:
client architecture (DHCPv4 option 93 / DHCPv6 option 61) 0 for BIOS, 7 for
UEFI PXE, 16 for UEFI HTTP boot; vendor class ``PXEClient``/``HTTPClient``;
user class ``iPXE``; and that the answer boots each of them the right way.

Regenerate the captures, all in one run (root, QEMU, tcpdump; one lab session,
one VM at a time, about 4 minutes under TCG; ``tcpdump`` listens only on each
VM's tap inside the lab's namespace)::

    sudo .venv/bin/python tests/data/capture.py        # writes tests/data/*.pcap
    UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/unit/wire/test_golden.py

No root, QEMU or network is needed to run this test: it only reads files.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

import pytest

from bootwright.wire import dhcp4, dhcp6
from bootwright.wire.dhcp4_options import (
    BOOTFILE_NAME,
    CLIENT_ARCH,
    REQUESTED_ADDRESS,
    USER_CLASS_OPTION,
    VENDOR_CLASS,
    describe_option,
)
from bootwright.wire.dhcp4_options import MessageType as MessageType4
from bootwright.wire.dhcp4_options import option_name as option4_name

DATA = Path(__file__).resolve().parents[2] / "data"
PCAPS = sorted(DATA.glob("*.pcap"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# --- a tiny pcap reader (libpcap format, Ethernet link type), stdlib only -------------------

LINKTYPE_ETHERNET = 1
ETH_IPV4, ETH_IPV6, IPPROTO_UDP = 0x0800, 0x86DD, 17
# The file's first four octets → byte order and timestamp fraction (µs, or ns for the 0xa1b23c4d magic).
PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e6),
    b"\xa1\xb2\xc3\xd4": (">", 1e6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e9),
    b"\xa1\xb2\x3c\x4d": (">", 1e9),
}


@dataclass(frozen=True)
class Datagram:
    """One UDP datagram of a capture, with the addresses it travelled between."""

    time: float  # seconds since the epoch, as captured
    family: int
    mac: str  # Ethernet source
    src: IPv4Address | IPv6Address
    sport: int
    dst: IPv4Address | IPv6Address
    dport: int
    payload: bytes


def read_pcap(path: Path) -> list[tuple[float, bytes]]:
    """(capture time, frame) of each record of a classic pcap file (either byte order, µs or ns)."""
    data = path.read_bytes()
    try:
        endian, fraction = PCAP_MAGIC[data[:4]]
    except KeyError:
        raise ValueError(f"{path}: not a pcap file (magic {data[:4].hex()})") from None
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    if linktype != LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: link type {linktype}, expected Ethernet ({LINKTYPE_ETHERNET})")
    records, i = [], 24
    while i < len(data):
        sec, frac, incl, orig = struct.unpack_from(endian + "IIII", data, i)
        if incl != orig:
            raise ValueError(f"{path}: record at offset {i} truncated to {incl} of {orig} octets")
        records.append((sec + frac / fraction, data[i + 16 : i + 16 + incl]))
        i += 16 + incl
    return records


def udp_datagram(time: float, frame: bytes) -> Datagram:
    """Ethernet II → IPv4 (any header length) or IPv6 (no extension headers) → UDP."""
    mac = frame[6:12].hex(":")
    ethertype, ip = struct.unpack_from("!H", frame, 12)[0], frame[14:]
    if ethertype == ETH_IPV4 and ip[9] == IPPROTO_UDP:
        family, src, dst, udp = 4, ip[12:16], ip[16:20], ip[(ip[0] & 0x0F) * 4 :]
    elif ethertype == ETH_IPV6 and ip[6] == IPPROTO_UDP:
        family, src, dst, udp = 6, ip[8:24], ip[24:40], ip[40:]
    else:
        raise ValueError(f"not UDP over IPv4/IPv6: ethertype 0x{ethertype:04x}")
    sport, dport, length = struct.unpack_from("!HHH", udp)
    return Datagram(time, family, mac, ip_address(src), sport, ip_address(dst), dport, udp[8:length])


def datagrams(path: Path) -> list[Datagram]:
    return [udp_datagram(t, f) for t, f in read_pcap(path)]


# --- the rendering ----------------------------------------------------------------------------


def _endpoint(addr: IPv4Address | IPv6Address, port: int) -> str:
    return f"{addr}:{port}" if addr.version == 4 else f"[{addr}]:{port}"


def render4(msg: dhcp4.Dhcp4Message) -> list[str]:
    mtype = msg.message_type
    lines = [
        f"DHCP{mtype.name if mtype is not None else 'BOOTP'} xid 0x{msg.xid:08x}",
        f"  op {msg.op} htype {msg.htype} hlen {msg.hlen} hops {msg.hops} secs {msg.secs} flags 0x{msg.flags:04x}",
        f"  chaddr {msg.chaddr.hex(':')}",
        f"  ciaddr {msg.ciaddr} yiaddr {msg.yiaddr} siaddr {msg.siaddr} giaddr {msg.giaddr}",
        f"  sname {msg.sname.decode('latin-1')!r} file {msg.file.decode('latin-1')!r}",
    ]
    for code, raw in msg.options.items():
        lines.append(f"  option {code} {option4_name(code)} ({len(raw)}): {describe_option(code, raw)}")
    return lines


def render6(msg: dhcp6.Dhcp6Message | dhcp6.Dhcp6Relay) -> list[str]:
    if isinstance(msg, dhcp6.Dhcp6Relay):
        head = f"{dhcp6.message_name(msg.msg_type)} hop {msg.hop_count} link {msg.link_address} peer {msg.peer_address}"
    else:
        head = f"{dhcp6.message_name(msg.msg_type)} xid 0x{msg.transaction_id:06x}"
    lines = [head]
    for o in msg.options:
        lines.append(f"  option {o.code} {dhcp6.option_name(o.code)}: {dhcp6.format_option(o.code, o)}")
    return lines


def render(path: Path) -> str:
    """Every packet of ``path``: where it went, then its decoded message."""
    out = [f"# {path.name}: rendered by tests/unit/wire/test_golden.py (UPDATE_GOLDEN=1 rewrites it)"]
    for n, d in enumerate(datagrams(path), 1):
        route = f"{_endpoint(d.src, d.sport)} -> {_endpoint(d.dst, d.dport)}"
        out += ["", f"packet {n}: {d.mac} {route}, {len(d.payload)} octets"]
        out += render4(dhcp4.decode(d.payload)) if d.family == 4 else render6(dhcp6.decode(d.payload))
    return "\n".join(out) + "\n"


# --- the tests --------------------------------------------------------------------------------

pytestmark = pytest.mark.skipif(not PCAPS, reason="no golden captures in tests/data")


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", PCAPS, ids=_ids(PCAPS))
def test_rendering_matches_golden(path: Path) -> None:
    golden = path.with_suffix(".txt")
    text = render(path)
    if UPDATE:
        golden.write_text(text)
    assert golden.exists(), f"{golden} is missing: run UPDATE_GOLDEN=1 .venv/bin/pytest -q {__file__}"
    assert text == golden.read_text(), f"{golden.name} differs: if the change is intended, rerun with UPDATE_GOLDEN=1"


def test_every_golden_text_has_its_capture() -> None:
    assert sorted(p.stem for p in DATA.glob("*.txt")) == _ids(PCAPS)


@pytest.mark.parametrize("path", PCAPS, ids=_ids(PCAPS))
def test_round_trip(path: Path) -> None:
    for d in datagrams(path):
        if d.family == 4:
            msg4 = dhcp4.decode(d.payload)
            assert dhcp4.decode(dhcp4.encode(msg4)) == msg4
        else:
            msg6 = dhcp6.decode(d.payload)
            assert dhcp6.decode(dhcp6.encode(msg6)) == msg6
            assert dhcp6.encode(msg6) == d.payload  # DHCPv6 has no padding: byte-exact


# --- what bootwright relies on: the facts of each client, then the engines' answers -----------


@dataclass(frozen=True)
class Client:
    """What a firmware client says about itself, and how bootwright must answer it."""

    arch: int  # DHCPv4 option 93 / DHCPv6 option 61 (RFC 4578 §2.1, RFC 5970 §3.3)
    vendor: str  # DHCPv4 option 60 / DHCPv6 option 16 data (enterprise 343)
    ipxe: bool  # user class "iPXE" (DHCPv4 option 77, DHCPv6 option 15)
    boot4: str  # the boot file a DHCPv4 answer names
    boot6: str  # the boot file URL (option 59) a DHCPv6 answer carries
    http_echo: bool = False  # UEFI HTTP boot needs "HTTPClient" echoed (option 60 / option 16)


HTTP4, HTTP6 = "http://192.0.2.1/", "http://[2001:db8::1]/"  # the lab's server, examples/quickstart.toml
CLIENTS = {
    "seabios-ipxe": Client(0, "PXEClient:Arch:00000:UNDI:002001", True, f"{HTTP4}boot.ipxe", f"{HTTP6}boot.ipxe"),
    "ovmf-pxe": Client(7, "PXEClient:Arch:00007:UNDI:003000", False, "ipxe.efi", "tftp://[2001:db8::1]/ipxe.efi"),
    "ovmf-http": Client(16, "HTTPClient:Arch:00016:UNDI:003000", False, f"{HTTP4}ipxe.efi", f"{HTTP6}ipxe.efi", True),
    "ipxe-efi": Client(7, "PXEClient:Arch:00007:UNDI:003010", True, f"{HTTP4}boot.ipxe", f"{HTTP6}boot.ipxe"),
}
ENTERPRISE_EDK2 = 343  # Intel's enterprise number: EDK2 and iPXE send it in DHCPv6 option 16
QUICKSTART = Path(__file__).resolve().parents[3] / "examples" / "quickstart.toml"  # what the lab served


def client_of(path: Path) -> Client:
    return CLIENTS[path.stem.rsplit("-v", 1)[0]]


def test_every_capture_is_a_known_client() -> None:
    assert {p.stem.rsplit("-v", 1)[0] for p in PCAPS} <= set(CLIENTS)


@pytest.mark.parametrize("path", PCAPS, ids=_ids(PCAPS))
def test_client_facts(path: Path) -> None:
    """Architecture, vendor class and user class, as the firmware sent them."""
    want = client_of(path)
    described = 0
    for d in datagrams(path):
        if d.family == 4:
            m4 = dhcp4.decode(d.payload)
            assert tuple(m4.option(CLIENT_ARCH.code) or ()) == (want.arch,)
            assert m4.get(VENDOR_CLASS) == want.vendor
            assert (tuple(m4.option(USER_CLASS_OPTION.code) or ()) == ("iPXE",)) is want.ipxe
            assert m4.chaddr.hex(":") == d.mac
            described += 1
            continue
        m6 = dhcp6.decode(d.payload)
        assert isinstance(m6, dhcp6.Dhcp6Message)
        user = m6.get(dhcp6.UserClass)
        assert (user is not None and user.data == (b"iPXE",)) is want.ipxe
        arch, vendor = m6.get(dhcp6.ClientArchType), m6.get(dhcp6.VendorClass)
        if arch is None:  # OVMF: see test_ovmf_dhcp6_exchange_without_arch
            assert vendor is None and not want.ipxe
            continue
        assert arch.values == (want.arch,)
        assert vendor is not None and vendor.enterprise == ENTERPRISE_EDK2
        assert vendor.data == (want.vendor.encode(),)
        described += 1
    assert described >= 2  # a DISCOVER/SOLICIT and a REQUEST at least


@pytest.mark.parametrize("path", [p for p in PCAPS if p.stem.startswith("ovmf-") and p.stem.endswith("-v6")])
def test_ovmf_dhcp6_exchange_without_arch(path: Path) -> None:
    """OVMF runs two DHCPv6 exchanges under one DUID; only one says what it is (issue 7).

    One Solicit/Request pair carries neither option 61 nor option 16, the other
    carries both; bootwright must still answer the HTTP boot client as one.
    """
    messages = [dhcp6.decode(d.payload) for d in datagrams(path)]
    solicits = [m for m in messages if m.msg_type == dhcp6.MessageType.SOLICIT]
    assert len(solicits) == 2
    assert len({m.get(dhcp6.ClientId) for m in messages}) == 1
    assert sorted(m.get(dhcp6.VendorClass) is None for m in solicits) == [False, True]


def _replay(family: int) -> list[tuple[Path, Datagram, bytes | None]]:
    """Every captured packet of ``family``, in capture order, through one engine serving the
    quickstart config the lab ran: (file, packet, the engine's reply)."""
    from bootwright.boot.policy import BootPolicy
    from bootwright.config import load_config

    config = load_config(QUICKSTART)
    policy = BootPolicy.from_config(config)
    packets = sorted(((d, p) for p in PCAPS for d in datagrams(p) if d.family == family), key=lambda x: x[0].time)
    out: list[tuple[Path, Datagram, bytes | None]] = []
    if family == 4:
        from bootwright.engine.dhcp4.server import Dhcp4Engine, RxContext

        eng4 = Dhcp4Engine(policy)
        rx = RxContext("tap0", (IPv4Address("192.0.2.1"),), 1500)
        for d, p in packets:
            meta = RxContext(rx.interface, rx.addresses, rx.mtu, d.dst == IPv4Address("255.255.255.255"))
            o4 = eng4.handle(d.payload, meta, d.time)  # the octets as captured: the engine decodes
            out.append((p, d, bytes(o4.reply) if o4 is not None and o4.reply is not None else None))
        return out
    from bootwright.engine.dhcp6.server import Dhcp6Engine, Received

    # The lab's server identified itself with this DUID: answer as it did.
    sids = {sid.duid.encode() for d, _ in packets if (sid := dhcp6.decode(d.payload).get(dhcp6.ServerId))}
    assert len(sids) == 1, "the captures come from more than one lab run: recapture them together"
    eng6 = Dhcp6Engine(policy, sids.pop(), {"tap0": config.subnet6[0]}, (), packets[0][0].time)
    for d, p in packets:
        assert isinstance(d.src, IPv6Address)
        o6 = eng6.handle(d.payload, Received(d.src, "tap0", d.dst.is_multicast), d.time)
        out.append((p, d, bytes(o6.reply) if o6 is not None and o6.reply is not None else None))
    return out


def test_dhcp4_engine_answers_the_real_packets() -> None:
    replay = _replay(4)
    if not replay:
        pytest.skip("no DHCPv4 captures")
    answer = {MessageType4.DISCOVER: MessageType4.OFFER, MessageType4.REQUEST: MessageType4.ACK}
    for path, d, raw in replay:
        want, msg = client_of(path), dhcp4.decode(d.payload)
        where = f"{path.name} {msg.message_type!s} from {d.mac}"
        assert raw is not None, f"{where}: no answer"
        reply = dhcp4.decode(raw)
        assert msg.message_type is not None and reply.message_type == answer[msg.message_type], where
        if msg.message_type == MessageType4.REQUEST:  # the address the lab's server gave
            assert reply.yiaddr == msg.get(REQUESTED_ADDRESS), where
        assert reply.get(BOOTFILE_NAME) == want.boot4 and reply.file == want.boot4.encode(), where
        assert (reply.get(VENDOR_CLASS) == "HTTPClient") is want.http_echo, where


def test_dhcp6_engine_answers_the_real_packets() -> None:
    replay = _replay(6)
    if not replay:
        pytest.skip("no DHCPv6 captures")
    t = dhcp6.MessageType
    answer = {t.SOLICIT: t.ADVERTISE, t.REQUEST: t.REPLY, t.RELEASE: t.REPLY}
    for path, d, raw in replay:
        want, msg = client_of(path), dhcp6.decode(d.payload)
        assert isinstance(msg, dhcp6.Dhcp6Message)
        where = f"{path.name} {dhcp6.message_name(msg.msg_type)} from {d.mac}"
        assert raw is not None, f"{where}: no answer"
        reply = dhcp6.decode(raw)
        assert isinstance(reply, dhcp6.Dhcp6Message) and reply.msg_type == answer[t(msg.msg_type)], where
        if msg.msg_type == t.RELEASE:
            status = reply.get(dhcp6.StatusCodeOption)
            assert status is not None and status.status == dhcp6.StatusCode.SUCCESS, where
            continue
        if msg.msg_type == t.REQUEST:  # the address the lab's server gave
            asked, got = msg.get(dhcp6.IaNa), reply.get(dhcp6.IaNa)
            assert asked is not None and got is not None, where
            asked_addr, got_addr = asked.get(dhcp6.IaAddr), got.get(dhcp6.IaAddr)
            assert asked_addr is not None and got_addr is not None, where
            assert got_addr.address == asked_addr.address, where
        # OVMF's exchange without option 61/16 gets a boot file only when the same DUID said
        # HTTPClient before (issue 7): a client that says nothing about itself boots nothing.
        said = msg.get(dhcp6.ClientArchType) is not None or want.http_echo
        url = reply.get(dhcp6.BootFileUrl)
        assert (url.url if url is not None else None) == (want.boot6 if said else None), where
        echo = reply.get(dhcp6.VendorClass)
        http = echo is not None and echo.enterprise == ENTERPRISE_EDK2 and echo.data == (b"HTTPClient",)
        assert http is want.http_echo, where
