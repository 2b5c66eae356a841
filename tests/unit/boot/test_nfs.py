"""NFS roots (boot/nfs.py): the ``[nfs]`` model and its checks, nfsroot= parsing, which export covers a path,
the warnings ``check`` and ``serve`` give, and the configurations written for NFS-Ganesha and exportfs."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest

from bootwright.boot import nfs
from bootwright.boot.validation import validate
from bootwright.config import ConfigError, parse_config, parse_model

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
# Seed 002's example without its own [nfs] section (and the comment above it): the tests add theirs.
_EXAMPLE = (EXAMPLES / "seed002-showmax.toml").read_text()
SEED002 = re.sub(r"\n(#[^\n]*\n)*\[nfs\]\n(?:[^\[\n][^\n]*\n)*", "\n", _EXAMPLE, count=1)
NFS = '[nfs]\nenabled = true\nexports = [{ path = "gparted" }, { path = "grml", clients = ["198.51.100.0/24"] }]\n'


def seed002(nfs_section: str = NFS) -> str:
    """Seed 002's example with an ``[nfs]`` section."""
    return SEED002.replace("\n[boot]\n", f"\n{nfs_section}\n[boot]\n", 1)


# -- the model -----------------------------------------------------------------------------------------------


def test_nfs_is_off_by_default_and_exports_are_read_only() -> None:
    cfg = parse_config('[nfs]\nexports = [{ path = "showmax" }]\n')
    assert not cfg.nfs.enabled and cfg.nfs.backend == "auto"
    assert cfg.nfs.exports[0].read_only and cfg.nfs.exports[0].clients == []


@pytest.mark.parametrize(
    ("exports", "problem"),
    [
        (
            '[{ path = "/srv/tftp/showmax" }]',
            "nfs.exports[0].path: '/srv/tftp/showmax' is not a directory under the root",
        ),
        ('[{ path = "../etc" }]', "nfs.exports[0].path: '../etc' is not a directory under the root"),
        ('[{ path = "a/../../b" }]', "is not a directory under the root"),
        ('[{ path = "x\\"y" }]', "quotes, backslashes and control characters are not allowed"),
        ('[{ path = "grml" }, { path = "grml/" }]', "nfs.exports[1].path: 'grml/' is also nfs.exports[0]"),
        ("[]", "nfs.exports: NFS is enabled but exports nothing"),
    ],
)
def test_export_paths_stay_under_the_root(exports: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"[nfs]\nenabled = true\nexports = {exports}\n")
    assert problem in caught.value.render()


def test_unknown_keys_and_backends_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"nfs\.backend"):
        parse_model('[nfs]\nbackend = "knfsd"\n')
    with pytest.raises(ConfigError, match=r"nfs.exports.0.squash|exports\[0\]"):
        parse_model('[nfs]\nexports = [{ path = "a", squash = "none" }]\n')


# -- nfsroot= and the exports --------------------------------------------------------------------------------


def test_nfs_roots_of_a_command_line() -> None:
    roots = nfs.nfs_roots(
        "root=/dev/nfs rw nfsroot=local-server:/srv/tftp/grml,vers=3 nfsboot=192.0.2.1:/srv/x ip=dhcp"
    )
    assert [(r.parameter, r.server, r.path) for r in roots] == [
        ("nfsroot", "local-server", "/srv/tftp/grml"),
        ("nfsboot", "192.0.2.1", "/srv/x"),
    ]
    assert roots[0].text == "local-server:/srv/tftp/grml,vers=3"
    (bare,) = nfs.nfs_roots("nfsroot=/srv/nfs/%s")  # nfsroot.rst: the server from DHCP, %s the client's address
    assert bare.server is None and bare.path == "/srv/nfs/%s" and bare.dynamic
    (v6,) = nfs.nfs_roots("nfsroot=[2001:db8::1]:/srv/tftp/grml")
    assert (v6.server, v6.path) == ("2001:db8::1", "/srv/tftp/grml")
    assert nfs.nfs_roots("mynfsroot=x:/y root=/dev/sda") == []
    assert nfs.nfs_roots("nfsroot={{ server }}:/srv/{{ host.name }}")[0].dynamic


def test_exports_resolve_under_the_root_with_their_clients() -> None:
    cfg = parse_config(seed002())
    found = nfs.exports(cfg, "/srv/tftp")
    assert [(e.key, str(e.directory), e.clients) for e in found] == [
        ("nfs.exports[0]", "/srv/tftp/gparted", ("192.0.2.0/24", "2001:db8::/64")),  # the served subnets
        ("nfs.exports[1]", "/srv/tftp/grml", ("198.51.100.0/24",)),
    ]
    alone = parse_config('[nfs]\nenabled = true\nexports = [{ path = "." }]\n')
    (whole,) = nfs.exports(alone, PurePosixPath("/srv/tftp"))
    assert str(whole.directory) == "/srv/tftp" and whole.clients == (nfs.ANY_CLIENT,)


def test_the_nearest_export_covers_a_path() -> None:
    cfg = parse_config('[nfs]\nenabled = true\nexports = [{ path = "live" }, { path = "live/grml" }, { path = "g" }]\n')
    found = nfs.exports(cfg, "/srv/tftp")
    assert nfs.covering(found, "/srv/tftp/live/grml/64").key == "nfs.exports[1]"  # type: ignore[union-attr]
    assert nfs.covering(found, "/srv/tftp/live").key == "nfs.exports[0]"  # type: ignore[union-attr]
    assert nfs.covering(found, "/srv/tftp/gparted") is None  # a name prefix is not a parent
    assert nfs.covering(found, "/srv/tftp") is None


# -- the warnings (check, serve, reload) and explain's text --------------------------------------------------


def test_seed002_warns_for_each_root_while_nfs_is_off() -> None:
    report = validate(parse_config(SEED002), root=PurePosixPath("/srv/tftp"))
    nfs_warnings = [str(w) for w in report.warnings if "NFS is off" in w.message]
    assert [w.split(":")[0] for w in nfs_warnings] == [
        "targets.sysrescd.cmdline", "targets.gparted.cmdline", "targets.grml.cmdline",
    ]  # fmt: skip
    assert all(w.startswith(("targets.",)) and w.count(":") > 1 for w in nfs_warnings)
    assert report.ok  # warnings only: the file is valid


def test_seed002_with_exports_warns_only_for_what_is_not_exported() -> None:
    report = validate(parse_config(seed002()), text=seed002(), root=PurePosixPath("/srv/tftp"))
    found = [p for p in report.warnings if "nfs" in p.message]
    assert [p.path for p in found] == ["targets.sysrescd.cmdline"]
    assert found[0].message == (
        "nfsboot=local-server:/srv/tftp/sysrescd: /srv/tftp/sysrescd is not exported: no nfs.exports entry covers "
        'it (exported: /srv/tftp/gparted, /srv/tftp/grml); add { path = "sysrescd" } to nfs.exports'
    )
    lines = seed002().splitlines()
    assert found[0].line == lines.index("[targets.sysrescd]") + 4  # its cmdline line, for editors


def test_describe_names_the_export_or_why_not() -> None:
    cfg = parse_config(seed002())
    (gparted,) = nfs.nfs_roots(cfg.targets["gparted"].cmdline)
    text, warning = nfs.describe(cfg, "/srv/tftp", gparted)
    assert warning is None
    assert text == ("nfsroot=local-server:/srv/tftp/gparted: nfs.exports[0] (/srv/tftp/gparted, read-only, "
                    "clients 192.0.2.0/24, 2001:db8::/64)")  # fmt: skip
    elsewhere = nfs.nfs_roots("nfsroot=198.51.100.7:/export/root")[0]
    assert nfs.describe(cfg, "/srv/tftp", elsewhere) == (
        "nfsroot=198.51.100.7:/export/root: another server (198.51.100.7), not checked", None,
    )  # fmt: skip
    ours = nfs.nfs_roots("nfsroot=192.0.2.1:/etc")[0]  # server.address4 is ours: checked
    text, warning = nfs.describe(cfg, "/srv/tftp", ours)
    assert warning is not None and "it is outside the root /srv/tftp" in warning
    variant = parse_config(seed002().replace(
        '[targets.grml]', '[targets.grml.variants.efi]\ncmdline = "nfsroot=local-server:/srv/tftp/grml-efi"\n\n[targets.grml]'
    ))  # fmt: skip
    assert ("grml", "targets.grml.variants.efi.cmdline") in {(n, k) for n, k, _ in nfs.target_roots(variant)}


# -- what the NFS servers are told ---------------------------------------------------------------------------


def test_ganesha_config_serves_each_export_at_its_server_path() -> None:
    cfg = parse_config(seed002())
    text = nfs.ganesha_config(nfs.exports(cfg, "/srv/tftp"), "/var/lib/bootwright/nfs/recovery", "site.toml")
    assert text.startswith("# Written by bootwright from site.toml")
    assert "Protocols = 3, 4;" in text and f"NFS_Port = {nfs.NFS_PORT};" in text
    assert "Enable_NLM = false;" in text and 'RecoveryRoot = "/var/lib/bootwright/nfs/recovery";' in text
    blocks = text.split("EXPORT {")[1:]
    assert len(blocks) == 2
    first = blocks[0]
    for line in (
        "Export_Id = 1;",
        'Path = "/srv/tftp/gparted";',
        'Pseudo = "/srv/tftp/gparted";',
        "Transports = TCP;",
        "Name = VFS;",
        "Clients = 192.0.2.0/24, 2001:db8::/64;",
        "Access_Type = RO;",
    ):
        assert line in first, line  # fmt: skip
    assert "Export_Id = 2;" in blocks[1] and "Clients = 198.51.100.0/24;" in blocks[1]
    assert text.count("{") == text.count("}")


def test_read_write_exports_and_exportfs_arguments() -> None:
    cfg = parse_config('[nfs]\nenabled = true\nexports = [{ path = "rw", read_only = false, '
                       'clients = ["192.0.2.0/24", "2001:db8::/64"] }]\n')  # fmt: skip
    found = nfs.exports(cfg, "/srv/tftp")
    assert "Access_Type = RW;" in nfs.ganesha_config(found, "/r")
    assert nfs.exportfs_commands(found) == [
        ["exportfs", "-i", "-o", "rw,no_subtree_check,no_root_squash", "192.0.2.0/24:/srv/tftp/rw"],
        ["exportfs", "-i", "-o", "rw,no_subtree_check,no_root_squash", "[2001:db8::/64]:/srv/tftp/rw"],
    ]
    assert nfs.unexportfs_commands(found)[1] == ["exportfs", "-u", "[2001:db8::/64]:/srv/tftp/rw"]
