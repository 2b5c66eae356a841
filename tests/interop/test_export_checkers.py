"""`bootwright export` checked by the real tools, and one exported dhcpd.conf asked by real PXE clients.

Every export of every example (and of tests/data/migrate/every-construct.toml) must load in the
peer it is written for: ``dhcpd -t -cf``, ``dhcpd -6 -t -cf``, ``kea-dhcp4 -t``/``kea-dhcp6 -t``
(in a fresh network namespace holding the interfaces the export names: Kea checks they exist),
``dnsmasq --test -C``, ``radvd -c -C``, ``named-checkzone``, ``virt-xml-validate FILE network``.
Then the round trip that matters: the exported dhcpd.conf runs as ``dhcpd -4 -f`` in a namespace
and answers a BIOS PXE, a UEFI x64 PXE, a UEFI HTTP and an iPXE client exactly as ``bootwright
explain`` says bootwright answers them (file, siaddr, option 60 echo).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from netns import BOOTWRIGHT, NetnsPair, require_module, wait_udp_port

from bootwright.boot.policy import hosts_from_config
from bootwright.config import Config, load_config, parse_model
from bootwright.migrate.export_dhcpd import export_dhcpd, export_dhcpd6
from bootwright.migrate.export_dnsmasq import export_dnsmasq
from bootwright.migrate.export_kea import export_kea4, export_kea6
from bootwright.migrate.export_libvirt import export_libvirt
from bootwright.migrate.export_radvd import export_radvd
from bootwright.migrate.exported import Exported

pytestmark = pytest.mark.interop

TOOLS = (
    "dhcpd",
    "kea-dhcp4",
    "kea-dhcp6",
    "dnsmasq",
    "radvd",
    "named-checkzone",
    "virt-xml-validate",
    "xmllint",
    "unshare",
)
require_module(TOOLS)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    [
        REPO / "examples" / "quickstart.toml",
        *(REPO / "examples").glob("seed00*.toml"),
        REPO / "tests" / "data" / "migrate" / "every-construct.toml",
    ]
)
CLIENT = Path(__file__).with_name("pxeclient.py")


def _config(path: Path) -> Config:
    # every-construct has pd_pools, which `check` refuses until IA_PD is implemented: parsed without that check.
    return parse_model(path.read_text()) if path.parent.name == "migrate" else load_config(path)


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False, **kw)  # type: ignore[call-overload]


def _kea(family: int, result: Exported, path: Path) -> subprocess.CompletedProcess[str]:
    names = json.loads(result.text)[f"Dhcp{family}"]["interfaces-config"]["interfaces"]
    links = "; ".join(f"ip link add {n} type veth peer name bwpeer{i}" for i, n in enumerate(names))
    script = f"{links}; " if links else ""
    return _run(["unshare", "-n", "sh", "-c", f"{script}exec kea-dhcp{family} -t {path}"])


CHECKS: dict[str, tuple[Callable[[Config], Exported], Callable[[Exported, Path], subprocess.CompletedProcess[str]]]]
CHECKS = {
    "dhcpd": (lambda c: export_dhcpd(c, hosts_from_config(c)), lambda r, p: _run(["dhcpd", "-t", "-cf", str(p)])),
    "dhcpd6": (
        lambda c: export_dhcpd6(c, hosts_from_config(c)),
        lambda r, p: _run(["dhcpd", "-6", "-t", "-cf", str(p)]),
    ),
    "kea4": (lambda c: export_kea4(c, hosts_from_config(c)), lambda r, p: _kea(4, r, p)),
    "kea6": (lambda c: export_kea6(c, hosts_from_config(c)), lambda r, p: _kea(6, r, p)),
    "dnsmasq": (
        lambda c: export_dnsmasq(c, hosts_from_config(c)),
        lambda r, p: _run(["dnsmasq", "--test", "-C", str(p)]),
    ),
    "radvd": (lambda c: export_radvd(c), lambda r, p: _run(["radvd", "-c", "-C", str(p)])),
    "libvirt-bios": (
        lambda c: export_libvirt(c, hosts_from_config(c), arch="bios"),
        lambda r, p: _run(["virt-xml-validate", str(p), "network"]),
    ),
    "libvirt-efi": (
        lambda c: export_libvirt(c, hosts_from_config(c), arch="efi"),
        lambda r, p: _run(["virt-xml-validate", str(p), "network"]),
    ),
}


@pytest.mark.parametrize("fmt", list(CHECKS))
@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_the_peer_loads_the_export(path: Path, fmt: str, tmp_path: Path) -> None:
    config = _config(path)
    export, check = CHECKS[fmt]
    if fmt == "radvd" and not any(s.ra is not None and s.ra.enabled for s in config.subnet6):
        pytest.skip("no router advertisements in this config (radvd refuses an empty file)")
    if fmt.startswith("libvirt") and not any(s.mode == "full" for s in config.subnet4):
        pytest.skip("no IPv4 subnet to make a network of")
    result = export(config)
    out = tmp_path / f"export.{fmt}"
    out.write_text(result.text)
    done = check(result, out)
    assert done.returncode == 0, (
        f"{fmt} refused the export of {path.name}:\n{done.stdout}\n{done.stderr}\n{result.text}"
    )


@pytest.mark.parametrize("kind", ["zone-forward", "zone-reverse"])
def test_named_checkzone_loads_the_zones(kind: str, tmp_path: Path) -> None:
    config = REPO / "examples" / "seed003-home-lab.toml"
    out = tmp_path / "zone"
    done = _run(
        [
            str(BOOTWRIGHT),
            "export",
            kind,
            "--config",
            str(config),
            "--state-dir",
            str(tmp_path / "state"),
            "--out",
            str(out),
        ]
    )
    assert done.returncode == 0, done.stderr
    origin = "home.kraxel.org" if kind == "zone-forward" else "2.168.192.in-addr.arpa"
    check = _run(["named-checkzone", origin, str(out)])
    assert check.returncode == 0, check.stdout + out.read_text()


# ------------------------------------------------------------------ the round trip through a real dhcpd

ROUND_TRIP = """
[server]
interfaces = ["srv0"]
address4 = "192.0.2.1"
[dhcp4]
lease_time = 600
[[subnet4]]
subnet = "192.0.2.0/24"
interface = "srv0"
pools = ["192.0.2.100-192.0.2.150"]
routers = ["192.0.2.1"]
[dhcp6]
enabled = false
[boot]
builtin = true
[[rule]]
name = "pxe-next"
match = { vendor_class = "PXEClient" }
next_server = "192.0.2.1"
final = false
"""
MAC = "52:54:00:e0:01:01"
# (pxeclient.py flags, explain flags): the four clients of the brief.
CLIENTS = {
    "bios-pxe": (["--arch", "0"], ["--arch", "0", "--vendor-class", "PXEClient:Arch:00000:UNDI:003000"]),
    "uefi-pxe": (["--arch", "7"], ["--arch", "7", "--vendor-class", "PXEClient:Arch:00007:UNDI:003000"]),
    "uefi-http": (["--arch", "16", "--http"], ["--arch", "16", "--vendor-class", "HTTPClient:Arch:00016:UNDI:003000"]),
    "ipxe": (
        ["--arch", "7", "--user-class", "iPXE"],
        ["--arch", "7", "--vendor-class", "PXEClient:Arch:00007:UNDI:003000", "--user-class", "iPXE"],
    ),
}
# pxeclient.py sends what firmware sends; iPXE adds its user class (option 77), here added to the same options.
IPXE_SHIM = (
    "import sys; sys.path.insert(0, {here!r}); import pxeclient\n"
    "base = pxeclient._options\n"
    "pxeclient._options = lambda *a, **k: {{**base(*a, **k), 77: b'iPXE'}}\n"
    "args = [x for x in sys.argv[1:] if x not in ('--user-class', 'iPXE')]\n"
    "sys.exit(pxeclient.main(args))\n"
)


def test_exported_dhcpd_answers_as_bootwright_explains(tmp_path: Path) -> None:
    config = tmp_path / "bootwright.toml"
    config.write_text(ROUND_TRIP)
    state = tmp_path / "state"
    conf = tmp_path / "dhcpd.conf"
    done = _run(
        [str(BOOTWRIGHT), "export", "dhcpd", "--config", str(config), "--state-dir", str(state), "--out", str(conf)]
    )
    assert done.returncode == 0, done.stderr
    conf.write_text("ping-check false;\n" + conf.read_text())  # answer at once (dhcpd pings a new address first)
    leases = tmp_path / "dhcpd.leases"
    leases.touch()
    log_path = tmp_path / "dhcpd.log"
    with NetnsPair("export", client_mac=MAC) as link:
        proc = link.spawn_server(
            [
                "dhcpd",
                "-4",
                "-f",
                "-d",
                "-cf",
                str(conf),
                "-lf",
                str(leases),
                "-pf",
                str(tmp_path / "dhcpd.pid"),
                "srv0",
            ],
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_udp_port(link, 67, proc, "dhcpd", log_path)
        for name, (client_flags, explain_flags) in CLIENTS.items():
            code = IPXE_SHIM.format(here=str(CLIENT.parent)) if "--user-class" in client_flags else None
            cmd = [sys.executable, "-c", code] if code else [sys.executable, str(CLIENT)]
            got = link.run_client(
                [*cmd, "--mac", MAC, "--interface", "cli0", "--wait", "1.5", *client_flags], timeout=30
            )
            replies = [json.loads(line) for line in got.stdout.decode().splitlines() if line.strip()]
            offers = [r for r in replies if r["type"] == "OFFER"]
            assert offers, f"{name}: no offer from dhcpd:\n{got.stderr.decode()}\n{log_path.read_text()}"
            offer = offers[0]
            said = json.loads(
                _run(
                    [
                        str(BOOTWRIGHT),
                        "explain",
                        "--config",
                        str(config),
                        "--state-dir",
                        str(state),
                        "--family",
                        "4",
                        "--mac",
                        MAC,
                        *explain_flags,
                        "--json",
                    ]
                ).stdout
            )
            option67 = bytes.fromhex(offer["options"].get("67", "")).decode()
            assert (offer["file"] or option67) == said["bootfile"], (name, offer, said)
            assert offer["siaddr"] == (said["next_server"] or "0.0.0.0"), (name, offer, said)
            echo = bytes.fromhex(offer["options"]["60"]).decode() if "60" in offer["options"] else None
            assert echo == said["vendor_class"], (name, offer, said)
        assert proc.poll() is None, log_path.read_text()
