"""ISC dhclient gets the address the inventory reserves, and hot reload changes what it is told.

One ``bootwright serve`` (DHCPv4 only) in a network namespace made here
(``bwt-hosts-<pid>-s`` / ``-c``, 192.0.2.0/24), a real dhclient in the other:

1. the config has no hosts; ``bootwright hosts add`` (another process, the
   state store only) reserves 192.0.2.60 while the server runs; the server
   picks it up and dhclient is offered and acknowledged that address;
2. the config file's boot file is edited: the server reloads it by itself;
3. a broken config file is refused and the running one keeps answering;
4. ``bootwright events --host`` shows the host's DHCP steps.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns import BOOTWRIGHT, DHCP4_ONLY_CONFIG, NetnsPair, require_module, start_bootwright

pytestmark = pytest.mark.interop

MAC = "52:54:00:12:34:60"

require_module(("dhclient",))

CONFIG = DHCP4_ONLY_CONFIG + """
[boot]
builtin = false

[[rule]]
name = "all"
bootfile = "{bootfile}"
next_server = "192.0.2.1"
"""
HOOK = '#!/bin/sh\nenv | sort > "{dir}/env.${{reason:-$1}}.$$"\n'


@pytest.fixture
def link() -> Iterator[NetnsPair]:
    with NetnsPair("hosts") as pair:
        pair.run_client(["ip", "addr", "flush", "dev", "cli0"], timeout=10)
        pair.run_client(["ip", "link", "set", "cli0", "address", MAC], timeout=10)
        yield pair


def wait_for(log: Path, needle: str, after: int = 0, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while needle not in log.read_text(errors="replace")[after:]:
        assert time.monotonic() < deadline, f"{needle!r} not in the log:\n{log.read_text(errors='replace')}"
        time.sleep(0.05)


def dhclient(link: NetnsPair, d: Path) -> dict[str, str]:
    d.mkdir()
    hook = d / "hook.sh"
    hook.write_text(HOOK.format(dir=d))
    hook.chmod(0o755)
    conf = d / "dhclient.conf"
    conf.write_text("timeout 15;\nretry 1;\nrequest subnet-mask, host-name, bootfile-name;\n")
    cmd = ["dhclient", "-4", "-1", "-v", "-cf", str(conf), "-sf", str(hook), "-lf", str(d / "leases"),
           "-pf", str(d / "pid"), "cli0"]
    result = link.run_client(cmd, timeout=40, text=True)
    with contextlib.suppress(OSError, ValueError):  # dhclient daemonizes once bound: stop it by its pid file
        os.kill(int((d / "pid").read_text().strip()), signal.SIGKILL)
    assert result.returncode == 0, result.stderr
    [bound] = sorted(d.glob("env.BOUND.*"))
    return dict(line.split("=", 1) for line in bound.read_text().splitlines() if "=" in line)


def test_inventory_reservation_and_hot_reload(link: NetnsPair, tmp_path: Path) -> None:
    config = tmp_path / "bootwright.toml"
    config.write_text(CONFIG.format(bootfile="pxelinux.0"))
    (tmp_path / "root").mkdir()
    state = tmp_path / "state"
    log = tmp_path / "serve.log"
    proc = start_bootwright(link, config, tmp_path / "root", state, log, timeout=20)
    assert proc.poll() is None

    mark = len(log.read_text(errors="replace"))
    cli = [str(BOOTWRIGHT), "hosts", "add", "fixedhost", "--mac", MAC, "--ipv4", "192.0.2.60",
           "--config", str(config), "--state-dir", str(state)]
    subprocess.run(cli, check=True, capture_output=True, timeout=30)
    wait_for(log, "inventory changed: 1 hosts", mark)
    env = dhclient(link, tmp_path / "c1")
    assert env["new_ip_address"] == "192.0.2.60"  # the reservation made through the inventory
    assert env["new_host_name"] == "fixedhost" and env["new_filename"] == "pxelinux.0"

    mark = len(log.read_text(errors="replace"))
    config.write_text(CONFIG.format(bootfile="ipxe.efi"))
    wait_for(log, "configuration reloaded", mark)
    assert dhclient(link, tmp_path / "c2")["new_filename"] == "ipxe.efi"

    mark = len(log.read_text(errors="replace"))
    config.write_text(CONFIG.format(bootfile="ipxe.efi") + "\n[[host]]\nname = 'x'\nmac = 'oops'\n")
    wait_for(log, "reload refused", mark)
    env = dhclient(link, tmp_path / "c3")
    assert env["new_ip_address"] == "192.0.2.60" and env["new_filename"] == "ipxe.efi"

    time.sleep(1.0)  # events are flushed to the store twice a second
    result = subprocess.run([str(BOOTWRIGHT), "events", "--host", "fixedhost", "--state-dir", str(state)],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert "DHCPv4 ack of 192.0.2.60" in result.stdout
