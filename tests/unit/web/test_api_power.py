"""The power and reprovisioning API: JSON errors, the write-only BMC password, and the test driver end to end.

Same harness as test_api.py (a started runtime, the API on loopback); BMC
steps go to the test driver of tests/unit/bmc/test_control.py, registered as
``ipmi`` for the test. Nothing leaves the machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bootwright.bmc import control as control_module
from bootwright.bmc.base import BmcAuthFailed, BmcUnreachable, BmcUnsupported, PowerState
from bootwright.bmc.drivers import DRIVERS
from bootwright.boot.timeline import STOP_POINTS
from bootwright.runtime import Runtime
from tests.unit.bmc.test_control import FakeLab
from tests.unit.web.test_api import bearer, error_of, run

SECRET = "s3cret-Pa55"
DB1 = {"name": "db1", "mac": ["52:54:00:00:00:02"], "ipv4": "192.0.2.12", "groups": ["db"],
       "bmc": {"driver": "ipmi", "address": "10.0.0.5", "username": "admin", "password": SECRET}}
DB2 = {"name": "db2", "mac": ["52:54:00:00:00:03"], "groups": ["db"]}  # no BMC
Client = TestClient[Any, Any]


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLab]:
    fake = FakeLab()
    monkeypatch.setitem(DRIVERS, "ipmi", fake.driver)
    monkeypatch.setattr(control_module, "POWER_POLL", 0.001)
    yield fake
    fake.released.set()


async def add(client: Client, token: str, *records: dict[str, Any]) -> None:
    for record in records:
        r = await client.post("/api/hosts", json=record, headers=bearer(token))
        assert r.status == 201, await r.text()


def test_power_of_a_host_without_a_bmc_is_a_409_with_the_hint(tmp_path: Any) -> None:
    async def body(client: Client, rt: Runtime, token: str) -> None:
        e = await error_of(await client.get("/api/hosts/web1/power"), 409)
        assert e["error"].startswith("host web1 has no BMC: add one with PATCH /api/hosts/web1")
        assert '"bmc": {"driver": "ipmi"' in e["error"]
        e = await error_of(await client.post("/api/hosts/web1/power", json={"action": "on"}, headers=bearer(token)),
                           409)
        assert "has no BMC" in e["error"]
        e = await error_of(await client.post("/api/hosts/web1/reprovision", json={}, headers=bearer(token)), 409)
        assert "has no BMC" in e["error"]
        await error_of(await client.get("/api/hosts/ghost/power"), 404)
        await error_of(await client.post("/api/hosts/ghost/reprovision", json={}, headers=bearer(token)), 404)
        # Writes need the token, like every other write.
        await error_of(await client.post("/api/hosts/web1/power", json={"action": "on"}), 401)
        await error_of(await client.post("/api/hosts/web1/reprovision", json={}), 401)
        await error_of(await client.post("/api/groups/db/reprovision", json={}), 401)

    run(tmp_path, body)


@pytest.mark.parametrize(
    "payload",
    [{"action": "explode"}, {"action": None}, {}, {"action": "on", "force": True}, {"action": ["on"]},
     {"action": "status"}],
)
def test_a_bad_power_action_is_a_400(tmp_path: Any, payload: dict[str, Any]) -> None:
    async def body(client: Client, rt: Runtime, token: str) -> None:
        e = await error_of(await client.post("/api/hosts/web1/power", json=payload, headers=bearer(token)), 400)
        assert e["error"] == 'expected {"action": one of on, off, soft, cycle, reset}'

    run(tmp_path, body)


def test_power_bodies_that_are_not_json_objects_are_400(tmp_path: Any) -> None:
    async def body(client: Client, rt: Runtime, token: str) -> None:
        auth = {**bearer(token), "Content-Type": "application/json"}
        for data in ("", "{", '["on"]', '"on"'):
            await error_of(await client.post("/api/hosts/web1/power", data=data, headers=auth), 400)
            if data:  # no body at all is a reprovision with every default
                await error_of(await client.post("/api/hosts/web1/reprovision", data=data, headers=auth), 400)

    run(tmp_path, body)


def test_reprovision_with_bad_body_types_lists_every_problem(tmp_path: Any) -> None:
    async def body(client: Client, rt: Runtime, token: str) -> None:
        bad = {"target": 5, "once": "yes", "uefi": "maybe", "http": 1, "grace": -1, "colour": "red", "force": 1}
        e = await error_of(await client.post("/api/hosts/web1/reprovision", json=bad, headers=bearer(token)), 400)
        message = e["error"]
        for needle in ("unknown keys: colour, force", "target must be the name of a target or menu",
                       "once and http are true|false, uefi is true|false|null", "grace is a number of seconds",
                       '(expected {"target": T, "once": true, "uefi": true|false|null, "http": false, "grace": 60})'):
            assert needle in message, message
        for payload, needle in (
            ({"target": ""}, "target must be the name of a target or menu"),
            ({"grace": True}, "grace is a number of seconds"),
            ({"grace": "60"}, "grace is a number of seconds"),
            ({"once": None}, "once and http are true|false"),
            ({"uefi": 1}, "uefi is true|false|null"),
            ({"target": "nope", "once": False}, "no target or menu named 'nope'"),
        ):
            e = await error_of(await client.post("/api/hosts/web1/reprovision", json=payload, headers=bearer(token)),
                               400)
            assert needle in e["error"], (payload, e)
        # The body is checked before the host: a bad body for a host without BMC is still a 400.
        e = await error_of(await client.post("/api/groups/nobody/reprovision", json={"grace": -5},
                                             headers=bearer(token)), 400)
        assert "grace is a number of seconds" in e["error"]

    run(tmp_path, body)


def test_hosts_show_the_bmc_with_password_set_and_never_the_password(tmp_path: Any) -> None:
    async def body(client: Client, rt: Runtime, token: str) -> None:
        r = await client.post("/api/hosts", json=DB1, headers=bearer(token))
        assert r.status == 201
        text = await r.text()
        assert SECRET not in text
        assert json.loads(text)["bmc"] == {"driver": "ipmi", "address": "10.0.0.5", "username": "admin",
                                           "password_set": True}
        for path in ("/api/hosts/db1", "/api/hosts", "/api/hosts?group=db", "/api/export?format=csv",
                     "/api/events", "/api/hosts/db1/timeline"):
            r = await client.get(path)
            assert r.status == 200, path
            assert SECRET not in await r.text(), path
        shown = (await (await client.get("/api/hosts/db1")).json())["bmc"]
        assert shown["password_set"] is True and "password" not in shown
        # The shown BMC sent back with a change keeps the stored password.
        r = await client.patch("/api/hosts/db1", json={"bmc": {**shown, "username": "operator"}},
                               headers=bearer(token))
        assert r.status == 200, await r.text()
        assert SECRET not in await r.text()
        assert rt.policy.hosts.by_name["db1"].bmc is not None
        assert rt.policy.hosts.by_name["db1"].bmc.password == SECRET
        assert rt.policy.hosts.by_name["db1"].bmc.username == "operator"
        # A refused BMC does not echo the password back.
        e = await error_of(await client.patch("/api/hosts/db1", json={"bmc": {
            "driver": "ipmi", "address": "10.0.0.5", "password": SECRET, "password_env": "X"}},
            headers=bearer(token)), 400)
        assert "give one of password, password_file, password_env" in json.dumps(e)
        assert SECRET not in json.dumps(e)

    run(tmp_path, body)


def test_power_and_reprovision_through_the_test_driver(tmp_path: Any, lab: FakeLab) -> None:
    async def body(client: Client, rt: Runtime, token: str) -> None:
        await add(client, token, DB1)
        r = await client.get("/api/hosts/db1/power")
        assert r.status == 200 and await r.json() == {"host": "db1", "bmc": "ipmi 10.0.0.5", "power": "on"}
        r = await client.post("/api/hosts/db1/reprovision", json={"target": "rescue", "grace": 5},
                              headers=bearer(token))
        assert r.status == 200, await r.text()
        data = await r.json()
        assert data["host"] == "db1" and data["power_was"] == "on"
        assert data["steps"] == ["soft off", "on"] and data["note"] is None
        assert data["timeline"] == "/api/hosts/db1/timeline"
        assert (data["boot"]["target"], data["boot"]["state"]) == ("rescue", "pending")
        assert rt.policy.hosts.by_name["db1"].target == "rescue"  # the one-shot is served now
        assert lab.passwords and set(lab.passwords) == {SECRET}
        assert lab.machine("10.0.0.5").power == PowerState.ON
        # The BMC steps are the first lines of the host's timeline.
        r = await client.get("/api/hosts/db1/timeline")
        attempt = (await r.json())["attempts"][-1]
        assert [s["kind"] for s in attempt["steps"]] == ["bmc.bootdev", "bmc.power", "bmc.power"]
        assert [s["text"] for s in attempt["steps"]] == ["BMC: next boot from PXE (once)", "BMC: power soft",
                                                          "BMC: power on"]
        assert attempt["stage"] == "bmc" and attempt["stop"] == STOP_POINTS["bmc"]
        assert attempt["mac"] == "52:54:00:00:00:02" and attempt["host"] == "db1"
        r = await client.get("/api/events?mac=52:54:00:00:00:02")
        assert [e["kind"] for e in (await r.json())["events"]][-3:] == ["bmc.bootdev", "bmc.power", "bmc.power"]
        # A button press alone.
        r = await client.post("/api/hosts/db1/power", json={"action": "off"}, headers=bearer(token))
        assert r.status == 200 and await r.json() == {"host": "db1", "action": "off", "accepted": True}
        assert (await (await client.get("/api/hosts/db1/power")).json())["power"] == "off"
        # Found off: just on, with the UEFI HTTP next boot and no target change.
        r = await client.post("/api/hosts/db1/reprovision", json={"uefi": True, "http": True},
                              headers=bearer(token))
        data = await r.json()
        assert data["power_was"] == "off" and data["steps"] == ["on"] and "boot" not in data
        assert data["note"] == "the BMC kept legacy mode"
        next_boot = lab.machine("10.0.0.5").next_boot
        assert next_boot is not None and next_boot.http and next_boot.uefi

    run(tmp_path, body)


def test_bmc_failures_map_to_gateway_statuses_and_timeline_errors(tmp_path: Any, lab: FakeLab) -> None:
    async def body(client: Client, rt: Runtime, token: str) -> None:
        await add(client, token, DB1)
        lab.fail["power_state"] = BmcUnreachable("IPMI BMC 10.0.0.5:623 did not answer")
        e = await error_of(await client.get("/api/hosts/db1/power"), 504)
        assert e["error"] == "host db1: IPMI BMC 10.0.0.5:623 did not answer"
        r = await client.get("/api/hosts/db1/timeline")
        [attempt] = (await r.json())["attempts"]
        assert attempt["status"] == "failed"
        assert attempt["stop"] == "BMC get power failed: IPMI BMC 10.0.0.5:623 did not answer"
        lab.fail["power_state"] = BmcAuthFailed("IPMI BMC 10.0.0.5:623 refused the password")
        e = await error_of(await client.get("/api/hosts/db1/power"), 502)
        assert "refused the password" in e["error"] and SECRET not in json.dumps(e)
        lab.fail["set_next_boot"] = BmcUnsupported("IPMI cannot ask for a UEFI HTTP boot")
        e = await error_of(await client.post("/api/hosts/db1/reprovision", json={"http": True},
                                             headers=bearer(token)), 400)
        assert e["error"] == "host db1: IPMI cannot ask for a UEFI HTTP boot"
        r = await client.get("/api/events?mac=52:54:00:00:00:02")
        errors = [e["detail"] for e in (await r.json())["events"] if e["kind"] == "bmc.error"]
        assert [d["step"] for d in errors] == ["get power", "get power", "boot device HTTP"]
        assert errors[-1]["error"] == "IPMI cannot ask for a UEFI HTTP boot"
        assert not any(e["kind"] in ("bmc.power", "bmc.bootdev") for e in (await r.json())["events"])

    run(tmp_path, body)


def test_group_reprovision_gives_one_result_per_host(tmp_path: Any, lab: FakeLab) -> None:
    async def body(client: Client, rt: Runtime, token: str) -> None:
        await add(client, token, DB1, DB2)
        r = await client.post("/api/groups/db/reprovision", json={"target": "rescue"}, headers=bearer(token))
        assert r.status == 200, await r.text()
        data = await r.json()
        assert data["group"] == "db" and data["ok"] == 1
        by_host = {res["host"]: res for res in data["results"]}
        assert by_host["db1"]["ok"] is True and by_host["db1"]["steps"] == ["soft off", "on"]
        assert by_host["db2"] == {"host": "db2", "ok": False, "error": "host db2 has no BMC"}
        await error_of(await client.post("/api/groups/nobody/reprovision", json={}, headers=bearer(token)), 404)

    run(tmp_path, body)


@pytest.mark.parametrize("grace", ["NaN", "Infinity"])
def test_reprovision_refuses_a_grace_that_is_not_finite(tmp_path: Any, lab: FakeLab, grace: str) -> None:
    async def body(client: Client, rt: Runtime, token: str) -> None:
        await add(client, token, DB1)
        auth = {**bearer(token), "Content-Type": "application/json"}
        r = await client.post("/api/hosts/db1/reprovision", data=f'{{"grace": {grace}}}', headers=auth)
        assert r.status == 400, await r.text()  # today: accepted (the fake machine goes off, so it returns)

    run(tmp_path, body)
