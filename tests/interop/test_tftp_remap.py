"""``[tftp] remap_file`` against the real ``in.tftpd -m FILE``: one remap file, the same answer to every name.

Seed 004 runs ``in.tftpd -s /tftpboot -m /tftpboot/tftp-rules``. Here one
remap file — the example's ``examples/seed004-tftp-rules``, then a rule for every flag of tftpd(8) "FILENAME REMAPPING" that Debian's
tftpd-hpa 5.2 knows (``r g i e s a ~ 4 6 G``), back-references, ``\\i``/``\\x``
and ``\\U``/``\\L``/``\\E`` — is given to tftpd-hpa (``-m``, port 69, one
process per family) and to ``bootwright serve`` (``remap_file``, port 6969),
both serving one root in the server namespace (``bwt-tftpremap-<pid>-s``,
192.0.2.1 and 2001:db8::1). Every file's content is its own name, so the
tftp-hpa client in the other namespace sees which file a name was mapped to;
each name must get the same file — or the same refusal, with the same message
for an ``a`` rule — from both servers, over IPv4 and IPv6.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from netns import BOOTWRIGHT, NO_DHCP_CONFIG, REPO, NetnsPair, require_module, wait_udp_port

pytestmark = pytest.mark.interop

require_module(("in.tftpd", "tftp", "ss"))

BOOTWRIGHT_PORT = 6969
CLIENT4, CLIENT6 = "192.0.2.2", "2001:db8::2"

# The example's rules for seed 004 (its own file is not shown), then one rule per feature.
FEATURES = r"""
ri	^pxelinux\.0$	pxelinux.0  # old ROMs shout
re	^byip/(.*)$	clients/\x/\1   # per client, by its address in hex, and stop here
r	^who$	who-\i
a	\.key$	No\ keys\ here          # refused with a message
a	^secret/                        # refused without one
r	^up/([a-z]+)\.(.*)$	\U\1\E.\2
r	^down/(.*)$	\L\1
rs	^alias/	                        # an alias: drop it and start again
r4	^fam$	v4.txt
r6	^fam$	v6.txt
rG	^get-only$	got.txt
a~	^[a-zA-Z0-9/._-]+$	Bad\ name   # only plain names go further
r	^(old)-(new)$	\2-\1
r	\.PXE$	.pxe
"""
RULES = (REPO / "examples" / "seed004-tftp-rules").read_text() + FEATURES

FILES = [
    "pxelinux.0", "boot/menu.c32", "clients/C0000202/cfg", "clients/20010DB8000000000000000000000002/cfg",
    "who-192.0.2.2", "who-2001:db8::2", "UPPER.txt", "lower", "kernel", "v4.txt", "v6.txt", "got.txt", "new-old",
    "x.pxe", "a.key", "secret/x", "plain.txt", "boot/alias/deep", "pxelinux.cfg/01-52-54-00-aa-bb-cc",
]  # fmt: skip

NAMES = [
    "/tftpboot/pxelinux.0", "PXELINUX.0", "PxeLinux.0", "boot\\menu.c32", "\\tftpboot\\pxelinux.0",
    "byip/cfg", "who", "a.key", "x/a.key", "secret/x", "up/upper.txt", "down/LoWeR", "alias/kernel",
    "alias/alias/kernel", "fam", "get-only", "old-new", "x.PXE", "plain.txt", "missing.txt", "/plain.txt",
    "boot/alias/deep", "pxelinux.cfg/01-52-54-00-AA-BB-CC", "PXELINUX.CFG/01-52-54-00-aa-BB-cc", "a\\b\\c",
]  # fmt: skip


@dataclass
class Pair:
    """The namespaces, and where each server listens."""

    link: NetnsPair
    root: Path
    out: Path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    base = tmp_path_factory.mktemp("tftpremap")
    root, out, state = base / "root", base / "out", base / "state"
    for directory in (root, out, state):
        directory.mkdir()
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    rules = base / "tftp-rules"
    rules.write_text(RULES)
    config = base / "bootwright.toml"
    config.write_text(NO_DHCP_CONFIG + f"""
[http]
enabled = false
[boot]
builtin = false
[tftp]
port = {BOOTWRIGHT_PORT}
remap_file = "tftp-rules"   # next to this file
""")
    log = base / "servers.log"
    with NetnsPair("tftpremap") as link, open(log, "wb") as sink:
        procs = [
            link.spawn_server(["in.tftpd", "-L", "-4", "-a", "192.0.2.1:69", "-s", str(root), "-m", str(rules)],
                              stdout=sink, stderr=subprocess.STDOUT),
            link.spawn_server(["in.tftpd", "-L", "-6", "-a", "[2001:db8::1]:69", "-s", str(root), "-m", str(rules)],
                              stdout=sink, stderr=subprocess.STDOUT),
            link.spawn_server([str(BOOTWRIGHT), "serve", "--config", str(config), "--root", str(root),
                               "--state-dir", str(state)], stdout=sink, stderr=subprocess.STDOUT),
        ]  # fmt: skip
        names = (("in.tftpd -4", 69), ("in.tftpd -6", 69), ("bootwright", BOOTWRIGHT_PORT))
        for (name, port), proc in zip(names, procs, strict=True):
            wait_udp_port(link, port, proc, name, log, timeout=20, sockets=2)  # both families
        yield Pair(link, root, out)


def _fetch(pair: Pair, family: int, port: int, name: str) -> str:
    """The served file's content, or ``error N: message`` (tftp-hpa client, binary mode)."""
    server = "192.0.2.1" if family == 4 else "2001:db8::1"
    dest = pair.out / f"got-{family}-{port}"
    dest.unlink(missing_ok=True)
    done = pair.link.run_client(
        ["tftp", f"-{family}", "-m", "binary", server, str(port), "-c", "get", name, str(dest)], timeout=30, text=True
    )
    for line in (done.stdout + done.stderr).splitlines():
        if line.startswith("Error code"):
            return line.replace("Error code", "error", 1)
    return dest.read_text() if dest.exists() else f"no file, tftp said: {done.stdout}{done.stderr}"


def _same(theirs: str, ours: str) -> bool:
    """The same file, or the same refusal.

    An ``a`` rule's message is compared by its error code only: tftpd-hpa 5.2
    wraps the message in the parts of the name the regex did not match
    (``a.key`` → ``aNo keys here``), and after an inverse (``~``) rule it
    copies from before the name (``ad name`` for ``Bad name``) — both fixed in
    later tftp-hpa (``MATCHONLY``), whose behaviour bootwright has; the
    messages are asserted on their own below (docs/tftp.md).
    """
    return theirs == ours or (theirs.startswith("error 2: ") and ours.startswith("error 2: "))


@pytest.mark.parametrize("family", [4, 6])
def test_same_file_as_tftpd_hpa(pair: Pair, family: int) -> None:
    got = {name: (_fetch(pair, family, 69, name), _fetch(pair, family, BOOTWRIGHT_PORT, name)) for name in NAMES}
    differ = {name: both for name, both in got.items() if not _same(*both)}
    assert not differ, "\n".join(f"{n!r}: tftpd-hpa {a!r}, bootwright {b!r}" for n, (a, b) in differ.items())
    theirs = {name: answer for name, (answer, _) in got.items()}
    # The comparison is only worth something if the rules did something: spot checks on tftpd-hpa's answers.
    assert theirs["/tftpboot/pxelinux.0"] == theirs["PXELINUX.0"] == "pxelinux.0"
    assert theirs["boot\\menu.c32"] == "boot/menu.c32"
    assert theirs["PXELINUX.CFG/01-52-54-00-aa-BB-cc"] == "pxelinux.cfg/01-52-54-00-aa-bb-cc"
    assert theirs["alias/alias/kernel"] == "kernel" and theirs["up/upper.txt"] == "UPPER.txt"
    assert theirs["fam"] == f"v{family}.txt"
    # Over IPv6 '\i' brings a ':', which the '~' rule refuses; 5.2's text is then undefined (see _same).
    assert theirs["who"] == "who-192.0.2.2" if family == 4 else theirs["who"].startswith("error 2: ")
    assert theirs["a.key"] == "error 2: aNo keys here" and theirs["secret/x"] == "error 2: Access denied"
    ours = {name: answer for name, (_, answer) in got.items()}
    assert ours["a.key"] == ours["x/a.key"] == "error 2: No keys here"
    assert ours["secret/x"] == "error 2: Access denied"
    assert ours["who"] == ("who-192.0.2.2" if family == 4 else "error 2: Bad name")  # ':' is not a plain name
    assert ours["missing.txt"] == theirs["missing.txt"] == "error 1: File not found"
