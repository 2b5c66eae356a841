"""End-to-end: a one-shot rescue boot, then the fall-back to the local disk (issue 8).

``examples/oneshot-rescue.toml`` gives host ``web1`` the MAC of the lab's BIOS
v4 VM and the target ``local`` (its iPXE script says ``exit``), and defines
``rescue`` (the lab's kernel and initrd, whose init prints the marker). In one
lab session (SeaBIOS + iPXE, the fastest scenario):

1. ``bootwright boot web1 --target rescue --once`` against the server's state
   directory before the VM starts; the running server takes it up
   (``GET /api/boots``: pending);
2. the VM boots rescue: kernel, initrd, the marker; the one-shot becomes
   ``done`` (API and ``bootwright hosts show``);
3. web1's script, fetched over HTTP from inside the namespace, says ``exit``;
4. the VM boots again: DHCP, the entry script, web1's script (``local``), no
   kernel; iPXE exits to SeaBIOS, which has nothing to boot and resets, and
   QEMU (``-no-reboot``) exits.

The VM is dual-stack, so its iPXE also solicits routers: the host's timeline
must show the router solicitation answered (``ra.solicited``, keyed by the MAC
its RS carried).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from labrun import REPO, environment_problem
from rich.console import Console

from bootwright.lab import scenarios
from bootwright.lab.options import LabOptions
from bootwright.lab.servers import ServeUnavailable
from bootwright.lab.session import LabSession
from bootwright.lab.timeline import Stage, Timeline

pytestmark = pytest.mark.e2e

CONFIG = REPO / "examples" / "oneshot-rescue.toml"
HOST = "web1"
VM_NAME = "bios4"
MAC = scenarios.by_name(VM_NAME).mac
HOST_SCRIPT = f"/boot/{MAC.replace(':', '-')}.ipxe"
API = "http://127.0.0.1/api"  # admin_networks: loopback only (the default)
SECOND_BOOT_TIMEOUT = 120.0  # DHCP, two scripts, SeaBIOS giving up: well under a minute under TCG


@dataclass
class Run:
    """What the session saw, for the tests to check."""

    armed: str = ""
    pending: dict[str, Any] | None = None  # the running server's view of the one-shot before the boot
    first: Timeline | None = None
    after_first: dict[str, Any] | None = None  # GET /api/hosts/web1/boot once the first boot ended
    shown: dict[str, Any] = field(default_factory=dict)  # bootwright hosts show web1 --json
    script: str = ""  # web1's script after the one-shot
    second: Timeline | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # web1's events, oldest first
    attempts: list[dict[str, Any]] = field(default_factory=list)  # GET /api/hosts/web1/timeline
    skip: str | None = None


async def _poll(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    """``fetch()`` every 0.5 s until ``done(result)`` or ``timeout`` seconds; the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if done(result) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.5)


def _api(lab: LabSession, path: str) -> Any:
    return json.loads(lab.http_get(f"{API}{path}"))


async def _session(run: Run) -> None:
    options = LabOptions(config=CONFIG, scenarios=[scenarios.by_name(VM_NAME)], live=False, timeout=240.0)
    async with LabSession(options, Console(width=160, force_terminal=False)) as lab:
        lab.keep_work = True  # until everything below went as expected
        run.armed = lab.cli("boot", HOST, "--target", "rescue", "--once", *lab.cli_args)

        def boots() -> dict[str, Any] | None:
            return next((b for b in _api(lab, "/boots")["boots"] if b["host"] == HOST), None)

        run.pending = await _poll(boots, lambda b: b is not None, 10.0)
        vm = lab.vm(scenarios.by_name(VM_NAME))
        await lab.boot([vm])
        run.first = vm.timeline
        if not run.first.ok:
            return
        run.after_first = await _poll(lambda: _api(lab, f"/hosts/{HOST}/boot")["boot"],
                                      lambda b: b is not None and b["state"] != "booting", 15.0)  # fmt: skip
        run.shown = json.loads(lab.cli("hosts", "show", HOST, "--json", *lab.cli_args))
        run.script = lab.http_get(f"{HOST_SCRIPT}?platform=pcbios&buildarch=i386")
        vm.next_boot()
        await lab.boot([vm], timeout=SECOND_BOOT_TIMEOUT)
        run.second = vm.timeline
        run.events = _api(lab, f"/events?mac={MAC}&limit=2000")["events"]
        run.attempts = _api(lab, f"/hosts/{HOST}/timeline")["attempts"]
        lab.keep_work = not (run.second.outcome or "").startswith("QEMU exited")


@pytest.fixture(scope="module")
def oneshot_run() -> Run:
    run = Run(skip=environment_problem())
    if run.skip is None:
        try:
            asyncio.run(_session(run))
        except ServeUnavailable as exc:
            run.skip = str(exc)
    return run


def _ready(run: Run) -> Run:
    if run.skip is not None:
        pytest.skip(run.skip)
    assert run.first is not None
    assert run.first.ok, f"the rescue boot did not reach the marker: {run.first.stopped_at()}"
    return run


def _second_boot_events(run: Run) -> list[dict[str, Any]]:
    assert run.second is not None and run.second.started is not None
    return [e for e in run.events if e["at"] >= run.second.started]


def test_the_armed_one_shot_is_pending_before_the_boot(oneshot_run: Run) -> None:
    run = _ready(oneshot_run)
    assert "next boot is rescue (once; state pending)" in run.armed
    assert run.pending is not None and run.pending["target"] == "rescue", "the server never saw the one-shot"
    assert run.pending["state"] == "pending"


def test_the_rescue_boot_reaches_the_marker(oneshot_run: Run) -> None:
    first = _ready(oneshot_run).first
    assert first is not None
    assert first.detail.get(Stage.KERNEL) == "vmlinuz" and Stage.INITRD in first.seen
    assert first.via.get(Stage.KERNEL) == 4, first.via


def test_the_one_shot_is_done_after_the_downloads(oneshot_run: Run) -> None:
    run = _ready(oneshot_run)
    assert run.after_first is not None and run.after_first["state"] == "done", run.after_first
    assert run.after_first["reason"] == "kernel and initrd fully downloaded"
    assert sorted(run.after_first["fetched"]) == ["initrd.img", "vmlinuz"]
    assert run.shown["boot"]["state"] == "done" and run.shown["target"] == "local", run.shown
    kinds = [e["kind"] for e in run.events]
    assert kinds.index("oneshot.booting") < kinds.index("oneshot.done"), kinds


def test_the_host_script_says_exit_again(oneshot_run: Run) -> None:
    script = _ready(oneshot_run).script
    lines = [line.strip() for line in script.splitlines()]
    assert lines[0] == "#!ipxe" and f"# bootwright: local for {MAC} ({HOST})" in lines, script
    assert lines[lines.index(f"# bootwright: local for {MAC} ({HOST})") + 1] == "exit", script
    assert "kernel" not in script and "vmlinuz" not in script, script


def test_the_second_boot_falls_back_to_the_local_disk(oneshot_run: Run) -> None:
    run = _ready(oneshot_run)
    second = run.second
    assert second is not None
    assert second.outcome == "QEMU exited with code 0", (
        f"SeaBIOS should reset (and QEMU exit) once iPXE exits: {second.stopped_at()}"
    )
    assert Stage.SCRIPT in second.seen and Stage.KERNEL not in second.seen, second.stopped_at()
    events = _second_boot_events(run)
    scripts = [e for e in events if e["kind"] == "http.request" and e["detail"]["path"] == HOST_SCRIPT]
    assert scripts and all(e["detail"]["script"] == "local" for e in scripts), events
    files = [e["detail"].get("path") for e in events if e["kind"] in ("http.download_complete", "tftp.done")]
    assert not [f for f in files if f and ("vmlinuz" in f or "initrd" in f)], files
    assert not [e for e in events if e["kind"].startswith("oneshot.")], "the one-shot ran again"
    # The host's timeline shows the second boot as an attempt of its own, complete at the script
    # that says exit (local disk), not stalled at "no kernel fetched".
    assert all(e["detail"].get("script_kind") == "exit" for e in scripts), scripts
    last = run.attempts[-1]
    assert last["started"] >= second.started and last["stage"] == "exit", last
    assert any(
        s["text"] == f"iPXE script {HOST_SCRIPT} served (local): exit to the firmware's next boot device"
        for s in last["steps"]
    ), last


def test_the_host_timeline_shows_the_router_solicitation(oneshot_run: Run) -> None:
    run = _ready(oneshot_run)
    answered = [e for e in run.events if e["kind"] == "ra.solicited"]
    assert answered, "no ra.solicited event carries the VM's MAC (does iPXE's RS carry its link-layer address?)"
    assert all(e["host"] == HOST and e["detail"]["flags"] == "MO" for e in answered), answered
    steps = [s for a in run.attempts for s in a["steps"]]
    assert any(s["kind"] == "ra.solicited" and s["text"].startswith("router solicitation from fe80::")
               for s in steps), steps  # fmt: skip
    rescue = next(a for a in run.attempts if any(s["kind"] == "oneshot.done" for s in a["steps"]))
    assert rescue["status"] == "complete" and rescue["stage"] == "initrd", rescue
