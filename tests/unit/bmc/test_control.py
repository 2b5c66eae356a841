"""BMC passwords read at use time, and :class:`BmcControl` driving a test driver: events, power cycle, limits.

The test driver is registered in :data:`bootwright.bmc.drivers.DRIVERS` for
the length of a test (the documented way to add a driver), under the name
``ipmi`` so hosts validated by the config take it. No network is used.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bootwright.bmc import control as control_module
from bootwright.bmc.base import (
    BmcAuthFailed,
    BmcError,
    BmcRefused,
    BmcUnreachable,
    NextBoot,
    PowerAction,
    PowerState,
)
from bootwright.bmc.control import BmcControl, NoBmc, PowerCycle, bmc_of, describe
from bootwright.bmc.credentials import password_of
from bootwright.bmc.drivers import DRIVERS
from bootwright.model import Bmc, Event, EventKind, Host
from bootwright.runtime.events import EventSink

T = TypeVar("T")
MAC1, MAC2 = "52:54:00:00:00:01", "52:54:00:00:00:02"
HANG = 2.0  # seconds a hanging call blocks at most (released at the end of each test)


# --------------------------------------------------------------------------- the test driver


@dataclass
class Machine:
    """One machine behind a fake BMC."""

    power: PowerState = PowerState.ON
    soft_polls: int | None = 2  # power reads after a soft off that still find it on; None: the OS ignores it
    shutting_down: bool = False
    polls_after_soft: int = 0
    next_boot: NextBoot | None = None


class FakeLab:
    """Machines keyed by BMC address; every driver session records into the same lab (threads: locked)."""

    def __init__(self, clock_step: float = 0.0, delay: float = 0.0) -> None:
        self.machines: dict[str, Machine] = {}
        self.calls: list[tuple[str, str, Any]] = []  # (BMC address, method, argument)
        self.passwords: list[str] = []  # the password each session was opened with
        self.closed = 0
        self.lock = threading.Lock()
        self.now = 1000.0  # the fake clock (BmcControl(clock=lab.clock))
        self.clock_step = clock_step  # fake seconds each power read advances the clock
        self.delay = delay  # real seconds every call takes
        self.active = 0
        self.peak = 0  # most calls at the same moment
        self.hang: set[str] = set()  # methods that block until released (at most HANG seconds)
        self.released = threading.Event()
        self.fail: dict[str, BmcError] = {}  # method → the error it raises

    def machine(self, address: str) -> Machine:
        return self.machines.setdefault(address, Machine())

    def clock(self) -> float:
        return self.now

    def driver(self, bmc: Bmc, password: str) -> FakeDriver:
        with self.lock:
            self.passwords.append(password)
        return FakeDriver(self, bmc)

    def methods(self, address: str | None = None) -> list[tuple[str, Any]]:
        return [(m, arg) for a, m, arg in self.calls if address is None or a == address]

    def call(self, address: str, method: str, arg: Any, fn: Callable[[Machine], T]) -> T:
        with self.lock:
            self.calls.append((address, method, arg))
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if method in self.hang:
                self.released.wait(HANG)
            if self.delay:
                time.sleep(self.delay)
            if method in self.fail:
                raise self.fail[method]
            with self.lock:
                return fn(self.machine(address))
        finally:
            with self.lock:
                self.active -= 1


class FakeDriver:
    """A :class:`bootwright.bmc.base.Driver` over a :class:`FakeLab`."""

    def __init__(self, lab: FakeLab, bmc: Bmc) -> None:
        self.lab = lab
        self.address = bmc.address

    def power_state(self) -> PowerState:
        def read(m: Machine) -> PowerState:
            self.lab.now += self.lab.clock_step
            if m.shutting_down and m.soft_polls is not None:
                m.polls_after_soft += 1
                if m.polls_after_soft > m.soft_polls:
                    m.power, m.shutting_down = PowerState.OFF, False
            return m.power

        return self.lab.call(self.address, "power_state", None, read)

    def set_power(self, action: PowerAction) -> None:
        def press(m: Machine) -> None:
            if action == PowerAction.SOFT:
                m.shutting_down, m.polls_after_soft = m.power == PowerState.ON, 0
            elif action == PowerAction.OFF:
                m.power, m.shutting_down = PowerState.OFF, False
            else:
                m.power = PowerState.ON

        self.lab.call(self.address, "set_power", str(action), press)

    def set_next_boot(self, boot: NextBoot) -> str:
        def choose(m: Machine) -> str:
            m.next_boot = boot
            return "the BMC kept legacy mode" if boot.uefi is True else ""

        return self.lab.call(self.address, "set_next_boot", boot.describe(), choose)

    def close(self) -> None:
        with self.lab.lock:
            self.lab.closed += 1


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLab]:
    """A fake lab behind the ``ipmi`` driver name, power polls without real waiting."""
    fake = FakeLab()
    monkeypatch.setitem(DRIVERS, "ipmi", fake.driver)
    monkeypatch.setattr(control_module, "POWER_POLL", 0.001)
    yield fake
    fake.released.set()  # no worker thread left hanging after the test


def bmc_host(name: str = "web1", address: str = "10.0.0.5", macs: tuple[str, ...] = (MAC1, MAC2),
             **bmc: Any) -> Host:
    return Host(name, macs=macs, bmc=Bmc(driver="ipmi", address=address, username="admin",
                                         password=bmc.pop("password", "pw"), **bmc))


def recorder() -> tuple[EventSink, list[Event]]:
    sink = EventSink()
    seen: list[Event] = []
    sink.listeners.append(seen.append)
    return sink, seen


def run(control: BmcControl, coro: Callable[[], Any]) -> Any:
    return asyncio.run(coro())


# --------------------------------------------------------------------------- password_of


def test_a_stored_password_comes_first() -> None:
    bmc = Bmc(driver="ipmi", address="h", password="stored")
    assert password_of(bmc, "web1", {}) == "stored"
    assert password_of(Bmc(driver="ipmi", address="h", password=""), "web1", {}) == ""
    assert password_of(Bmc(driver="ipmi", address="h"), "web1", {}) == ""  # no source: an empty password


def test_a_password_file_is_read_at_every_use(tmp_path: Path) -> None:
    path = tmp_path / "web1.pw"
    path.write_text("first\nsecond line is ignored\n")
    bmc = Bmc(driver="ipmi", address="h", password_file=str(path))
    assert password_of(bmc, "web1") == "first"
    path.write_text("rotated")  # no trailing newline either
    assert password_of(bmc, "web1") == "rotated"
    path.write_text("")
    assert password_of(bmc, "web1") == ""
    path.write_text("  spaces kept  \r\n")
    assert password_of(bmc, "web1") == "  spaces kept  "


def test_an_unreadable_password_file_names_the_host_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such.pw"
    with pytest.raises(BmcError) as info:
        password_of(Bmc(driver="ipmi", address="h", password_file=str(missing)), "web1")
    assert str(info.value).startswith(f"host web1: cannot read the BMC password file {missing}: ")
    assert "No such file or directory" in str(info.value)
    with pytest.raises(BmcError, match="cannot read the BMC password file"):
        password_of(Bmc(driver="ipmi", address="h", password_file=str(tmp_path)), "web1")  # a directory
    binary = tmp_path / "binary.pw"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(BmcError) as info:
        password_of(Bmc(driver="ipmi", address="h", password_file=str(binary)), "web1")
    assert str(info.value) == f"host web1: the BMC password file {binary} is not UTF-8 text"


def test_a_password_variable_is_read_from_the_environment() -> None:
    bmc = Bmc(driver="redfish", address="h", password_env="WEB1_BMC_PASSWORD")
    assert password_of(bmc, "web1", {"WEB1_BMC_PASSWORD": "from-env"}) == "from-env"
    assert password_of(bmc, "web1", {"WEB1_BMC_PASSWORD": ""}) == ""  # set but empty is a value
    with pytest.raises(BmcError) as info:
        password_of(bmc, "web1", {"OTHER": "x"})
    assert "host web1" in str(info.value) and "$WEB1_BMC_PASSWORD is not set" in str(info.value)


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOTWRIGHT_TEST_BMC_PW", "xyz")
    assert password_of(Bmc(driver="ipmi", address="h", password_env="BOOTWRIGHT_TEST_BMC_PW"), "web1") == "xyz"


# --------------------------------------------------------------------------- BmcControl


def test_describe_and_no_bmc() -> None:
    assert describe(Bmc(driver="ipmi", address="10.0.0.5")) == "ipmi 10.0.0.5"
    assert describe(Bmc(driver="redfish", address="https://h", port=8443, password="pw")) == "redfish https://h:8443"
    host = Host("web1", macs=(MAC1,))
    with pytest.raises(NoBmc) as info:
        bmc_of(host)
    assert "host web1 has no BMC" in str(info.value)
    assert "bootwright hosts set web1 --bmc driver=ipmi,address=" in str(info.value)


def test_a_host_without_a_bmc_is_refused_before_any_session(lab: FakeLab) -> None:
    sink, seen = recorder()
    control = BmcControl(sink)
    host = Host("web1", macs=(MAC1,))
    for op in (lambda: control.power_state(host), lambda: control.power(host, PowerAction.ON),
               lambda: control.next_boot(host, NextBoot()), lambda: control.reboot_to_network(host, NextBoot())):
        with pytest.raises(NoBmc, match="bootwright hosts set web1 --bmc"):
            run(BmcControl(sink), op)
    assert lab.calls == [] and seen == []  # no BMC step happened, so none is in the timeline


def test_each_step_is_an_event_keyed_by_the_first_mac(lab: FakeLab) -> None:
    sink, seen = recorder()
    control = BmcControl(sink, environ={})
    host = bmc_host()

    async def steps() -> tuple[PowerState, str]:
        state = await control.power_state(host)
        await control.power(host, PowerAction.CYCLE)
        note = await control.next_boot(host, NextBoot(uefi=True))
        return state, note

    state, note = run(control, steps)
    assert state == PowerState.ON and note == "the BMC kept legacy mode"
    assert [(e.kind, e.mac, e.host) for e in seen] == [
        (EventKind.BMC_POWER, MAC1, "web1"), (EventKind.BMC_BOOTDEV, MAC1, "web1")]
    assert seen[0].detail == {"action": "cycle"}
    assert seen[1].detail == {"device": "PXE", "once": True, "note": "the BMC kept legacy mode"}  # what was set
    assert lab.methods() == [("power_state", None), ("set_power", "cycle"), ("set_next_boot", "UEFI PXE")]
    assert lab.passwords == ["pw", "pw", "pw"] and lab.closed == 3  # one session per step, each closed


def test_a_host_without_macs_still_gets_its_events(lab: FakeLab) -> None:
    sink, seen = recorder()
    control = BmcControl(sink)
    run(control, lambda: control.next_boot(bmc_host(macs=()), NextBoot()))
    [event] = seen
    assert (event.kind, event.mac, event.host) == (EventKind.BMC_BOOTDEV, None, "web1")
    assert event.detail == {"device": "PXE", "once": True, "note": None}


def test_the_password_file_is_read_for_every_session(lab: FakeLab, tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("one\n")
    sink, _ = recorder()
    control = BmcControl(sink)
    host = Host("web1", macs=(MAC1,), bmc=Bmc(driver="ipmi", address="10.0.0.5", password_file=str(path)))

    async def twice() -> None:
        await control.power_state(host)
        path.write_text("two\n")
        await control.power_state(host)

    run(control, twice)
    assert lab.passwords == ["one", "two"]


def test_credential_and_driver_errors_are_bmc_error_events_naming_the_host(lab: FakeLab, tmp_path: Path) -> None:
    sink, seen = recorder()
    control = BmcControl(sink, environ={})
    missing = tmp_path / "missing.pw"
    no_file = Host("web1", macs=(MAC1,), bmc=Bmc(driver="ipmi", address="10.0.0.5", password_file=str(missing)))
    with pytest.raises(BmcError) as info:
        run(BmcControl(sink), lambda: control.power(no_file, PowerAction.ON))
    assert str(info.value).startswith(f"host web1: cannot read the BMC password file {missing}")
    no_env = Host("db1", macs=(MAC2,), bmc=Bmc(driver="ipmi", address="10.0.0.6", password_env="DB1_PW"))
    with pytest.raises(BmcError, match=r"host db1: the BMC password variable \$DB1_PW is not set"):
        run(BmcControl(sink), lambda: control.power_state(no_env))
    assert lab.calls == []  # no session was opened without a password
    # A driver error keeps its class and gains the host's name.
    lab.fail["set_power"] = BmcAuthFailed("IPMI BMC 10.0.0.5:623 refused the password")
    with pytest.raises(BmcAuthFailed) as auth:
        run(BmcControl(sink), lambda: control.power(bmc_host(), PowerAction.OFF))
    assert str(auth.value) == "host web1: IPMI BMC 10.0.0.5:623 refused the password"
    assert [(e.kind, e.mac, e.host, e.detail["step"]) for e in seen] == [
        (EventKind.BMC_ERROR, MAC1, "web1", "power on"),
        (EventKind.BMC_ERROR, MAC2, "db1", "get power"),
        (EventKind.BMC_ERROR, MAC1, "web1", "power off"),
    ]
    assert str(seen[0].detail["error"]).startswith("host web1: cannot read the BMC password file")
    assert seen[2].detail["error"] == "IPMI BMC 10.0.0.5:623 refused the password"
    assert EventKind.BMC_POWER not in [e.kind for e in seen]  # nothing accepted, nothing claimed


def test_reboot_of_a_machine_that_is_on_soft_off_then_polls_then_on(lab: FakeLab) -> None:
    sink, seen = recorder()
    control = BmcControl(sink, clock=lab.clock)
    lab.machine("10.0.0.5").soft_polls = 3  # the OS takes three power reads to shut down
    cycle = run(control, lambda: control.reboot_to_network(bmc_host(), NextBoot(), grace=60))
    assert cycle == PowerCycle(PowerState.ON, ("soft off", "on"), "")
    assert lab.methods() == [
        ("set_next_boot", "PXE"), ("power_state", None), ("set_power", "soft"),
        ("power_state", None), ("power_state", None), ("power_state", None),  # still on
        ("power_state", None),  # off
        ("set_power", "on"),
    ]
    assert [(e.kind, e.detail.get("action")) for e in seen] == [
        (EventKind.BMC_BOOTDEV, None), (EventKind.BMC_POWER, "soft"), (EventKind.BMC_POWER, "on")]
    assert lab.machine("10.0.0.5").power == PowerState.ON
    assert lab.machine("10.0.0.5").next_boot == NextBoot()


def test_reboot_of_a_machine_that_is_off_is_just_on(lab: FakeLab) -> None:
    sink, seen = recorder()
    control = BmcControl(sink, clock=lab.clock)
    lab.machine("10.0.0.5").power = PowerState.OFF
    cycle = run(control, lambda: control.reboot_to_network(bmc_host(), NextBoot(uefi=False, http=True), grace=60))
    assert cycle == PowerCycle(PowerState.OFF, ("on",), "")
    assert lab.methods() == [("set_next_boot", "legacy HTTP"), ("power_state", None), ("set_power", "on")]
    assert [e.kind for e in seen] == [EventKind.BMC_BOOTDEV, EventKind.BMC_POWER]
    assert seen[0].detail["device"] == "legacy HTTP" and seen[1].detail == {"action": "on"}


def test_the_grace_is_honoured_on_the_fake_clock_then_hard_off(lab: FakeLab) -> None:
    """A machine whose OS ignores the soft off: power reads until the grace is over, then hard off, then on."""
    sink, seen = recorder()
    lab.clock_step = 5.0  # every power read takes five (fake) seconds
    lab.machine("10.0.0.5").soft_polls = None
    control = BmcControl(sink, clock=lab.clock)
    times: list[tuple[str, float]] = []
    sink.listeners.append(lambda e: times.append((str(e.detail.get("action")), lab.now)))
    cycle = run(control, lambda: control.reboot_to_network(bmc_host(), NextBoot(uefi=True), grace=60))
    assert cycle == PowerCycle(PowerState.ON, ("soft off", "hard off (still on after 60 s)", "on"),
                               "the BMC kept legacy mode")
    methods = lab.methods()
    assert methods[:3] == [("set_next_boot", "UEFI PXE"), ("power_state", None), ("set_power", "soft")]
    assert methods[-2:] == [("set_power", "off"), ("set_power", "on")]
    polls = methods[3:-2]
    assert set(polls) == {("power_state", None)} and len(polls) == 12  # 12 × 5 s = the 60 s of grace
    soft_at = dict(times)["soft"]
    assert dict(times)["off"] - soft_at == 60.0  # the hard off at the first read at or past the deadline
    assert [e.detail.get("action") for e in seen if e.kind == EventKind.BMC_POWER] == ["soft", "off", "on"]


def test_the_grace_with_the_real_clock(lab: FakeLab) -> None:
    lab.machine("10.0.0.5").soft_polls = None
    sink, _ = recorder()
    control = BmcControl(sink)
    started = time.monotonic()
    cycle = run(control, lambda: control.reboot_to_network(bmc_host(), NextBoot(), grace=0.2))
    elapsed = time.monotonic() - started
    assert cycle.steps == ("soft off", "hard off (still on after 0.2 s)", "on")
    assert 0.2 <= elapsed < 1.5
    # No grace at all: hard off after the first read that finds it on.
    lab.calls.clear()
    control = BmcControl(sink)
    cycle = run(control, lambda: control.reboot_to_network(bmc_host(), NextBoot(), grace=0))
    assert cycle.steps[1].startswith("hard off")
    assert lab.methods()[2:] == [("set_power", "soft"), ("power_state", None), ("set_power", "off"),
                                 ("set_power", "on")]


def test_a_failing_step_stops_the_sequence(lab: FakeLab) -> None:
    sink, seen = recorder()
    lab.fail["set_power"] = BmcRefused("IPMI BMC 10.0.0.5:623 refused power soft: busy")
    control = BmcControl(sink, clock=lab.clock)
    with pytest.raises(BmcRefused, match=r"^host web1: IPMI BMC 10\.0\.0\.5:623 refused power soft"):
        run(control, lambda: control.reboot_to_network(bmc_host(), NextBoot(), grace=60))
    assert [m for m, _ in lab.methods()] == ["set_next_boot", "power_state", "set_power"]
    assert [(e.kind, e.detail.get("step")) for e in seen] == [
        (EventKind.BMC_BOOTDEV, None), (EventKind.BMC_ERROR, "power soft")]


def test_a_hanging_bmc_is_unreachable_after_the_timeout(lab: FakeLab) -> None:
    sink, seen = recorder()
    lab.hang.add("power_state")  # blocks up to HANG (2 s): far longer than the timeout
    control = BmcControl(sink, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(BmcUnreachable) as info:
        run(control, lambda: control.power_state(bmc_host()))
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.0
    message = str(info.value)
    assert message.startswith("host web1: BMC ipmi 10.0.0.5 did not finish get power in ")
    [event] = seen
    assert (event.kind, event.mac, event.host) == (EventKind.BMC_ERROR, MAC1, "web1")
    assert event.detail == {"step": "get power", "error": message}


def test_the_timeout_names_the_step_of_the_sequence(lab: FakeLab) -> None:
    lab.hang.add("set_next_boot")
    sink, seen = recorder()
    control = BmcControl(sink, timeout=0.3)
    with pytest.raises(BmcUnreachable, match="did not finish boot device UEFI HTTP in"):
        run(control, lambda: control.reboot_to_network(bmc_host(address="bmc7"), NextBoot(True, True)))
    assert [e.kind for e in seen] == [EventKind.BMC_ERROR]
    assert "BMC ipmi bmc7" in str(seen[0].detail["error"])


def test_concurrency_limit_is_respected(lab: FakeLab) -> None:
    lab.delay = 0.05
    sink, seen = recorder()
    control = BmcControl(sink, concurrency=3)
    hosts = [bmc_host(f"h{i}", address=f"10.0.1.{i}", macs=(f"52:54:00:00:01:{i:02x}",)) for i in range(10)]

    async def every() -> list[PowerState]:
        return list(await asyncio.gather(*(control.power_state(h) for h in hosts)))

    started = time.monotonic()
    states = run(control, every)
    assert states == [PowerState.ON] * 10
    assert lab.peak == 3  # never more than three sessions at once — and the limit is used
    assert len(lab.calls) == 10 and lab.closed == 10
    assert time.monotonic() - started < 1.5
    assert seen == []  # reads are not events


def test_reboots_of_many_hosts_share_the_limit(lab: FakeLab) -> None:
    lab.delay = 0.01
    sink, seen = recorder()
    control = BmcControl(sink, concurrency=3, clock=lab.clock)
    hosts = [bmc_host(f"h{i}", address=f"10.0.2.{i}", macs=(f"52:54:00:00:02:{i:02x}",)) for i in range(10)]

    async def every() -> list[PowerCycle]:
        return list(await asyncio.gather(*(control.reboot_to_network(h, NextBoot(), 60) for h in hosts)))

    cycles = run(control, every)
    assert all(c.steps == ("soft off", "on") for c in cycles)
    assert lab.peak <= 3
    powered_on = {e.host for e in seen if e.kind == EventKind.BMC_POWER and e.detail["action"] == "on"}
    assert powered_on == {h.name for h in hosts}
