"""The lab's NFS-root scenario (``bootwright lab --firmware nfs``): a kernel whose root comes over NFSv3.

The machine is the BIOS v4 VM (SeaBIOS + the iPXE ROM). bootwright serves a
config the lab writes (:func:`write_config`): DHCPv4 and HTTP as in the
quick start, and ``[nfs]`` exporting ``<root>/nfsroot`` — started and
supervised by ``bootwright serve`` itself (NFS-Ganesha here: these machines'
kernel has no nfsd). iPXE boots the payload's kernel with ``initrd-nfs.img``
and ``nfsroot=192.0.2.1:<root>/nfsroot,vers=3``, the form seed 002 uses.

Debian's cloud kernel builds virtio-net and NFS as modules and has no
``CONFIG_ROOT_NFS``/``CONFIG_IP_PNP``, so the kernel cannot mount an NFS root
by itself: the initrd's ``init`` insmods :data:`MODULES` (in this order, from
the same kernel package), gets an address with busybox ``udhcpc``, mounts the
``nfsroot=`` path with ``mount -t nfs -o ro,vers=3,nolock,proto=tcp,addr=…,mountproto=tcp``
(``addr=`` is required: busybox has no NFS mount helper) and ``switch_root``\\ s
into it. The initrd holds no marker: the NFS root's ``/sbin/init`` prints the
one in its ``/etc/bootwright-marker`` with the mount it sits on, and powers
off. The marker on the console therefore proves the root came over NFS.

The modules and busybox are fetched once (``apt-get download`` of the
payload's kernel package and ``busybox-static``) and cached in
``<cache>/nfsroot/`` beside the payload.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bootwright.lab import payload as payload_mod
from bootwright.lab import tools
from bootwright.lab.netns import ADDRESS4, BRIDGE
from bootwright.lab.payload import Payload
from bootwright.lab.proc import LabError, run
from bootwright.lab.scenarios import Scenario

# The modules the initrd needs (virtio-net on virtio-pci, the NFSv3 client); what they depend on is read from
# each module's .modinfo ``depends=`` and loaded first (busybox insmod resolves nothing; the .deb has no modules.dep).
NEEDED = ("virtio_pci", "virtio_net", "nfsv3")
EXPORT = "nfsroot"  # the exported directory under the boot root
INITRD = "initrd-nfs.img"
PARTS_VERSION = 3  # bump when the initrd's init changes
MARKER_FILE = "etc/bootwright-marker"
MOUNTED = "bootwright-nfsroot: mounted"  # the initrd's line once the root is mounted

INIT = r"""#!/bin/busybox sh
# bootwright lab: mount the root over NFSv3 (nfsroot= of the command line), then switch to it.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() { echo "bootwright-nfsroot: $*" > /dev/console; [ -c /dev/ttyS0 ] && echo "bootwright-nfsroot: $*" > /dev/ttyS0; }
fail() { say "$*"; sleep 1; poweroff -f; }
for m in {modules}; do insmod /lib/modules/$m.ko || fail "insmod $m failed"; done
spec=$(sed -n 's/.*nfsroot=\([^ ]*\).*/\1/p' /proc/cmdline)
server=${spec%%:*}
path=${spec#*:}
path=${path%%,*}
[ -n "$server" ] && [ -n "$path" ] || fail "no nfsroot=SERVER:/PATH on the command line"
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -n -q -t 10 -T 2 -s /bin/udhcpc.script >/dev/null 2>&1 || fail "no DHCP answer on eth0"
say "eth0 $(ip -4 -o addr show eth0 | awk '{print $4}'), mounting $server:$path over NFSv3"
mount -t nfs -o ro,vers=3,nolock,proto=tcp,addr=$server,mountproto=tcp "$server:$path" /newroot \
  || fail "mount $server:$path failed"
say "mounted $server:$path on /newroot"
for fs in dev proc sys; do mount --move /$fs /newroot/$fs; done
exec switch_root /newroot /sbin/init
"""

UDHCPC_SCRIPT = """#!/bin/sh
# busybox udhcpc: configure the address it got (udhcpc exports ip, mask and router).
case "$1" in
  bound|renew) ip addr add "$ip/$mask" dev "$interface"; [ -n "$router" ] && ip route add default via "${router%% *}" ;;
esac
exit 0
"""

# The NFS root's init: it reads the marker from the root it runs on.
ROOT_INIT = """#!/bin/busybox sh
# /dev, /proc and /sys were moved here by the initrd (the root is read-only).
msg="$(/bin/busybox cat /{marker_file}) from the NFS root: $(/bin/busybox grep ' / nfs' /proc/mounts)"
echo "$msg" > /dev/console
[ -c /dev/ttyS0 ] && echo "$msg" > /dev/ttyS0
/bin/busybox sync
/bin/busybox poweroff -f
"""


@dataclass(frozen=True)
class NfsScenario(Scenario):
    """The BIOS v4 machine booting a kernel whose root is bootwright's NFS export."""

    @property
    def name(self) -> str:
        """``nfs4``."""
        return "nfs4"

    @property
    def title(self) -> str:
        """``BIOS v4, root over NFSv3``."""
        return "BIOS v4, root over NFSv3"

    @property
    def mac(self) -> str:
        """Its own MAC, apart from the other scenarios (x86 b0:0x, arm64 b0:2x, chains b0:3x)."""
        return "52:54:00:b0:40:04"

    @property
    def needs(self) -> tuple[str, ...]:
        """DHCPv4, HTTP (script, kernel, initrd) and NFS."""
        return ("dhcp4", "http", "nfs")


SCENARIO = NfsScenario("bios", 4, 20)


@dataclass(frozen=True)
class NfsParts:
    """What the NFS-root boot needs beyond the payload: its initrd and a static busybox for the root."""

    initrd: Path
    busybox: Path


def prepare(payload: Payload, cache: Path, say: object = print) -> NfsParts:
    """The cached NFS initrd and busybox for ``payload``'s kernel, built first when needed (needs apt)."""
    tools.require(*tools.FOR_NFS)
    where = cache / "nfsroot"
    parts = NfsParts(where / INITRD, where / "busybox")
    manifest = where / "parts.json"
    wanted = {"version": PARTS_VERSION, "kernel_version": payload.kernel_version}
    try:
        if json.loads(manifest.read_text()) == wanted and parts.initrd.is_file() and parts.busybox.is_file():
            return parts
    except (OSError, ValueError):
        pass
    where.mkdir(parents=True, exist_ok=True)
    package = f"linux-image-{payload.kernel_version}"
    if callable(say):
        say(f"lab: downloading {package} (its NFS and virtio-net modules) and {payload_mod.BUSYBOX_PACKAGE}")
    with tempfile.TemporaryDirectory(prefix="bwlab-nfs-", dir=where) as tmp:
        work = Path(tmp)
        kernel = payload_mod.unpack_package(package, work / "kernel-deb")
        modules = kernel / "lib" / "modules" / payload.kernel_version / "kernel"
        busybox = payload_mod.unpack_package(payload_mod.BUSYBOX_PACKAGE, work / "busybox-deb") / "bin" / "busybox"
        found = load_order(modules, package)
        data = build_initrd(busybox, found, work / "initrd")
        (work / INITRD).write_bytes(data)
        shutil.copyfile(busybox, work / "busybox")
        for name in (INITRD, "busybox"):
            (work / name).replace(where / name)
    manifest.write_text(json.dumps(wanted) + "\n")
    return parts


def load_order(modules: Path, package: str, needed: tuple[str, ...] = NEEDED) -> dict[str, Path]:
    """The modules ``needed`` and their dependencies, by name, each after the ones it depends on."""
    files = {p.name.removesuffix(".ko").replace("-", "_"): p for p in modules.rglob("*.ko")}
    order: dict[str, Path] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in chain:
            raise LabError(f"{package}: modules depend on each other in a circle: {' → '.join((*chain, name))}")
        path = files.get(name)
        if path is None:
            raise LabError(f"{package} has no {name}.ko: the NFS-root initrd needs it")
        for dep in module_depends(path):
            visit(dep, (*chain, name))
        order[name] = path

    for name in needed:
        visit(name, ())
    return order


def module_depends(path: Path) -> list[str]:
    """``depends=`` of a kernel module's ``.modinfo`` section (what modinfo -F depends prints), read from its ELF."""
    data = path.read_bytes()
    if data[:6] != b"\x7fELF\x02\x01":
        raise LabError(f"{path} is not a 64-bit little-endian ELF module")
    shoff = int.from_bytes(data[0x28:0x30], "little")
    shentsize, shnum, shstrndx = (int.from_bytes(data[o : o + 2], "little") for o in (0x3A, 0x3C, 0x3E))

    def section(i: int) -> tuple[int, int, int]:
        base = shoff + i * shentsize  # Elf64_Shdr: sh_name, …, sh_offset at 24, sh_size at 32
        fields = (base, base + 24, base + 32)
        name, offset, size = (int.from_bytes(data[f : f + (4 if f == base else 8)], "little") for f in fields)
        return name, offset, size

    _, names_at, _ = section(shstrndx)
    for i in range(shnum):
        name, offset, size = section(i)
        if data[names_at + name : data.index(b"\0", names_at + name)] == b".modinfo":
            for entry in data[offset : offset + size].split(b"\0"):
                if entry.startswith(b"depends="):
                    return [d for d in entry[8:].decode().split(",") if d]
            return []
    return []


def build_initrd(busybox: Path, modules: dict[str, Path], tree: Path) -> bytes:
    """A gzipped newc cpio: busybox, the modules, the udhcpc script and the NFS-mounting ``init``."""
    (tree / "bin").mkdir(parents=True)
    (tree / "lib" / "modules").mkdir(parents=True)
    for sub in ("dev", "proc", "sys", "newroot"):
        (tree / sub).mkdir()
    shutil.copyfile(busybox, tree / "bin" / "busybox")
    (tree / "bin" / "busybox").chmod(0o755)
    for name, path in modules.items():
        shutil.copyfile(path, tree / "lib" / "modules" / f"{name}.ko")
    (tree / "bin" / "udhcpc.script").write_text(UDHCPC_SCRIPT)
    (tree / "bin" / "udhcpc.script").chmod(0o755)
    (tree / "init").write_text(INIT.replace("{modules}", " ".join(modules)))
    (tree / "init").chmod(0o755)
    names = [".", "bin", "bin/busybox", "bin/udhcpc.script", "lib", "lib/modules"]
    names += [f"lib/modules/{name}.ko" for name in modules] + ["dev", "proc", "sys", "newroot", "init"]
    archive = run(
        [str(busybox), "cpio", "-o", "-H", "newc"], cwd=tree, input_bytes=("\n".join(names) + "\n").encode(), timeout=60
    ).stdout
    if not archive.startswith(b"070701"):
        raise LabError("busybox cpio did not produce a newc archive")
    return gzip.compress(archive, compresslevel=6, mtime=0)


def build_root(parts: NfsParts, root: Path, marker: str) -> Path:
    """Put ``initrd-nfs.img`` in the boot root and the NFS root tree in ``<root>/nfsroot``; that directory."""
    shutil.copyfile(parts.initrd, root / INITRD)
    (root / INITRD).chmod(0o644)
    tree = root / EXPORT
    for sub in ("bin", "sbin", "etc", "dev", "proc", "sys"):
        (tree / sub).mkdir(parents=True, exist_ok=True)
        (tree / sub).chmod(0o755)
    tree.chmod(0o755)
    shutil.copyfile(parts.busybox, tree / "bin" / "busybox")
    (tree / "bin" / "busybox").chmod(0o755)
    (tree / "sbin" / "init").write_text(ROOT_INIT.format(marker_file=MARKER_FILE))
    (tree / "sbin" / "init").chmod(0o755)
    (tree / MARKER_FILE).write_text(f"{marker}\n")
    (tree / MARKER_FILE).chmod(0o644)
    return tree


def write_config(work: Path, root: Path) -> Path:
    """The config ``bootwright serve`` runs for this scenario (the export's absolute path is the run's)."""
    text = f"""# bootwright lab --firmware nfs: written for this run ({work}).
[server]
interfaces = ["{BRIDGE}"]
address4 = "{ADDRESS4}"

[dhcp4]
ipxe = {{ no-pxedhcp = 1 }}

[[subnet4]]
subnet = "192.0.2.0/24"
interface = "{BRIDGE}"
pools = ["192.0.2.100-192.0.2.199"]
routers = ["{ADDRESS4}"]

[dhcp6]
enabled = false

[tftp]
enabled = false

[http]
port = 80

[nfs]
enabled = true
exports = [{{ path = "{EXPORT}" }}]   # {root}/{EXPORT}, to 192.0.2.0/24 (the subnet), read-only

[boot]
default = "nfsroot"

[targets.nfsroot]
label = "Linux with its root over NFSv3"
kernel = "{{{{ http }}}}/vmlinuz"
initrd = "{{{{ http }}}}/{INITRD}"
cmdline = "console=ttyS0 nfsroot={ADDRESS4}:{root}/{EXPORT},vers=3"
"""
    path = work / "nfsroot.toml"
    path.write_text(text)
    return path
