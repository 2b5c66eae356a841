"""BMCs in host records: the stored form keeps the secret, the shown form says only ``password_set``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bootwright.config import Config, load_config, parse_config
from bootwright.inventory import Inventory, InventoryError
from bootwright.inventory.records import (
    PASSWORD_SET,
    HostInputError,
    bmc_to_dict,
    host_from_dict,
    host_to_dict,
    keep_bmc_secret,
    shown_record,
)
from bootwright.model import Bmc, Host
from bootwright.store.sqlite import SqliteStore

BASE = """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[targets.local]
exit = true
"""
CONFIG_HOST = """
[[host]]
name = "web1"
mac = "52:54:00:00:00:01"
ipv4 = "192.0.2.11"
bmc = { driver = "ipmi", address = "10.0.0.1", username = "admin", password = "from-the-file" }
"""
SECRET = "s3cret-Pa55"
IPMI = {"driver": "ipmi", "address": "10.0.0.5", "username": "admin", "password": SECRET}


def config(extra: str = CONFIG_HOST) -> Config:
    return parse_config(BASE + extra, "site.toml")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "state.db")
    s.open()
    yield s
    s.close()


@pytest.fixture
def inv(store: SqliteStore) -> Inventory:
    inventory = Inventory(store.host_store(), config())
    inventory.sync_config(inventory.config)
    return inventory


def add_db1(inv: Inventory, bmc: dict[str, Any] | None = None) -> None:
    inv.add({"name": "db1", "mac": "52:54:00:00:00:02", "ipv4": "192.0.2.12", "bmc": bmc or IPMI})


# --------------------------------------------------------------------------- pure records


@pytest.mark.parametrize(
    "bmc",
    [
        {"driver": "ipmi", "address": "10.0.0.5"},
        {"driver": "ipmi", "address": "10.0.0.5", "port": 6230, "username": "admin", "password": SECRET,
         "cipher_suite": 17},
        {"driver": "ipmi", "address": "10.0.0.5", "password_file": "/etc/bootwright/db1.pw"},
        {"driver": "redfish", "address": "https://10.0.0.6:8443", "password_env": "BMC_PW",
         "system": "/redfish/v1/Systems/1", "verify_tls": False},
    ],
)
def test_host_records_with_a_bmc_round_trip(bmc: dict[str, Any]) -> None:
    record = {"name": "db1", "mac": ["52:54:00:00:00:02"], "bmc": bmc}
    host = host_from_dict(record)
    assert host.bmc is not None and host.bmc.driver == bmc["driver"]
    assert host_to_dict(host) == record  # keys at their default are left out, secrets are kept (stored form)
    assert host_from_dict(host_to_dict(host)) == host
    assert json.loads(json.dumps(host_to_dict(host))) == record  # the store keeps it as JSON


def test_bmc_to_dict_leaves_out_defaults_and_the_ipmi_cipher_suite_of_redfish() -> None:
    assert bmc_to_dict(Bmc(driver="ipmi", address="h")) == {"driver": "ipmi", "address": "h"}
    assert bmc_to_dict(Bmc(driver="ipmi", address="h", cipher_suite=17, verify_tls=True)) == {
        "driver": "ipmi", "address": "h", "cipher_suite": 17}
    # A Redfish BMC with a non-default cipher_suite (only possible in the model) does not write the IPMI key.
    assert bmc_to_dict(Bmc(driver="redfish", address="h", cipher_suite=17)) == {"driver": "redfish", "address": "h"}


def test_a_host_without_a_bmc_has_no_bmc_key() -> None:
    host = host_from_dict({"name": "x", "mac": "52:54:00:00:00:09"})
    assert host.bmc is None and "bmc" not in host_to_dict(host)
    assert shown_record(host_to_dict(host)) == host_to_dict(host)


@pytest.mark.parametrize(
    ("bmc", "password_set"),
    [
        ({"driver": "ipmi", "address": "h", "password": SECRET}, True),
        ({"driver": "ipmi", "address": "h", "password_file": "/etc/pw"}, True),
        ({"driver": "ipmi", "address": "h", "password_env": "PW"}, True),
        ({"driver": "ipmi", "address": "h"}, False),
        ({"driver": "ipmi", "address": "h", "password": ""}, False),  # an empty password is no secret
    ],
)
def test_the_shown_record_hides_the_password(bmc: dict[str, Any], password_set: bool) -> None:
    record = {"name": "db1", "mac": ["52:54:00:00:00:02"], "bmc": bmc}
    shown = shown_record(record)
    assert "password" not in shown["bmc"] and shown["bmc"][PASSWORD_SET] is password_set
    assert SECRET not in json.dumps(shown)
    # The sources that are not secret themselves stay visible.
    for key in ("password_file", "password_env"):
        if key in bmc:
            assert shown["bmc"][key] == bmc[key]
    assert record["bmc"] is bmc and PASSWORD_SET not in bmc  # the stored record is left alone


def test_a_shown_record_sent_back_parses() -> None:
    record = {"name": "db1", "mac": ["52:54:00:00:00:02"], "bmc": IPMI}
    shown = shown_record(record)
    host = host_from_dict(shown)  # password_set is read-only: dropped, not an unknown key
    assert host.bmc is not None and host.bmc.password is None and host.bmc.username == "admin"
    assert shown["bmc"][PASSWORD_SET] is True  # the caller's dict is left alone
    with pytest.raises(HostInputError) as info:
        host_from_dict({**record, "bmc": {**IPMI, "password_sett": True}})
    assert [p.path for p in info.value.problems] == ["bmc.password_sett"]


def test_keep_bmc_secret() -> None:
    current = {"name": "db1", "bmc": IPMI}
    # A bmc naming no password source keeps the stored one; password_set goes.
    kept = keep_bmc_secret(current, {"bmc": {"driver": "ipmi", "address": "10.0.0.7", PASSWORD_SET: True}})
    assert kept == {"bmc": {"driver": "ipmi", "address": "10.0.0.7", "password": SECRET}}
    # Any source given replaces every stored one.
    assert keep_bmc_secret(current, {"bmc": {"driver": "ipmi", "address": "h", "password_env": "PW"}}) == {
        "bmc": {"driver": "ipmi", "address": "h", "password_env": "PW"}}
    assert keep_bmc_secret(current, {"bmc": {"driver": "ipmi", "address": "h", "password": "new"}}) == {
        "bmc": {"driver": "ipmi", "address": "h", "password": "new"}}
    # Nothing stored, no bmc in the change, or the bmc removed: unchanged.
    assert keep_bmc_secret({"name": "db1"}, {"bmc": {"driver": "ipmi", "address": "h"}}) == {
        "bmc": {"driver": "ipmi", "address": "h"}}
    assert keep_bmc_secret(current, {"target": "local"}) == {"target": "local"}
    assert keep_bmc_secret(current, {"bmc": None}) == {"bmc": None}


# --------------------------------------------------------------------------- through the inventory (SQLite)


def test_added_hosts_keep_the_password_and_never_show_it(inv: Inventory) -> None:
    add_db1(inv)
    view = inv.view("db1")
    assert view.host.bmc is not None and view.host.bmc.password == SECRET  # what the BMC driver gets
    shown = view.to_dict()
    assert shown["bmc"] == {"driver": "ipmi", "address": "10.0.0.5", "username": "admin", PASSWORD_SET: True}
    assert SECRET not in json.dumps(shown, default=str)
    assert all(SECRET not in json.dumps(v.to_dict(), default=str) for v in inv.views())


def test_a_shown_record_sent_back_keeps_the_stored_password(inv: Inventory) -> None:
    add_db1(inv)
    shown = inv.view("db1").to_dict()["bmc"]
    changed = inv.update("db1", {"bmc": {**shown, "username": "operator"}})
    assert changed.host.bmc is not None
    assert (changed.host.bmc.username, changed.host.bmc.password) == ("operator", SECRET)
    assert changed.to_dict()["bmc"][PASSWORD_SET] is True
    # Once more, read back and sent again unchanged: still the same password.
    again = inv.update("db1", {"bmc": inv.view("db1").to_dict()["bmc"]})
    assert again.host.bmc is not None and again.host.bmc.password == SECRET
    # A change of another key leaves the BMC alone.
    other = inv.update("db1", {"target": "local"})
    assert other.host.bmc is not None and other.host.bmc.password == SECRET


def test_a_new_secret_replaces_the_stored_one(inv: Inventory) -> None:
    add_db1(inv)
    new = inv.update("db1", {"bmc": {"driver": "ipmi", "address": "10.0.0.5", "password": "rotated"}})
    assert new.host.bmc is not None and new.host.bmc.password == "rotated"
    env = inv.update("db1", {"bmc": {"driver": "ipmi", "address": "10.0.0.5", "password_env": "DB1_BMC"}})
    assert env.host.bmc is not None
    assert (env.host.bmc.password, env.host.bmc.password_file, env.host.bmc.password_env) == (None, None, "DB1_BMC")
    assert env.to_dict()["bmc"] == {"driver": "ipmi", "address": "10.0.0.5", "password_env": "DB1_BMC",
                                    PASSWORD_SET: True}
    # Two sources at once are refused, whatever is stored.
    with pytest.raises(InventoryError) as info:
        inv.update("db1", {"bmc": {"driver": "ipmi", "address": "h", "password": "a", "password_env": "B"}})
    assert "give one of password, password_file, password_env" in str(info.value.problems)
    # The BMC removed: no secret left anywhere.
    gone = inv.update("db1", {"bmc": None})
    assert gone.host.bmc is None and "bmc" not in gone.to_dict()


def test_changing_the_driver_does_not_carry_the_old_password_over(inv: Inventory) -> None:
    add_db1(inv)
    new = inv.update("db1", {"bmc": {"driver": "redfish", "address": "https://10.0.0.9"}})
    assert new.host.bmc is not None and new.host.bmc.driver == "redfish"
    assert new.host.bmc.password is None


def test_config_hosts_keep_the_file_password_when_their_shown_bmc_comes_back(inv: Inventory) -> None:
    shown = inv.view("web1").to_dict()
    assert shown["bmc"] == {"driver": "ipmi", "address": "10.0.0.1", "username": "admin", PASSWORD_SET: True}
    assert "from-the-file" not in json.dumps(shown, default=str)
    # Sent back unchanged: same as the file, so no override is kept at all.
    same = inv.update("web1", {"bmc": shown["bmc"]})
    assert not same.overrides
    assert same.host.bmc is not None and same.host.bmc.password == "from-the-file"
    # A changed username is an override that still carries the file's password.
    changed = inv.update("web1", {"bmc": {**shown["bmc"], "username": "operator"}})
    assert sorted(changed.overrides) == ["bmc"]
    assert changed.host.bmc is not None
    assert (changed.host.bmc.username, changed.host.bmc.password) == ("operator", "from-the-file")
    # A resync with the same file keeps the override and its password.
    inv.sync_config(config())
    view = inv.view("web1")
    assert view.host.bmc is not None and (view.host.bmc.username, view.host.bmc.password) == (
        "operator", "from-the-file")


def test_a_relative_password_file_in_a_record_is_kept_as_given(inv: Inventory) -> None:
    """Records (API, import) are not rebased: a relative path means the server's working directory."""
    add_db1(inv, {"driver": "ipmi", "address": "10.0.0.5", "password_file": "secrets/db1.pw"})
    bmc = inv.view("db1").host.bmc
    assert bmc is not None and bmc.password_file == "secrets/db1.pw"
    assert inv.view("db1").to_dict()["bmc"]["password_file"] == "secrets/db1.pw"


def test_a_relative_password_file_of_a_config_host_is_stored_absolute(tmp_path: Path, store: SqliteStore) -> None:
    """The config file rebases it next to itself before the host reaches the store."""
    etc = tmp_path / "etc"
    etc.mkdir()
    path = etc / "site.toml"
    path.write_text(BASE + CONFIG_HOST.replace('password = "from-the-file"', 'password_file = "pw/web1"'))
    cfg = load_config(path)
    inventory = Inventory(store.host_store(), cfg)
    inventory.sync_config(cfg)
    view = inventory.view("web1")
    assert view.host.bmc is not None and view.host.bmc.password_file == str(etc / "pw" / "web1")
    assert view.to_dict()["bmc"] == {"driver": "ipmi", "address": "10.0.0.1", "username": "admin",
                                     "password_file": str(etc / "pw" / "web1"), PASSWORD_SET: True}
    # Sending the shown record back keeps the absolute path (and no override).
    same = inventory.update("web1", {"bmc": view.to_dict()["bmc"]})
    assert same.host.bmc is not None and same.host.bmc.password_file == str(etc / "pw" / "web1")
    assert not same.overrides


def test_the_host_model_keeps_the_bmc(inv: Inventory) -> None:
    add_db1(inv)
    [db1] = [h for h in inv.hosts() if h.name == "db1"]
    assert db1 == Host("db1", macs=("52:54:00:00:00:02",), ipv4="192.0.2.12",
                       bmc=Bmc(driver="ipmi", address="10.0.0.5", username="admin", password=SECRET))
    assert SECRET not in repr(db1)
