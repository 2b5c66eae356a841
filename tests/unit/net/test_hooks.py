"""Lease and boot-stage hooks (net/hooks.py): matching, real commands and webhooks, limits, never blocking emit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import generate_latest

from bootwright.app import SERVICE_FACTORIES
from bootwright.config import ConfigError, event_patterns, parse_config, read_config
from bootwright.model import Event, EventKind
from bootwright.net.hooks import HookService, command_environment, create_service, event_document
from bootwright.runtime import Runtime
from bootwright.runtime.reload import restart_needed
from bootwright.web.metrics import metrics_registry
from tests import helpers

MAC = "52:54:00:00:00:01"
HOSTS = """
[targets.local]
exit = true

[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
groups = ["web"]

[[host]]
name = "db1"
mac = "52:54:00:00:00:02"
groups = ["db"]
"""


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def hook_config(tmp_path: Path, hooks: str) -> Runtime:
    return helpers.make_runtime(tmp_path, hooks + HOSTS)


def serve(rt: Runtime, body: Callable[[HookService], Awaitable[None]], service: HookService | None = None) -> None:
    async def main() -> None:
        svc = service or HookService(rt)
        task = asyncio.create_task(svc.run())
        try:
            await asyncio.wait_for(svc.started.wait(), 5)
            await body(svc)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(main())


async def settled(service: HookService, limit: float = 20.0) -> None:
    """Until every queued run has ended (the limit only keeps a broken test from hanging)."""
    async with asyncio.timeout(limit):
        while service.pending:
            await asyncio.sleep(0.01)


# ---------------------------------------------------------------------------- configuration


def test_event_patterns_split_exact_kinds_and_prefixes() -> None:
    exact, prefixes = event_patterns(["dhcp4.ack", "oneshot.*", "*", "dhcp6.reply"])
    assert exact == {"dhcp4.ack", "dhcp6.reply"} and prefixes == ("oneshot.", "")


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        ('events = ["dhcp4.acks"]\ncommand = ["/bin/true"]', "hook[0].events[0]: unknown event kind 'dhcp4.acks' "
                                                             "(did you mean 'dhcp4.ack'?"),
        ('events = ["lease.added"]\ncommand = ["/bin/true"]', "unknown event kind 'lease.added' (kinds are "
                                                              "<service>.<step>: bmc.*, config.*, dhcp4.*"),
        ('events = ["nfs.*"]\ncommand = ["/bin/true"]', "hook[0].events[0]: 'nfs.*' matches no event kind"),
        ('events = ["dhcp*.ack"]\ncommand = ["/bin/true"]', "'*' may only end an entry"),
        ('events = []\ncommand = ["/bin/true"]', "hook[0].events: lists no event kind"),
        ('events = ["dhcp4.ack"]', "hook[0]: a hook needs exactly one of 'command'"),
        ('events = ["dhcp4.ack"]\ncommand = ["/bin/true"]\nurl = "http://h/"', "needs exactly one of 'command'"),
        ('events = ["dhcp4.ack"]\ncommand = []', "hook[0].command: names no program"),
        ('events = ["dhcp4.ack"]\nurl = "ftp://h/x"', "hook[0].url: not an http:// or https:// URL"),
        ('events = ["dhcp4.ack"]\ncommand = ["/bin/true"]\nheaders = { A = "b" }', "hook[0].headers: request"),
        ('events = ["dhcp4.ack"]\ncommand = ["/bin/true"]\ntimeout = 0', "hook[0].timeout"),
        ('events = ["dhcp4.ack"]\ncommand = ["/bin/true"]\nmax_pending = 0', "hook[0].max_pending"),
    ],
)
def test_bad_hooks_are_refused_naming_the_key(hook: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(f"[[hook]]\n{hook}\n", "site.toml")
    assert expected in info.value.render()


def test_good_hooks_parse_and_a_relative_program_means_next_to_the_config(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[[hook]]\nevents = ["dhcp4.*", "oneshot.done"]\ncommand = ["hooks/on-lease", "-v"]\n'
                    '[[hook]]\nevents = "*"\ncommand = ["logger", "-t", "boot"]\n'
                    '[[hook]]\nevents = ["dhcp6.reply"]\nurl = "https://example.net/hook"\ntimeout = 2.5\n'
                    'headers = { Authorization = "Bearer x" }\ngroups = ["web"]\n')
    config = read_config(path).config
    assert config.hook[0].command == [str(tmp_path / "hooks/on-lease"), "-v"]
    assert config.hook[1].command == ["logger", "-t", "boot"] and config.hook[1].events == ["*"]
    assert config.hook[2].timeout == 2.5 and config.hook[2].max_pending == 1000 and config.hook[2].groups == ["web"]


def test_the_first_hook_added_needs_a_restart_later_changes_do_not() -> None:
    none = parse_config("")
    one = parse_config('[[hook]]\nevents = ["dhcp4.ack"]\ncommand = ["/bin/true"]\n')
    two = parse_config('[[hook]]\nevents = ["dhcp4.*"]\ncommand = ["/bin/false"]\n')
    assert any(k.startswith("hook") for k in restart_needed(none, one))
    assert not any(k.startswith("hook") for k in restart_needed(one, two))


def test_the_service_runs_only_with_hooks(tmp_path: Path) -> None:
    assert create_service(helpers.make_runtime(tmp_path, HOSTS)) is None
    rt = hook_config(tmp_path, '[[hook]]\nevents = ["dhcp4.ack"]\ncommand = ["/bin/true"]\n')
    assert isinstance(create_service(rt), HookService)
    assert create_service in SERVICE_FACTORIES


# ---------------------------------------------------------------------------- matching (no runs)


def queued(service: HookService) -> list[tuple[int, str, str | None]]:
    """(hook index, kind, mac) of every job waiting in the lanes."""
    out = []
    for lane in service._lanes:
        for hook, event in lane.jobs:
            out.append((int(hook.label[5:hook.label.index("]")]), str(event.kind), event.mac))
    return sorted(out)


def test_kinds_prefixes_hosts_and_groups_select_the_events(tmp_path: Path) -> None:
    rt = hook_config(tmp_path, """
[[hook]]
events = ["dhcp4.ack", "oneshot.*"]
command = ["/bin/true"]

[[hook]]
events = ["*"]
command = ["/bin/true"]
hosts = ["db1"]

[[hook]]
events = ["dhcp4.*", "tftp.done"]
url = "http://127.0.0.1:9/"
groups = ["web"]
""")
    service = HookService(rt)
    rt.events.listeners.append(service.observe)
    emit = rt.events.emit
    emit(EventKind.DHCP4_ACK, MAC, "web1", yiaddr="192.0.2.10")  # hooks 0 and 2 (group web)
    emit(EventKind.DHCP4_OFFER, "52:54:00:00:00:02", "db1")  # hook 1 (host db1); not 2 (group db)
    emit(EventKind.ONESHOT_DONE, MAC, "web1")  # hook 0 (prefix)
    emit(EventKind.TFTP_START, MAC, "web1")  # none
    emit(EventKind.DHCP4_ACK, "52:54:00:00:00:09")  # hook 0 only: an unknown client has no host or group
    emit("dhcp4.acknowledged", MAC, "web1")  # a string that only starts like a kind: hook 2's prefix
    assert queued(service) == sorted([
        (0, "dhcp4.ack", MAC), (2, "dhcp4.ack", MAC),
        (1, "dhcp4.offer", "52:54:00:00:00:02"),
        (0, "oneshot.done", MAC),
        (0, "dhcp4.ack", "52:54:00:00:00:09"),
        (2, "dhcp4.acknowledged", MAC),
    ])
    assert service.pending == 6 and service.counts == {"ok": 0, "failed": 0, "timeout": 0, "dropped": 0}


def test_a_bug_in_the_listener_never_reaches_emit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = hook_config(tmp_path, '[[hook]]\nevents = ["dhcp4.ack"]\ncommand = ["/bin/true"]\n')
    service = HookService(rt)
    rt.events.listeners.append(service.observe)

    def broken(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(service, "_enqueue", broken)
    assert rt.events.emit(EventKind.DHCP4_ACK, MAC, "web1").kind == EventKind.DHCP4_ACK
    rt.events.emit(EventKind.DHCP4_ACK, MAC, "web1")
    assert service.errors == 2


def test_a_reloaded_config_changes_what_matches_at_the_next_event(tmp_path: Path) -> None:
    rt = hook_config(tmp_path, '[[hook]]\nevents = ["dhcp4.ack"]\ncommand = ["/bin/true"]\n')
    service = HookService(rt)
    service.observe(Event(1.0, EventKind.DHCP4_ACK, MAC, "web1"))
    service.observe(Event(1.0, EventKind.TFTP_DONE, MAC, "web1"))
    assert [k for _, k, _ in queued(service)] == ["dhcp4.ack"]
    rt.config = parse_config('[[hook]]\nevents = ["tftp.*"]\ncommand = ["/bin/true"]\n' + HOSTS)  # as HotReload does
    service.observe(Event(2.0, EventKind.DHCP4_ACK, MAC, "web1"))
    service.observe(Event(2.0, EventKind.TFTP_DONE, MAC, "web1"))
    assert [k for _, k, _ in queued(service)] == ["dhcp4.ack", "tftp.done"]


def test_one_machines_events_share_a_lane_in_order(tmp_path: Path) -> None:
    rt = hook_config(tmp_path, '[[hook]]\nevents = ["*"]\ncommand = ["/bin/true"]\n')
    service = HookService(rt)
    macs = [f"52:54:00:00:01:{i:02x}" for i in range(40)]
    for step in range(3):
        for mac in macs:
            service.observe(Event(float(step), EventKind.DHCP4_ACK, mac, None, {"step": step}))
    lanes_of = {mac: {i for i, lane in enumerate(service._lanes) for _, e in lane.jobs if e.mac == mac} for mac in macs}
    assert all(len(lanes) == 1 for lanes in lanes_of.values())
    assert len({next(iter(v)) for v in lanes_of.values()}) > 1  # different machines spread over the lanes
    for lane in service._lanes:
        for mac in macs:
            steps = [e.detail["step"] for _, e in lane.jobs if e.mac == mac]
            assert steps in ([], [0, 1, 2])


def test_the_document_and_the_environment() -> None:
    event = Event(1764750000.25, EventKind.DHCP4_ACK, MAC, "web1",
                  {"yiaddr": "192.0.2.10", "state": "selecting", "file": "a\0b", "rule": None})
    assert event_document(event) == {"event": "dhcp4.ack", "at": 1764750000.25, "mac": MAC, "host": "web1",
                                     "ip": "192.0.2.10", "detail": event.detail}
    env = command_environment(event, {"PATH": "/bin", "NOTIFY_SOCKET": "/run/x", "BOOTWRIGHT_IP": "stale",
                                      "BOOTWRIGHT_DETAIL_OLD": "stale"})
    assert env == {
        "PATH": "/bin", "BOOTWRIGHT_EVENT": "dhcp4.ack", "BOOTWRIGHT_TIME": "1764750000.250000",
        "BOOTWRIGHT_MAC": MAC, "BOOTWRIGHT_HOST": "web1", "BOOTWRIGHT_IP": "192.0.2.10",
        "BOOTWRIGHT_DETAIL_YIADDR": "192.0.2.10", "BOOTWRIGHT_DETAIL_STATE": "selecting",
        "BOOTWRIGHT_DETAIL_FILE": "a\\0b",
    }
    bare = command_environment(Event(1.0, EventKind.CONFIG_RELOADED, None, None, {}), {"BOOTWRIGHT_MAC": "x"})
    assert "BOOTWRIGHT_MAC" not in bare and "BOOTWRIGHT_IP" not in bare


# ---------------------------------------------------------------------------- real runs


def test_a_command_gets_the_event_on_stdin_and_in_its_environment(tmp_path: Path) -> None:
    out = tmp_path / "seen"
    prog = script(tmp_path, "on-lease", f'{{ env | grep "^BOOTWRIGHT_" | sort; echo "args=$*"; cat; printf "\\n===\\n"; }} >> {out}\n')
    rt = hook_config(tmp_path, f'[[hook]]\nevents = ["dhcp4.ack", "oneshot.*"]\ncommand = ["{prog}", "add"]\n')

    async def body(service: HookService) -> None:
        rt.events.emit(EventKind.DHCP4_ACK, MAC, "web1", yiaddr="192.0.2.10", state="selecting")
        rt.events.emit(EventKind.TFTP_START, MAC, "web1", file="x")  # not taken
        rt.events.emit(EventKind.ONESHOT_DONE, MAC, "web1", target="rescue")
        await settled(service)
        assert service.counts == {"ok": 2, "failed": 0, "timeout": 0, "dropped": 0}

    serve(rt, body)
    runs = out.read_text().split("\n===\n")[:-1]
    assert len(runs) == 2
    first = runs[0].splitlines()
    assert "BOOTWRIGHT_EVENT=dhcp4.ack" in first and f"BOOTWRIGHT_MAC={MAC}" in first
    assert "BOOTWRIGHT_HOST=web1" in first and "BOOTWRIGHT_IP=192.0.2.10" in first
    assert "BOOTWRIGHT_DETAIL_STATE=selecting" in first and "args=add" in first
    document = json.loads(first[-1])
    assert document["event"] == "dhcp4.ack" and document["detail"] == {"yiaddr": "192.0.2.10", "state": "selecting"}
    assert "BOOTWRIGHT_EVENT=oneshot.done" in runs[1] and "BOOTWRIGHT_IP" not in runs[1]  # in order, one machine


def test_failures_are_counted_and_logged_once_per_interval(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fail = script(tmp_path, "fail", 'echo "no database" >&2\nexit 3\n')
    rt = hook_config(tmp_path, f'[[hook]]\nevents = ["dhcp4.ack"]\ncommand = ["{fail}"]\n'
                               f'[[hook]]\nevents = ["dhcp4.ack"]\ncommand = ["{tmp_path}/missing"]\n')

    async def body(service: HookService) -> None:
        for _ in range(3):
            rt.events.emit(EventKind.DHCP4_ACK, MAC, "web1")
        await settled(service)
        assert service.counts == {"ok": 0, "failed": 6, "timeout": 0, "dropped": 0}

    serve(rt, body)
    warnings = [r.getMessage() for r in caplog.records if r.name == "bootwright.hooks" and r.levelname == "WARNING"]
    assert len(warnings) == 2
    assert any(f"hook[0] ({fail}): failed dhcp4.ack mac={MAC}: exit status 3; output: no database" in w
               for w in warnings)
    assert any(f"hook[1] ({tmp_path}/missing): failed dhcp4.ack" in w and "cannot run" in w for w in warnings)


def _gone(pid: int) -> bool:
    """The process no longer runs (a zombie left to a PID 1 that does not reap counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def _all_gone(pids: list[int], limit: float = 10.0) -> bool:
    """Whether every process ends within ``limit`` seconds (SIGKILL is delivered asynchronously)."""
    deadline = time.monotonic() + limit
    while not all(_gone(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_command_past_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    slow = script(tmp_path, "slow", f"sleep 300 &\necho $! > {pids}\necho started\nwait\n")
    rt = hook_config(tmp_path, f'[[hook]]\nevents = ["dhcp4.ack"]\ncommand = ["{slow}"]\ntimeout = 0.5\n')

    async def body(service: HookService) -> None:
        rt.events.emit(EventKind.DHCP4_ACK, MAC, "web1")
        await settled(service)
        assert service.counts == {"ok": 0, "failed": 0, "timeout": 1, "dropped": 0}

    serve(rt, body)
    assert _all_gone([int(pids.read_text())])


def test_a_background_child_holding_the_output_does_not_hold_the_run(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    quick = script(tmp_path, "quick", f"sleep 5 &\necho $! > {pids}\necho done\n")  # its child keeps stdout open
    rt = hook_config(tmp_path, f'[[hook]]\nevents = ["dhcp4.ack"]\ncommand = ["{quick}"]\ntimeout = 60\n')

    async def body(service: HookService) -> None:
        rt.events.emit(EventKind.DHCP4_ACK, MAC, "web1")
        await settled(service)
        assert service.counts == {"ok": 1, "failed": 0, "timeout": 0, "dropped": 0}

    serve(rt, body)
    with contextlib.suppress(ProcessLookupError):  # not the hook's to kill: it succeeded; tidy up here
        os.kill(int(pids.read_text()), 9)


async def _receiver(seen: list[tuple[dict[str, str], Any]], status: int = 200) -> web.AppRunner:
    async def hook(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.json()))
        return web.Response(status=status, text="refused" if status >= 400 else "ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def test_a_webhook_gets_the_event_posted_as_json(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[dict[str, str], Any]] = []
    refused: list[tuple[dict[str, str], Any]] = []

    async def main() -> None:
        good, bad = await _receiver(seen), await _receiver(refused, status=500)
        ports = [r.addresses[0][1] for r in (good, bad)]
        rt = hook_config(tmp_path, f"""
[[hook]]
events = ["dhcp6.reply"]
url = "http://127.0.0.1:{ports[0]}/hook"
headers = {{ Authorization = "Bearer s3cret" }}

[[hook]]
events = ["dhcp6.reply"]
url = "http://user:pw@127.0.0.1:{ports[1]}/hook?token=t"
""")
        service = HookService(rt)
        task = asyncio.create_task(service.run())
        try:
            await asyncio.wait_for(service.started.wait(), 5)
            rt.events.emit(EventKind.DHCP6_REPLY, MAC, "web1", address="2001:db8::10", msg="request")
            await settled(service)
            assert service.counts == {"ok": 1, "failed": 1, "timeout": 0, "dropped": 0}
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await good.cleanup()
            await bad.cleanup()

    asyncio.run(main())
    headers, document = seen[0]
    assert headers["Authorization"] == "Bearer s3cret" and headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("bootwright/")
    assert document == {"event": "dhcp6.reply", "at": document["at"], "mac": MAC, "host": "web1",
                        "ip": "2001:db8::10", "detail": {"address": "2001:db8::10", "msg": "request"}}
    warning = next(r.getMessage() for r in caplog.records if r.name == "bootwright.hooks" and r.levelname == "WARNING")
    assert "HTTP 500 Internal Server Error: refused" in warning
    assert "pw" not in warning and "token" not in warning  # credentials in the URL are never logged


def test_a_full_queue_drops_and_counts_without_blocking_emit(tmp_path: Path) -> None:
    """1,000 events while the hook sleeps: each emit returns at once, the overflow is dropped and counted."""
    started = tmp_path / "started"
    slow = script(tmp_path, "slow", f"echo x >> {started}\nsleep 300\n")
    rt = hook_config(tmp_path, f'[[hook]]\nevents = ["dhcp4.*"]\ncommand = ["{slow}"]\ntimeout = 60\n'
                               "max_pending = 10\n")
    seen = helpers.recorded(rt)

    async def body(service: HookService) -> None:
        returned = [rt.events.emit(EventKind.DHCP4_ACK, f"52:54:00:00:{i // 256:02x}:{i % 256:02x}", seq=i)
                    for i in range(1000)]  # no await in between: no hook could have run yet
        assert [e.detail["seq"] for e in returned] == list(range(1000))
        assert [e.detail["seq"] for e in seen] == list(range(1000))  # every listener saw every event, in order
        assert not started.exists()
        assert service.counts == {"ok": 0, "failed": 0, "timeout": 0, "dropped": 990} and service.pending == 10
        text = generate_latest(metrics_registry(rt)).decode()  # run() registered the service's numbers
        assert 'bootwright_hook_runs_total{outcome="dropped"} 990.0' in text
        assert "bootwright_hook_runs_pending 10.0" in text
        busy = sum(1 for lane in service._lanes if lane.jobs)  # lanes with work: one run at a time each
        assert 1 <= busy <= 4
        async with asyncio.timeout(20):  # the lanes start their runs; emit never waited for them
            while not started.exists() or len(started.read_text().split()) < busy:
                await asyncio.sleep(0.01)
        assert service.running == busy and len(started.read_text().split()) == busy
        running.extend(_processes(slow))
        assert len(running) == busy

    running: list[int] = []
    serve(rt, body)
    assert running and _all_gone(running)  # stopping killed the sleeping runs


def _processes(program: Path) -> list[int]:
    """Processes running ``program`` (as its shell's script argument) that lead their process group: the runs.

    Not their forks (the shell forking for ``sleep`` shows the same command line until it execs)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                pid = int(entry.name)
                if len(cmdline) > 1 and cmdline[1] == os.fsencode(program) and os.getpgid(pid) == pid \
                        and not _gone(pid):
                    out.append(pid)
    return out


def test_docs_list_every_event_kind() -> None:
    """docs/hooks.md's table of kinds is model.EventKind's list, no more and no less."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "hooks.md").read_text()
    table = text.split("## Which events", 1)[1]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    documented = {kind for row in rows for kind in re.findall(r"`([a-z0-9]+\.[a-z_]+)`", row)}
    assert documented == {str(k) for k in EventKind}
