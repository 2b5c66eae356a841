"""The RA service's events: one ``ra.solicited`` per host whose Router Solicitation an RA answered."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address
from types import SimpleNamespace
from typing import Any

from bootwright.boot.policy import HostIndex
from bootwright.config import parse_config
from bootwright.engine.ra import RouterAdvertiser, ra_settings
from bootwright.model import Event, Host
from bootwright.net.ra import RaService, _Link
from bootwright.runtime.events import EventSink
from bootwright.wire.ndp import RouterSolicitation, SourceLinkLayerAddress, encode

CONFIG = """
[[subnet6]]
prefix = "2001:db8::/64"
interface = "tap0"
[subnet6.ra]
managed = true
other = true
"""
MAC = "52:54:00:b0:00:04"
LL = IPv6Address("fe80::5054:ff:feb0:4")


def test_solicited_ra_events_name_mac_and_host() -> None:
    cfg = parse_config(CONFIG)
    events: list[Event] = []
    sink = EventSink()
    sink.listeners.append(events.append)
    hosts = HostIndex.build([Host("web1", (MAC,))])
    runtime: Any = SimpleNamespace(config=cfg, policy=SimpleNamespace(config=cfg, hosts=hosts), events=sink)
    service = RaService(runtime)
    adv = RouterAdvertiser(replace(ra_settings(cfg, cfg.subnet6), solicited_unicast=False))
    link = _Link("tap0", 7, None, adv)  # type: ignore[arg-type]
    adv.start(0.0)
    adv.on_timer(0.0, 0.5)
    adv.on_solicit(encode(RouterSolicitation((SourceLinkLayerAddress(bytes.fromhex("525400b00004")),))),
                   LL, 255, 10.0, 0.5)
    adv.on_solicit(encode(RouterSolicitation()), IPv6Address("::"), 255, 10.1, 0.5)
    adv.on_timer(10.25, 0.5)
    service._answered(link, adv.answered, 10.25)
    named, anonymous = events
    assert (named.kind, named.mac, named.host) == ("ra.solicited", MAC, "web1")
    assert named.detail == {"interface": "tap0", "source": str(LL), "delay": 0.25, "flags": "MO", "unicast": False}
    assert (anonymous.mac, anonymous.host, anonymous.detail["source"]) == (None, None, "::")
