"""The sans-I/O DHCPv6 server: RFC 8415 exchanges on bytes, with ``now`` as an argument."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from bootwright.boot.policy import BootPolicy
from bootwright.boot.reply import plan_reply
from bootwright.config import Config, parse_config
from bootwright.engine.dhcp6.client import wire_options
from bootwright.engine.dhcp6.leases import ia_key
from bootwright.engine.dhcp6.server import MAX_MESSAGE, Dhcp6Engine, Received
from bootwright.engine.dhcp6.server import Outcome6 as Outcome
from bootwright.model import ClientInfo, Lease
from bootwright.wire.dhcp6 import (
    HW_TYPE_ETHERNET,
    BootFileUrl,
    ClientArchType,
    ClientId,
    ClientLinkLayerAddr,
    Dhcp6Message,
    Dhcp6Option,
    Dhcp6Relay,
    DnsServers,
    DomainList,
    DuidEN,
    DuidLL,
    DuidLLT,
    IaAddr,
    IaNa,
    IaPd,
    IaTa,
    InfoRefreshTime,
    InterfaceId,
    MessageType,
    OptionRequest,
    Preference,
    RapidCommit,
    RelayMessage,
    ServerId,
    StatusCode,
    StatusCodeOption,
    UnknownOption,
    UserClass,
    VendorClass,
    decode,
)
from tests.unit.cli.test_seed_examples import BRANCHES, EXAMPLES  # the table `bootwright explain` is tested with

A = IPv6Address
SERVER_DUID = DuidLLT(HW_TYPE_ETHERNET, 1000, bytes.fromhex("020000000001")).encode()
MAC = bytes.fromhex("525400123456")
LL = A("fe80::5054:ff:fe12:3456")
NOW = 1_000_000.0

CONFIG = """
[server]
interfaces = ["eth0"]
address6 = "2001:db8::1"

[dhcp6]
info_refresh_time = 3600

[[subnet6]]
prefix = "2001:db8::/64"
interface = "eth0"
pools = ["2001:db8::100-2001:db8::1ff"]
dns = ["2001:db8::53"]
domain_search = ["example.test"]
preference = 10
valid_lifetime = 4000
preferred_lifetime = 3000

[[subnet6]]
prefix = "2001:db8:2::/64"
pools = ["2001:db8:2::10-2001:db8:2::11"]
dns = ["2001:db8:2::53"]

[boot]
default = "linux"

[targets.linux]
kernel = "{{ http }}/vmlinuz"

[[host]]
name = "fixed"
mac = "52:54:00:aa:bb:cc"
ipv6 = "2001:db8::42"

[[host]]
name = "byduid"
duid = "00:02:00:00:00:09:01:02"
ipv6 = "2001:db8::43"
"""


def make(config: str = CONFIG, leases: tuple[Lease, ...] = (), links: dict[str, str] | None = None) -> Dhcp6Engine:
    cfg = parse_config(config)
    by_prefix = {str(s.prefix): s for s in cfg.subnet6}
    wanted = links if links is not None else {"eth0": str(cfg.subnet6[0].prefix)}
    return Dhcp6Engine(BootPolicy.from_config(cfg), SERVER_DUID, {n: by_prefix[p] for n, p in wanted.items()},
                       leases, NOW)  # fmt: skip


def cid(mac: bytes = MAC) -> ClientId:
    return ClientId(DuidLL(HW_TYPE_ETHERNET, mac))


SID = ServerId(DuidLLT(HW_TYPE_ETHERNET, 1000, bytes.fromhex("020000000001")))


def msg(t: MessageType, *options: Dhcp6Option, xid: int = 0x123456) -> Dhcp6Message:
    return Dhcp6Message(t, xid, options)


def send(engine: Dhcp6Engine, m: Dhcp6Message | Dhcp6Relay, now: float = NOW, multicast: bool = True,
         src: IPv6Address = LL, iface: str = "eth0") -> Outcome | None:  # fmt: skip
    return engine.handle(m.encode(), Received(src, iface, multicast), now)


def reply(out: Outcome | None) -> Dhcp6Message:
    assert out is not None
    m = decode(out.reply)
    assert isinstance(m, Dhcp6Message)
    return m


def ia_address(m: Dhcp6Message) -> IPv6Address:
    ia = m.get(IaNa)
    assert ia is not None
    a = ia.get(IaAddr)
    assert a is not None, ia
    return a.address


def exchange(engine: Dhcp6Engine, c: ClientId, *extra: Dhcp6Option, iaid: int = 1) -> tuple[Dhcp6Message, Outcome]:
    adv = reply(send(engine, msg(MessageType.SOLICIT, c, IaNa(iaid), *extra)))
    req = msg(MessageType.REQUEST, c, SID, IaNa(iaid, 0, 0, (IaAddr(ia_address(adv), 0, 0),)), *extra)
    out = send(engine, req)
    assert out is not None
    return reply(out), out


# ---------------------------------------------------------------- the four-message exchange


def test_solicit_gets_advertise_with_pool_address_and_options() -> None:
    e = make()
    out = send(e, msg(MessageType.SOLICIT, cid(), IaNa(7), OptionRequest((23, 24, 59))))
    adv = reply(out)
    assert out is not None and out.replies[0].to == 546 and not out.writes  # nothing committed on Advertise
    assert adv.msg_type == MessageType.ADVERTISE and adv.transaction_id == 0x123456
    assert adv.get(ClientId) == cid() and adv.get(ServerId) == SID
    ia = adv.get(IaNa)
    assert ia is not None and ia.iaid == 7 and (ia.t1, ia.t2) == (1500, 2400)  # 0.5 / 0.8 x preferred
    addr = ia.get(IaAddr)
    assert addr is not None and (addr.preferred_lifetime, addr.valid_lifetime) == (3000, 4000)
    assert A("2001:db8::100") <= addr.address <= A("2001:db8::1ff")
    assert adv.get(DnsServers) == DnsServers((A("2001:db8::53"),))
    assert adv.get(DomainList) == DomainList(("example.test",))
    assert adv.get(Preference) == Preference(10)
    assert adv.get(InfoRefreshTime) is None  # RFC 8415 §21.23: only for Information-request
    assert out.events[0].kind == "dhcp6.advertise" and out.events[0].mac == "52:54:00:12:34:56"


def test_request_binds_the_advertised_address_durably() -> None:
    e = make()
    rep, out = exchange(e, cid(), iaid=7)
    assert rep.msg_type == MessageType.REPLY
    assert rep.get(Preference) is None  # RFC 8415 §21.8: Advertise only
    (lease,) = out.writes
    assert lease.family == 6 and lease.state == "bound" and lease.address == str(ia_address(rep))
    assert lease.client_key == ia_key(cid().duid.encode(), 7) and lease.mac == "52:54:00:12:34:56"
    assert lease.expires == NOW + 4000
    assert out.events[0].kind == "dhcp6.reply" and out.events[0].detail["msg"] == "request"


def test_same_ia_gets_same_address_and_clients_differ() -> None:
    e = make()
    a1 = ia_address(exchange(e, cid())[0])
    assert ia_address(reply(send(e, msg(MessageType.SOLICIT, cid(), IaNa(1))))) == a1
    a2 = ia_address(exchange(e, cid(bytes.fromhex("525400000002")))[0])
    assert a1 != a2


@pytest.mark.parametrize(
    ("t", "options", "reason"),
    [
        (MessageType.SOLICIT, (cid(), SID, IaNa(1)), "server-id-present"),
        (MessageType.SOLICIT, (IaNa(1),), "no-client-id"),
        (MessageType.REQUEST, (cid(), IaNa(1)), "no-server-id"),
        (MessageType.REQUEST, (cid(), ServerId(DuidLL(1, b"\x02" * 6)), IaNa(1)), "other-server"),
        (MessageType.RENEW, (cid(), IaNa(1)), "no-server-id"),
        (MessageType.REBIND, (cid(), SID, IaNa(1)), "server-id-present"),
        (MessageType.CONFIRM, (cid(), SID), "server-id-present"),
        (MessageType.INFORMATION_REQUEST, (cid(), IaNa(1)), "ia-in-information-request"),
        (MessageType.ADVERTISE, (cid(), SID), "not-for-server"),
        (MessageType.REPLY, (cid(), SID), "not-for-server"),
        (MessageType.RECONFIGURE, (cid(), SID), "not-for-server"),
    ],
)
def test_rfc8415_section16_validation(t: MessageType, options: tuple[Dhcp6Option, ...], reason: str) -> None:
    e = make()
    assert send(e, msg(t, *options)) is None
    assert e.counters["dropped." + reason] == 1


def test_unicast_rules() -> None:
    e = make()
    assert send(e, msg(MessageType.SOLICIT, cid(), IaNa(1)), multicast=False) is None  # RFC 8415 §16
    assert e.counters["dropped.unicast"] == 1
    rep = reply(send(e, msg(MessageType.REQUEST, cid(), SID, IaNa(1)), multicast=False))
    assert rep.get(StatusCodeOption) == StatusCodeOption(StatusCode.USE_MULTICAST, "send to ff02::1:2")
    assert rep.get(IaNa) is None


def test_rapid_commit_binds_on_solicit_and_can_be_disabled() -> None:
    e = make()
    out = send(e, msg(MessageType.SOLICIT, cid(), IaNa(1), RapidCommit()))
    rep = reply(out)
    assert rep.msg_type == MessageType.REPLY and rep.get(RapidCommit) is not None
    assert out is not None and len(out.writes) == 1 and out.events[0].kind == "dhcp6.reply"
    off = make(CONFIG.replace("info_refresh_time = 3600", "info_refresh_time = 3600\nrapid_commit = false"))
    assert reply(send(off, msg(MessageType.SOLICIT, cid(), IaNa(1), RapidCommit()))).msg_type == MessageType.ADVERTISE


# ---------------------------------------------------------------- renew, rebind, release, decline, confirm


def test_renew_extends_and_rebind_too() -> None:
    e = make()
    rep, _ = exchange(e, cid())
    addr = ia_address(rep)
    later = NOW + 1500
    renew = msg(MessageType.RENEW, cid(), SID, IaNa(1, 0, 0, (IaAddr(addr, 0, 0),)))
    out = send(e, renew, now=later)
    assert ia_address(reply(out)) == addr and out is not None and out.writes[0].expires == later + 4000
    rebind = msg(MessageType.REBIND, cid(), IaNa(1, 0, 0, (IaAddr(addr, 0, 0),)))
    assert ia_address(reply(send(e, rebind, now=later + 900))) == addr


def test_renew_without_binding_recreates_free_address_else_zero_lifetimes() -> None:
    e = make()  # the server lost its state; the client's address is still free: take it back
    out = send(e, msg(MessageType.RENEW, cid(), SID, IaNa(1, 0, 0, (IaAddr(A("2001:db8::150"), 0, 0),))))
    assert ia_address(reply(out)) == A("2001:db8::150")
    # An address from elsewhere: the client gets a new one and is told to drop the old one.
    out = send(e, msg(MessageType.RENEW, cid(b"\x02" * 6), SID, IaNa(1, 0, 0, (IaAddr(A("2001:db8:9::1"), 0, 0),))))
    ia = reply(out).get(IaNa)
    assert ia is not None
    addrs = {a.address: a.valid_lifetime for a in ia.get_all(IaAddr)}
    assert addrs[A("2001:db8:9::1")] == 0 and len(addrs) == 2


def test_renew_without_addresses_and_binding_is_nobinding() -> None:
    e = make(CONFIG.replace('pools = ["2001:db8::100-2001:db8::1ff"]', "pools = []"))
    ia = reply(send(e, msg(MessageType.RENEW, cid(), SID, IaNa(1)))).get(IaNa)
    assert ia is not None and ia.get(StatusCodeOption) is not None
    assert ia.get(StatusCodeOption).status == StatusCode.NO_BINDING  # type: ignore[union-attr]


def test_release_frees_and_reports_nobinding() -> None:
    e = make()
    rep, _ = exchange(e, cid())
    addr = ia_address(rep)
    rel = msg(MessageType.RELEASE, cid(), SID, IaNa(1, 0, 0, (IaAddr(addr, 0, 0),)), IaNa(9, 0, 0, ()))
    out = send(e, rel, now=NOW + 10)
    r = reply(out)
    assert r.get(StatusCodeOption) is not None and r.get(StatusCodeOption).status == StatusCode.SUCCESS  # type: ignore[union-attr]
    (nb,) = r.get_all(IaNa)
    assert nb.iaid == 9 and nb.get(StatusCodeOption).status == StatusCode.NO_BINDING  # type: ignore[union-attr]
    assert out is not None and out.writes[0].state == "released" and out.writes[0].address == str(addr)
    assert e.table.holder(addr) is None


def test_decline_keeps_address_out_of_use() -> None:
    e = make(CONFIG.replace("2001:db8::100-2001:db8::1ff", "2001:db8::100-2001:db8::101"))
    rep, _ = exchange(e, cid())
    bad = ia_address(rep)
    out = send(e, msg(MessageType.DECLINE, cid(), SID, IaNa(1, 0, 0, (IaAddr(bad, 0, 0),))))
    assert out is not None and out.writes[0].state == "declined"
    got = {ia_address(exchange(e, cid(bytes([2, 0, 0, 0, 0, i])))[0]) for i in range(1)}
    assert bad not in got
    # The pool has two addresses, one declined, one now bound: the next client gets none.
    ia = reply(send(e, msg(MessageType.SOLICIT, cid(b"\x02\x00\x00\x00\x00\x09"), IaNa(1)))).get(IaNa)
    assert ia is not None and ia.get(StatusCodeOption).status == StatusCode.NO_ADDRS_AVAIL  # type: ignore[union-attr]


def test_confirm() -> None:
    e = make()
    on = msg(MessageType.CONFIRM, cid(), IaNa(1, 0, 0, (IaAddr(A("2001:db8::1:2"), 0, 0),)))
    assert reply(send(e, on)).get(StatusCodeOption).status == StatusCode.SUCCESS  # type: ignore[union-attr]
    off = msg(MessageType.CONFIRM, cid(), IaNa(1, 0, 0, (IaAddr(A("2001:db8:5::2"), 0, 0),)))
    assert reply(send(e, off)).get(StatusCodeOption).status == StatusCode.NOT_ON_LINK  # type: ignore[union-attr]
    assert send(e, msg(MessageType.CONFIRM, cid(), IaNa(1))) is None  # nothing to confirm: no reply


def test_information_request_is_stateless() -> None:
    e = make()
    out = send(e, msg(MessageType.INFORMATION_REQUEST, cid(), OptionRequest((23, 24, 32))))
    rep = reply(out)
    assert rep.msg_type == MessageType.REPLY and rep.get(IaNa) is None
    assert rep.get(InfoRefreshTime) == InfoRefreshTime(3600)
    assert rep.get(DnsServers) == DnsServers((A("2001:db8::53"),))
    assert out is not None and not out.writes
    anonymous = msg(MessageType.INFORMATION_REQUEST, OptionRequest((23,)))  # Client Identifier optional
    assert reply(send(e, anonymous)).get(DnsServers) is not None


def test_ia_ta_and_ia_pd_are_refused_politely() -> None:
    e = make()
    adv = reply(send(e, msg(MessageType.SOLICIT, cid(), IaNa(1), IaTa(2), IaPd(3))))
    assert adv.get(IaTa).get(StatusCodeOption).status == StatusCode.NO_ADDRS_AVAIL  # type: ignore[union-attr]
    assert adv.get(IaPd).get(StatusCodeOption).status == StatusCode.NO_PREFIX_AVAIL  # type: ignore[union-attr]
    assert adv.get(IaNa).get(IaAddr) is not None  # type: ignore[union-attr]


def test_pool_exhaustion() -> None:
    e = make(CONFIG.replace("2001:db8::100-2001:db8::1ff", "2001:db8::100-2001:db8::101"))
    for i in range(2):
        exchange(e, cid(bytes([2, 0, 0, 0, 0, i])))
    ia = reply(send(e, msg(MessageType.SOLICIT, cid(b"\x02\x00\x00\x00\x00\x07"), IaNa(1)))).get(IaNa)
    assert ia is not None and ia.t1 == 0 and ia.get(IaAddr) is None
    assert ia.get(StatusCodeOption).status == StatusCode.NO_ADDRS_AVAIL  # type: ignore[union-attr]


# ---------------------------------------------------------------- reservations


def test_reservation_by_mac_in_duid_ll_and_llt() -> None:
    e = make()
    mac = bytes.fromhex("525400aabbcc")
    assert ia_address(exchange(e, cid(mac))[0]) == A("2001:db8::42")
    llt = ClientId(DuidLLT(HW_TYPE_ETHERNET, 77, mac))
    rep = reply(send(e, msg(MessageType.SOLICIT, llt, IaNa(5))))
    assert ia_address(rep) == A("2001:db8::42")


def test_reservation_by_duid() -> None:
    e = make()
    c = ClientId(DuidEN(9, b"\x01\x02"))
    rep, out = exchange(e, c)
    assert ia_address(rep) == A("2001:db8::43") and out.events[0].host == "byduid"


def test_reserved_addresses_are_not_given_to_others() -> None:
    e = make(CONFIG.replace("2001:db8::100-2001:db8::1ff", "2001:db8::42-2001:db8::43"))
    ia = reply(send(e, msg(MessageType.SOLICIT, cid(), IaNa(1)))).get(IaNa)
    assert ia is not None and ia.get(IaAddr) is None  # both pool addresses are host reservations


# ---------------------------------------------------------------- relays


def relayed(inner: Dhcp6Message, link: str = "2001:db8:2::1", hops: int = 0, *opts: Dhcp6Option) -> Dhcp6Relay:
    return Dhcp6Relay(MessageType.RELAY_FORW, hops, A(link), LL, (*opts, RelayMessage(inner)))


def test_relay_forward_gets_relay_reply_from_link_address_subnet() -> None:
    e = make()
    fwd = relayed(msg(MessageType.SOLICIT, cid(), IaNa(1)), "2001:db8:2::1", 0, InterfaceId(b"port7"))
    out = send(e, fwd, multicast=False, src=A("2001:db8:1::ffff"))
    assert out is not None and out.replies[0].to == 547  # RFC 8415 §19.3: to the relay's server port
    r = decode(out.reply)
    assert isinstance(r, Dhcp6Relay) and r.msg_type == MessageType.RELAY_REPL
    assert r.interface_id == b"port7" and r.peer_address == LL and r.link_address == A("2001:db8:2::1")
    inner = r.message
    assert isinstance(inner, Dhcp6Message) and inner.msg_type == MessageType.ADVERTISE
    assert ia_address(inner) in (A("2001:db8:2::10"), A("2001:db8:2::11"))
    assert inner.get(DnsServers) == DnsServers((A("2001:db8:2::53"),))


def test_two_relays_use_the_innermost_link_address() -> None:
    e = make()
    first = relayed(msg(MessageType.SOLICIT, cid(), IaNa(1)), "2001:db8:2::1")
    second = Dhcp6Relay(MessageType.RELAY_FORW, 1, A("2001:db8::7"), A("2001:db8:2::1"), (RelayMessage(first),))
    out = send(e, second, multicast=False)
    assert out is not None
    r = decode(out.reply)
    assert isinstance(r, Dhcp6Relay) and r.hop_count == 1
    inner = r.message
    assert isinstance(inner, Dhcp6Relay)
    assert ia_address(inner.message) in (A("2001:db8:2::10"), A("2001:db8:2::11"))  # type: ignore[arg-type]


def test_relay_option_79_mac_selects_the_host() -> None:
    e = make()
    lla = ClientLinkLayerAddr(HW_TYPE_ETHERNET, bytes.fromhex("525400aabbcc"))  # RFC 6939
    other = ClientId(DuidEN(1234, b"opaque"))
    fwd = relayed(msg(MessageType.SOLICIT, other, IaNa(1)), "2001:db8::1", 0, lla)
    inner = decode(send(e, fwd, multicast=False).reply).message  # type: ignore[union-attr]
    assert isinstance(inner, Dhcp6Message) and ia_address(inner) == A("2001:db8::42")


def test_relay_hop_limit_and_unknown_link() -> None:
    e = make()
    assert send(e, relayed(msg(MessageType.SOLICIT, cid(), IaNa(1)), "2001:db8:2::1", 9), multicast=False) is None
    assert e.counters["dropped.relay-hop-limit"] == 1
    assert send(e, relayed(msg(MessageType.SOLICIT, cid(), IaNa(1)), "2001:db8:77::1"), multicast=False) is None
    assert send(e, relayed(msg(MessageType.SOLICIT, cid(), IaNa(1)), "::"), multicast=False) is None
    assert e.counters["dropped.no-subnet"] == 2
    deep: Dhcp6Message | Dhcp6Relay = msg(MessageType.SOLICIT, cid(), IaNa(1))
    for i in range(12):  # relay loop: more layers than RFC 8415 §7.6 HOP_COUNT_LIMIT allows
        deep = Dhcp6Relay(MessageType.RELAY_FORW, i, A("2001:db8:2::1"), LL, (RelayMessage(deep),))
    assert send(e, deep, multicast=False) is None and e.counters["dropped.malformed"] == 1
    rr = Dhcp6Relay(MessageType.RELAY_REPL, 0, A("2001:db8:2::1"), LL, (RelayMessage(msg(MessageType.REPLY)),))
    assert send(e, rr, multicast=False) is None and e.counters["dropped.relay-reply-received"] == 1


# ---------------------------------------------------------------- boot answers and UEFI HTTP boot

QUICKSTART = "examples/quickstart.toml"


def quickstart() -> Dhcp6Engine:
    from bootwright.config import load_config

    cfg = load_config(QUICKSTART)
    return Dhcp6Engine(BootPolicy.from_config(cfg), SERVER_DUID, {"tap0": cfg.subnet6[0]}, (), NOW)


HTTP_VC = VendorClass(343, (b"HTTPClient:Arch:00016:UNDI:003000",))


def test_ovmf_http_boot_gets_option_16_and_59_in_every_reply() -> None:
    e = quickstart()
    c = ClientId(DuidLLT(HW_TYPE_ETHERNET, 0x2A4B1C0D, MAC))  # OVMF: DUID-LLT ending in the MAC
    oro = OptionRequest((23, 24, 59))
    # Issue 7: two Solicits with one DUID, only one with the vendor class; the Request lacks it.
    first = reply(send(e, msg(MessageType.SOLICIT, c, IaNa(1), oro, ClientArchType((16,))), iface="tap0"))
    second = reply(send(e, msg(MessageType.SOLICIT, c, IaNa(1), oro, ClientArchType((16,)), HTTP_VC), iface="tap0"))
    req = msg(MessageType.REQUEST, c, SID, IaNa(1, 0, 0, (IaAddr(ia_address(second), 0, 0),)), oro)
    rep = reply(send(e, req, iface="tap0"))
    for m in (first, second, rep):
        assert m.get(VendorClass) == VendorClass(343, (b"HTTPClient",)), m
        assert m.get(BootFileUrl) == BootFileUrl("http://[2001:db8::1]/ipxe.efi")


def test_http_boot_memory_covers_messages_without_arch_too() -> None:
    e = quickstart()
    c = ClientId(DuidLLT(HW_TYPE_ETHERNET, 5, MAC))
    send(e, msg(MessageType.SOLICIT, c, IaNa(1), ClientArchType((16,)), HTTP_VC), iface="tap0")
    rep = reply(send(e, msg(MessageType.SOLICIT, c, IaNa(1)), iface="tap0"))
    assert rep.get(VendorClass) == VendorClass(343, (b"HTTPClient",))


@pytest.mark.parametrize(
    ("extra", "url"),
    [
        ((ClientArchType((7,)),), "tftp://[2001:db8::1]/ipxe.efi"),
        ((ClientArchType((0,)),), "tftp://[2001:db8::1]/undionly.kpxe"),
        ((UserClass((b"iPXE",)),), "http://[2001:db8::1]/boot.ipxe"),
    ],
)
def test_boot_url_matches_explain(extra: tuple[Dhcp6Option, ...], url: str) -> None:
    e = quickstart()
    rep = reply(send(e, msg(MessageType.SOLICIT, cid(), IaNa(1), *extra), iface="tap0"))
    assert rep.get(BootFileUrl) == BootFileUrl(url)
    # The server sends exactly the configuration options `bootwright explain` lists.
    arches = extra[0].values if isinstance(extra[0], ClientArchType) else ()
    ucs = ("iPXE",) if isinstance(extra[0], UserClass) else ()
    client = ClientInfo(6, mac="52:54:00:12:34:56", duid=cid().duid.encode(), arches=arches, user_classes=ucs)
    plan = plan_reply(e.policy, client, e.config.subnet6[0])
    wanted = {type(o): o for o in wire_options(plan.options)}
    got = {type(o): o for o in rep.options if type(o) in wanted}
    assert got == wanted


def test_seed000_stateless_network() -> None:
    from bootwright.config import load_config

    cfg = load_config("examples/seed000-ipv6-ipxe.toml")
    e = Dhcp6Engine(BootPolicy.from_config(cfg), SERVER_DUID, {"vlan123": cfg.subnet6[0]}, (), NOW)
    ipxe = reply(send(e, msg(MessageType.INFORMATION_REQUEST, cid(), UserClass((b"iPXE",))), iface="vlan123"))
    assert ipxe.get(BootFileUrl) == BootFileUrl("http://boot.ipxe.org/demo/boot.php")
    assert ipxe.get(DnsServers) == DnsServers((A("2001:4860:4860::8888"),))
    uefi = reply(send(e, msg(MessageType.SOLICIT, cid(), IaNa(1), ClientArchType((7,))), iface="vlan123"))
    assert uefi.get(BootFileUrl) == BootFileUrl("tftp://[2001:db8::69]/ipxe.efi")  # RFC 8415 §18.3.9:
    assert uefi.get(IaNa).get(StatusCodeOption).status == StatusCode.NO_ADDRS_AVAIL  # type: ignore[union-attr]


def test_unknown_options_are_ignored() -> None:
    e = make()
    rep = reply(send(e, msg(MessageType.SOLICIT, cid(), IaNa(1), UnknownOption(4242, b"xyz"), UnknownOption(9, b""))))
    assert rep.msg_type == MessageType.ADVERTISE


# ---------------------------------------------------------------- state across restarts, expiry, reload


def test_leases_survive_a_restart_and_offers_do_not() -> None:
    e = make()
    rep, out = exchange(e, cid())
    send(e, msg(MessageType.SOLICIT, cid(b"\x02" * 6), IaNa(1)))  # offered only
    again = make(leases=out.writes)
    assert len(again.table) == 1
    renew = msg(MessageType.RENEW, cid(), SID, IaNa(1, 0, 0, (IaAddr(ia_address(rep), 0, 0),)))
    assert ia_address(reply(send(again, renew))) == ia_address(rep)


def test_expire_and_mac_lookup() -> None:
    e = make()
    rep, _ = exchange(e, cid())
    addr = str(ia_address(rep))
    assert e.mac_for_ip(addr, NOW) == "52:54:00:12:34:56"
    timer = e.on_timer(NOW + 4001)
    writes, deletes = list(timer.writes), list(timer.forget)
    assert [w.state for w in writes] == ["expired"] and deletes == []
    assert e.mac_for_ip(addr, NOW + 4001) is None and len(e.table) == 0


def test_set_policy_keeps_bindings() -> None:
    e = make()
    rep, _ = exchange(e, cid())
    cfg: Config = parse_config(CONFIG.replace('dns = ["2001:db8::53"]', 'dns = ["2001:db8::54"]'))
    e.set_policy(BootPolicy.from_config(cfg))
    rep2 = reply(send(e, msg(MessageType.SOLICIT, cid(), IaNa(1))))
    assert ia_address(rep2) == ia_address(rep)
    assert rep2.get(DnsServers) == DnsServers((A("2001:db8::54"),))


def test_oversized_and_garbage_are_counted() -> None:
    e = make()
    assert e.handle(b"\x01" * (MAX_MESSAGE + 1), Received(LL, "eth0"), NOW) is None
    assert e.handle(b"\x01\x00", Received(LL, "eth0"), NOW) is None
    assert e.handle(b"", Received(LL, "eth0"), NOW) is None
    assert e.counters["dropped.oversized"] == 1 and e.counters["dropped.malformed"] == 2
    assert e.counters["internal_error"] == 0


def test_link_without_subnet_answers_information_request_only() -> None:
    e = make(links={})
    assert send(e, msg(MessageType.SOLICIT, cid(), IaNa(1)), iface="eth9") is None
    rep = reply(send(e, msg(MessageType.INFORMATION_REQUEST, cid()), iface="eth9"))
    assert rep.get(DnsServers) is None  # no subnet, no global dns: nothing but identifiers


# ---------------------------------------------------------------- every seed's v6 branches, as explain says

V6_BRANCHES = [b for b in BRANCHES if b[1] == 6]


@pytest.mark.parametrize(("example", "family", "args", "rule", "bootfile", "next_server", "vendor_class"), V6_BRANCHES)
def test_server_answers_every_seed_v6_branch_like_explain(
    example: str, family: int, args: list[str], rule: str | None, bootfile: str | None,
    next_server: str | None, vendor_class: str | None,
) -> None:  # fmt: skip
    from bootwright.config import load_config

    cfg = load_config(EXAMPLES / example)
    e = Dhcp6Engine(BootPolicy.from_config(cfg), SERVER_DUID, {"eth0": cfg.subnet6[0]}, (), NOW)
    flags = dict(zip(args[::2], args[1::2], strict=True))
    opts: list[Dhcp6Option] = [cid(), IaNa(1), OptionRequest((23, 24, 59))]
    if "--arch" in flags:
        opts.append(ClientArchType((int(flags["--arch"]),)))
    if "--vendor-class" in flags:
        opts.append(VendorClass(343, (flags["--vendor-class"].encode(),)))
    if "--user-class" in flags:
        opts.append(UserClass((flags["--user-class"].encode(),)))
    adv = reply(send(e, msg(MessageType.SOLICIT, *opts)))
    got = adv.get(BootFileUrl)
    assert (got.url if got else None) == bootfile
    vc = adv.get(VendorClass)
    assert (vc.data[0].decode() if vc else None) == vendor_class
    info = reply(send(e, msg(MessageType.INFORMATION_REQUEST, *[o for o in opts if not isinstance(o, IaNa)])))
    got = info.get(BootFileUrl)
    assert (got.url if got else None) == bootfile  # stateless answers carry the same boot file


def test_mac_from_eui64_link_local_for_duid_uuid_clients() -> None:
    from bootwright.engine.dhcp6.client import eui64_mac
    from bootwright.wire.dhcp6 import DuidUUID

    assert eui64_mac(A("fe80::5054:ff:fe12:3456")) == MAC  # RFC 4291 Appendix A
    assert eui64_mac(A("fe80::1")) is None and eui64_mac(A("2001:db8::5054:ff:fe12:3456")) is None
    e = make()
    ipxe = ClientId(DuidUUID(bytes(range(16))))  # iPXE: a DUID-UUID, no MAC inside
    host_ll = A("fe80::5054:ff:feaa:bbcc")  # EUI-64 of 52:54:00:aa:bb:cc, the "fixed" host
    out = send(e, msg(MessageType.SOLICIT, ipxe, IaNa(1)), src=host_ll)
    assert ia_address(reply(out)) == A("2001:db8::42")
    assert out is not None and out.events[0].mac == "52:54:00:aa:bb:cc" and out.events[0].host == "fixed"
    fwd = relayed(msg(MessageType.SOLICIT, ipxe, IaNa(1)), "2001:db8:2::1")
    fwd = Dhcp6Relay(fwd.msg_type, 0, fwd.link_address, A("fe80::5054:ff:fe12:3456"), fwd.options)
    got = send(e, fwd, multicast=False)
    assert got is not None and got.events[0].mac == "52:54:00:12:34:56"  # the relay's peer-address
