"""Event kinds are typed (model.EventKind) but stored, logged and serialised as the same strings as before."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from bootwright.model import Event, EventKind, RequestState
from bootwright.runtime.events import EventSink
from bootwright.store.sqlite import SqliteStore

KIND = re.compile(r"^[a-z0-9]+\.[a-z0-9_.-]+$")

# The stored form of every kind: a contract with existing databases, `bootwright events`, JSON logs and the API.
STORED = {
    "dhcp4.discover", "dhcp4.offer", "dhcp4.request", "dhcp4.ack", "dhcp4.nak", "dhcp4.decline", "dhcp4.release",
    "dhcp4.inform", "dhcp4.bootp", "dhcp4.proxy_offer", "dhcp4.proxy_ack", "dhcp6.advertise", "dhcp6.reply", "dhcp6.ignored", "ra.sent", "ra.final", "ra.solicited",
    "tftp.start", "tftp.done", "tftp.failed", "http.request", "http.script", "http.download_complete",
    "http.download_failed", "http.ready", "oneshot.pending", "oneshot.booting", "oneshot.done", "oneshot.failed",
    "bmc.bootdev", "bmc.power", "bmc.error", "config.reloaded", "config.reload_failed", "syslog.message",
}  # fmt: skip


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_kind_is_a_dotted_lower_case_string(kind: EventKind) -> None:
    assert isinstance(kind.value, str) and KIND.match(kind.value), kind
    assert kind == kind.value and str(kind) == kind.value and f"{kind}" == kind.value
    assert EventKind(kind.value) is kind  # round-trips from the stored string


def test_the_stored_strings_do_not_change() -> None:
    assert {k.value for k in EventKind} == STORED


def test_request_states_are_rfc2131_names() -> None:
    assert [s.value for s in RequestState] == ["selecting", "init-reboot", "renewing", "rebinding"]


def test_log_lines_and_json_carry_the_plain_string(caplog: pytest.LogCaptureFixture) -> None:
    text, js = EventSink(clock=lambda: 1.5), EventSink(log_format="json", clock=lambda: 1.5)
    event = text.emit(EventKind.DHCP4_ACK, mac="52:54:00:00:00:01", state=RequestState.SELECTING)
    assert text.format(event) == "dhcp4.ack mac=52:54:00:00:00:01 state=selecting"
    assert text.counts == {"dhcp4.ack": 1}
    record = json.loads(js.format(js.emit(EventKind.DHCP6_REPLY, msg="solicit")))
    assert record["event"] == "dhcp6.reply" and type(record["event"]) is str
    with caplog.at_level(logging.INFO, "bootwright.events"):
        text.emit(EventKind.TFTP_DONE, file="undionly.kpxe")
    assert caplog.messages[-1] == "tftp.done file=undionly.kpxe"


def test_the_store_keeps_the_plain_string(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    sink = EventSink(store, clock=lambda: 10.0)
    sink.emit(EventKind.DHCP4_NAK, mac="52:54:00:00:00:01", state=RequestState.INIT_REBOOT, reason="r")
    sink.emit("http.request", mac="52:54:00:00:00:01", status=200)  # net/ and web/ may pass plain strings
    store.close()
    again = SqliteStore(tmp_path / "state.db")
    again.open()
    events = again.events()
    again.close()
    assert [(e.kind, type(e.kind)) for e in events] == [("dhcp4.nak", str), ("http.request", str)]
    assert events[0].detail["state"] == RequestState.INIT_REBOOT.value == "init-reboot"
    assert events[0].kind == EventKind.DHCP4_NAK  # what the consumers compare with
    assert isinstance(events[0], Event)
