"""Configured users, roles, read access and login rate limits, through the application ``bootwright serve`` builds."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bootwright.web.api.logins import LoginGuard, source_of
from bootwright.web.ui.session import COOKIE
from bootwright.wire.passhash import PasswordHash
from tests.unit.web.test_ui import Ui, cookie_header, ui

ADMIN_PW = "admin-pass-1234"
READ_PW = "reader-pass-5678"


def users(admin_pw: str = ADMIN_PW) -> str:
    """Two ``[[api.user]]`` tables (scrypt at its lowest cost, N = 2^10: these tests make many checks)."""
    ops = PasswordHash.make(admin_pw, b"salt-for-ops-000", n=1024).encode()
    viewer = PasswordHash.make(READ_PW, b"salt-for-viewer0", n=1024).encode()
    return (f'[[api.user]]\nname = "ops"\npassword_hash = "{ops}"\nrole = "admin"\n\n'
            f'[[api.user]]\nname = "viewer"\npassword_hash = "{viewer}"\n\n')


def run(tmp_path: Path, body: Callable[[Ui], Awaitable[None]], api: str = "", extra: str = "") -> None:
    async def main() -> None:
        # [api] first: the site's tables follow (TOML keys after a table header belong to it).
        async with ui(tmp_path, "[api]\n" + api + "\n" + users() + extra) as u:
            await body(u)

    asyncio.run(main())


async def login(u: Ui, user: str, password: str, status: int = 303) -> str | None:
    """Log in through the form; the session's CSRF token (None when the login was refused)."""
    r = await u.client.post("/ui/login", data={"user": user, "password": password, "next": "/ui/"},
                            allow_redirects=False)
    assert r.status == status, await r.text()
    if status != 303:
        assert COOKIE not in cookie_header(r)
        return None
    page = await (await u.client.get("/ui/")).text()
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert found, page
    return found.group(1)


# --------------------------------------------------------------------------- users and roles


def test_an_admin_user_logs_in_and_changes_things(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        csrf = await login(u, "ops", ADMIN_PW)
        page = await (await u.client.get("/ui/")).text()
        assert 'id="add-host"' in page and "ops" in page and "read only" not in page
        r = await u.client.post("/api/hosts", json={"name": "new1", "mac": ["52:54:00:00:00:0a"]},
                                headers={"X-CSRF-Token": csrf or ""})
        assert r.status == 201, await r.text()

    run(tmp_path, body)


def test_a_read_user_reads_but_every_write_is_403_in_api_words(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        csrf = await login(u, "viewer", READ_PW)
        assert (await u.client.get("/api/hosts")).status == 200
        page = await (await u.client.get("/ui/hosts/web1")).text()
        assert 'id="boot-once"' not in page and "read role" in page and "viewer" in page and "Log out" in page
        assert 'id="add-host"' not in await (await u.client.get("/ui/")).text()
        for method, path, body_ in (("POST", "/api/hosts", {"name": "x", "mac": ["52:54:00:00:00:0b"]}),
                                    ("PUT", "/api/hosts/web1/boot", {"target": "rescue"}),
                                    ("POST", "/api/reload", None)):
            r = await u.client.request(method, path, json=body_, headers={"X-CSRF-Token": csrf or ""})
            error = (await r.json())["error"]
            assert r.status == 403 and "read role" in error and "--" not in error, (path, error)
        assert "x" not in u.runtime.policy.hosts.by_name

    run(tmp_path, body)


def test_wrong_passwords_are_401_and_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def body(u: Ui) -> None:
        with caplog.at_level(logging.INFO, logger="bootwright"):
            await login(u, "ops", "not-" + ADMIN_PW, 401)
            await login(u, "nobody", ADMIN_PW, 401)  # an unknown name: the same answer
            await login(u, "viewer", "", 401)
            await login(u, "ops", u.token, 401)  # the token is no user's password
            await login(u, "ops", ADMIN_PW)
        text = caplog.text
        assert "failed login as 'ops' from 127.0.0.1" in text and "failed login as 'nobody'" in text
        assert "login as ops (role admin)" in text
        assert ADMIN_PW not in text and READ_PW not in text and u.token not in text

    run(tmp_path, body)


def test_the_token_still_logs_in_without_a_user_name(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        r = await u.client.post("/ui/login", data={"password": "wrong"}, allow_redirects=False)
        assert r.status == 401 and "not the API token" in await r.text()
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        csrf = await login(u, "", u.token)
        r = await u.client.post("/api/reload", headers={"X-CSRF-Token": csrf or ""})
        assert r.status == 200

    run(tmp_path, body)


def test_failures_are_rate_limited_per_source_with_retry_after(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        for _ in range(10):  # the burst: wrong tokens and wrong passwords share it
            r = await u.client.post("/ui/login", data={"password": "wrong"}, allow_redirects=False)
            assert r.status == 401
        r = await u.client.post("/ui/login", data={"user": "ops", "password": ADMIN_PW}, allow_redirects=False)
        assert r.status == 429 and int(r.headers["Retry-After"]) >= 1 and COOKIE not in cookie_header(r)
        assert "Too many failed logins" in await r.text()
        r = await u.client.post("/api/reload", headers={"Authorization": f"Bearer {u.token}"})
        assert r.status == 429 and "too many failed logins" in (await r.json())["error"]

    run(tmp_path, body)


def test_changing_a_users_password_ends_its_sessions(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        csrf = await login(u, "ops", ADMIN_PW)
        assert (await u.client.post("/api/reload", headers={"X-CSRF-Token": csrf or ""})).status == 200
        text = u.runtime.config_path.read_text()
        u.runtime.config_path.write_text(text.replace(users(), users("a-new-password-99")))
        r = await u.client.post("/api/reload", headers={"X-CSRF-Token": csrf or ""})
        assert r.status == 200  # this request still ran as the old session: the reload applies the change
        r = await u.client.post("/api/reload", headers={"X-CSRF-Token": csrf or ""})
        assert r.status == 401 and "password of user 'ops'" in (await r.json())["error"]

    run(tmp_path, body)


# --------------------------------------------------------------------------- read access


def test_outside_anonymous_read_networks_reads_need_credentials(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        for path in ("/api/hosts", "/metrics", "/api/events/stream"):
            r = await u.client.get(path)
            error = (await r.json())["error"]
            assert r.status == 401 and "anonymous_read_networks" in error and "Bearer" in error, path
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
        r = await u.client.get("/ui/hosts/web1?x=1", allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/ui/login?next=%2Fui%2Fhosts%2Fweb1%3Fx%3D1"
        assert (await u.client.get("/ui/login")).status == 200  # the form and its files need no login
        assert (await u.client.get("/ui/static/app.css")).status == 200
        r = await u.client.get("/api/hosts", headers={"Authorization": f"Bearer {u.token}"})
        assert r.status == 200
        assert (await u.client.get("/metrics", headers={"Authorization": f"Bearer {u.token}"})).status == 200
        await login(u, "viewer", READ_PW)  # a read user's session reads everything
        for path in ("/api/hosts", "/metrics", "/ui/", "/ui/leases", "/ui/hosts/web1"):
            assert (await u.client.get(path, allow_redirects=False)).status == 200, path
        r = await u.client.get("/api/events/stream?host=web1")
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        r.close()

    run(tmp_path, body, api="anonymous_read_networks = []\n")


def test_anonymous_read_networks_only_narrow_admin_networks(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        r = await u.client.get("/api/hosts", headers={"Authorization": f"Bearer {u.token}"})
        assert r.status == 403 and "admin_networks" in (await r.json())["error"]  # the network comes first

    run(tmp_path, body, api='admin_networks = ["192.0.2.0/24"]\nanonymous_read_networks = ["127.0.0.0/8"]\n')


def test_the_default_keeps_loopback_reads_anonymous(tmp_path: Path) -> None:
    async def body(u: Ui) -> None:
        assert (await u.client.get("/api/hosts")).status == 200
        page = await (await u.client.get("/ui/")).text()
        assert "read only" in page and "Log in" in page
        # An expired or forged cookie does not spoil an anonymous read.
        r = await u.client.get("/api/hosts", headers={"Cookie": f"{COOKIE}=forged"})
        assert r.status == 200

    run(tmp_path, body)


# --------------------------------------------------------------------------- the guard itself


def test_the_guard_refills_and_groups_ipv6_by_64() -> None:
    now = [0.0]
    guard = LoginGuard(burst=3, refill=10, clock=lambda: now[0])
    for _ in range(3):
        assert guard.retry_after("2001:db8::1") == 0
        guard.failed("2001:db8::1", "test")
    assert guard.retry_after("2001:db8::ffff") == 10  # the same /64
    assert guard.retry_after("2001:db8:0:1::1") == 0  # another /64
    assert guard.retry_after("192.0.2.7") == 0
    now[0] += 10
    assert guard.retry_after("2001:db8::1") == 0
    guard.failed("2001:db8::1", "test")
    assert guard.retry_after("2001:db8::1") == 10
    assert source_of("::ffff:192.0.2.7") == "192.0.2.7" and source_of("2001:db8::5%eth0") == "2001:db8::/64"


def test_the_guard_forgets_sources_within_its_bound() -> None:
    guard = LoginGuard(burst=2, refill=10, clock=lambda: 0.0, max_sources=4)
    for i in range(20):
        guard.failed(f"192.0.2.{i}", "test")
    assert len(guard._buckets) <= 4
