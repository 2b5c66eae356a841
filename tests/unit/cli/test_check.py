"""``bootwright check``: the validation serve and reload run, with the inventory, every problem at once."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bootwright.cli.main import app

runner = CliRunner()

SITE = """
[[subnet4]]
subnet = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.199"]

[targets.local]
exit = true

[targets.inst]
kernel = "inst/vmlinuz"
"""


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr.replace("\n", "")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


def test_an_unknown_option_name_fails_check_with_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, SITE.replace('pools = ["192.0.2.100-192.0.2.199"]\n',
                                        'pools = ["192.0.2.100-192.0.2.199"]\noptions = { "abc" = "y" }\n'))
    code, _, err = run("check", "-c", str(path), "--state-dir", str(tmp_path / "state"))
    assert code == 2 and f"{path}:5: subnet4[0].options.abc: 'abc' is not an option code" in err
    code, _, err = run("explain", "-c", str(path), "--family", "4", "--mac", "52:54:00:00:00:01")
    assert code == 2 and "internal error" not in err and "subnet4[0].options.abc" in err


def test_config_hosts_serve_would_reject_fail_check(tmp_path: Path) -> None:
    path = write(tmp_path, SITE + '\n[[host]]\nname = "bad name!"\nmac = "52:54:00:00:00:01"\nipv4 = "192.0.2.255"\n')
    code, _, err = run("check", "-c", str(path), "--state-dir", str(tmp_path))
    assert code == 2 and "host[0].name" in err and "host[0].ipv4: 192.0.2.255 is the network or broadcast" in err


def test_template_arithmetic_is_an_error_not_an_internal_error(tmp_path: Path) -> None:
    path = write(tmp_path, SITE + '\n[targets.bad]\nkernel = "k"\ncmdline = "x={{ 7 // 0 }}"\n'
                 '\n[targets.big]\nipxe = ["{% for i in range(10**9) %}x{% endfor %}"]\n')
    code, _, err = run("check", "-c", str(path), "--state-dir", str(tmp_path))
    assert code == 2 and "internal error" not in err
    assert f"{path}:14: targets.bad.cmdline: template error: integer division" in err
    assert "targets.big.ipxe[0]" in err


def test_check_reads_the_inventory_and_warns_about_a_stale_host(tmp_path: Path) -> None:
    path = write(tmp_path, SITE)
    state = tmp_path / "state"
    code, _, _ = run("hosts", "add", "stale", "--mac", "52:54:00:00:00:09", "--target", "inst",
                     "-c", str(path), "--state-dir", str(state))
    assert code == 0
    write(tmp_path, SITE.replace('[targets.inst]\nkernel = "inst/vmlinuz"\n', ""))
    code, out, err = run("check", "-c", str(path), "--state-dir", str(state))
    assert code == 0 and "ok" in out
    assert "warning:" in err and "host 'stale' (added through CLI/API)" in err and "no target or menu named 'inst'" in err
    # every hosts command still works, and shows the host as skipped
    code, out, _ = run("hosts", "list", "-c", str(path), "--state-dir", str(state))
    assert code == 0 and "local, skipped" in out and "skipped stale" in out and "1 skipped" in out
    code, out, _ = run("hosts", "list", "--json", "-c", str(path), "--state-dir", str(state))
    [host] = json.loads(out)
    assert host["name"] == "stale" and "no target or menu named 'inst'" in host["skipped"][0]
    code, _, _ = run("hosts", "add", "ok", "--mac", "52:54:00:00:00:08", "-c", str(path), "--state-dir", str(state))
    assert code == 0
    code, _, err = run("hosts", "add", "new", "--mac", "52:54:00:00:00:07", "--target", "inst",
                       "-c", str(path), "--state-dir", str(state))
    assert code == 2 and "no target or menu named 'inst'" in err  # new changes that do not fit: refused
    code, _, _ = run("hosts", "set", "stale", "--target", "local", "-c", str(path), "--state-dir", str(state))
    assert code == 0
    code, _, err = run("check", "-c", str(path), "--state-dir", str(state))
    assert code == 0 and "warning" not in err


def test_check_never_creates_a_state_store(tmp_path: Path) -> None:
    state = tmp_path / "nowhere"
    path = write(tmp_path, f'state_dir = "{state}"\n' + SITE)
    code, _, _ = run("check", "-c", str(path))
    assert code == 0 and not state.exists()


def test_state_dir_inside_root_is_refused_by_check_and_serve(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    path = write(tmp_path, f'root = "{root}"\nstate_dir = "{root / "state"}"\n' + SITE)
    code, _, err = run("check", "-c", str(path))
    assert code == 2 and "state_dir:" in err and "would publish state.db" in err
    path = write(tmp_path, SITE)
    code, _, err = run("serve", "-c", str(path), "--root", str(root), "--state-dir", str(root / "state"))
    assert code == 2 and "would publish state.db" in err and not (root / "state").exists()


def test_the_summary_names_proxy_subnets_and_the_boot_server_port(tmp_path: Path) -> None:
    proxy = SITE.replace('pools = ["192.0.2.100-192.0.2.199"]', 'mode = "proxy"')
    path = write(tmp_path, proxy)
    code, out, _ = run("check", "-c", str(path), "--state-dir", str(tmp_path / "state"))
    assert code == 0, out
    assert "proxyDHCP boot server :4011" in out and "proxy: boot answers only" in out
    assert "pools:" not in out


def test_strict_turns_the_chain_load_loop_warning_into_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, SITE + '\n[[rule]]\nname = "efi"\nmatch = { arch = 7 }\nbootfile = "ipxe.efi"\n')
    code, _, err = run("check", "-c", str(path), "--state-dir", str(tmp_path / "state"))
    assert code == 0 and "warning" in err and "iPXE binary ipxe.efi" in err
    code, _, err = run("check", "-c", str(path), "--state-dir", str(tmp_path / "state"), "--strict")
    assert code == 2 and "error" in err and "iPXE binary ipxe.efi" in err


def test_strict_turns_each_rule_lint_into_an_error(tmp_path: Path) -> None:
    dual = SITE + '\n[[subnet6]]\nprefix = "2001:db8::/64"\n'
    lints = {
        # an earlier final rule matches every client of the later one
        "rule 'efi-ipxe' can never match: rule 'efi' (rule[0], earlier, final)":
            '\n[[rule]]\nname = "efi"\nmatch = { arch = 7 }\nbootfile = "{http}/boot.ipxe"\n'
            '\n[[rule]]\nname = "efi-ipxe"\nmatch = { arch = 7, user_class = "iPXE" }\nscript = "local"\n',
        # an IPv4 literal handed to DHCPv6 clients
        "rule 'all' can answer DHCPv6 clients, but http://192.0.2.1/boot.ipxe names the IPv4 address":
            '\n[[rule]]\nname = "all"\nbootfile = "http://192.0.2.1/boot.ipxe"\n',
        # UEFI HTTP boot without the HTTPClient echo
        "rule 'http' gives UEFI HTTP boot clients {http}/ipxe.efi but sends no vendor class":
            '\n[[rule]]\nname = "http"\nmatch = { arch = 16 }\nbootfile = "{http}/ipxe.efi"\n',
    }
    for needle, rules in lints.items():
        path = write(tmp_path, dual + rules)
        code, _, err = run("check", "-c", str(path), "--state-dir", str(tmp_path / "state"))
        assert code == 0 and f"warning: {path}:" in err and needle in err, err
        code, _, err = run("check", "-c", str(path), "--state-dir", str(tmp_path / "state"), "--strict")
        assert code == 2 and "error:" in err and needle in err, err


def test_check_finds_boot_files_missing_from_the_root_as_tftp_and_http_resolve_them(tmp_path: Path) -> None:
    root = tmp_path / "root"
    rules = ('\n[[rule]]\nname = "ipxe"\nmatch = { user_class = "iPXE" }\nbootfile = "http://{server}/tftpboot/menu.ipxe"\n'
             '\n[[rule]]\nname = "efi"\nmatch = { arch = 7 }\nbootfile = "ipxe.efi"\n'  # from /usr/lib/ipxe
             '\n[[rule]]\nname = "pxe"\nbootfile = "/tftpboot/pxelinux.0"\n')
    tftp_http = ('\n[tftp]\nremap = ["r ^/tftpboot/ /"]\n'  # tftp-hpa -m: the absolute path under the root
                 '\n[http]\naliases = { "/tftpboot/" = "" }\n')
    path = write(tmp_path, f'root = "{root}"\n' + SITE + tftp_http + rules)
    ipxe = Path("/usr/lib/ipxe/ipxe.efi").is_file()
    code, out, err = run("check", "-c", str(path), "--state-dir", str(tmp_path / "state"))
    assert code == 0 and "boot files" in out and "not checked" in out and "(not a directory)" in out  # said once
    assert "bootfile" not in err
    root.mkdir()
    code, out, err = run("check", "-c", str(path), "--state-dir", str(tmp_path / "state"), "--strict")
    assert code == 2 and "not checked" not in out
    assert f"rule[0].bootfile: rule 'ipxe' boots http://{{server}}/tftpboot/menu.ipxe, but menu.ipxe is not in the " \
           f"HTTP root {root}" in err
    assert f"rule[2].bootfile: rule 'pxe' boots /tftpboot/pxelinux.0, but pxelinux.0 is not in the TFTP root {root}" \
           in err
    assert ("rule 'efi'" in err) is not ipxe
    (root / "menu.ipxe").write_text("#!ipxe\n")
    (root / "pxelinux.0").write_bytes(b"\0")
    (root / "ipxe.efi").write_bytes(b"\0")
    code, _, err = run("check", "-c", str(path), "--state-dir", str(tmp_path / "state"), "--strict")
    assert code == 0 and "bootfile" not in err, err
