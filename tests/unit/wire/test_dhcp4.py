"""Byte-level tests of the DHCPv4 message codec (RFC 2131, RFC 2132 §9.3, RFC 3396).

Golden packets are built field by field from the RFC 2131 §2 layout with the
options written out as hex TLVs, the way each client puts them on the wire
(option order and contents follow iPXE ``dhcp.c``, EDK2 ``PxeBcDhcp4.c`` /
``HttpBootDhcp4.c`` and ISC dhclient), independently of the encoder under test.
"""

from __future__ import annotations

import contextlib
import struct
from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bootwright.wire import DecodeError
from bootwright.wire.dhcp4 import (
    BOOTREPLY,
    BOOTREQUEST,
    BROADCAST_FLAG,
    MAGIC_COOKIE,
    Destination,
    Dhcp4Message,
    EncodeError,
    Options,
    client_key,
    decode,
    encode,
    mac_of,
    max_message_size,
    reply_destination,
)
from bootwright.wire.dhcp4_options import (
    CLIENT_ARCH,
    CLIENT_IDENTIFIER,
    CLIENT_MACHINE_ID,
    DOMAIN_SEARCH,
    IPXE_ENCAP,
    PARAMETER_REQUEST_LIST,
    RELAY_AGENT_INFO,
    ROUTERS,
    USER_CLASS_OPTION,
    VENDOR_CLASS,
    MessageType,
    RelaySubOption,
    encode_options,
)

A = IPv4Address
MAC = bytes.fromhex("525400123456")
ZERO = A(0)


def packet(
    *,
    op: int = BOOTREQUEST,
    xid: int = 0x4A3F2B1C,
    secs: int = 0,
    flags: int = 0,
    ciaddr: str = "0.0.0.0",
    yiaddr: str = "0.0.0.0",
    siaddr: str = "0.0.0.0",
    giaddr: str = "0.0.0.0",
    hops: int = 0,
    chaddr: bytes = MAC,
    sname: bytes = b"",
    file: bytes = b"",
    options: str = "",
    pad_to: int = 300,
) -> bytes:
    """RFC 2131 §2 Figure 1, written out with struct: the reference the codec is checked against."""
    head = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        op,
        1,
        len(chaddr),
        hops,
        xid,
        secs,
        flags,
        A(ciaddr).packed,
        A(yiaddr).packed,
        A(siaddr).packed,
        A(giaddr).packed,
        chaddr.ljust(16, b"\0"),
        sname.ljust(64, b"\0"),
        file.ljust(128, b"\0"),
    )
    raw = head + MAGIC_COOKIE + bytes.fromhex(options.replace(" ", "").replace("\n", ""))
    return raw.ljust(pad_to, b"\0")


def tlv(code: int, value: bytes) -> str:
    return f"{code:02x}{len(value):02x}{value.hex()}"


UUID_BYTES = bytes.fromhex("78563412cdab34121234567890abcdef")  # EFI (bytes_le) order

# iPXE 1.21 undionly.kpxe on SeaBIOS (iPXE dhcp.c dhcp_create_request order).
IPXE_DISCOVER = packet(
    flags=BROADCAST_FLAG,
    options=(
        tlv(53, b"\x01")
        + tlv(57, b"\x05\xc0")  # 1472
        + tlv(93, b"\x00\x00")  # x86 BIOS (RFC 4578 §2.1)
        + tlv(94, b"\x01\x02\x01")  # UNDI 2.1
        + tlv(60, b"PXEClient:Arch:00000:UNDI:002001")
        + tlv(77, b"iPXE")  # raw, not RFC 3004
        + tlv(55, bytes([1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 175, 203]))
        + tlv(
            175,
            bytes.fromhex(
                tlv(0xB1, b"\x01\x80\x86\x10\x0e")
                + tlv(0xEB, b"\x01\x15\x00")
                + tlv(0x13, b"\x01")
                + tlv(0x14, b"\x01")
                + tlv(0x15, b"\x01")
                + tlv(0x17, b"\x01")
                + tlv(0x21, b"\x01")
                + tlv(0x27, b"\x01")
            ),
        )
        + tlv(61, b"\x01" + MAC)
        + tlv(97, b"\x00" + UUID_BYTES)
        + "ff"
    ),
    pad_to=0,
)

# OVMF (EDK2 PxeBcDhcp4.c PxeBcBuildDhcp4Options order), x64 UEFI PXE.
OVMF_DISCOVER = packet(
    xid=0x1E2D3C4B,
    secs=4,
    flags=BROADCAST_FLAG,
    options=(
        tlv(53, b"\x01")
        + tlv(57, b"\x05\xc0")
        + tlv(55, bytes([1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58]))
        + tlv(97, b"\x00" + UUID_BYTES)
        + tlv(94, b"\x01\x03\x00")
        + tlv(93, b"\x00\x07")
        + tlv(60, b"PXEClient:Arch:00007:UNDI:003000")
        + "ff"
    ),
)

# OVMF UEFI HTTP boot (EDK2 HttpBootDhcp4.c): arch 16 = x64 UEFI HTTP (IANA processor types).
HTTP_DISCOVER = packet(
    xid=0x0BADCAFE,
    flags=BROADCAST_FLAG,
    options=(
        tlv(53, b"\x01")
        + tlv(57, b"\x05\xc0")
        + tlv(55, bytes([1, 3, 6, 12, 15, 17, 28, 42, 43, 60, 66, 67, 119]))
        + tlv(97, b"\x00" + UUID_BYTES)
        + tlv(94, b"\x01\x03\x00")
        + tlv(93, b"\x00\x10")
        + tlv(60, b"HTTPClient:Arch:00016:UNDI:003000")
        + "ff"
    ),
)

# ISC dhclient 4.4 REQUEST in SELECTING state (RFC 2131 §4.3.2).
DHCLIENT_REQUEST = packet(
    xid=0x9C1D7E01,
    secs=3,
    options=(
        tlv(53, b"\x03")
        + tlv(54, A("192.0.2.1").packed)
        + tlv(50, A("192.0.2.50").packed)
        + tlv(12, b"debian")
        + tlv(55, bytes([1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42]))
        + "ff"
    ),
)

# A DISCOVER relayed by a switch (RFC 3046) with link selection (RFC 3527) and
# server-id override (RFC 5107) sub-options.
RELAY_82 = (
    tlv(1, b"\x00\x04\x00\x64\x00\x01")  # circuit id: VLAN 100, port 1
    + tlv(2, MAC)  # remote id
    + tlv(5, A("10.20.30.0").packed)  # link selection
    + tlv(11, A("198.51.100.1").packed)  # server id override
)
RELAYED_DISCOVER = packet(
    xid=0x11223344,
    hops=1,
    giaddr="198.51.100.1",
    options=tlv(53, b"\x01") + tlv(61, b"\x01" + MAC) + tlv(82, bytes.fromhex(RELAY_82)) + "ff",
)


def rfc951_request(
    *,
    xid: int = 0x0BEEF001,
    secs: int = 0,
    ciaddr: str = "0.0.0.0",
    giaddr: str = "0.0.0.0",
    hops: int = 0,
    chaddr: bytes = MAC,
    sname: bytes = b"",
    file: bytes = b"",
    vend: bytes = bytes(64),
) -> bytes:
    """A plain RFC 951 §3 BOOTREQUEST, written out with struct: no magic cookie, the raw vendor area."""
    return struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        BOOTREQUEST,
        1,  # htype: 10 Mb Ethernet
        len(chaddr),
        hops,
        xid,
        secs,
        0,  # RFC 951 "unused"; RFC 1542 §2.2 flags, clear
        A(ciaddr).packed,
        bytes(4),
        bytes(4),
        A(giaddr).packed,
        chaddr.ljust(16, b"\0"),
        sname.ljust(64, b"\0"),
        file.ljust(128, b"\0"),
    ) + vend


# An RFC 951 client with an all-zero vendor area, and one with the CMU "STAN" magic (bootp.h
# "vendor data permitted for Stanford boot clients") and a generic boot file name.
RFC951_ZERO = rfc951_request()
RFC951_STAN = rfc951_request(xid=0x51A4, secs=9, file=b"vmunix", vend=b"STAN" + bytes([0, 0, 0, 1]) + bytes(56))


# --- golden packets ---------------------------------------------------------------------------


def test_ipxe_discover() -> None:
    m = decode(IPXE_DISCOVER)
    assert (m.op, m.xid, m.htype, m.hlen, m.chaddr) == (BOOTREQUEST, 0x4A3F2B1C, 1, 6, MAC)
    assert m.broadcast and m.message_type is MessageType.DISCOVER
    assert m.get(VENDOR_CLASS) == "PXEClient:Arch:00000:UNDI:002001"
    assert m.get(USER_CLASS_OPTION) == ("iPXE",)
    assert m.get(CLIENT_ARCH) == (0,)
    prl = m.get(PARAMETER_REQUEST_LIST)
    assert prl is not None and 175 in prl
    encap = m.get(IPXE_ENCAP)
    assert encap is not None
    assert encap[0xB1] == b"\x01\x80\x86\x10\x0e" and encap[0xEB] == b"\x01\x15\x00"
    assert encap[0x13] == b"\x01"  # HTTP feature
    cid = m.get(CLIENT_IDENTIFIER)
    assert cid is not None and (cid.type, cid.data) == (1, MAC)
    mid = m.get(CLIENT_MACHINE_ID)
    assert mid is not None and str(mid.uuid) == "12345678-abcd-1234-1234-567890abcdef"
    assert list(m.options) == [53, 57, 93, 94, 60, 77, 55, 175, 61, 97]
    assert mac_of(m) == "52:54:00:12:34:56"
    assert max_message_size(m) == 1472


def test_ovmf_pxe_and_http_discover() -> None:
    pxe, http = decode(OVMF_DISCOVER), decode(HTTP_DISCOVER)
    assert pxe.get(CLIENT_ARCH) == (7,) and http.get(CLIENT_ARCH) == (16,)
    assert pxe.get(VENDOR_CLASS) == "PXEClient:Arch:00007:UNDI:003000"
    assert http.get(VENDOR_CLASS) == "HTTPClient:Arch:00016:UNDI:003000"
    assert pxe.get(USER_CLASS_OPTION) is None
    assert pxe.secs == 4


def test_dhclient_request() -> None:
    m = decode(DHCLIENT_REQUEST)
    assert m.message_type is MessageType.REQUEST and not m.broadcast
    assert m.option(54) == A("192.0.2.1") and m.option(50) == A("192.0.2.50")
    assert m.option(12) == "debian"
    assert client_key(m) == b"\x01" + MAC  # no option 61: htype + chaddr


def test_relayed_discover() -> None:
    m = decode(RELAYED_DISCOVER)
    assert m.giaddr == A("198.51.100.1") and m.hops == 1
    info = m.get(RELAY_AGENT_INFO)
    assert info is not None
    assert info[RelaySubOption.LINK_SELECTION] == A("10.20.30.0").packed
    assert info[RelaySubOption.SERVER_ID_OVERRIDE] == A("198.51.100.1").packed
    assert info[RelaySubOption.CIRCUIT_ID] == b"\x00\x04\x00\x64\x00\x01"
    assert list(info) == [1, 2, 5, 11]


def test_rfc951_request_without_the_cookie() -> None:
    assert len(RFC951_ZERO) == 300  # RFC 951 §3: 236 + the 64-octet vend field
    m = decode(RFC951_ZERO)
    assert m.op == BOOTREQUEST and m.xid == 0x0BEEF001 and m.chaddr == MAC and m.htype == 1
    assert m.options == {} and m.message_type is None  # a BOOTP message with no options
    assert m.vend == bytes(64) and not m.has_cookie
    assert (m.ciaddr, m.giaddr, m.sname, m.file) == (ZERO, ZERO, b"", b"")
    assert mac_of(m) == "52:54:00:12:34:56" and client_key(m) == b"\x01" + MAC


def test_rfc951_vendor_magic_is_kept_verbatim() -> None:
    m = decode(RFC951_STAN)
    assert m.vend == RFC951_STAN[236:] and m.vend[:4] == b"STAN" and m.file == b"vmunix" and m.secs == 9
    assert m.options == {}
    longer = RFC951_ZERO + b"\x01\x02\x03"  # RFC 1542 §2.1: larger messages MUST be accepted too
    assert decode(longer).vend == bytes(64) + b"\x01\x02\x03"


def test_cookie_messages_have_no_vend() -> None:
    m = decode(IPXE_DISCOVER)
    assert m.vend is None and m.has_cookie


def test_vend_is_padded_to_64_octets() -> None:
    assert Dhcp4Message(op=1, xid=1, vend=b"").vend == bytes(64)
    assert Dhcp4Message(op=1, xid=1, vend=bytearray(b"STAN")).vend == b"STAN" + bytes(60)
    assert len(encode(Dhcp4Message(op=1, xid=1, chaddr=MAC, vend=b""))) == 300


@pytest.mark.parametrize(
    "raw",
    [IPXE_DISCOVER, OVMF_DISCOVER, HTTP_DISCOVER, DHCLIENT_REQUEST, RELAYED_DISCOVER, RFC951_ZERO, RFC951_STAN],
)
def test_golden_reencode_is_byte_identical(raw: bytes) -> None:
    assert encode(decode(raw), max_size=1500, min_size=len(raw)) == raw


def test_rfc3397_example_split_over_three_options() -> None:
    # RFC 3397 §2: the search list spread over three 9-octet option 119 instances (RFC 3396).
    data = bytes.fromhex("03656e67056170706c6503636f6d00096d61726b6574696e67c004")
    opts = "".join(tlv(119, data[k : k + 9]) for k in range(0, 27, 9)) + "ff"
    m = decode(packet(options=opts))
    assert m.options[119] == data
    assert m.get(DOMAIN_SEARCH) == ("eng.apple.com", "marketing.apple.com")


# --- framing --------------------------------------------------------------------------------


def test_pad_and_missing_end_tolerated() -> None:
    m = decode(packet(options="00 00 3501 05 00 0304c0000201", pad_to=0))
    assert m.message_type is MessageType.ACK and m.get(ROUTERS) == (A("192.0.2.1"),)


def test_bytes_after_end_ignored() -> None:
    m = decode(packet(options="350101 ff 0304c0000201 deadbeef"))
    assert list(m.options) == [53]


def test_sname_file_cut_at_nul() -> None:
    m = decode(packet(op=BOOTREPLY, sname=b"tftp1\0junk", file=b"pxelinux.0", options="350102ff"))
    assert (m.sname, m.file) == (b"tftp1", b"pxelinux.0")


def test_long_option_concatenated_and_resplit() -> None:
    value = bytes(range(256)) * 2 + b"xyz"  # 515 octets -> 255 + 255 + 5
    m = Dhcp4Message(op=BOOTREPLY, xid=1, chaddr=MAC, options={53: b"\x02", 43: value})
    raw = encode(m, max_size=1500)
    assert raw.count(b"\x2b\xff") == 2 and b"\x2b\x05" in raw
    assert decode(raw) == m


def test_empty_value_option() -> None:
    m = Dhcp4Message(op=BOOTREQUEST, xid=1, options={80: b""})
    assert decode(encode(m)).options == {80: b""}


OVERLOADED_OFFER = packet(
    op=BOOTREPLY,
    options=tlv(53, b"\x02") + tlv(52, b"\x03") + tlv(3, A("192.0.2.1").packed) + "ff",
    file=bytes.fromhex(tlv(3, A("192.0.2.2").packed) + tlv(67, b"boot.efi") + "ff"),
    sname=bytes.fromhex(tlv(66, b"tftp.example") + tlv(52, b"\x03") + "ff"),
)


def test_decode_overloaded() -> None:
    m = decode(OVERLOADED_OFFER)
    assert (m.sname, m.file) == (b"", b"")
    assert m.get(ROUTERS) == (A("192.0.2.1"), A("192.0.2.2"))  # options, then file (RFC 3396)
    assert m.option(67) == "boot.efi" and m.option(66) == "tftp.example"
    assert 52 not in m.options  # framing; a nested 52 in sname is ignored
    assert decode(encode(m)) == m


def test_decode_overload_only_sname_keeps_file() -> None:
    raw = packet(
        op=BOOTREPLY,
        file=b"ipxe.efi",
        sname=bytes.fromhex(tlv(66, b"t") + "ff"),
        options=tlv(53, b"\x02") + tlv(52, b"\x02") + "ff",
    )
    m = decode(raw)
    assert (m.file, m.sname, m.option(66)) == (b"ipxe.efi", b"", "t")


# --- overload on encode -------------------------------------------------------------------------


def _big_reply(file: bytes = b"", sname: bytes = b"", extras: tuple[int, ...] = ()) -> Dhcp4Message:
    # 230 octets of options before the extras; with the default max_size (548-octet
    # message) 304 octets fit the options field once 52 and END are counted, 23 of
    # them taken by the pinned options 53, 54 and 82.
    values: dict[int, object] = {
        53: MessageType.OFFER,
        54: A("192.0.2.1"),
        1: A("255.255.255.0"),
        3: (A("192.0.2.1"),),
        6: tuple(A(f"192.0.2.{i}") for i in range(1, 21)),  # 80 octets
        43: {i: bytes(20) for i in range(1, 6)},  # 111 octets
    }
    values.update({224 + i: bytes(n) for i, n in enumerate(extras)})
    values[82] = {1: b"port1", 2: b"sw1"}  # relays want it last (RFC 3046 §2.1)
    opts = encode_options(values)
    return Dhcp4Message(op=BOOTREPLY, xid=7, chaddr=MAC, file=file, sname=sname, options=opts)


def _areas(raw: bytes) -> tuple[bytes, bytes, bytes]:
    return raw[44:108], raw[108:236], raw[240:]


def test_no_overload_when_it_fits() -> None:
    raw = encode(_big_reply(extras=(10,)))
    assert len(raw) <= 548 and b"\x34\x01" not in raw[240:]


def test_overload_spills_into_file_then_sname() -> None:
    m = _big_reply(extras=(100, 60, 55))  # 224 -> file, 225 back-fills the options field, 226 -> sname
    raw = encode(m)
    assert len(raw) <= 576 - 28
    sname, file, main = _areas(raw)
    assert bytes.fromhex("340103") in main  # RFC 2132 §9.3: both fields used
    assert file.startswith(bytes((224, 100))) and file[102] == 0xFF
    assert sname.startswith(bytes((226, 55))) and sname[57] == 0xFF
    assert bytes((225, 60)) in main
    assert decode(raw) == m
    assert list(decode(raw).options)[-2:] == [224, 226]  # spilled options come last
    for code in (53, 54, 82):  # pinned in the options field
        assert bytes((code, len(m.options[code]))) + m.options[code] in main


def test_overload_uses_only_free_fields() -> None:
    m = _big_reply(file=b"undionly.kpxe", extras=(60, 50))
    raw = encode(m)
    sname, file, main = _areas(raw)
    assert bytes.fromhex("340102") in main and file.startswith(b"undionly.kpxe\0")
    assert sname.startswith(bytes((225, 50)))
    assert decode(raw) == m


def test_overload_file_only() -> None:
    m = _big_reply(extras=(100,))
    raw = encode(m)
    assert bytes.fromhex("340101") in raw[240:]
    assert raw[44:108] == bytes(64)
    assert decode(raw) == m


def test_overload_long_option_split_across_fields_keeps_order() -> None:
    m = Dhcp4Message(op=BOOTREPLY, xid=3, options={53: b"\x02", 43: bytes(range(256)) + bytes(range(100))})
    raw = encode(m, max_size=576)  # 356-octet value: 255 in the options field, 101 in file
    assert bytes.fromhex("340101") in raw[240:] and raw[108:110] == bytes((43, 101))
    assert decode(raw) == m


def test_overload_too_big_raises() -> None:
    with pytest.raises(EncodeError, match="do not fit"):
        encode(_big_reply(file=b"x", sname=b"y", extras=(100,)))
    assert decode(encode(_big_reply(file=b"x", sname=b"y", extras=(100,)), max_size=1500)).file == b"x"
    with pytest.raises(EncodeError, match="53, 54 and 82"):
        encode(Dhcp4Message(op=2, xid=1, options={82: bytes(300), 53: b"\x02", 54: bytes(4), 1: bytes(4)}))


def test_encode_respects_client_max_size() -> None:
    m = _big_reply(extras=(100, 60, 55))
    big = encode(m, max_size=1500)
    assert b"\x34\x01" not in big[240:] and len(big) > 548
    with pytest.raises(EncodeError, match="max_size"):
        encode(m, max_size=200)


@pytest.mark.parametrize(
    ("msg", "match"),
    [
        (Dhcp4Message(op=1, xid=1, options={52: b"\x01"}), "52"),
        (Dhcp4Message(op=1, xid=1, options={0: b""}), "code 0"),
        (Dhcp4Message(op=1, xid=1, options={255: b""}), "code 255"),
        (Dhcp4Message(op=1, xid=1, options={12: "name"}), "bytes"),  # type: ignore[dict-item]
        (Dhcp4Message(op=1, xid=1, chaddr=bytes(17)), "chaddr"),
        (Dhcp4Message(op=1, xid=1, file=bytes(129)), "file"),
        (Dhcp4Message(op=1, xid=1, sname=bytes(65)), "sname"),
        (Dhcp4Message(op=1, xid=2**32), "out of range"),
        (Dhcp4Message(op=1, xid=1, secs=-1), "out of range"),
        (Dhcp4Message(op=2, xid=1, vend=bytes(64)), "must be a BOOTREQUEST"),
        (Dhcp4Message(op=1, xid=1, vend=bytes(64), options={1: bytes(4)}), "no options"),
        (Dhcp4Message(op=1, xid=1, vend=MAGIC_COOKIE + bytes(60)), "starts with the magic cookie"),
        (Dhcp4Message(op=1, xid=1, vend=bytes(65536)), "longer than any UDP payload"),
    ],
)
def test_encode_rejects(msg: Dhcp4Message, match: str) -> None:
    with pytest.raises(EncodeError, match=match):
        encode(msg)


def test_minimum_size_padding() -> None:
    raw = encode(Dhcp4Message(op=BOOTREPLY, xid=1, options={53: b"\x05"}))
    assert len(raw) == 300 and raw[240:244] == b"\x35\x01\x05\xff"
    assert len(encode(Dhcp4Message(op=1, xid=1), min_size=0)) == 241


# --- decode errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", "shorter"),
        (IPXE_DISCOVER[:239], "shorter"),
        (IPXE_DISCOVER[:236] + b"\x63\x82\x53\x64", "cookie"),
        # without the cookie only a BOOTREQUEST of >= 300 octets is BOOTP (RFC 1542 §2.1)
        (IPXE_DISCOVER[:235], "shorter"),
        (bytes([BOOTREPLY]) + IPXE_DISCOVER[1:236] + bytes(64), "BOOTREPLY"),
        (bytes([BOOTREPLY]) + IPXE_DISCOVER[1:236] + bytes(3), "shorter than the 240"),
        (IPXE_DISCOVER[:236] + bytes(63), "300-octet RFC 951 BOOTREQUEST"),
        (IPXE_DISCOVER[:236] + b"STAN", "300-octet RFC 951 BOOTREQUEST"),
        (IPXE_DISCOVER[:236], "300-octet"),
        (b"\x03" + IPXE_DISCOVER[1:236] + bytes(64), "op 3"),
        (IPXE_DISCOVER[:2] + b"\x11" + IPXE_DISCOVER[3:236] + bytes(64), "hlen 17"),
        (b"\x03" + IPXE_DISCOVER[1:], "op 3"),
        (IPXE_DISCOVER[:2] + b"\x11" + IPXE_DISCOVER[3:], "hlen 17"),
        (packet(options="0c0561626364", pad_to=0), "runs past"),
        (packet(options="0c", pad_to=0), "length octet missing"),
        (packet(options="3402 0101 ff"), "option 52"),
        (packet(options="3401 04 ff"), "option 52"),
        (packet(options="3401 01 ff", file=bytes.fromhex("0c7f41")), "in file"),
        (bytes(65536), "longer"),
    ],
)
def test_decode_errors(raw: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        decode(raw)


def test_decode_accepts_bytearray_and_memoryview() -> None:
    assert decode(bytearray(IPXE_DISCOVER)) == decode(memoryview(IPXE_DISCOVER)) == decode(IPXE_DISCOVER)


def test_malformed_option_raises_on_access_only() -> None:
    m = decode(packet(options="3502 0101 0303 010203 ff"))
    with pytest.raises(DecodeError, match=r"option 53 \(dhcp-message-type\)"):
        _ = m.message_type
    with pytest.raises(DecodeError, match=r"option 3 \(routers\)"):
        m.get(ROUTERS)


# --- message object -----------------------------------------------------------------------------


def test_message_is_immutable_and_hashable() -> None:
    src = {53: b"\x01"}
    m = Dhcp4Message(op=1, xid=1, options=src)
    src[54] = b"x"
    assert m.options == {53: b"\x01"} and isinstance(m.options, Options)
    with pytest.raises(AttributeError):
        m.xid = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        m.options[54] = b""  # type: ignore[index]
    assert hash(m) == hash(Dhcp4Message(op=1, xid=1, options={53: b"\x01"}))
    assert {m: 1}[decode(encode(m))] == 1


def test_options_order_preserved() -> None:
    opts = {61: b"\x01" + MAC, 53: b"\x03", 200: b"\x01\x02", 12: b"h"}
    raw = encode(Dhcp4Message(op=1, xid=9, options=opts))
    assert list(decode(raw).options) == [61, 53, 200, 12]
    assert decode(raw).options[200] == b"\x01\x02"  # unknown options verbatim


# --- helpers ----------------------------------------------------------------------------------------


def test_mac_of_and_client_key() -> None:
    m = Dhcp4Message(op=1, xid=1, chaddr=MAC, options={61: b"\xff\x00\x00\x00\x01\x00\x04" + bytes(16)})
    assert mac_of(m) == "52:54:00:12:34:56"
    assert client_key(m) == m.options[61]
    ib = Dhcp4Message(op=1, xid=1, htype=32, chaddr=b"")  # RFC 4390: no chaddr
    assert mac_of(ib) is None and client_key(ib) == b"\x20"
    assert client_key(Dhcp4Message(op=1, xid=1, chaddr=MAC, options={61: b""})) == b"\x01" + MAC


@pytest.mark.parametrize(("opt57", "expected"), [(None, 576), (b"\x05\xdc", 1500), (b"\x01\x00", 576), (b"\x05", 576)])
def test_max_message_size(opt57: bytes | None, expected: int) -> None:
    opts = {} if opt57 is None else {57: opt57}
    assert max_message_size(Dhcp4Message(op=1, xid=1, options=opts)) == expected


BCAST = A("255.255.255.255")
YI = A("192.0.2.50")


@pytest.mark.parametrize(
    ("giaddr", "ciaddr", "flags", "chaddr", "yiaddr", "nak", "expected"),
    [
        # RFC 2131 §4.1: giaddr set -> relay at port 67, whatever else
        ("198.51.100.1", "0.0.0.0", 0, MAC, YI, False, Destination(A("198.51.100.1"), 67, "relay (giaddr)")),
        (
            "198.51.100.1",
            "192.0.2.9",
            BROADCAST_FLAG,
            MAC,
            YI,
            False,
            Destination(A("198.51.100.1"), 67, "relay (giaddr)"),
        ),
        # RFC 2131 §4.3.2: NAK through a relay sets the broadcast bit
        (
            "198.51.100.1",
            "0.0.0.0",
            0,
            MAC,
            ZERO,
            True,
            Destination(A("198.51.100.1"), 67, "relay (giaddr)", set_broadcast_flag=True),
        ),
        # no relay: NAK is always broadcast
        ("0.0.0.0", "192.0.2.9", 0, MAC, ZERO, True, Destination(BCAST, 68, "broadcast (NAK)")),
        ("0.0.0.0", "0.0.0.0", 0, MAC, ZERO, True, Destination(BCAST, 68, "broadcast (NAK)")),
        # ciaddr set: unicast to ciaddr (also over the broadcast bit; DHCPINFORM §4.3.5)
        ("0.0.0.0", "192.0.2.9", 0, MAC, YI, False, Destination(A("192.0.2.9"), 68, "unicast (ciaddr)")),
        ("0.0.0.0", "192.0.2.9", BROADCAST_FLAG, MAC, ZERO, False, Destination(A("192.0.2.9"), 68, "unicast (ciaddr)")),
        # broadcast bit
        ("0.0.0.0", "0.0.0.0", BROADCAST_FLAG, MAC, YI, False, Destination(BCAST, 68, "broadcast (flag)")),
        # otherwise unicast to yiaddr at chaddr, link-layer
        ("0.0.0.0", "0.0.0.0", 0, MAC, YI, False, Destination(YI, 68, "unicast (yiaddr at chaddr)", True, MAC)),
        # no usable chaddr or yiaddr: broadcast
        ("0.0.0.0", "0.0.0.0", 0, b"", YI, False, Destination(BCAST, 68, "broadcast (no yiaddr/chaddr)")),
        ("0.0.0.0", "0.0.0.0", 0, MAC, ZERO, False, Destination(BCAST, 68, "broadcast (no yiaddr/chaddr)")),
    ],
)
def test_reply_destination(
    giaddr: str, ciaddr: str, flags: int, chaddr: bytes, yiaddr: IPv4Address, nak: bool, expected: Destination
) -> None:
    req = Dhcp4Message(op=1, xid=1, chaddr=chaddr, flags=flags, ciaddr=A(ciaddr), giaddr=A(giaddr))
    assert reply_destination(req, yiaddr, nak) == expected


def test_reply_destination_ports() -> None:
    relayed = Dhcp4Message(op=1, xid=1, giaddr=A("198.51.100.1"))
    assert reply_destination(relayed, YI, False, server_port=1067).port == 1067
    assert reply_destination(Dhcp4Message(op=1, xid=1, flags=BROADCAST_FLAG), YI, False, client_port=1068).port == 1068


# --- properties ---------------------------------------------------------------------------------

_codes = st.integers(1, 254).filter(lambda c: c != 52)
_values = st.binary(max_size=300) | st.binary(max_size=8)
_cstr = st.binary(max_size=64).map(lambda b: b.replace(b"\0", b"x"))
_addrs = st.integers(0, 2**32 - 1).map(A)

# The fixed BOOTP fields (RFC 2131 §2 Figure 1) of every generated message.
_header_fields = {
    "xid": st.integers(0, 2**32 - 1),
    "chaddr": st.binary(max_size=16),
    "htype": st.integers(0, 255),
    "hops": st.integers(0, 255),
    "secs": st.integers(0, 65535),
    "flags": st.integers(0, 65535),
    "ciaddr": _addrs,
    "yiaddr": _addrs,
    "siaddr": _addrs,
    "giaddr": _addrs,
    "sname": _cstr | st.just(b""),
    "file": st.binary(max_size=128).map(lambda b: b.replace(b"\0", b"y")) | st.just(b""),
}

messages = st.builds(
    Dhcp4Message,
    op=st.sampled_from([BOOTREQUEST, BOOTREPLY]),
    options=st.dictionaries(_codes, _values, max_size=12),
    **_header_fields,
)


@settings(max_examples=500)
@given(messages, st.sampled_from([576, 1500, 65535]))
def test_roundtrip(msg: Dhcp4Message, max_size: int) -> None:
    try:
        raw = encode(msg, max_size=max_size)
    except EncodeError:
        assert max_size < 65535
        return
    assert len(raw) <= max_size - 28
    back = decode(raw)
    assert back == msg
    if b"\x34\x01" not in raw[240:]:  # no overload: order kept exactly
        assert list(back.options) == list(msg.options)


rfc951_messages = st.builds(
    Dhcp4Message,
    op=st.just(BOOTREQUEST),
    **_header_fields,
    vend=st.binary(max_size=200).filter(lambda v: v[:4] != MAGIC_COOKIE),
)


@settings(max_examples=300)
@given(rfc951_messages)
def test_roundtrip_without_cookie(msg: Dhcp4Message) -> None:
    raw = encode(msg)
    assert len(raw) >= 300 and raw[236:] == msg.vend
    assert decode(raw) == msg


@settings(max_examples=500)
@given(st.binary(min_size=232, max_size=232), st.binary(max_size=300), st.sampled_from([1, 2]), st.integers(0, 16))
def test_decode_without_cookie(fields: bytes, tail: bytes, op: int, hlen: int) -> None:
    """Anything after the 236-octet header: RFC 951 BOOTP, DHCP with the cookie, or a DecodeError."""
    raw = bytes((op, 1, hlen, 0)) + fields + tail
    try:
        m = decode(raw)
    except DecodeError:
        assert op == BOOTREPLY or len(raw) < 300 or raw[236:240] == MAGIC_COOKIE
        return
    if raw[236:240] == MAGIC_COOKIE:
        assert m.vend is None
        return
    assert op == BOOTREQUEST and len(raw) >= 300
    assert m.vend == raw[236:] and m.options == {}
    assert encode(m)[236:] == raw[236:]  # the raw vendor area goes back out unchanged
    assert decode(encode(m)) == m


@settings(max_examples=500)
@given(st.binary(max_size=700))
def test_decode_arbitrary_bytes_raises_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode(data)


@settings(max_examples=500)
@given(
    st.binary(min_size=192, max_size=192),
    st.binary(max_size=400),
    st.sampled_from([1, 2]),
    st.integers(0, 16),
)
def test_decode_random_options_area(fields: bytes, area: bytes, op: int, hlen: int) -> None:
    raw = bytes((op, 1, hlen, 0)) + bytes(40) + fields + MAGIC_COOKIE + area
    try:
        m = decode(raw)
    except DecodeError:
        return
    for code in m.options:
        with contextlib.suppress(DecodeError):
            m.option(code)
    assert decode(encode(m, max_size=65535)) == m


def test_classless_route_option_in_message() -> None:
    opts = encode_options({121: ((IPv4Network("10.0.0.0/8"), A("192.0.2.1")),)})
    m = decode(encode(Dhcp4Message(op=2, xid=1, options=opts)))
    assert m.option(121) == ((IPv4Network("10.0.0.0/8"), A("192.0.2.1")),)
