"""A host's ``bmc = {…}``: accepted and refused tables, password files next to the config file, the model's BMC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bootwright.boot.policy import bmc_from_entry, host_from_entry
from bootwright.config import BmcEntry, ConfigError, load_config, parse_config, read_config
from bootwright.model import Bmc, Host

BASE = """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]
"""


def host_with(bmc: str) -> str:
    return BASE + f'\n[[host]]\nname = "web1"\nmac = "52:54:00:00:00:01"\nbmc = {bmc}\n'


def refusal(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        BmcEntry.model_validate(data)
    return " | ".join(e["msg"] for e in info.value.errors(include_url=False))


@pytest.mark.parametrize(
    "data",
    [
        {"driver": "ipmi", "address": "10.0.0.5"},
        {"driver": "ipmi", "address": "bmc-web1.example.org", "port": 6230, "username": "admin",
         "password_file": "/etc/bootwright/bmc.pw", "cipher_suite": 17},
        {"driver": "ipmi", "address": "fe80::1", "password_env": "BMC_PASSWORD", "cipher_suite": 3},
        {"driver": "ipmi", "address": "10.0.0.5", "password": "s3cret"},
        {"driver": "redfish", "address": "https://10.0.0.6:8443", "username": "root", "verify_tls": False},
        {"driver": "redfish", "address": "http://bmc.example.org/"},
        {"driver": "redfish", "address": "10.0.0.6", "port": 8000, "system": "/redfish/v1/Systems/System.Embedded.1"},
    ],
)
def test_good_bmc_tables_are_accepted(data: dict[str, Any]) -> None:
    entry = BmcEntry.model_validate(data)
    assert entry.driver == data["driver"]
    assert entry.address == data["address"].rstrip("/")


def test_defaults_and_the_trailing_slash_of_a_url() -> None:
    entry = BmcEntry.model_validate({"driver": "redfish", "address": "https://10.0.0.6/"})
    assert entry.address == "https://10.0.0.6"
    assert (entry.port, entry.username, entry.password, entry.password_file, entry.password_env) == (
        None, "", None, None, None)
    assert (entry.system, entry.cipher_suite, entry.verify_tls) == (None, 3, True)


@pytest.mark.parametrize(
    ("data", "needles"),
    [
        # One password source at most: the message names the keys given and says to give one.
        ({"driver": "ipmi", "address": "h", "password": "x", "password_env": "E"},
         ["give one of password, password_file, password_env", "got password, password_env"]),
        ({"driver": "ipmi", "address": "h", "password_file": "/p", "password_env": "E", "password": "x"},
         ["give one of", "got password, password_file, password_env"]),
        # Redfish keys on an IPMI BMC and the other way round.
        ({"driver": "ipmi", "address": "h", "system": "/redfish/v1/Systems/1"},
         ["system is a Redfish setting", "driver is ipmi"]),
        ({"driver": "ipmi", "address": "h", "verify_tls": True}, ["verify_tls is a Redfish setting", "driver is ipmi"]),
        ({"driver": "redfish", "address": "h", "cipher_suite": 3},
         ["cipher_suite is an IPMI setting", "driver is redfish"]),
        # IPMI: no URL; only the cipher suites the driver speaks.
        ({"driver": "ipmi", "address": "https://10.0.0.5"}, ["IPMI BMC address is a host name or address, not a URL"]),
        ({"driver": "ipmi", "address": "h", "cipher_suite": 1}, ["cipher_suite 1 is not supported", "3 and 17"]),
        # Redfish: the system is a Systems path with an id; the port goes into a URL address.
        ({"driver": "redfish", "address": "h", "system": "1"},
         ["system '1' is not a Redfish system path", "like /redfish/v1/Systems/1"]),
        ({"driver": "redfish", "address": "h", "system": "/redfish/v1/Systems/"}, ["is not a Redfish system path"]),
        ({"driver": "redfish", "address": "https://h:8443", "port": 8443},
         ["give the port inside the URL address (https://host:port), not as port"]),
        # The address itself.
        ({"driver": "ipmi", "address": "10.0.0.5 10.0.0.6"}, ["is not a BMC address", "https://10.0.0.5"]),
        ({"driver": "redfish", "address": "https://h/redfish/v1"}, ["is not a BMC address"]),
        ({"driver": "ipmi", "address": ""}, ["is not a BMC address"]),
    ],
)
def test_bad_bmc_tables_say_which_key_and_what_to_do(data: dict[str, Any], needles: list[str]) -> None:
    message = refusal(data)
    for needle in needles:
        assert needle in message, message


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"driver": "libvirt", "address": "h"}, "driver"),
        ({"driver": "ipmi", "address": "h", "port": 0}, "port"),
        ({"driver": "ipmi", "address": "h", "port": 65536}, "port"),
        ({"driver": "ipmi", "address": "h", "colour": "red"}, "colour"),
        ({"driver": "ipmi"}, "address"),
    ],
)
def test_bad_keys_and_types_are_refused_by_key(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        BmcEntry.model_validate(data)
    assert [e["loc"] for e in info.value.errors()] == [(path,)]


def test_refusals_in_a_config_file_name_the_host_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(host_with('{ driver = "ipmi", address = "h", password = "x", password_env = "E" }'), "site.toml")
    [problem] = info.value.problems
    assert problem.path == "host[0].bmc"
    assert "give one of password, password_file, password_env" in problem.message
    with pytest.raises(ConfigError) as info:
        parse_config(host_with('{ driver = "redfish", address = "h", cipher_suite = 17 }'), "site.toml")
    assert "host[0].bmc: cipher_suite is an IPMI setting" in info.value.render()
    with pytest.raises(ConfigError) as info:
        parse_config(host_with('{ driver = "ipmi", address = "h", port = "x" }'), "site.toml")
    assert info.value.problems[0].path == "host[0].bmc.port"


def test_a_relative_password_file_is_next_to_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    config = etc / "site.toml"
    config.write_text(host_with('{ driver = "ipmi", address = "10.0.0.5", password_file = "secrets/web1.pw" }')
                      + '\n[[host]]\nname = "db1"\nmac = "52:54:00:00:00:02"\n'
                      'bmc = { driver = "redfish", address = "10.0.0.6", password_file = "/run/db1.pw" }\n'
                      '\n[[host]]\nname = "nobmc"\nmac = "52:54:00:00:00:03"\n')
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory plays no part
    for cfg in (read_config(config).config, load_config(config), load_config(str(config))):
        web1, db1, nobmc = cfg.host
        assert web1.bmc is not None and web1.bmc.password_file == etc / "secrets" / "web1.pw"
        assert db1.bmc is not None and db1.bmc.password_file == Path("/run/db1.pw")  # absolute: as written
        assert nobmc.bmc is None
    # Without a file there is nothing to be relative to: parse_config keeps the path as written.
    text = host_with('{ driver = "ipmi", address = "10.0.0.5", password_file = "secrets/web1.pw" }')
    entry = parse_config(text).host[0].bmc
    assert entry is not None and entry.password_file == Path("secrets/web1.pw")


def test_relative_paths_through_a_symlinked_config_dir_resolve_to_the_real_directory(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "site.toml").write_text(host_with('{ driver = "ipmi", address = "h", password_file = "pw" }'))
    (tmp_path / "link").symlink_to(real)
    entry = load_config(tmp_path / "link" / "site.toml").host[0].bmc
    assert entry is not None and entry.password_file == real.resolve() / "pw"


def test_bmc_from_entry() -> None:
    entry = BmcEntry.model_validate({"driver": "ipmi", "address": "10.0.0.5", "port": 6230, "username": "admin",
                                     "password_file": "/etc/bmc.pw", "cipher_suite": 17})
    assert bmc_from_entry(entry) == Bmc(driver="ipmi", address="10.0.0.5", port=6230, username="admin",
                                        password_file="/etc/bmc.pw", cipher_suite=17)
    assert isinstance(bmc_from_entry(entry).password_file, str)
    redfish = BmcEntry.model_validate({"driver": "redfish", "address": "https://10.0.0.6", "password": "pw",
                                       "system": "/redfish/v1/Systems/1", "verify_tls": False})
    bmc = bmc_from_entry(redfish)
    assert (bmc.driver, bmc.address, bmc.port, bmc.password, bmc.password_file, bmc.password_env) == (
        "redfish", "https://10.0.0.6", None, "pw", None, None)
    assert (bmc.system, bmc.verify_tls, bmc.has_secret) == ("/redfish/v1/Systems/1", False, True)
    env = bmc_from_entry(BmcEntry.model_validate({"driver": "ipmi", "address": "h", "password_env": "PW"}))
    assert env.password_env == "PW" and env.has_secret
    assert not bmc_from_entry(BmcEntry.model_validate({"driver": "ipmi", "address": "h"})).has_secret


def test_config_hosts_carry_their_bmc_into_the_model() -> None:
    cfg = parse_config(host_with('{ driver = "ipmi", address = "10.0.0.5", username = "admin", password = "pw" }'))
    host = host_from_entry(cfg.host[0])
    assert host.bmc == Bmc(driver="ipmi", address="10.0.0.5", username="admin", password="pw")
    assert host_from_entry(parse_config(BASE + '[[host]]\nname = "x"\nmac = "52:54:00:00:00:09"\n').host[0]).bmc is None


def test_repr_never_shows_the_password() -> None:
    bmc = Bmc(driver="ipmi", address="10.0.0.5", username="admin", password="hunter2-s3cret")
    assert "hunter2-s3cret" not in repr(bmc) and "hunter2-s3cret" not in str(bmc)
    assert "10.0.0.5" in repr(bmc) and "admin" in repr(bmc)
    host = Host("web1", macs=("52:54:00:00:00:01",), bmc=bmc)
    assert "hunter2-s3cret" not in repr(host)
    entry = bmc_from_entry(BmcEntry.model_validate({"driver": "redfish", "address": "h", "password": "hunter2-s3cret"}))
    assert "hunter2-s3cret" not in repr(entry)


def test_repr_of_the_config_table_never_shows_the_password() -> None:
    entry = BmcEntry.model_validate({"driver": "ipmi", "address": "h", "password": "hunter2-s3cret"})
    assert "hunter2-s3cret" not in repr(entry)
