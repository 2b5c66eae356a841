"""The ``[api]`` model: anonymous read networks and ``[[api.user]]`` (names, roles, password hashes)."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootwright.cli.main import app
from bootwright.config import ConfigError, parse_config
from bootwright.wire.passhash import PasswordHash

GOOD = PasswordHash.make("a-long-password", b"0123456789abcdef", n=1024).encode()


def test_defaults_read_anonymously_from_loopback_only_and_have_no_users() -> None:
    api = parse_config("").api
    assert api.anonymous_read_networks == [ip_network("127.0.0.0/8"), ip_network("::1/128")]
    assert api.user == []


def test_users_with_roles() -> None:
    cfg = parse_config(f'[api]\nanonymous_read_networks = []\n\n[[api.user]]\nname = "ops"\n'
                       f'password_hash = "{GOOD}"\nrole = "admin"\n\n[[api.user]]\nname = "viewer@example"\n'
                       f'password_hash = "{GOOD}"\n')
    assert [(u.name, u.role) for u in cfg.api.user] == [("ops", "admin"), ("viewer@example", "read")]
    assert cfg.api.anonymous_read_networks == []
    assert GOOD not in repr(cfg.api.user[0])  # kept out of reprs and tracebacks


@pytest.mark.parametrize(
    ("table", "path", "says"),
    [
        ('name = "ops"\npassword_hash = "hunter2"', "api.user[0].password_hash", "not a password hash"),
        ('name = "ops"\npassword_hash = "scrypt$3$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"',
         "api.user[0].password_hash", "power of two"),
        (f'name = "ops"\npassword_hash = "{GOOD}"\nrole = "root"', "api.user[0].role", "'admin' or 'read'"),
        (f'name = "o p s"\npassword_hash = "{GOOD}"', "api.user[0].name", "pattern"),
        ('name = "ops"', "api.user[0].password_hash", "Field required"),
        (f'name = "ops"\npassword = "{GOOD}"', "api.user[0].password", "unknown key"),
    ],
)
def test_bad_users_name_the_key_path_and_line(table: str, path: str, says: str) -> None:
    text = f'[api]\nenabled = true\n\n[[api.user]]\n{table}\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, "site.toml")
    shown = info.value.render()
    key = path.rsplit(".", 1)[-1]
    line = next((i for i, written in enumerate(text.splitlines(), 1) if written.startswith(f"{key} =")), 4)  # or the table
    assert f"site.toml:{line}: {path}: " in shown, shown
    assert says in shown, shown
    assert "hunter2" not in shown  # a password pasted into password_hash is never echoed


def test_duplicate_user_names_are_refused() -> None:
    text = f'[[api.user]]\nname = "ops"\npassword_hash = "{GOOD}"\n\n[[api.user]]\nname = "ops"\npassword_hash = "{GOOD}"\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, "site.toml")
    assert "site.toml:6: api.user[1].name: 'ops' is also api.user[0]" in info.value.render()


def test_check_reports_a_bad_hash_with_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[[api.user]]\nname = "ops"\npassword_hash = "scrypt$1024$8$1$!!$AAAA"\nrole = "admin"\n')
    result = CliRunner().invoke(app, ["check", "-c", str(path), "--state-dir", str(tmp_path / "state")])
    err = result.stderr.replace("\n", "")
    assert result.exit_code == 2 and f"{path}:3: api.user[0].password_hash: not a password hash: the salt" in err
    assert "hash-password" in err and "Traceback" not in err
