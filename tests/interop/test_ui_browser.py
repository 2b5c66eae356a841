"""The web UI in a real browser: Playwright driving Debian's chromium against ``bootwright serve`` (docs/ui.md).

``bootwright serve`` runs in the server namespace of a :class:`netns.NetnsPair`
(192.0.2.1/24 on ``srv0``: DHCPv4 with a small pool, HTTP on 192.0.2.1). The
browser runs in that namespace too: Playwright's ``executable_path`` is a
wrapper, ``ip netns exec <ns> /usr/bin/chromium "$@"`` (no browser download,
headless, ``--no-sandbox`` as root), so the operator is 192.0.2.1, the one
address in ``[api] admin_networks`` (and in ``anonymous_read_networks``, until
the last test takes it out and logs in as configured users). A real DHCP client (busybox ``udhcpc``)
runs for the host's MAC in the client namespace, on the same link, while the
host's page is open: its timeline must show the offer and the ack without a
reload. Data from the network (a request path with HTML in it) must show as
text. Screenshots go to ``docs/ui/`` with ``UPDATE_SCREENSHOTS=1`` (else to
a temporary directory).

The tests share one server and one logged-in page and run in file order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from netns import REPO, NetnsPair, require_module, start_bootwright

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # the `test` extra brings it; skipped below without it
    sync_playwright = None  # type: ignore[assignment]

pytestmark = pytest.mark.interop

CHROMIUM = Path("/usr/bin/chromium")
if sync_playwright is None:
    pytest.skip("playwright is not installed (pip install -e '.[test]'; never `playwright install`)",
                allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (Debian package chromium, scripts/setup.sh)", allow_module_level=True)
require_module(("busybox",))

MAC = "52:54:00:be:ef:01"
OTHER_MAC = "52:54:00:be:ef:02"
PORT = 8080
BASE = f"http://192.0.2.1:{PORT}"
HOSTILE = "/<img/src=x/onerror=alert(1)>"  # a request path as a client on the link may send it
WAIT = 20_000  # ms: every wait on the page is bounded

CONFIG = f"""
[server]
interfaces = ["srv0"]
address4 = "192.0.2.1"

[dhcp4]
lease_time = 600

[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.110"]
routers = ["192.0.2.1"]

[dhcp6]
enabled = false
[tftp]
enabled = false

[http]
listen = ["192.0.2.1"]
port = {PORT}

[api]
admin_networks = ["192.0.2.1/32"]
anonymous_read_networks = ["192.0.2.1/32"]

[boot]
builtin = false

# iPXE first: a rule handing undionly.kpxe to everyone would loop iPXE (check's chain-load warning).
[[rule]]
name = "ipxe"
match = {{ user_class = "iPXE" }}
script = "local"

[[rule]]
name = "all"
bootfile = "undionly.kpxe"
next_server = "192.0.2.1"

[targets.local]
label = "Local disk"
exit = true

[targets.rescue]
label = "Rescue system"
kernel = "rescue/vmlinuz"
initrd = "rescue/initrd.img"

[[host]]
name = "cfg1"
mac = "52:54:00:00:0c:01"
ipv4 = "192.0.2.50"
groups = ["lab"]
target = "local"
"""

HOOK = """#!/bin/sh
# Record what the client was told; configure nothing.
env | sort > "{dir}/env.${{1}}.$$"
"""


@dataclass
class Site:
    """The running server, its namespaces, the token and one browser page."""

    link: NetnsPair
    dir: Path
    token: str
    page: Page
    shots: Path
    dialogs: list[str] = field(default_factory=list)

    def shot(self, name: str) -> None:
        """A screenshot of the viewport (1200x800)."""
        self.page.screenshot(path=str(self.shots / f"{name}.png"))

    def api(self, path: str, method: str = "GET") -> object:
        """Call an API path with the token from inside the server namespace (not through the browser)."""
        code = ("import json, sys, urllib.request; "
                "r = urllib.request.Request(sys.argv[1], method=sys.argv[2], "
                "headers={'Authorization': 'Bearer ' + sys.argv[3]}); "
                "print(urllib.request.urlopen(r, timeout=5).read().decode())")
        done = self.link.run_server([sys.executable, "-c", code, BASE + path, method, self.token], timeout=20,
                                    text=True)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def dhcp(self) -> None:
        """A real DHCPv4 exchange for :data:`MAC` (busybox udhcpc in the client namespace)."""
        hook = self.dir / "hook.sh"
        hook.write_text(HOOK.format(dir=self.dir))
        hook.chmod(0o755)
        cmd = ["busybox", "udhcpc", "-i", "cli0", "-n", "-q", "-f", "-t", "5", "-T", "2", "-s", str(hook)]
        done = self.link.run_client(cmd, timeout=40, text=True)
        assert done.returncode == 0, done.stderr


def _start(link: NetnsPair, d: Path) -> subprocess.Popen[bytes]:
    config = d / "bootwright.toml"
    config.write_text(CONFIG)
    (d / "root").mkdir()
    return start_bootwright(link, config, d / "root", d / "state", d / "serve.log", ready=("dhcp4 ready", "http ready"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    d = tmp_path_factory.mktemp("ui")
    shots = REPO / "docs" / "ui" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else d / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    with NetnsPair("ui", client_mac=MAC) as link:
        _start(link, d)
        token = (d / "state" / "api-token").read_text().strip()
        wrapper = d / "chromium-in-netns"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {link.server_ns} {CHROMIUM} "$@"\n')
        wrapper.chmod(0o755)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(wrapper), headless=True, args=["--no-sandbox"],
                                         timeout=60_000)
            try:
                context = browser.new_context(viewport={"width": 1200, "height": 800}, base_url=BASE)
                context.set_default_timeout(WAIT)
                page = context.new_page()
                s = Site(link, d, token, page, shots)
                page.on("dialog", lambda dialog: (s.dialogs.append(dialog.message), dialog.dismiss()))
                yield s
            finally:
                browser.close()


def test_login_refuses_a_wrong_token_then_logs_in(site: Site) -> None:
    page = site.page
    page.goto("/")  # the bare root leads to the UI
    expect(page).to_have_url(f"{BASE}/ui/")
    expect(page.locator("header .who")).to_contain_text("read only")
    expect(page.locator("#hosts tbody tr")).to_have_count(1)  # cfg1, from the config file
    assert page.locator("#add-host").count() == 0
    page.goto("/ui/login")
    page.fill("input[name=password]", "not-the-token")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("not the API token")
    page.fill("input[name=password]", site.token)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{BASE}/ui/")
    expect(page.locator("header .who button")).to_have_text("Log out")
    cookie = next(c for c in page.context.cookies() if c["name"] == "bootwright_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_hosts_are_added_and_searched(site: Site) -> None:
    page = site.page
    page.goto("/ui/")
    expect(page.locator("#add-host select[name=target] option")).to_have_count(3)  # (default), local, rescue
    for name, mac, groups in (("pxe1", MAC, "web, lab"), ("other2", OTHER_MAC, "")):
        page.fill("#add-host input[name=name]", name)
        page.fill("#add-host input[name=mac]", mac)
        page.fill("#add-host input[name=groups]", groups)
        page.select_option("#add-host select[name=target]", "local")
        page.click("#add-host button[type=submit]")
        expect(page.locator("#toast")).to_contain_text(f"Add {name}: done")
        expect(page.locator(f'#hosts tbody tr[data-host="{name}"]')).to_be_visible()
    rows = page.locator("#hosts tbody tr")
    expect(rows).to_have_count(3)
    page.fill("#host-search", "be:ef:01")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-host", "pxe1")
    page.fill("#host-search", "lab")
    expect(rows).to_have_count(2)  # cfg1 and pxe1 are in the group
    page.fill("#host-search", "nothing-like-this")
    expect(rows).to_have_count(0)
    page.fill("#host-search", "")
    expect(rows).to_have_count(3)
    site.shot("hosts")


def test_the_timeline_follows_a_real_dhcp_client_live(site: Site) -> None:
    page = site.page
    page.goto("/ui/hosts/pxe1")
    expect(page.locator("#live")).to_have_text("live")
    expect(page.locator("#timeline")).to_contain_text("No boot seen yet")
    page.evaluate("window.__samePage = true")  # gone if the page were reloaded
    site.dhcp()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("DHCPv4 offer of 192.0.2.100, boot file undionly.kpxe")
    expect(timeline).to_contain_text("DHCPv4 ack of 192.0.2.100, boot file undionly.kpxe")
    expect(page.locator("#last-step")).to_contain_text("DHCPv4 ack of 192.0.2.100")
    assert page.evaluate("window.__samePage") is True
    site.shot("timeline")


def test_a_one_shot_boot_set_in_the_ui_is_the_apis(site: Site) -> None:
    page = site.page
    page.goto("/ui/hosts/pxe1")
    page.select_option("#target-choice", "rescue")
    page.click("#boot-once")
    expect(page.locator("#toast")).to_contain_text("Boot rescue once: done")
    expect(page.locator("#host-boot")).to_have_text("rescue: pending")
    boot = site.api("/api/hosts/pxe1/boot")
    assert isinstance(boot, dict) and boot["boot"]["target"] == "rescue" and boot["boot"]["state"] == "pending"
    page.click("#cancel-boot")
    expect(page.locator("#host-boot")).to_have_text("—")
    assert site.api("/api/hosts/pxe1/boot") == {"boot": None}


def test_the_leases_page_lists_the_clients_lease(site: Site) -> None:
    page = site.page
    page.goto("/ui/leases")
    row = page.locator("#leases4 tbody tr", has_text="192.0.2.100")
    expect(row).to_contain_text(MAC)
    expect(row.locator("a")).to_have_text("pxe1")  # the inventory's name for the MAC
    expect(row).to_contain_text("bound")
    expect(row.locator("td").nth(5)).to_have_text("in 10 min")
    expect(page.locator("#leases6 tbody")).to_contain_text("no leases")
    site.shot("leases")


def test_events_filter_and_show_network_data_as_text(site: Site) -> None:
    page = site.page
    # A client on the link asks for a path with HTML in it; the server records the path as sent.
    code = ("import socket, sys; s = socket.create_connection(('192.0.2.1', int(sys.argv[2])), 5); "
            "s.sendall(b'GET ' + sys.argv[1].encode() + b' HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'); "
            "print(s.recv(100))")
    sent = site.link.run_client([sys.executable, "-c", code, HOSTILE, str(PORT)], timeout=20, text=True)
    assert sent.returncode == 0 and "404" in sent.stdout, sent
    page.goto("/ui/events")
    rows = page.locator("#events tbody tr")
    expect(rows.first).to_be_visible()
    page.fill("#event-filters input[name=kind]", "http.")
    page.click("#event-filters button[type=submit]")
    expect(page.locator("#events tbody")).to_contain_text(f"path={HOSTILE}")  # shown, not run
    assert page.locator("#events tbody img").count() == 0 and site.dialogs == []
    page.fill("#event-filters input[name=host]", "pxe1")
    page.fill("#event-filters input[name=kind]", "dhcp4.ack")
    page.click("#event-filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("dhcp4.ack")
    expect(rows.first).to_contain_text("yiaddr=192.0.2.100")
    # Newer events are added on top with "Load newer" (the API's ?after=).
    page.fill("#event-filters input[name=kind]", "dhcp4.")
    page.click("#event-filters button[type=submit]")
    expect(rows.first).to_contain_text("dhcp4.ack")
    before = rows.count()
    site.dhcp()
    page.click("#more-events")
    expect(page.locator("#event-count")).to_contain_text("newer")
    assert rows.count() > before
    expect(rows.first).to_contain_text("dhcp4.ack")  # newest first
    site.shot("events")


def test_the_config_page_checks_and_reloads(site: Site) -> None:
    page = site.page
    page.goto("/ui/config")
    expect(page.locator("#check-summary")).to_contain_text("Valid: 0 errors")
    expect(page.locator("#status-facts")).to_contain_text("dhcp4")
    page.click("#reload")
    expect(page.locator("#reload-ok")).to_have_text("Reloaded.")
    reloads = page.locator("#status-facts dt", has_text="Reloads").locator("xpath=following-sibling::dd[1]")
    expect(reloads).to_have_text("1")
    config = site.dir / "bootwright.toml"
    good = config.read_text()
    try:
        config.write_text(good + "\n[targets.broken]\nkernel = 7\n")
        page.click("#reload")
        expect(page.locator("#reload-refused")).to_contain_text("the configuration was refused")
        expect(page.locator("#status-facts")).to_contain_text("refused:")
    finally:
        config.write_text(good)
    page.click("#reload")
    expect(page.locator("#reload-ok")).to_have_text("Reloaded.")
    site.shot("config")


def test_logout_ends_the_session(site: Site) -> None:
    page = site.page
    page.goto("/ui/")
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    page.click("header .who button")
    expect(page.locator("header .who")).to_contain_text("read only")
    status = page.evaluate(
        """csrf => fetch('/api/reload', {method: 'POST', headers: {'X-CSRF-Token': csrf}}).then(r => r.status)""",
        csrf)
    assert status == 401
    assert site.dialogs == []


def test_configured_users_log_in_with_their_roles(site: Site) -> None:
    # Reads from the browser's address now need a login; two users, an admin and a read-only one.
    from bootwright.wire.passhash import PasswordHash  # the test runs in the venv that has bootwright

    ops = PasswordHash.make("ops-password-1", b"browser-test-ops", n=1024).encode()
    noc = PasswordHash.make("noc-password-2", b"browser-test-noc", n=1024).encode()
    config = site.dir / "bootwright.toml"
    good = config.read_text()
    users = (f'\n[[api.user]]\nname = "ops"\npassword_hash = "{ops}"\nrole = "admin"\n'
             f'\n[[api.user]]\nname = "noc"\npassword_hash = "{noc}"\n')
    config.write_text(good.replace('anonymous_read_networks = ["192.0.2.1/32"]', "anonymous_read_networks = []")
                      + users)
    try:
        assert site.api("/api/reload", "POST") == {"reloaded": True, "warnings": []}
        page = site.page
        page.goto("/ui/hosts/pxe1")
        expect(page).to_have_url(f"{BASE}/ui/login?next=%2Fui%2Fhosts%2Fpxe1")
        page.fill("input[name=user]", "noc")
        page.fill("input[name=password]", "not-the-password")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")
        expect(page.locator("input[name=user]")).to_have_value("noc")  # kept; the password is not
        page.fill("input[name=password]", "noc-password-2")
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{BASE}/ui/hosts/pxe1")
        expect(page.locator("header .who")).to_contain_text("noc (read only)")
        expect(page.locator("#live")).to_have_text("live")  # the event stream reads with the session
        assert page.locator("#boot-once").count() == 0
        expect(page.locator("main")).to_contain_text("read role")
        csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
        answer = page.evaluate(
            """csrf => fetch('/api/reload', {method: 'POST', headers: {'X-CSRF-Token': csrf}})
                       .then(r => r.json().then(body => [r.status, body.error]))""", csrf)
        assert answer[0] == 403 and "read role" in answer[1], answer
        page.click("header .who button")  # log out: now a login is needed even to read
        expect(page).to_have_url(f"{BASE}/ui/login?next=%2Fui%2F")
        page.fill("input[name=user]", "ops")
        page.fill("input[name=password]", "ops-password-1")
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{BASE}/ui/")
        expect(page.locator("header .who")).to_contain_text("ops")
        expect(page.locator("#add-host")).to_be_visible()
        page.click("header .who button")
    finally:
        config.write_text(good)
        site.api("/api/reload", "POST")
    assert site.dialogs == []
