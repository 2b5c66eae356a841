"""``bootwright leases``: a real SQLite state store filled through the store API, read back by the command."""

from __future__ import annotations

import asyncio
import datetime
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bootwright.cli import hosts as hosts_cli
from bootwright.cli.leases import expiry_text, span
from bootwright.cli.main import app
from bootwright.config import Config
from bootwright.inventory.service import Inventory
from bootwright.model import Lease, LeaseState
from bootwright.store.sqlite import SqliteStore

runner = CliRunner()

HOUR, MINUTE = 3600.0, 60.0
DUID = bytes.fromhex("000300015254000000a1")  # DUID-LL (RFC 8415 §11.4) of the host 'v6box'
SITE = """\
state_dir = "state"

[boot]
default = "t"

[targets.t]
exit = true

[[host]]
name = "cfg1"
mac = ["52:54:00:cc:00:01"]
"""


def leases(now: float) -> list[Lease]:
    """Both families, every state; expiries chosen so the relative times print exactly."""
    soon = now + 3 * HOUR + 12 * MINUTE + 30  # 30 s of slack for the test itself
    return [
        Lease(4, "192.0.2.10", b"\x01RT\x00\xaa\x00\x01", "52:54:00:aa:00:01", soon, "nas-os"),
        Lease(4, "192.0.2.9", b"\x01RT\x00\xcc\x00\x01", "52:54:00:cc:00:01", now + 2 * HOUR + 30, None),
        Lease(4, "192.0.2.100", b"\x01RT\x00\x00\x00\x09", "52:54:00:00:00:09", now + 30 * MINUTE + 30, "stranger"),
        Lease(4, "192.0.2.20", b"\x01RT\x00\x00\x00\x02", "52:54:00:00:00:02", now - 5 * MINUTE - 30, None),
        Lease(4, "192.0.2.21", b"\x01RT\x00\x00\x00\x03", "52:54:00:00:00:03", now - HOUR, None, LeaseState.RELEASED),
        Lease(4, "192.0.2.22", b"\x01RT\x00\x00\x00\x04", "52:54:00:00:00:04", now + 20 * HOUR, None,
              LeaseState.DECLINED),
        Lease(4, "192.0.2.23", b"\x01RT\x00\x00\x00\x05", "52:54:00:00:00:05", now + 25, None, LeaseState.OFFERED),
        Lease(6, "2001:db8::100", DUID + (7).to_bytes(4), None, now + 2 * 86400 + 5 * HOUR + 30, None),
        Lease(6, "2001:db8::101", bytes.fromhex("0001000100000001") + (1).to_bytes(4), None, now - 10, None,
              LeaseState.EXPIRED),
    ]


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/state``: leases of both families, local hosts 'nas' (by MAC) and 'v6box' (by DUID)."""
    directory = tmp_path / "state"
    store = SqliteStore(directory / "state.db")
    store.open()
    try:
        asyncio.run(store.put_leases(leases(time.time())))
        inventory = Inventory(store.host_store(), Config())
        inventory.add({"name": "nas", "mac": ["52:54:00:aa:00:01"]})
        inventory.add({"name": "v6box", "duid": DUID.hex(":")})
    finally:
        store.close()
    yield directory


@pytest.fixture(autouse=True)
def no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BOOTWRIGHT_CONFIG", raising=False)


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["leases", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def rows(out: str) -> dict[str, list[str]]:
    """The plain (piped) table by address: every column split on runs of two spaces."""
    lines = out.splitlines()
    assert lines[0].split() == ["address", "mac", "hostname", "host", "state", "expires"]
    table = {}
    for line in lines[1:-1]:
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        table[cells[0]] = cells[1:]
    return table


def test_bound_leases_of_both_families_with_inventory_names(state: Path) -> None:
    code, out, err = run("--state-dir", str(state))
    assert code == 0, err
    table = rows(out)
    assert list(table) == ["192.0.2.9", "192.0.2.10", "192.0.2.100", "2001:db8::100"]  # v4 then v6, numerically
    mac, hostname, host, shown_state, expires = table["192.0.2.10"]
    assert (mac, hostname, host, shown_state) == ("52:54:00:aa:00:01", "nas-os", "nas", "bound")
    assert expires.endswith("(in 3h12m)")
    assert table["192.0.2.100"][:3] == ["52:54:00:00:00:09", "stranger", "-"]  # not in the inventory
    # cfg1 is a config-file host: known only with the config (next test); v6box is found by the DUID of its IA.
    assert table["192.0.2.9"][2] == "-"
    assert table["2001:db8::100"][:4] == ["-", "-", "v6box", "bound"]
    assert table["2001:db8::100"][4].endswith("(in 2d5h)")
    assert out.splitlines()[-1] == "4 bound leases; 5 offered, released, expired or declined (--all shows them)"


def test_config_hosts_name_leases_and_bootwright_config_is_honoured(state: Path, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(SITE)  # state_dir = "state": next to the file, the fixture's store
    code, out, err = run("--config", str(site))
    assert code == 0, err
    assert rows(out)["192.0.2.9"][2] == "cfg1"
    code, env_out, err = run(env={"BOOTWRIGHT_CONFIG": str(site)})
    assert code == 0, err
    assert env_out == out
    # The store was only read: config hosts are matched as serve would load them, not written.
    store = SqliteStore(state / "state.db")
    store.open()
    try:
        assert sorted(r.name for r in store.host_store().transact(lambda tx: tx.hosts())) == ["nas", "v6box"]
    finally:
        store.close()


def test_all_adds_offered_released_expired_and_declined(state: Path) -> None:
    code, out, _ = run("--state-dir", str(state), "--all")
    assert code == 0
    table = rows(out)
    assert len(table) == 9
    states = {address: cells[3] for address, cells in table.items()}
    assert states["192.0.2.20"] == "expired"  # stored as bound, its time ran out: shown as what it is
    assert states["192.0.2.21"] == "released" and states["192.0.2.22"] == "declined"
    assert states["192.0.2.23"] == "offered" and states["2001:db8::101"] == "expired"
    assert table["192.0.2.20"][4].endswith("(expired 5m ago)")
    assert table["192.0.2.21"][4].endswith("(expired 1h0m ago)")
    assert table["192.0.2.22"][4].endswith("(in 19h59m)")
    assert out.splitlines()[-1] == "9 leases (4 bound)"


@pytest.mark.parametrize(("family", "expected"), [("4", {"192.0.2.9", "192.0.2.10", "192.0.2.100"}),
                                                  ("6", {"2001:db8::100"})])
def test_family_filter(state: Path, family: str, expected: set[str]) -> None:
    code, out, _ = run("--state-dir", str(state), "--family", family)
    assert code == 0 and set(rows(out)) == expected


def test_json_lists_objects_with_iso_and_epoch_times(state: Path) -> None:
    code, out, _ = run("--state-dir", str(state), "--json", "--all")
    assert code == 0
    data = json.loads(out)
    assert len(data) == 9
    by_address = {item["address"]: item for item in data}
    nas = by_address["192.0.2.10"]
    assert nas["family"] == 4 and nas["mac"] == "52:54:00:aa:00:01" and nas["hostname"] == "nas-os"
    assert nas["host"] == "nas" and nas["state"] == "bound" and nas["duid"] is None and nas["iaid"] is None
    assert nas["client"] == "01:52:54:00:aa:00:01" and nas["infinite"] is False
    when = datetime.datetime.fromisoformat(nas["expires_iso"])
    assert when.tzinfo is not None and abs(when.timestamp() - nas["expires"]) < 1
    assert nas["expires"] - time.time() == pytest.approx(3 * HOUR + 12 * MINUTE + 30, abs=30)
    v6 = by_address["2001:db8::100"]
    assert v6["family"] == 6 and v6["host"] == "v6box" and v6["duid"] == DUID.hex(":") and v6["iaid"] == 7
    gone = by_address["192.0.2.20"]
    assert gone["state"] == "expired" and gone["stored_state"] == "bound"
    code, out, _ = run("--state-dir", str(state), "--json", "--family", "6")
    assert [item["address"] for item in json.loads(out)] == ["2001:db8::100"]


def test_reads_while_a_server_holds_the_store_open(state: Path) -> None:
    server = SqliteStore(state / "state.db")  # the running server's connection and writer thread
    server.open()
    try:
        asyncio.run(server.put_leases([Lease(4, "192.0.2.50", b"\x01RT\x00\x00\x00\x50", "52:54:00:00:00:50",
                                              time.time() + HOUR, None)]))
        code, out, _ = run("--state-dir", str(state), "--family", "4")
        assert code == 0 and "192.0.2.50" in rows(out)
    finally:
        server.close()


def test_table_on_a_terminal(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(hosts_cli, "out", Console(file=screen, force_terminal=True, width=160, emoji=False,
                                                  highlight=False))
    code, out, _ = run("--state-dir", str(state), "--family", "4")
    assert code == 0
    text = screen.getvalue()
    assert "nas-os" in text and "(in 3h12m)" in text and "192.0.2.100" in text
    assert out.splitlines()[-1].startswith("3 bound leases")


def test_no_state_store_says_where_and_which_flag(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    code, out, err = run("--state-dir", str(missing))
    assert code == 2 and out == ""
    assert f"no state store at {missing / 'state.db'}" in err and "--state-dir" in err
    site = tmp_path / "site.toml"
    site.write_text(SITE)
    code, _, err = run(env={"BOOTWRIGHT_CONFIG": str(site)})
    assert code == 2
    assert f"no state store at {tmp_path / 'state' / 'state.db'} (the state_dir of {site})" in err
    assert "--state-dir" in err and "Traceback" not in err


def test_bad_input_is_exit_2(state: Path, tmp_path: Path) -> None:
    code, _, err = run("--state-dir", str(state), "--family", "5")
    assert code == 2 and "5 is not 4 or 6" in err
    broken = tmp_path / "broken.toml"
    broken.write_text("[boot\n")
    code, _, err = run("--config", str(broken))
    assert code == 2 and str(broken) in err


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (42.9, "42s"), (300, "5m"), (3599, "59m"),
                                               (3 * HOUR + 12 * MINUTE, "3h12m"), (86400 + 4 * HOUR, "1d4h")])
def test_span(seconds: float, text: str) -> None:
    assert span(seconds) == text


def test_expiry_text() -> None:
    now = 1_700_000_000.0
    local = datetime.datetime.fromtimestamp(now + 90).strftime("%Y-%m-%d %H:%M:%S")
    assert expiry_text(now + 90, now) == f"{local} (in 1m)"
    assert expiry_text(now - 300, now).endswith("(expired 5m ago)")
    assert expiry_text(now + 0xFFFFFFFF, now) == "never (infinite lease)"  # BOOTP (RFC 1534 §4)
