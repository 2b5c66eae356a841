"""The sans-I/O router advertiser: RA contents from the config and RFC 4861 §6.2 timing."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bootwright.config import load_config, parse_config
from bootwright.engine.ra import MAX_WAITING, RouterAdvertiser, Solicitation, ra_settings
from bootwright.wire.ndp import (
    MAX_INITIAL_RTR_ADVERT_INTERVAL,
    MAX_RA_DELAY_TIME,
    MIN_DELAY_BETWEEN_RAS,
    Dnssl,
    Mtu,
    PrefixInformation,
    Rdnss,
    RouterAdvertisement,
    RouterPreference,
    RouterSolicitation,
    SourceLinkLayerAddress,
    decode,
    encode,
)

A = IPv6Address
MAC = bytes.fromhex("525400123456")
RS = encode(RouterSolicitation())
LL = A("fe80::2")

CONFIG = """
[server]
interfaces = ["eth0"]
address6 = "2001:db8::1"

[[subnet6]]
prefix = "2001:db8::/64"
interface = "eth0"
dns = ["2001:db8::53"]
domain_search = ["example.test"]

[subnet6.ra]
managed = true
router_preference = "high"
max_interval = 600
mtu = 1500
router_address = true
hop_limit = 32

[[subnet6]]
prefix = "2001:db8:7::/64"
interface = "eth0"

[subnet6.ra]
other = true
autonomous = false
rdnss = ["2001:db8:7::53"]
dnssl = ["seven.test"]
"""


def advertiser(config: str = CONFIG, unicast: bool = False) -> RouterAdvertiser:
    """An advertiser; ``unicast=False`` (the multicast answers most tests look at) unless asked."""
    cfg = parse_config(config)
    return RouterAdvertiser(replace(ra_settings(cfg, cfg.subnet6, MAC), solicited_unicast=unicast), lambda: 0.5)


def ra_of(payload: bytes) -> RouterAdvertisement:
    ra = decode(payload)
    assert isinstance(ra, RouterAdvertisement)
    return ra


def test_ra_contents_from_config() -> None:
    adv = advertiser()
    ra = ra_of(adv.payload)
    assert ra.managed and ra.other  # M from the first subnet, O from the second
    assert ra.preference == RouterPreference.HIGH and ra.cur_hop_limit == 32
    assert ra.router_lifetime == 1800  # RFC 4861 §6.2.1: 3 × MaxRtrAdvInterval
    assert ra.get(SourceLinkLayerAddress) == SourceLinkLayerAddress(MAC)
    assert ra.get(Mtu) == Mtu(1500)
    p1, p2 = ra.get_all(PrefixInformation)
    assert p1.prefix == A("2001:db8::1") and p1.router_address and p1.prefix_length == 64  # RFC 6275 §7.2
    assert p2.prefix == A("2001:db8:7::") and not p2.autonomous and p2.on_link
    assert (p1.valid_lifetime, p1.preferred_lifetime) == (86400, 14400)
    assert ra.get(Rdnss) == Rdnss(1800, (A("2001:db8::53"), A("2001:db8:7::53")))  # RFC 8106 §5.1
    assert ra.get(Dnssl) == Dnssl(1800, ("example.test", "seven.test"))
    assert adv.settings.min_interval == pytest.approx(198.0)  # 0.33 × Max (§6.2.1)


def test_quickstart_ra() -> None:
    cfg = load_config("examples/quickstart.toml")
    settings_ = ra_settings(cfg, cfg.subnet6)
    ra = settings_.advertisement
    assert ra.managed and ra.other and ra.router_lifetime == 30
    assert (settings_.min_interval, settings_.max_interval) == (3, 10)
    assert not ra.get(PrefixInformation).autonomous  # type: ignore[union-attr]
    assert ra.get(Rdnss) == Rdnss(30, (A("2001:db8::1"),)) and ra.get(Dnssl) == Dnssl(30, ("lab.example",))


def test_without_ra_table_is_an_error() -> None:
    cfg = parse_config('[[subnet6]]\nprefix = "2001:db8::/64"\n')
    with pytest.raises(ValueError, match="no subnet6"):
        ra_settings(cfg, cfg.subnet6)


def test_unsolicited_schedule_initial_then_between_min_and_max() -> None:
    adv = advertiser()
    assert adv.next_deadline() is None and adv.advertise(0.0, 0.5) == []
    adv.start(100.0)
    assert adv.next_deadline() == 100.0
    now = 100.0
    gaps = []
    for _ in range(6):
        now = adv.next_deadline()  # type: ignore[assignment]
        assert adv.advertise(now, 0.99) == [adv.payload]
        gaps.append(adv.next_deadline() - now)  # type: ignore[operator]
    # §6.2.4: the first MAX_INITIAL_RTR_ADVERTISEMENTS intervals are capped at 16 s.
    assert gaps[:2] == [MAX_INITIAL_RTR_ADVERT_INTERVAL] * 2
    assert all(198.0 <= g <= 600 for g in gaps[3:])
    assert adv.advertise(now + 1, 0.5) == []  # not due: nothing


def test_solicitation_gets_a_delayed_multicast_ra() -> None:
    adv = advertiser()
    adv.start(0.0)
    adv.advertise(0.0, 0.5)  # the first RA, at 0
    assert adv.on_solicit(RS, LL, 255, 10.0, 0.5)  # §6.2.6: random delay up to 0.5 s
    assert adv.next_deadline() == pytest.approx(10.25)
    assert adv.advertise(10.25, 0.5) == [adv.payload]
    # Within MIN_DELAY_BETWEEN_RAS of that multicast RA: wait for it to pass.
    assert adv.on_solicit(RS, LL, 255, 11.0, 0.0)
    assert adv.next_deadline() == pytest.approx(10.25 + MIN_DELAY_BETWEEN_RAS)


def test_solicitation_flood_costs_one_ra_per_three_seconds() -> None:
    adv = advertiser()
    adv.start(0.0)
    sent = len(adv.advertise(0.0, 0.5))
    t = 0.0
    for i in range(20000):  # 10 s of 2000 RS/s
        t = i * 0.0005
        adv.on_solicit(RS, LL, 255, t, (i % 97) / 97)
        due = adv.next_deadline()
        if due is not None and due <= t:
            sent += len(adv.advertise(t, 0.3))
    assert sent <= 1 + int(t / MIN_DELAY_BETWEEN_RAS) + 1
    assert adv.counters["rs.absorbed"] > 19000


@pytest.mark.parametrize(
    ("data", "src", "hop", "why"),
    [
        (RS, LL, 64, "hop limit"),  # RFC 4861 §6.1.1
        (b"\x85\x00\x00\x00", LL, 255, "short"),
        (encode(RouterAdvertisement()), LL, 255, "an RA"),
        (encode(RouterSolicitation((SourceLinkLayerAddress(MAC),))), A("::"), 255, "SLLA from ::"),
        (RS[:1] + b"\x01" + RS[2:], LL, 255, "code 1"),
        (RS + b"\x01\x00" + bytes(6), LL, 255, "zero-length option"),
    ],
)
def test_invalid_solicitations_are_counted(data: bytes, src: IPv6Address, hop: int, why: str) -> None:
    adv = advertiser()
    adv.start(0.0)
    adv.advertise(0.0, 0.5)
    assert not adv.on_solicit(data, src, hop, 5.0, 0.5), why
    assert adv.counters["rs.invalid"] == 1


def test_unspecified_source_without_slla_is_valid() -> None:
    adv = advertiser()
    adv.start(0.0)
    adv.advertise(0.0, 0.5)
    assert adv.on_solicit(RS, A("::"), 255, 5.0, 0.5)


def test_final_ra_has_router_lifetime_zero_and_stops_timers() -> None:
    adv = advertiser()
    adv.start(0.0)
    final = ra_of(adv.final())
    assert final.router_lifetime == 0 and final.managed  # RFC 4861 §6.2.5
    assert adv.next_deadline() is None


def test_update_changes_the_next_ra_only() -> None:
    adv = advertiser()
    adv.start(0.0)
    cfg = parse_config(CONFIG.replace("managed = true", "managed = false"))
    adv.update(ra_settings(cfg, cfg.subnet6, MAC))
    assert not ra_of(adv.advertise(0.0, 0.5)[0]).managed


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 255), st.floats(0, 1e6), st.floats(0, 0.999))
def test_random_solicitations_never_raise(data: bytes, hop: int, now: float, u: float) -> None:
    adv = advertiser()
    adv.start(0.0)
    adv.on_solicit(data, LL, hop, now, u)
    assert sum(adv.counters[k] for k in ("rs.invalid", "rs.absorbed", "rs.not-started")) <= 1


# --- who asked: the solicitations an RA answers (RFC 4861 §4.1 Source Link-Layer Address) ---------

RS_SLLA = encode(RouterSolicitation((SourceLinkLayerAddress(MAC),)))
LL2 = A("fe80::5054:ff:fe00:99")


def started() -> RouterAdvertiser:
    adv = advertiser()
    adv.start(0.0)
    adv.advertise(0.0, 0.5)
    return adv


def test_rs_with_slla_is_answered_with_its_mac() -> None:
    adv = started()
    assert adv.answered == ()
    assert adv.on_solicit(RS_SLLA, LL, 255, 10.0, 0.5)
    assert adv.advertise(10.25, 0.5) == [adv.payload]
    assert adv.answered == (Solicitation(LL, "52:54:00:12:34:56", 10.0),)
    # The next RA answers nobody: each solicitation is reported once.
    assert adv.advertise(adv.next_deadline(), 0.5) and adv.answered == ()  # type: ignore[arg-type]


def test_rs_without_slla_is_answered_without_a_mac() -> None:
    adv = started()
    adv.on_solicit(RS, LL, 255, 10.0, 0.5)
    adv.on_solicit(RS, A("::"), 255, 10.1, 0.5)  # a host without an address may not send the option
    adv.advertise(10.25, 0.5)
    assert adv.answered == (Solicitation(LL, None, 10.0), Solicitation(A("::"), None, 10.1))


def test_absorbed_solicitations_are_answered_by_the_ra_already_due() -> None:
    adv = started()
    assert adv.on_solicit(RS_SLLA, LL, 255, 10.0, 0.9)  # schedules the RA at 10.45
    other = encode(RouterSolicitation((SourceLinkLayerAddress(bytes.fromhex("5254000000aa")),)))
    assert not adv.on_solicit(other, LL2, 255, 10.1, 0.9)  # absorbed
    assert not adv.on_solicit(RS_SLLA, LL, 255, 10.2, 0.9)  # the same host again: reported once
    assert adv.advertise(10.1, 0.5) == [] and adv.answered == ()  # not due yet
    adv.advertise(10.45, 0.5)
    assert [(s.mac, s.at) for s in adv.answered] == [("52:54:00:12:34:56", 10.0), ("52:54:00:00:00:aa", 10.1)]


def test_only_valid_solicitations_on_an_advertising_link_are_answered() -> None:
    adv = advertiser()
    adv.on_solicit(RS_SLLA, LL, 255, 0.0, 0.5)  # not advertising yet: no RA will follow
    adv.start(1.0)
    adv.on_solicit(RS_SLLA, LL, 64, 1.0, 0.5)  # RFC 4861 §6.1.1: hop limit not 255
    adv.advertise(1.0, 0.5)
    assert adv.answered == ()


def test_a_link_layer_option_that_is_no_mac_gives_no_mac() -> None:
    adv = started()
    long_address = encode(RouterSolicitation((SourceLinkLayerAddress(bytes(range(14))),)))  # not Ethernet
    adv.on_solicit(long_address, LL, 255, 10.0, 0.5)
    adv.advertise(10.25, 0.5)
    assert adv.answered == (Solicitation(LL, None, 10.0),)


def test_a_flood_of_solicitors_is_reported_boundedly() -> None:
    adv = started()
    for i in range(MAX_WAITING + 50):
        rs = encode(RouterSolicitation((SourceLinkLayerAddress(bytes.fromhex("525400") + i.to_bytes(3)),)))
        adv.on_solicit(rs, LL, 255, 10.0 + i / 1000, 0.5)
    adv.advertise(adv.next_deadline(), 0.5)  # type: ignore[arg-type]
    assert len(adv.answered) == MAX_WAITING
    assert adv.counters["rs.unrecorded"] == 50


def test_final_ra_answers_nobody() -> None:
    adv = started()
    adv.on_solicit(RS_SLLA, LL, 255, 10.0, 0.5)
    adv.final()
    adv.start(20.0)
    adv.advertise(20.0, 0.5)
    assert adv.answered == ()


# --------------------------------------------------------------------------- unicast answers (RFC 7772 §5.1.1)


def test_unicast_is_the_default() -> None:
    cfg = parse_config(CONFIG)
    assert ra_settings(cfg, cfg.subnet6, MAC).solicited_unicast
    off = CONFIG.replace("hop_limit = 32", "hop_limit = 32\nsolicited_unicast = false")
    cfg = parse_config(off)
    assert not ra_settings(cfg, cfg.subnet6, MAC).solicited_unicast


def test_a_solicitation_from_a_unicast_source_gets_a_unicast_ra_after_the_random_delay() -> None:
    adv = advertiser(unicast=True)
    adv.start(0.0)
    adv.advertise(0.0, 0.5)  # a multicast RA just went out: a multicast answer would wait 3 s
    slla = encode(RouterSolicitation((SourceLinkLayerAddress(MAC),)))
    assert adv.on_solicit(slla, LL, 255, 0.5, 0.5)
    due = 0.5 + 0.5 * MAX_RA_DELAY_TIME  # §6.2.6: still the random delay, not MIN_DELAY_BETWEEN_RAS
    assert adv.next_deadline() == due
    assert adv.due_unicast(due - 0.01) == []
    assert adv.advertise(due, 0.5) == []  # no multicast RA for it
    [s] = adv.due_unicast(due)
    assert (s.source, s.mac, s.at) == (LL, "52:54:00:12:34:56", 0.5)
    assert adv.counters["ra.unicast"] == 1 and adv.counters["ra.solicited"] == 0


def test_a_source_gets_one_unicast_ra_per_three_seconds() -> None:
    adv = advertiser(unicast=True)
    adv.start(0.0)
    adv.advertise(0.0, 0.5)
    assert adv.on_solicit(RS, LL, 255, 10.0, 0.0)
    assert not adv.on_solicit(RS, LL, 255, 10.0, 0.0)  # already waiting
    assert len(adv.due_unicast(10.0)) == 1
    assert not adv.on_solicit(RS, LL, 255, 11.0, 0.0)  # answered a second ago
    assert adv.on_solicit(RS, LL, 255, 10.0 + MIN_DELAY_BETWEEN_RAS, 0.0)
    assert adv.counters["rs.absorbed"] == 2


def test_a_flood_of_solicitors_falls_back_to_the_rate_limited_multicast_ra() -> None:
    adv = advertiser(unicast=True)
    adv.start(0.0)
    adv.advertise(0.0, 0.5)
    for i in range(MAX_WAITING + 10):
        adv.on_solicit(RS, A(f"fe80::{i + 1:x}"), 255, 5.0, 0.9)
    assert adv.counters["rs.unicast-flood"] == 10
    assert len(adv.due_unicast(6.0)) == MAX_WAITING
    assert adv.advertise(6.0, 0.5) != []  # the multicast RA answers the rest
    assert len(adv.answered) == 10


def test_a_solicitation_from_the_unspecified_address_is_answered_by_multicast() -> None:
    adv = advertiser(unicast=True)
    adv.start(0.0)
    adv.advertise(0.0, 0.5)
    assert adv.on_solicit(RS, A("::"), 255, 10.0, 0.0)
    assert adv.due_unicast(10.0) == []
    assert adv.advertise(10.0, 0.5) != [] and [s.source for s in adv.answered] == [A("::")]


def test_a_pending_unicast_ra_does_not_absorb_a_solicitation_from_the_unspecified_address() -> None:
    adv = advertiser(unicast=True)
    adv.start(0.0)
    adv.advertise(0.0, 0.5)  # the next unsolicited RA is 16 s away (MAX_INITIAL_RTR_ADVERT_INTERVAL)
    assert adv.on_solicit(RS, LL, 255, 10.0, 0.0)  # unicast RA due at 10.0
    assert adv.on_solicit(RS, A("::"), 255, 10.0, 0.5)  # needs its own multicast RA
    assert adv.counters["rs.absorbed"] == 0
    assert [s.source for s in adv.due_unicast(10.0)] == [LL]
    assert adv.advertise(10.25, 0.5) != [] and [s.source for s in adv.answered] == [A("::")]


def test_the_final_ra_drops_pending_unicast_answers() -> None:
    adv = advertiser(unicast=True)
    adv.start(0.0)
    adv.on_solicit(RS, LL, 255, 1.0, 0.5)
    adv.final()
    assert adv.due_unicast(5.0) == [] and adv.next_deadline() is None
