"""One-shot boots: the pure state machine, and the whole path through events, store and policy."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bootwright.boot.ipxe import render_script
from bootwright.boot.oneshot import OneShot, advance, expire, file_key, files_resolver, same_file
from bootwright.boot.policy import BootPolicy, ServerContext
from bootwright.config import load_config, parse_config
from bootwright.model import ClientInfo, Event, Host
from bootwright.runtime import Runtime
from bootwright.runtime.events import EventSink
from bootwright.runtime.reload import HotReload
from bootwright.store.sqlite import SqliteStore

MAC = "52:54:00:00:00:01"
SITE = """
[server]
address4 = "192.0.2.1"

[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[boot]
default = "local"

[targets.local]
exit = true

[targets.rescue]
kernel = "{{ http }}/rescue/{{ vars.flavour }}/vmlinuz"
initrd = ["rescue/initrd.img"]
cmdline = "console=ttyS0"

[targets.shell]
efi = "efishell/efishell.efi"

[targets.split]
kernel = "bios/vmlinuz"
initrd = "bios/initrd"
variants.efi = { kernel = "efi/vmlinuz", initrd = ["efi/initrd"] }

[menus.tools]
items = [{ target = "rescue" }, { target = "shell" }]

[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
ipv4 = "192.0.2.11"
vars = { flavour = "64" }
"""
HOST = Host("web1", macs=(MAC,), ipv4="192.0.2.11", variables=(("flavour", "64"),))


def ev(kind: str, at: float = 10.0, **detail: object) -> Event:
    return Event(at, kind, MAC, None, dict(detail))  # type: ignore[arg-type]


def resolver(target: str):  # type: ignore[no-untyped-def]
    return files_resolver(parse_config(SITE), target, HOST)


def test_paths_compare_without_scheme_host_or_query() -> None:
    assert file_key("http://192.0.2.1:8080/rescue/vmlinuz?x=1") == "rescue/vmlinuz"
    assert file_key("/rescue/initrd.img") == "rescue/initrd.img"
    assert same_file("rescue/vmlinuz", "boot/rescue/vmlinuz")  # relative to the script's directory
    assert not same_file("rescue/vmlinuz", "other/vmlinuz") and not same_file("vmlinuz", "")


def test_files_are_rendered_per_host_and_per_platform() -> None:
    assert resolver("rescue")(None) == (("rescue/64/vmlinuz", "rescue/initrd.img"),)
    assert resolver("split")(None) == (("efi/vmlinuz", "efi/initrd"), ("bios/vmlinuz", "bios/initrd"))
    assert resolver("split")("pcbios") == (("bios/vmlinuz", "bios/initrd"),)
    assert resolver("local")(None) == ((),)
    assert resolver("tools")(None) == ()


def test_pending_booting_done() -> None:
    shot = OneShot("web1", "rescue", requested=1.0, updated=1.0)
    files = resolver("rescue")
    assert advance(shot, ev("http.download_complete", path="/rescue/64/vmlinuz"), files, 5) == shot  # not booting yet
    shot = advance(shot, ev("http.request", method="GET", path="/boot/52-54-00-00-00-01.ipxe", status=200), files, 5)
    assert (shot.state, shot.files) == ("booting", (("rescue/64/vmlinuz", "rescue/initrd.img"),))
    shot = advance(shot, ev("http.download_complete", path="/rescue/64/vmlinuz", bytes=10), files, 6)
    assert shot.state == "booting" and shot.fetched == ("rescue/64/vmlinuz",)
    shot = advance(shot, ev("http.download_complete", path="/unrelated.iso"), files, 6)
    assert shot.fetched == ("rescue/64/vmlinuz",)
    shot = advance(shot, ev("tftp.done", file="rescue/initrd.img", outcome="complete"), files, 7)
    assert (shot.state, shot.updated, shot.reason) == ("done", 7, "kernel and initrd fully downloaded")
    assert advance(shot, ev("http.request", path="/boot/x.ipxe", status=200), files, 8) == shot  # final


def test_a_script_for_another_target_does_not_start_the_boot() -> None:
    shot = OneShot("web1", "rescue")
    assert advance(shot, ev("http.script", script="tools"), resolver("rescue"), 5) == shot
    assert advance(shot, ev("http.request", path="/boot.ipxe", status=200), resolver("rescue"), 5) == shot
    assert advance(shot, ev("http.request", path="/boot/x.ipxe", status=404), resolver("rescue"), 5) == shot
    assert advance(shot, ev("http.script", script="rescue"), resolver("rescue"), 5).state == "booting"



def test_an_unconfirmed_tftp_transfer_completes_the_download() -> None:
    # GRUB starts the kernel before its final TFTP ACK leaves (RFC 1350 §6): delivered, not failed.
    booting = OneShot("web1", "rescue", "booting", 1, 1, (("rescue/64/vmlinuz", "rescue/initrd.img"),), ("rescue/64/vmlinuz",))
    done = advance(booting, ev("tftp.done", file="rescue/initrd.img", outcome="unconfirmed: final ACK not received"),
                   resolver("rescue"), 9)  # fmt: skip
    assert (done.state, done.reason) == ("done", "kernel and initrd fully downloaded")
    odd = advance(booting, ev("tftp.done", file="rescue/initrd.img", outcome="aborted: who knows"), resolver("rescue"), 9)
    assert odd.state == "failed"

def test_failed_download_and_timeout() -> None:
    booting = OneShot("web1", "rescue", "booting", 1, 1, (("rescue/64/vmlinuz", "rescue/initrd.img"),))
    failed = advance(booting, ev("tftp.failed", file="rescue/initrd.img", outcome="error: file not found"),
                     resolver("rescue"), 9)
    assert failed.state == "failed" and "rescue/initrd.img failed: error: file not found" in (failed.reason or "")
    assert expire(booting, 1000, timeout=1800) == booting
    late = expire(booting, 2000, timeout=1800)
    assert late.state == "failed" and "rescue/64/vmlinuz, rescue/initrd.img within 1800 s" in (late.reason or "")


@pytest.mark.parametrize(("target", "events", "state"), [
    ("local", [ev("http.script", script="local")], "done"),
    ("tools", [ev("http.script", script="tools")], "done"),
    ("shell", [ev("http.script"), ev("http.download_complete", path="/efishell/efishell.efi")], "done"),
    ("split", [ev("http.script", platform="pcbios"), ev("http.download_complete", path="/efi/vmlinuz"),
               ev("http.download_complete", path="/efi/initrd")], "booting"),
    ("split", [ev("http.script"), ev("http.download_complete", path="/efi/vmlinuz"),
               ev("http.download_complete", path="/efi/initrd")], "done"),
])
def test_target_kinds(target: str, events: list[Event], state: str) -> None:
    shot = OneShot("web1", target)
    for e in events:
        shot = advance(shot, e, resolver(target), 5)
    assert shot.state == state


def test_store_rows_round_trip() -> None:
    shot = OneShot("web1", "rescue", "booting", 1.5, 2.5, (("a", "b"),), ("a",), None)
    assert OneShot.from_row(shot.to_row()) == shot


# ----------------------------------------------------------------------------- through the running pieces


def runtime(tmp_path: Path, text: str = SITE) -> Runtime:
    path = tmp_path / "site.toml"
    path.write_text(text)
    config = load_config(path)
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    return Runtime(config, path, tmp_path, tmp_path, store, EventSink(store), BootPolicy.from_config(config))


def script_for(rt: Runtime) -> str:
    client = ClientInfo(family=4, mac=MAC, user_classes=("iPXE",))
    ctx = ServerContext(address="192.0.2.1")
    answer = rt.policy.decide(client, ctx)
    return render_script(rt.config, answer.script, client, ctx, rt.policy.hosts.find(client))


def test_one_shot_rescue_then_local_disk(tmp_path: Path) -> None:
    rt = runtime(tmp_path)

    async def main() -> None:
        reloader = HotReload(rt)
        reloader.start()
        try:
            assert "\nexit\n" in script_for(rt)
            reloader.inventory.request_oneshot("web1", "rescue")
            await reloader.refresh()
            assert "kernel http://192.0.2.1/rescue/64/vmlinuz initrd=initrd.img console=ttyS0" in script_for(rt)
            rt.events.emit("http.request", mac=MAC, method="GET", path="/boot/52-54-00-00-00-01.ipxe", status=200)
            assert reloader.tracker.shots["web1"].state == "booting"
            rt.events.emit("http.download_complete", mac=MAC, path="/rescue/64/vmlinuz", bytes=1)
            assert "rescue/64/vmlinuz" in script_for(rt)  # a retry before the initrd still gets rescue
            rt.events.emit("http.download_complete", mac=MAC, path="/rescue/initrd.img", bytes=1)
            assert reloader.tracker.shots["web1"].state == "done"
            second = script_for(rt)
            assert "\nexit\n" in second and "rescue" not in second  # the second boot says exit
            await reloader.aclose()
            assert reloader.inventory.view("web1").oneshot.state == "done"  # type: ignore[union-attr]
        finally:
            reloader.stop()
            await rt.store.aclose()

    asyncio.run(main())
    again = SqliteStore(tmp_path / "state.db")
    again.open()
    try:
        kinds = [e.kind for e in again.events(MAC)]
    finally:
        again.close()
    assert [k for k in kinds if k.startswith("oneshot.")] == ["oneshot.booting", "oneshot.done"], kinds


def test_a_newer_request_is_not_overwritten_by_an_older_boot(tmp_path: Path) -> None:
    rt = runtime(tmp_path)

    async def main() -> None:
        reloader = HotReload(rt)
        reloader.start()
        try:
            reloader.inventory.request_oneshot("web1", "rescue")
            await reloader.refresh()
            rt.events.emit("http.script", mac=MAC, script="rescue")
            newer = reloader.inventory.request_oneshot("web1", "shell")  # e.g. from the CLI, meanwhile
            await reloader.tracker.drain()
            assert reloader.inventory.view("web1").oneshot == newer
            await reloader.refresh()
            assert reloader.tracker.active_targets() == {"web1": "shell"}
        finally:
            await reloader.aclose()
            await rt.store.aclose()

    asyncio.run(main())


def test_timeouts_fail_the_boot_and_restore_the_host(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    now = [1000.0]

    async def main() -> None:
        reloader = HotReload(rt, clock=lambda: now[0])
        reloader.start()
        try:
            reloader.inventory.request_oneshot("web1", "rescue")
            await reloader.refresh()
            rt.events.emit("http.script", mac=MAC, script="rescue")
            now[0] += 1799
            reloader.tracker.tick()
            assert reloader.tracker.active_targets() == {"web1": "rescue"}
            now[0] += 2
            reloader.tracker.tick()
            assert reloader.tracker.shots["web1"].state == "failed"
            assert rt.policy.hosts.by_name["web1"].target is None
        finally:
            await reloader.aclose()
            await rt.store.aclose()

    asyncio.run(main())


KINDS = """
[targets.k]
kernel = "http://192.0.2.1/k/vmlinuz"
initrd = ["k/initrd.img"]
cmdline = "console=ttyS0 host={{ host.name }}"
bootif = true
[targets.c]
chain = "http://192.0.2.9/other.ipxe"
[targets.san]
sanboot = "iscsi:192.0.2.5::::iqn.2010-04.org.ipxe:{{ host.name }}"
[targets.shell]
efi = "efishell/efishell.efi"
[targets.cfg]
config = true
[targets.sh]
shell = true
[targets.local]
exit = true
[targets.raw]
ipxe = ["echo hello {{ vars.flavour }}", "sleep 1"]
"""


@pytest.mark.parametrize(("name", "lines"), [
    ("k", ["kernel http://192.0.2.1/k/vmlinuz initrd=initrd.img console=ttyS0 host=web1 BOOTIF=01-${netX/mac:hexhyp}",
           "initrd k/initrd.img", "boot || goto bw-failed", "exit 0"]),
    ("c", ["chain --autofree http://192.0.2.9/other.ipxe || goto bw-failed"]),
    ("san", ["sanboot iscsi:192.0.2.5::::iqn.2010-04.org.ipxe:web1 || goto bw-failed"]),
    ("shell", ["chain --autofree efishell/efishell.efi || goto bw-failed"]),
    ("cfg", ["config", "exit 0"]),
    ("sh", ["shell"]),
    ("local", ["exit"]),
    ("raw", ["echo hello 64", "sleep 1"]),
])
def test_every_target_kind_renders_standalone(name: str, lines: list[str]) -> None:
    """What a host with a one-shot (or own) target of each kind is served, with the failure handling."""
    config = parse_config(KINDS)
    script = render_script(config, name, ClientInfo(family=4, mac=MAC), ServerContext(address="192.0.2.1"), HOST)
    got = script.splitlines()
    assert got[0] == "#!ipxe"
    for line in lines:
        assert line in got
    assert got[-3:] == [":bw-failed", f"echo Booting {name} failed; trying the next boot device", "exit 1"]
