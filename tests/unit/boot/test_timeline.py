"""The boot timeline: events as readable steps, attempts, and the likely stop point of a stalled boot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootwright.boot.timeline import attempts, render, step
from bootwright.cli.main import app
from bootwright.model import Event, EventKind, RequestState
from bootwright.store.sqlite import SqliteStore

MAC = "52:54:00:12:34:56"
T0 = 1_700_000_000.0


def ev(dt: float, kind: str, mac: str = MAC, host: str | None = None, **detail: object) -> Event:
    return Event(T0 + dt, kind, mac, host, dict(detail))  # type: ignore[arg-type]


# A BIOS PXE boot: firmware DHCP, undionly.kpxe over TFTP, iPXE's DHCP, script, kernel, initrd.
FULL = [
    ev(0.00, "dhcp4.discover", xid="1"),
    ev(0.01, "dhcp4.offer", yiaddr="192.0.2.100", bootfile="undionly.kpxe"),
    ev(1.00, "dhcp4.request", state="selecting", requested="192.0.2.100"),
    ev(1.01, "dhcp4.ack", yiaddr="192.0.2.100", bootfile="undionly.kpxe"),
    ev(1.10, "tftp.start", file="undionly.kpxe", blksize=1432),
    ev(1.30, "tftp.done", file="undionly.kpxe", size=70000, duration=0.2, outcome="complete"),
    ev(3.00, "dhcp4.discover", xid="2"),
    ev(3.01, "dhcp4.offer", yiaddr="192.0.2.100", bootfile="http://192.0.2.1/boot.ipxe"),
    ev(3.02, "dhcp4.request", state="selecting"),
    ev(3.03, "dhcp4.ack", yiaddr="192.0.2.100", bootfile="http://192.0.2.1/boot.ipxe"),
    ev(3.10, "http.request", method="GET", path="/boot.ipxe", status=200),
    ev(3.20, "http.request", method="GET", path="/boot/52-54-00-12-34-56.ipxe", status=200),
    ev(3.50, "http.request", method="GET", path="/vmlinuz", status=200),
    ev(3.50, "http.download_complete", path="/vmlinuz", bytes=8_000_000, duration=0.3),
    ev(4.00, "http.request", method="GET", path="/initrd.img", status=200),
    ev(4.00, "http.download_complete", path="/initrd.img", bytes=20_000_000, duration=0.5),
]


def test_a_full_boot_is_complete() -> None:
    [a] = attempts(FULL)
    assert a.complete and a.stage == "initrd"
    assert a.status(T0 + 1000) == "complete"
    lines = render(a, T0 + 1000)
    assert "DHCPv4 offer of 192.0.2.100, boot file undionly.kpxe" in lines[2]
    assert any("TFTP sent undionly.kpxe (70,000 bytes in 0.20 s)" in line for line in lines)
    assert any("iPXE script /boot/52-54-00-12-34-56.ipxe served" in line for line in lines)
    assert not any("HTTP GET /vmlinuz" in line for line in lines)  # the download line says it
    assert lines[-1] == "   result: kernel and initrd fetched: the operating system is starting"


def test_a_script_that_says_exit_ends_the_boot_on_local_disk() -> None:
    events = [
        *FULL[6:10],
        ev(3.10, "http.request", method="GET", path="/boot.ipxe", status=200),
        ev(3.20, "http.request", method="GET", path="/boot/52-54-00-12-34-56.ipxe", status=200, script="local",
           script_kind="exit"),
    ]  # fmt: skip
    [a] = attempts(events)
    assert a.complete and a.stage == "exit"
    lines = render(a, T0 + 1000)
    assert any("served (local): exit to the firmware's next boot device" in line for line in lines)
    assert lines[-1].startswith("   result: the script said exit")
    # A script with a kernel still waits for the kernel.
    [b] = attempts([*events[:-1], ev(3.20, "http.request", path="/boot/x.ipxe", status=200, script="l", script_kind="kernel")])
    assert not b.complete and b.stage == "script"


@pytest.mark.parametrize(
    ("cut", "stop"),
    [
        (1, "discover received, no offer sent"),
        (2, "offer sent, no request"),
        (3, "request received, no acknowledgement sent"),
        (4, "address acknowledged, boot program not fetched (undionly.kpxe)"),
        (5, "address acknowledged, boot program not fetched"),  # TFTP started, never completed
        (6, "boot program fetched, no script request"),
        (8, "offer sent, no request"),  # iPXE's own DHCP round
        (10, "boot program running (its DHCP succeeded), no script request"),
        (11, "entry script served, no request for the host's own script"),
        (12, "script served, no kernel fetched"),
        (14, "kernel fetched, no initrd fetched"),
    ],
)
def test_stalled_boots_name_their_stop_point(cut: int, stop: str) -> None:
    [a] = attempts(FULL[:cut])
    assert not a.complete
    assert a.stop.startswith(stop)
    assert a.status(a.last + 10) == "in progress"
    assert a.status(a.last + 61) == "stalled"
    assert render(a, a.last + 61)[-1].startswith(f"   likely stop point (stalled): {stop}")


def test_ipxe_rom_without_boot_program() -> None:
    [a] = attempts(FULL[6:10])
    assert a.stop == "address acknowledged, script http://192.0.2.1/boot.ipxe not fetched"


def test_failures_name_themselves() -> None:
    [nak] = attempts([*FULL[:3], ev(1.01, "dhcp4.nak", reason="requested address is not on this subnet")])
    assert nak.status(T0) == "failed"
    assert nak.stop == "request refused (NAK): requested address is not on this subnet"
    [tftp] = attempts([*FULL[:5], ev(2.0, "tftp.failed", file="undionly.kpxe", outcome="error: file not found")])
    assert tftp.stop == "TFTP transfer of undionly.kpxe failed: error: file not found"
    [http] = attempts([*FULL[:12], ev(3.5, "http.request", method="GET", path="/vmlinuz", status=404)])
    assert http.stop == "HTTP GET /vmlinuz → 404" and http.steps[-1].problem
    [other] = attempts([*FULL[:2], ev(1.0, "dhcp4.request", state="selecting", server_id="192.0.2.99",
                                        reason="the client chose another server")])
    assert other.stop.startswith("the client took another DHCP server's offer")



def test_an_unconfirmed_tftp_transfer_is_a_fetched_file_not_a_failure() -> None:
    # GRUB starts the kernel before its final TFTP ACK leaves the card (RFC 1350 §6): the boot goes on.
    done = ev(2.0, "tftp.done", file="undionly.kpxe", size=70_000, duration=0.2,
              outcome="unconfirmed: final ACK not received")  # fmt: skip
    [a] = attempts([*FULL[:5], done])
    assert not a.steps[-1].problem and a.stage == "bootprog"
    assert a.steps[-1].text == (
        "TFTP sent undionly.kpxe (70,000 bytes in 0.20 s) (its final ACK never came: the client moved on, RFC 1350 §6)"
    )

def test_attempts_split_on_quiet_gaps_and_new_boots() -> None:
    later = [Event(e.at + 1000, e.kind, e.mac, e.host, e.detail) for e in FULL[:2]]
    renew = ev(10, "dhcp4.request", state="renewing")
    found = attempts([*FULL, renew, ev(11, "dhcp4.discover"), *later])
    assert [len(a.steps) for a in found] == [len(FULL) + 1, 1, 2]
    assert found[0].complete  # the OS renewing its lease does not reopen the finished boot
    other = attempts([*FULL[:2], ev(0.5, "dhcp4.discover", mac="52:54:00:00:00:99")])
    assert [a.mac for a in other] == [MAC, "52:54:00:00:00:99"]


def test_dhcp6_and_unknown_events_read_well() -> None:
    assert step(ev(0, "dhcp6.advertise", msg="solicit", address="2001:db8::5")).text == \
        "DHCPv6 advertise to solicit, address 2001:db8::5"
    assert step(ev(0, "dhcp6.reply", msg="request", bootfile="http://[2001:db8::1]/x.efi")).stage == "ack"
    assert step(ev(0, "lab.marker", line="BOOTED")).text == "lab.marker line=BOOTED"
    assert step(ev(0, "oneshot.done", target="rescue", reason="kernel and initrd fully downloaded")).text == \
        "one-shot boot of rescue: done (kernel and initrd fully downloaded)"


def test_events_command(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    for event in [*FULL[:2], ev(0.5, "dhcp4.discover", mac="52:54:00:00:00:99")]:
        store.add_event(event)
    store.close()
    runner = CliRunner()
    result = runner.invoke(app, ["events", "--state-dir", str(tmp_path), "--mac", "52-54-00-12-34-56"])
    assert result.exit_code == 0, result.output
    assert "52:54:00:12:34:56: boot attempt at" in result.stdout
    assert "likely stop point (stalled): offer sent, no request" in result.stdout
    assert "52:54:00:00:00:99" not in result.stdout
    result = runner.invoke(app, ["events", "--state-dir", str(tmp_path), "--json"])
    data = json.loads(result.stdout)
    assert [(a["mac"], a["stage"]) for a in data] == [(MAC, "offer"), ("52:54:00:00:00:99", "discover")]
    result = runner.invoke(app, ["events", "--state-dir", str(tmp_path), "--follow", "--follow-seconds", "0.2"])
    assert result.exit_code == 0 and "offer sent, no request" in result.stdout
    result = runner.invoke(app, ["events", "--state-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no state store" in result.stderr


def test_events_command_keeps_long_steps_on_one_line(tmp_path: Path) -> None:
    """A step longer than the terminal stays one line (grep and files get it whole)."""
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    long_name = "images/" + "a" * 150 + "/vmlinuz"
    store.add_event(ev(0.0, "dhcp4.discover"))
    store.add_event(ev(0.1, "tftp.start", file=long_name, size=10))
    store.close()
    result = CliRunner().invoke(app, ["events", "--state-dir", str(tmp_path), "--mac", MAC])
    assert result.exit_code == 0, result.output
    assert any(long_name in line for line in result.stdout.splitlines())


# --- router solicitations answered (ra.solicited, keyed by the MAC the RS carried) -----------------

LL = "fe80::5054:ff:fe12:3456"
# A BIOS iPXE boot over IPv6: RS answered, DHCPv6, script, kernel, initrd.
V6 = [
    ev(0.00, "ra.solicited", interface="tap0", source=LL, delay=0.31, flags="MO"),
    ev(1.10, "dhcp6.advertise", msg="solicit", address="2001:db8::105", bootfile="http://[2001:db8::1]/boot.ipxe"),
    ev(2.20, "dhcp6.reply", msg="request", address="2001:db8::105", bootfile="http://[2001:db8::1]/boot.ipxe"),
    ev(2.40, "http.request", method="GET", path="/boot.ipxe", status=200),
    ev(2.50, "http.request", method="GET", path="/boot/52-54-00-12-34-56.ipxe", status=200, script="linux"),
    ev(3.00, "http.download_complete", path="/vmlinuz", bytes=8_000_000, duration=0.3),
    ev(3.50, "http.download_complete", path="/initrd.img", bytes=20_000_000, duration=0.5),
]


def test_an_answered_router_solicitation_is_a_step_of_the_host() -> None:
    [a] = attempts(V6)
    assert a.complete and a.steps[0].stage == "ra"
    lines = render(a, T0 + 1000)
    assert lines[1] == (f"   +   0.000s  router solicitation from {LL} answered after 0.31 s: "
                        "RA with M and O (address and boot options from DHCPv6)")
    assert "DHCPv6 advertise to solicit" in lines[2]


def test_a_boot_stopping_after_the_ra_names_it() -> None:
    [a] = attempts(V6[:1])
    assert a.stage == "ra" and not a.complete
    assert a.status(T0 + 61) == "stalled"
    assert a.stop.startswith("router solicitation answered, no DHCP message since (for IPv6: no DHCPv6 Solicit")
    [bare] = attempts([ev(0, "ra.solicited", source=LL, flags="-")])
    assert "RA without M or O (no DHCPv6)" in bare.steps[0].text
    assert bare.stop.startswith("router solicitation answered by an RA without the M and O flags")
    [on] = attempts(V6[:2])
    assert on.stop.startswith("offer sent, no request")


def test_an_ra_beside_dhcpv4_does_not_move_the_boot_back() -> None:
    # iPXE solicits routers while it runs DHCPv4: the RA may come after the ack.
    [a] = attempts([*FULL[:4], ev(1.5, "ra.solicited", source=LL, flags="MO")])
    assert a.stage == "ack" and a.stop.startswith("address acknowledged, boot program not fetched")
    assert a.steps[-1].text.startswith("router solicitation from")


def test_a_router_solicitation_after_a_complete_boot_starts_the_next_attempt() -> None:
    second = [ev(100, "ra.solicited", source=LL, flags="MO"), ev(100.5, "dhcp4.discover")]
    found = attempts([*FULL, *second])
    assert [len(a.steps) for a in found] == [len(FULL), 2]
    assert found[1].stage == "discover"
    # An answered discover is no event of its own: the offer starts the next boot.
    again = attempts([*FULL, ev(100, "dhcp4.offer", yiaddr="192.0.2.100"), ev(100.1, "dhcp4.ack", yiaddr="x")])
    assert [len(a.steps) for a in again] == [len(FULL), 2] and again[1].stage == "ack"


def test_multicast_ras_read_well() -> None:
    sent = step(Event(T0, "ra.sent", None, None, {"interface": "tap0", "flags": "MO", "router_lifetime": 30}))
    assert sent.text == "router advertisement sent, on tap0, flags MO" and sent.stage is None
    final = step(Event(T0, "ra.final", None, None, {"interface": "tap0", "flags": "MO"}))
    assert final.text.startswith("final router advertisement (lifetime 0) sent")


def test_events_command_shows_the_router_solicitation(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    for event in V6[:2]:
        store.add_event(event)
    store.close()
    result = CliRunner().invoke(app, ["events", "--state-dir", str(tmp_path), "--mac", MAC])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # long steps may wrap at the terminal width
    ra = text.index("router solicitation from fe80::5054:ff:fe12:3456 answered after 0.31 s")
    assert ra < text.index("DHCPv6 advertise to solicit")


# --------------------------------------------------------------------------- typed event kinds

# Kinds that are no boot step: the timeline shows them as ``kind key=value``.
NOT_BOOT_STEPS = {EventKind.CONFIG_RELOADED, EventKind.CONFIG_RELOAD_FAILED, EventKind.HTTP_READY}
DETAIL: dict[str, object] = {"yiaddr": "192.0.2.100", "state": "selecting", "msg": "solicit", "file": "x.efi",
                             "path": "/x.efi", "method": "GET", "status": 200, "target": "rescue", "reason": "r"}


@pytest.mark.parametrize("kind", sorted(set(EventKind) - NOT_BOOT_STEPS))
def test_every_boot_kind_is_classified_through_the_enum(kind: EventKind) -> None:
    plain = step(Event(T0, kind.value, MAC, None, dict(DETAIL)))  # type: ignore[arg-type]  # as read back: a str
    typed = step(Event(T0, kind, MAC, None, dict(DETAIL)))  # type: ignore[arg-type]  # as emitted live: the member
    assert plain == typed
    fallback = f"{kind.value} " + " ".join(f"{k}={v}" for k, v in DETAIL.items())
    assert plain.text != fallback, f"{kind} falls through to the generic step"


@pytest.mark.parametrize("kind", sorted(NOT_BOOT_STEPS))
def test_kinds_that_are_not_boot_steps_still_show(kind: EventKind) -> None:
    assert step(ev(0.0, kind.value, reason="requested")).text == f"{kind.value} reason=requested"


def test_the_engines_other_server_event_names_the_stop_point() -> None:
    from bootwright.engine.dhcp4.server import Dhcp4Engine  # engine → timeline, as `bootwright events` sees it
    from tests.unit.engine.test_dhcp4 import RX, engine, handle, request
    from tests.unit.engine.test_dhcp4 import T0 as E0

    eng: Dhcp4Engine = engine()
    handle(eng, request(1), RX, E0)
    out = handle(eng, request(3, raw={50: bytes([192, 0, 2, 100]), 54: bytes([192, 0, 2, 99])}), RX, E0)
    assert out is not None and out.reply is None
    [(kind, mac, host, detail)] = out.events
    assert kind is EventKind.DHCP4_REQUEST and detail["state"] is RequestState.SELECTING
    assert mac == "52:54:00:00:00:01"
    [attempt] = attempts([*FULL[:2], Event(T0 + 1.0, kind, MAC, host, detail)])
    assert attempt.stage == "other-server" and attempt.status(T0 + 2) == "failed"
    assert attempt.stop.startswith("the client took another DHCP server's offer")


# --------------------------------------------------------------------------- syslog lines (net/syslog.py)


def test_syslog_lines_are_steps_that_never_move_the_boot() -> None:
    lines = [
        ev(3.05, "syslog.message", source="192.0.2.100", severity="info", facility="kern", app="ipxe",
           text="http://192.0.2.1/boot.ipxe... ok"),
        ev(3.60, "syslog.message", source="192.0.2.100", severity="err", facility="kern", app="ipxe",
           text="Could not start download: Operation not supported"),
        ev(5.00, "syslog.message", source="192.0.2.100", severity=None, facility="kern", app="kernel",
           text="e1000: eth0 NIC Link is Up\n\x1b[0m second line"),
        ev(6.00, "syslog.message", source="192.0.2.100", severity="notice", facility="user", app="installer",
           text="partitioning"),
    ]  # fmt: skip
    [with_lines] = attempts(FULL + lines)
    [without] = attempts(FULL)
    assert (with_lines.stage, with_lines.complete, with_lines.stop) == (without.stage, True, without.stop)
    text = render(with_lines, T0 + 1000)
    assert any(line.endswith("iPXE syslog: http://192.0.2.1/boot.ipxe... ok") for line in text)
    assert any(line.startswith(" ! ") and "iPXE syslog (err): Could not start download" in line for line in text)
    assert any(line.endswith("kernel: e1000: eth0 NIC Link is Up / ?[0m second line") for line in text)
    assert any(line.endswith("syslog installer: partitioning") for line in text)
    # Before the script the lines do not move the boot either: it still stops where it stopped.
    [early] = attempts([*FULL[:4], lines[1]])
    assert early.stage == "ack" and early.stop.startswith("address acknowledged, boot program not fetched")
    assert step(ev(0, "syslog.message", text="x")).text == "syslog: x"


def test_a_router_solicitation_after_an_exit_to_the_local_disk_stays_in_that_attempt() -> None:
    # iPXE's background IPv6 autoconfiguration may solicit routers as it exits to the firmware's next device
    # (seen in the lab under load): the attempt stays complete at "exit"; a real next boot's DHCP starts one.
    exit_script = ev(2, "http.request", path="/boot/52-54-00-b0-00-04.ipxe", status=200, script="local",
                     script_kind="exit")
    found = attempts([*FULL[:4], exit_script, ev(4.5, "ra.solicited", source=LL, flags="MO")])
    assert [a.stage for a in found] == ["exit"]
    again = attempts([*FULL[:4], exit_script, ev(4.5, "ra.solicited", source=LL, flags="MO"),
                      ev(60, "dhcp4.offer", yiaddr="192.0.2.100")])
    assert [a.stage for a in again] == ["exit", "offer"]
