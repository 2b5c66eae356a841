"""``[tftp] remap_file``: tftpd-hpa's ``-m`` file beside the inline rules, its errors with file and line.

The behaviour of the rules against the real ``in.tftpd -m`` is
``tests/interop/test_tftp_remap.py``; here: how the table is put together,
where a problem is reported (``serve``, ``check``, a reload), and that a
reload reads the file again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bootwright.boot.policy import BootPolicy
from bootwright.cli.main import app
from bootwright.config import parse_config, read_config
from bootwright.engine.tftp.paths import PathRefused, RemapSyntaxError, apply_remap, parse_remap_rules
from bootwright.net.tftp.remap import load_rules, remap_problems
from bootwright.net.tftp.service import TftpService
from tests import helpers

CONFIG = """
[server]
interfaces = ["lo"]
[dhcp4]
enabled = false
[dhcp6]
enabled = false
[http]
enabled = false
[tftp]
port = 16969
remap = ["r ^/tftpboot/"]        # no replacement: the prefix goes
remap_file = "tftp-rules"
"""


def _site(tmp_path: Path, rules: str) -> Path:
    (tmp_path / "tftp-rules").write_text(rules)
    config = tmp_path / "site.toml"
    config.write_text(CONFIG)
    return config


def test_every_bad_line_is_named_with_its_file() -> None:
    text = "r ^a b\nx ^c d   # an unknown flag\n\nra ^e\nr ^(f g\n"
    with pytest.raises(RemapSyntaxError) as info:
        parse_remap_rules(text, "/tftpboot/tftp-rules")
    assert info.value.problems == (
        "/tftpboot/tftp-rules:2: invalid flag 'x' (flags: r g i e s a ~ 4 6 G P)",
        "/tftpboot/tftp-rules:4: flags 'r' and 'a' conflict",
        "/tftpboot/tftp-rules:5: bad regex '^(f': missing ), unterminated subpattern at position 1",
    )
    assert str(info.value).endswith("(and 2 more)")


def test_the_file_follows_the_inline_rules_as_one_table(tmp_path: Path) -> None:
    config = read_config(_site(tmp_path, "# seed 004\nrs ^boot/ \na \\.key$ No\\ keys\n")).config
    assert config.tftp.remap_file == tmp_path / "tftp-rules"  # relative: next to the config file
    rules = load_rules(config.tftp)
    assert [r.where for r in rules] == ["remap line 1", f"{tmp_path}/tftp-rules:2", f"{tmp_path}/tftp-rules:3"]
    assert apply_remap(rules, "/tftpboot/boot/pxelinux.0") == "pxelinux.0"
    with pytest.raises(PathRefused) as refused:  # an 's' rule of the file restarts at the inline rules
        apply_remap(rules, "boot/a.key")
    assert refused.value.client_message == "No keys" and refused.value.reason == f"refused by {tmp_path}/tftp-rules:3"
    with pytest.raises(PathRefused) as bare:
        apply_remap(parse_remap_rules("a ^secret/"), "secret/x")
    assert bare.value.client_message == "Access denied"  # what in.tftpd sends for an 'a' rule without a message


def test_problems_for_check_and_serve(tmp_path: Path) -> None:
    config = read_config(_site(tmp_path, "r ^a b\nq ^b c\n")).config
    [problem] = remap_problems(config)
    assert (problem.path, problem.message) == ("tftp.remap_file", f"{tmp_path}/tftp-rules:2: invalid flag 'q'"
                                               " (flags: r g i e s a ~ 4 6 G P)")  # fmt: skip
    missing = config.model_copy(update={"tftp": config.tftp.model_copy(update={"remap_file": tmp_path / "nope"})})
    assert [p.message for p in remap_problems(missing)] == [f"cannot read {tmp_path}/nope: No such file or directory"]
    inline = parse_config('[tftp]\nremap = ["r ^a b", "x ^b"]\n')
    assert [str(p) for p in remap_problems(inline)] == [
        "tftp.remap: remap line 2: invalid flag 'x' (flags: r g i e s a ~ 4 6 G P)"
        " (the rules are listed one per string: line N is the Nth)"
    ]
    off = parse_config('[tftp]\nenabled = false\nremap = ["x"]\n')
    assert remap_problems(off) == []
    rt = helpers.make_runtime(tmp_path, config, root=tmp_path)
    with pytest.raises(Exception, match=rf"\[tftp\] remap_file: {tmp_path}/tftp-rules:2: invalid flag 'q'"):
        TftpService(rt)


def test_check_names_the_file_and_line(tmp_path: Path) -> None:
    config = _site(tmp_path, "r ^a b\n\nr ^(x y\n")
    done = CliRunner().invoke(app, ["check", "--config", str(config), "--root", str(tmp_path),
                                    "--state-dir", str(tmp_path / "state")])  # fmt: skip
    assert done.exit_code != 0
    text = " ".join(done.stderr.split())
    assert f"tftp.remap_file: {tmp_path}/tftp-rules:3: bad regex '^(x'" in text


def test_a_reload_reads_the_file_again(tmp_path: Path) -> None:
    config_path = _site(tmp_path, "r ^old$ new\n")
    config = read_config(config_path).config
    rt = helpers.make_runtime(tmp_path, config, root=tmp_path)
    service = TftpService(rt)
    assert apply_remap(service.remap, "old") == "new"
    (tmp_path / "tftp-rules").write_text("r ^old$ newer\n")
    rt.policy = BootPolicy.from_config(config)  # what SIGHUP or an edited config file does
    service._current()
    assert apply_remap(service.remap, "old") == "newer"
    (tmp_path / "tftp-rules").write_text("z ^old$ broken\n")
    rt.policy = BootPolicy.from_config(config)
    service._current()  # logged; the previous table stays in force
    assert apply_remap(service.remap, "old") == "newer"
