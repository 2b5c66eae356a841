"""Hot reload: file changes and SIGHUP apply atomically; a bad file is refused and the running config stays."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bootwright.app import _start_hot_reload
from bootwright.boot.policy import BootPolicy
from bootwright.config import load_config, parse_config
from bootwright.inventory import Inventory
from bootwright.runtime import Runtime
from bootwright.runtime.events import EventSink
from bootwright.runtime.reload import HotReload, restart_needed
from bootwright.store.sqlite import SqliteStore

SITE = """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[targets.local]
exit = true

[targets.rescue]
kernel = "rescue/vmlinuz"

[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
target = "local"
"""
WEB2 = '\n[[host]]\nname = "web2"\nmac = "52:54:00:00:00:02"\ntarget = "rescue"\n'


def runtime(tmp_path: Path) -> Runtime:
    path = tmp_path / "site.toml"
    path.write_text(SITE)
    config = load_config(path)
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    return Runtime(config, path, tmp_path, tmp_path, store, EventSink(store), BootPolicy.from_config(config))


def rewrite(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def run(rt: Runtime, body) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        reloader = HotReload(rt, interval=0.05)
        reloader.start()
        try:
            await body(reloader)
        finally:
            await reloader.aclose()
            await rt.store.aclose()

    asyncio.run(main())


def test_a_changed_file_is_applied(tmp_path: Path) -> None:
    rt = runtime(tmp_path)

    async def body(reloader: HotReload) -> None:
        old_policy = rt.policy
        rewrite(rt.config_path, SITE + WEB2)
        await reloader.poll()
        assert reloader.reloads == 1 and rt.policy is not old_policy
        assert rt.policy.config is rt.config
        assert rt.policy.hosts.by_mac["52:54:00:00:00:02"].target == "rescue"
        assert [v.host.name for v in reloader.inventory.views()] == ["web1", "web2"]
        await reloader.poll()  # nothing changed: no second reload
        assert reloader.reloads == 1

    run(rt, body)


def test_a_bad_file_is_refused_and_the_running_config_stays(tmp_path: Path) -> None:
    rt = runtime(tmp_path)
    seen: list[str] = []
    rt.events.listeners.append(lambda e: seen.append(e.kind))

    async def body(reloader: HotReload) -> None:
        config, policy = rt.config, rt.policy
        for bad in (SITE + "[[host]]\nname = 'x'\nmac = 'oops'\n",  # model error
                    SITE.replace('target = "local"', 'target = "gone"'),  # unknown target
                    SITE + '[targets.bad]\nkernel = "{{ nope }"\n',  # template error
                    SITE + "[server\n"):  # TOML syntax
            rewrite(rt.config_path, bad)
            await reloader.poll()
            assert rt.config is config and rt.policy is policy
            assert reloader.last_error and "site.toml" in reloader.last_error
        assert seen.count("config.reload_failed") == 4
        rewrite(rt.config_path, SITE + WEB2)  # fixed: applies
        await reloader.poll()
        assert reloader.last_error is None and "web2" in rt.policy.hosts.by_name

    run(rt, body)


def test_a_file_that_no_longer_fits_a_stored_host_is_applied_and_the_host_skipped(tmp_path: Path) -> None:
    rt = runtime(tmp_path)

    async def body(reloader: HotReload) -> None:
        await asyncio.to_thread(reloader.inventory.add, {"name": "db1", "mac": "52:54:00:00:00:09",
                                                         "target": "rescue"})
        await reloader.refresh()
        assert "db1" in rt.policy.hosts.by_name
        rewrite(rt.config_path, SITE.replace('[targets.rescue]\nkernel = "rescue/vmlinuz"\n', ""))
        result = await reloader.reload("test")
        assert result.ok and "rescue" not in rt.config.targets
        assert any("host 'db1' (added through CLI/API)" in w and "no target or menu named 'rescue'" in w
                   for w in result.warnings)
        assert "db1" not in rt.policy.hosts.by_name and "web1" in rt.policy.hosts.by_name
        assert set(reloader.report.skipped) == {"db1"}
        # repaired through the inventory: served again
        await asyncio.to_thread(reloader.inventory.update, "db1", {"target": "local"})
        await reloader.refresh()
        assert rt.policy.hosts.by_name["db1"].target == "local" and not reloader.report.skipped

    run(rt, body)


def test_sighup_reloads(tmp_path: Path) -> None:
    rt = runtime(tmp_path)

    async def body(reloader: HotReload) -> None:
        watcher = asyncio.create_task(reloader.run())
        try:
            rt.config_path.write_text(SITE + WEB2)  # same mtime second is fine: SIGHUP forces it
            os.kill(os.getpid(), signal.SIGHUP)
            for _ in range(100):
                if reloader.reloads:
                    break
                await asyncio.sleep(0.05)
            assert reloader.reloads == 1 and "web2" in rt.policy.hosts.by_name
        finally:
            watcher.cancel()

    run(rt, body)


def test_changes_by_another_process_are_picked_up(tmp_path: Path) -> None:
    rt = runtime(tmp_path)

    async def body(reloader: HotReload) -> None:
        other = SqliteStore(tmp_path / "state.db")  # what `bootwright hosts add` does
        other.open()
        try:
            cli = Inventory(other.host_store(), parse_config(SITE))
            await asyncio.to_thread(cli.add, {"name": "db1", "mac": "52:54:00:00:00:09", "target": "rescue"})
            await asyncio.to_thread(cli.request_oneshot, "web1", "rescue")
        finally:
            await other.aclose()
        await reloader.poll()
        assert rt.policy.hosts.by_name["db1"].target == "rescue"
        assert rt.policy.hosts.by_name["web1"].target == "rescue"  # the one-shot target, for now
        assert reloader.tracker.active_targets() == {"web1": "rescue"}

    run(rt, body)


def test_restart_needed_names_socket_settings() -> None:
    a = parse_config(SITE)
    b = parse_config(SITE.replace("[[subnet4]]", "[http]\nport = 8080\n\n[[subnet4]]"))
    assert restart_needed(a, a) == []
    assert restart_needed(a, b) == ["http.port"]


def test_serve_starts_and_skips_stored_hosts_that_do_not_fit(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    Inventory(store.host_store(), parse_config(SITE)).add({"name": "db1", "mac": "52:54:00:00:00:09",
                                                          "target": "rescue"})
    store.close()
    rt = runtime(tmp_path)
    rewrite(rt.config_path, SITE.replace('[targets.rescue]\nkernel = "rescue/vmlinuz"\n', ""))
    rt.config = load_config(rt.config_path)

    async def main() -> None:
        try:
            reloader = _start_hot_reload(rt)  # what run_services does before any service binds
            assert "web1" in rt.policy.hosts.by_name and "db1" not in rt.policy.hosts.by_name
            assert set(reloader.report.skipped) == {"db1"}
            await reloader.aclose()
        finally:
            await rt.store.aclose()

    asyncio.run(main())


def test_restart_needed_names_a_subnet_turning_proxy_and_the_proxy_ports() -> None:
    a = parse_config(SITE)
    proxy = parse_config(SITE.replace('pools = ["192.0.2.100-192.0.2.199"]', 'mode = "proxy"'))
    assert restart_needed(a, proxy) == ["subnet4 mode (full/proxy)"]
    moved = parse_config(SITE.replace("[[subnet4]]", "[dhcp4]\nproxy_port = 4012\n\n[[subnet4]]"))
    assert restart_needed(a, moved) == ["dhcp4.proxy_port"]
