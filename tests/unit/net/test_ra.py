"""The RA service's events: one ``ra.solicited`` per host whose Router Solicitation an RA answered."""

from __future__ import annotations

import logging
from dataclasses import replace
from ipaddress import IPv6Address
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bootwright.boot.policy import HostIndex
from bootwright.config import parse_config
from bootwright.engine.ra import RouterAdvertiser, RsContext, ra_settings
from bootwright.model import Event, Host
from bootwright.net.ra import RaService, _Link, forwarding_warning, read_forwarding
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


def test_solicited_ra_events_name_mac_and_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's Outcome (handle, then on_timer) delivered: interface, source and host names added."""
    monkeypatch.setattr("bootwright.net.ra.send_from", lambda *a: None)
    cfg = parse_config(CONFIG)
    events: list[Event] = []
    sink = EventSink()
    sink.listeners.append(events.append)
    hosts = HostIndex.build([Host("web1", (MAC,))])
    runtime: Any = SimpleNamespace(config=cfg, policy=SimpleNamespace(config=cfg, hosts=hosts), events=sink)
    service = RaService(runtime)
    adv = RouterAdvertiser(replace(ra_settings(cfg, cfg.subnet6), solicited_unicast=False), lambda: 0.5)
    link = _Link("tap0", 7, None, adv, LL)  # type: ignore[arg-type]
    adv.start(0.0)
    adv.on_timer(0.0)
    adv.handle(encode(RouterSolicitation((SourceLinkLayerAddress(bytes.fromhex("525400b00004")),))),
               RsContext(LL, 255), 10.0)
    adv.handle(encode(RouterSolicitation()), RsContext(IPv6Address("::"), 255), 10.1)
    service._deliver(link, adv.on_timer(10.25))
    sent, named, anonymous = events
    assert (sent.kind, sent.detail["interface"], sent.detail["source"]) == ("ra.sent", "tap0", str(LL))
    assert (named.kind, named.mac, named.host) == ("ra.solicited", MAC, "web1")
    assert named.detail == {"interface": "tap0", "source": str(LL), "delay": 0.25, "flags": "MO", "unicast": False}
    assert (anonymous.mac, anonymous.host, anonymous.detail["source"]) == (None, None, "::")


@pytest.mark.parametrize(
    ("lifetimes", "forwarding", "warned"),
    [
        ({"tap0": 1800}, 0, ["tap0"]),  # a default route from a host that drops off-link traffic
        ({"tap0": 1800, "tap1": 0}, 0, ["tap0"]),
        ({"tap0": 0}, 0, []),  # router_lifetime = 0: addressing and M/O flags only
        ({"tap0": 1800}, 1, []),
        ({"tap0": 1800}, 2, []),  # 2: forwarding and accepting RAs (Linux)
        ({"tap0": 1800}, None, []),  # unreadable: say nothing rather than guess
    ],
)
def test_forwarding_warning(lifetimes: dict[str, int], forwarding: int | None, warned: list[str]) -> None:
    warning = forwarding_warning(lifetimes, forwarding)
    if not warned:
        assert warning is None
    else:
        assert warning is not None
        assert "clients will use this host as default router but it does not forward" in warning
        assert f"RA on {', '.join(warned)}:" in warning and "router_lifetime = 0" in warning


def test_read_forwarding(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("0\n")
    assert read_forwarding(tmp_path / "f") == 0
    assert read_forwarding(tmp_path / "missing") is None


def test_service_warns_at_start_with_the_effective_lifetime(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The default router lifetime (3 × max_interval) counts; the check runs on what is advertised."""
    cfg = parse_config(CONFIG)
    runtime: Any = SimpleNamespace(config=cfg, policy=SimpleNamespace(config=cfg), events=EventSink())
    service = RaService(runtime)
    service.links["tap0"] = _Link("tap0", 7, None, RouterAdvertiser(ra_settings(cfg, cfg.subnet6), lambda: 0.5))  # type: ignore[arg-type]
    monkeypatch.setattr("bootwright.net.ra.read_forwarding", lambda: 0)
    with caplog.at_level(logging.WARNING, logger="bootwright.ra"):
        service._check_forwarding(["tap0"])
    assert [r.getMessage() for r in caplog.records if "does not forward" in r.getMessage()]
    caplog.clear()
    quiet = parse_config(CONFIG + "router_lifetime = 0\n")
    service.links["tap0"] = _Link("tap0", 7, None, RouterAdvertiser(ra_settings(quiet, quiet.subnet6), lambda: 0.5))  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="bootwright.ra"):
        service._check_forwarding(["tap0"])
    assert not caplog.records
