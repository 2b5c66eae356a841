"""``bootwright explain`` with the new client facts: relay ids, client id, iPXE features; ignore; pools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bootwright.cli.main import app

CONFIG = """
[server]
address4 = "192.0.2.1"
address6 = "2001:db8::1"

[boot]
builtin = false

[[subnet4]]
subnet = "192.0.2.0/24"
pools = [{ start = "192.0.2.10", end = "192.0.2.19", allow = ["known"] },
         { start = "192.0.2.20", end = "192.0.2.29", allow = ["rule:secure"] }]

[[subnet6]]
prefix = "2001:db8::/64"
pools = [{ start = "2001:db8::100", end = "2001:db8::1ff", allow = ["rule:port"] }]

[[rule]]
name = "quiet"
match = { client_id = "01:52:54:00:ee:00:01" }
ignore = true

[[rule]]
name = "port"
match = { circuit_id = "eth0/1", remote_id = "00:0a" }
final = false

[[rule]]
name = "secure"
match = { ipxe_feature = ["https"] }
bootfile = "https://boot.example/x.ipxe"

[[rule]]
name = "all"
bootfile = "plain.0"
"""


def explain(tmp_path: Path, *flags: str) -> tuple[dict[str, Any], str]:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    base = ["explain", "--config", str(path), "--state-dir", str(tmp_path / "state")]
    result = CliRunner().invoke(app, [*base, *flags, "--json"])
    assert result.exit_code == 0, result.output
    text = CliRunner().invoke(app, [*base, *flags])
    return json.loads(result.stdout), text.stdout


def test_ignored_client(tmp_path: Path) -> None:
    data, text = explain(tmp_path, "--family", "4", "--mac", "52:54:00:ee:00:01", "--client-id", "01:52:54:00:ee:00:01")
    assert (data["reply"], data["rule"], data["ignored"], data["pools"]) == (None, "quiet", True, None)
    assert "none — ignored by rule 'quiet'" in text


def test_ipxe_feature_opens_a_pool(tmp_path: Path) -> None:
    data, text = explain(tmp_path, "--family", "4", "--mac", "52:54:00:00:00:09", "--ipxe-feature", "https")
    assert (data["rule"], data["address"], data["pools"]) == ("secure", "192.0.2.20", ["192.0.2.20-192.0.2.29"])
    assert data["matched_rules"] == ["secure", "all"] and not data["ignored"]
    none, text = explain(tmp_path, "--family", "4", "--mac", "52:54:00:00:00:09")
    assert (none["reply"], none["pools"]) == (None, [])
    assert "no pool allows this client" in text


def test_v6_relay_ids(tmp_path: Path) -> None:
    flags = ["--family", "6", "--mac", "52:54:00:00:00:09", "--relay", "2001:db8::fe", "--circuit-id", "eth0/1"]
    data, _ = explain(tmp_path, *flags, "--remote-id", "00:0a")
    assert data["matched_rules"] == ["port", "all"] and data["address"] is not None
    assert data["pools"] == ["2001:db8::100-2001:db8::1ff"]
    other, _ = explain(tmp_path, *flags, "--remote-id", "00:0b")
    assert other["matched_rules"] == ["all"] and other["address"] is None and other["pools"] == []


@pytest.mark.parametrize(("flags", "words"), [
    (["--family", "4", "--circuit-id", "x"], "give --relay too"),
    (["--family", "4", "--ipxe-feature", "warp"], "unknown iPXE feature 'warp'"),
    (["--family", "6", "--ipxe-feature", "https"], "only in DHCPv4"),
    (["--family", "6", "--client-id", "00:03:00:01:52:54:00:00:00:01", "--duid", "00030001525400000002"], "not both"),
])  # fmt: skip
def test_bad_flags_are_usage_errors(tmp_path: Path, flags: list[str], words: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    result = CliRunner().invoke(app, ["explain", "--config", str(path), "--mac", "52:54:00:00:00:09", *flags])
    assert result.exit_code == 2 and words in " ".join(result.output.split()), result.output
