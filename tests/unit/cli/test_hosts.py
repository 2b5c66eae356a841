"""``bootwright hosts …`` and ``bootwright boot``: exit codes and messages for people."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootwright.cli.main import app

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SEED003 = str(EXAMPLES / "seed003-home-lab.toml")
runner = CliRunner()


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    def invoke(*args: str, config: str = SEED003) -> tuple[int, str, str]:
        result = runner.invoke(app, [*args, "--config", config, "--state-dir", str(tmp_path)])
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_add_list_show_set_remove(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("hosts", "add", "nas", "--mac", "52:54:00:aa:bb:01", "--ipv4", "192.168.2.14",
                       "--group", "servers", "--var", "role=nas")
    assert code == 0 and "added host nas" in out
    code, out, _ = run("hosts", "list")
    assert code == 0 and "photosmart" in out and "nas" in out and "2 hosts" in out
    code, out, _ = run("hosts", "list", "--json", "--group", "servers")
    assert [h["name"] for h in json.loads(out)] == ["nas"]
    code, out, _ = run("hosts", "set", "nas", "--var", "disk=sda", "--unset", "groups")
    assert code == 0
    code, out, _ = run("hosts", "show", "nas", "--json")
    data = json.loads(out)
    assert data["vars"] == {"role": "nas", "disk": "sda"} and "groups" not in data and data["last_boot"] is None
    code, out, _ = run("hosts", "show", "photosmart")
    assert code == 0 and "config" in out
    code, _, err = run("hosts", "remove", "photosmart")
    assert code == 2 and "defined in the config file" in err
    code, out, _ = run("hosts", "remove", "nas")
    assert code == 0 and "removed host nas" in out
    code, _, err = run("hosts", "show", "nas")
    assert code == 2 and "no host named 'nas'" in err


def test_refused_changes_say_why(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("hosts", "add", "copy", "--mac", "10:60:4B:11:71:34", "--ipv4", "10.0.0.5")
    assert code == 2
    assert "copy' mac: 10:60:4b:11:71:34 is also the MAC of host 'photosmart' (config file)" in err
    assert "10.0.0.5 is outside every subnet4 (192.168.2.0/24)" in err
    code, _, err = run("hosts", "set", "photosmart", "--target", "nope")
    assert code == 2 and "no target or menu named 'nope'" in err
    code, _, err = run("hosts", "add", "x", "--mac", "52:54:00:00:00:01", "--var", "novalue")
    assert code == 2 and "KEY=VALUE" in err


def test_import_and_export(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inc = tmp_path / "xeni.4.dhcp.inc"
    inc.write_text("host xeni {\n\thardware ethernet 52:54:00:00:00:0b;\n\tfixed-address 192.168.2.60;\n}\n"
                   "host broken {\n\thardware ethernet 52:54:00:00:00:0c\n}\n")
    code, _, err = run("hosts", "import", str(inc))
    assert code == 2 and f"{inc}: line 7: missing ';' before '}}'" in err and "nothing was changed" in err
    inc.write_text(inc.read_text().replace("00:0c\n", "00:0c;\n"))
    code, out, _ = run("hosts", "import", str(inc), "--dry-run")
    assert code == 0 and "would add 2" in out
    code, out, _ = run("hosts", "import", str(inc))
    assert code == 0 and "added 2, updated 0" in out
    code, out, _ = run("hosts", "export", "--format", "isc")
    assert "host xeni {\n\thardware ethernet 52:54:00:00:00:0b;\n\tfixed-address 192.168.2.60;\n}" in out
    code, out, _ = run("hosts", "export", "--format", "bind-forward")  # domain from the config's subnet
    assert "$ORIGIN home.kraxel.org." in out and "photosmart\tIN\tA\t192.168.2.53" in out
    target = tmp_path / "hosts"
    code, _, _ = run("hosts", "export", "--format", "hosts", "--out", str(target))
    assert code == 0 and "192.168.2.60\txeni.home.kraxel.org\txeni" in target.read_text()
    code, _, err = run("hosts", "export", "--format", "bind-reverse", "--network", "192.168.2.0/25")
    assert code == 2 and "/8, /16 or /24" in err


def test_boot_once(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "site.toml"
    config.write_text((EXAMPLES / "seed003-home-lab.toml").read_text() + '\n[targets.rescue]\nkernel = "r/vmlinuz"\n')
    code, out, _ = run("boot", "photosmart", "--target", "rescue", "--once", config=str(config))
    assert code == 0 and "next boot is rescue (once; state pending)" in out
    code, out, _ = run("hosts", "show", "photosmart", config=str(config))
    assert "rescue once: pending" in out
    code, out, _ = run("hosts", "list", config=str(config))
    assert "rescue: pending" in out
    code, out, _ = run("boot", "photosmart", "--cancel", config=str(config))
    assert "cancelled" in out
    code, _, err = run("boot", "photosmart", "--target", "nope", "--once", config=str(config))
    assert code == 2 and "no target or menu named 'nope'" in err
    code, _, err = run("boot", "ghost", "--target", "rescue", "--once", config=str(config))
    assert code == 2 and "no host named 'ghost'" in err
    code, out, _ = run("boot", "photosmart", "--target", "rescue", config=str(config))
    assert code == 0 and "boots rescue from now on" in out


def test_export_to_a_missing_directory_or_a_directory_says_so(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Like a shell redirection: the directory is not created, and the message names it (no internal error)."""
    missing = tmp_path / "no" / "such"
    code, _, err = run("hosts", "export", "--out", str(missing / "hosts.conf"))
    assert code == 2 and f"cannot write {missing / 'hosts.conf'}: the directory {missing} does not exist" in err
    assert not missing.exists()
    code, _, err = run("hosts", "export", "--out", str(tmp_path))
    assert code == 2 and "it is a directory" in err


def test_import_sync_dry_run_json_and_per_host_options(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    inc = tmp_path / "home.4.dhcp.inc"
    inc.write_text("group {\n\toption domain-name-servers 192.168.2.10;\n"
                   "\thost nas { hardware ethernet 52:54:00:aa:bb:01; fixed-address 192.168.2.14; }\n"
                   "\thost pi { hardware ethernet b8:27:eb:00:00:01; fixed-address 192.168.2.108; }\n}\n")
    code, out, _ = run("hosts", "add", "laptop", "--mac", "52:54:00:00:00:99", "--option", "routers=192.168.2.1",
                       "--option", "42=192.168.2.10")
    assert code == 0
    code, out, _ = run("hosts", "import", str(inc), "--sync")
    assert code == 0 and out.startswith(f"{inc}: added 2, updated 0, removed 0, unchanged 0 (isc format, sync)")
    inc.write_text(inc.read_text().replace("\thost pi { hardware ethernet b8:27:eb:00:00:01; fixed-address "
                                           "192.168.2.108; }\n", "").replace("192.168.2.10;", "192.168.2.11;"))
    code, out, _ = run("hosts", "import", str(inc), "--sync", "--dry-run", "--json")
    data = json.loads(out)
    assert (data["updated"], data["removed"], data["dry_run"], data["origin"]) == (["nas"], ["pi"], True, str(inc))
    code, out, _ = run("hosts", "import", str(inc), "--sync")
    assert code == 0 and "added 0, updated 1, removed 1, unchanged 0" in out
    code, out, _ = run("hosts", "list", "--json")
    shown = {h["name"]: h for h in json.loads(out)}
    assert sorted(shown) == ["laptop", "nas", "photosmart"]  # the hand-made host was not touched
    assert shown["nas"]["options"] == {"6": "192.168.2.11"} and shown["nas"]["origin"] == str(inc)
    assert shown["laptop"]["options"] == {"3": "192.168.2.1", "42": "192.168.2.10"}
    code, _, _ = run("hosts", "set", "laptop", "--option", "42=", "--option", "6=192.168.2.10")
    code, out, _ = run("hosts", "show", "laptop")
    assert code == 0 and "options  3=192.168.2.1, 6=192.168.2.10" in out
    code, out, _ = run("hosts", "export", "--format", "isc")
    assert "\toption routers 192.168.2.1;\n\toption domain-name-servers 192.168.2.10;" in out
    code, _, err = run("hosts", "set", "laptop", "--option", "6=not-an-address")
    assert code == 2 and "options: 6: option 6 (domain-name-servers)" in err
    code, _, err = run("hosts", "set", "laptop", "--option", "no-such-option=1")
    assert code == 2 and "unknown DHCPv4 option" in err
    bad = tmp_path / "bad.inc"
    bad.write_text("host a { hardware ethernet 52:54:00:00:00:01 }\nhost b { fixed-address 10.9.9.9; }\n"
                   "host nas { hardware ethernet 52:54:00:aa:bb:01; }\n")
    code, out, err = run("hosts", "import", str(bad), "--sync")
    assert code == 2 and "nothing was changed" in err
    lines = [line.strip() for line in err.splitlines()[1:]]
    assert lines[0].startswith(f"{bad}: line 1: missing ';' before '}}'")
    assert lines[1].startswith(f"host 'b' ({bad} line 2) ipv4: 10.9.9.9 is outside every subnet4")
    assert lines[2].startswith(f"host 'b' ({bad} line 2): a host needs a 'mac' or a 'duid'")
    assert lines[3].startswith(f"{bad}: line 3: host 'nas' was imported from {inc}")
    code, _, err = run("hosts", "import", "-", "--sync")
    assert code == 2 and "--origin" in err  # standard input has no name to own hosts by
