"""The engines speak the typed vocabulary: the wire layer's message-type enums, EventKind, RequestState, verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from bootwright.engine.dhcp4 import server as dhcp4_server
from bootwright.engine.dhcp4.server import Verdict
from bootwright.engine.dhcp6 import server as dhcp6_server
from bootwright.engine.dhcp6.server import DropReason
from bootwright.engine.tftp import transfer
from bootwright.model import EventKind, RequestState
from bootwright.wire import dhcp4 as wire4
from bootwright.wire import dhcp4_options, dhcp6_types
from bootwright.wire import dhcp6 as wire6
from bootwright.wire.tftp import Opcode
from tests.unit.engine import test_dhcp4 as v4
from tests.unit.engine import test_dhcp6 as v6

M4 = wire4.MessageType
M6 = wire6.MessageType


def test_message_type_enums_are_the_wire_layers() -> None:
    assert M4 is dhcp4_options.MessageType  # re-exported by the message codec
    assert M6 is dhcp6_types.MessageType
    assert not hasattr(dhcp4_server, "DISCOVER")  # no redefinition in the engine
    assert not any(hasattr(dhcp6_server, n) for n in ("_SOLICIT", "_REQUEST", "_INFO", "_REPLY"))


@pytest.mark.parametrize("t", list(M4))
def test_dhcp4_message_types_round_trip(t: M4) -> None:
    assert M4(int(t)) is t
    msg = v4.request(t)
    assert msg.message_type is t
    assert wire4.decode(wire4.encode(msg)).options[53] == bytes((t,))


@pytest.mark.parametrize("t", list(M6))
def test_dhcp6_message_types_round_trip(t: M6) -> None:
    assert M6(int(t)) is t
    if t in (M6.RELAY_FORW, M6.RELAY_REPL):
        return  # relay messages have their own shape (wire tests)
    decoded = wire6.decode(v6.msg(t, v6.cid()).encode())
    assert isinstance(decoded, wire6.Dhcp6Message) and decoded.msg_type is t


def test_tftp_opcode_round_trips_and_the_engines_hot_path_values_are_the_enums() -> None:
    assert all(Opcode(int(o)) is o for o in Opcode)
    assert (transfer._DATA, transfer._ACK) == (Opcode.DATA, Opcode.ACK)


def test_dhcpv6_message_names_are_rfc8415_s7_3s() -> None:
    assert dhcp6_server._NAMES == {
        M6.SOLICIT: "solicit", M6.REQUEST: "request", M6.CONFIRM: "confirm", M6.RENEW: "renew",
        M6.REBIND: "rebind", M6.RELEASE: "release", M6.DECLINE: "decline",
        M6.INFORMATION_REQUEST: "information-request",
    }  # fmt: skip


# ---------------------------------------------------------------- DHCPv4


def _kinds(outcomes: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
    return [(kind, detail) for out in outcomes for kind, _, _, detail in out.events]


def test_dhcp4_events_are_event_kinds_and_request_states() -> None:
    c = v4.Client(v4.engine())
    address = c.lease()
    c.send(M4.REQUEST, ciaddr=str(address), broadcast=False)  # RENEWING: unicast to us
    c.send(M4.REQUEST, ciaddr=str(address), broadcast=True)  # REBINDING: broadcast
    c.send(M4.RELEASE, ciaddr=str(address))
    events = _kinds(c.outcomes)
    assert [k for k, _ in events] == [EventKind.DHCP4_OFFER, EventKind.DHCP4_ACK, EventKind.DHCP4_ACK,
                                      EventKind.DHCP4_ACK, EventKind.DHCP4_RELEASE]  # fmt: skip
    assert all(type(k) is EventKind for k, _ in events)
    states = [d["state"] for k, d in events if k is EventKind.DHCP4_ACK]
    assert states == [RequestState.SELECTING, RequestState.RENEWING, RequestState.REBINDING]
    assert all(type(s) is RequestState for s in states)


def test_dhcp4_unanswered_init_reboot_carries_its_state() -> None:
    c = v4.Client(v4.engine())
    c.send(M4.REQUEST, raw={50: bytes([198, 51, 100, 7])})  # INIT-REBOOT on the wrong network, not authoritative
    [(kind, detail)] = _kinds(c.outcomes)
    assert kind is EventKind.DHCP4_REQUEST and detail["state"] is RequestState.INIT_REBOOT
    assert detail["reason"] == "not on network 192.0.2.0/24 and not authoritative"


def test_dhcp4_verdicts() -> None:
    assert [v.value for v in Verdict] == ["ack", "nak", "ignore"]


# ---------------------------------------------------------------- DHCPv6


def test_dhcp6_events_are_event_kinds() -> None:
    e = v6.make()
    adv = v6.send(e, v6.msg(M6.SOLICIT, v6.cid(), wire6.IaNa(1)))
    _, out = v6.exchange(e, v6.cid(bytes.fromhex("525400abcdef")))
    assert adv is not None
    kinds = [ev.kind for o in (adv, out) for ev in o.events]
    assert kinds == [EventKind.DHCP6_ADVERTISE, EventKind.DHCP6_REPLY]
    assert all(type(k) is EventKind for k in kinds)
    assert [ev.detail["msg"] for ev in out.events] == ["request"]


def test_dhcp6_drop_reasons_count_under_their_string() -> None:
    e = v6.make()
    assert v6.send(e, v6.msg(M6.SOLICIT, v6.cid(), wire6.IaNa(1)), multicast=False) is None
    assert v6.send(e, v6.msg(M6.REQUEST, wire6.IaNa(1))) is None
    assert e.counters["dropped." + DropReason.UNICAST] == e.counters["dropped.unicast"] == 1
    assert e.counters["dropped.no-client-id"] == 1
    assert all(type(k) is str for k in e.counters)  # counter names stay plain strings
