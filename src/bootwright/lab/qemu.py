"""QEMU command lines for the scenarios, and the KVM probe.

* BIOS: SeaBIOS (QEMU's default) with the iPXE option ROM of virtio-net
  (Debian's ipxe-qemu), booting from the network only. ``reboot-timeout=0``
  makes SeaBIOS reset at once when nothing (more) boots — iPXE gave up, or its
  script said ``exit`` and there is no disk — instead of waiting forever
  (QEMU's default, -1); with ``-no-reboot`` QEMU then exits, so a BIOS VM
  that has nothing to boot ends at once (SeaBIOS prints nothing on the serial port).
* UEFI: OVMF from pflash (a private copy of the variable store per VM, made
  once and kept across its boots) and
  ``romfile=`` empty on virtio-net, so the firmware's own network stack runs,
  not iPXE's EFI ROM. The fw_cfg knobs ``opt/org.tianocore/IPv4PXESupport``
  and ``IPv6PXESupport`` select PXE over IPv6 only, or UEFI HTTP boot only.
* Secure Boot (:attr:`Scenario.secure_boot`): ``OVMF_CODE_4M.secboot.fd`` with a
  copy of ``OVMF_VARS_4M.ms.fd`` (Microsoft's keys enrolled), q35 with
  ``smm=on`` and the secure pflash.
* arm64 (:mod:`bootwright.lab.arm64`): ``qemu-system-aarch64``, AAVMF on the
  virt machine, always TCG — :func:`arm64_command`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path

from bootwright.lab import arm64, tools
from bootwright.lab.payload import Payload
from bootwright.lab.proc import run
from bootwright.lab.scenarios import Scenario

MEMORY_MB = 512


def vars_copy_path(work: Path, scenario_name: str) -> Path:
    """A machine's own UEFI variable store in the run's work directory, kept across its boots (its NVRAM).

    :func:`command` copies the firmware's template there before the first boot
    unless a file is already there: the Secure Boot HTTP machine gets a store
    with the site key in ``db`` that way (``chains.install``).
    """
    return work / f"{scenario_name}.OVMF_VARS.fd"


def command(scenario: Scenario, tap: str, serial_log: Path, vars_copy: Path | None, accel: str) -> list[str]:
    """The full ``qemu-system-x86_64`` argument list for one scenario (``qemu-system-aarch64`` for arm64)."""
    if scenario.firmware in arm64.FIRMWARES:
        assert vars_copy is not None
        return arm64_command(scenario, tap, serial_log, vars_copy)
    qemu = str(tools.find("qemu-system-x86_64"))
    cmd = [
        qemu,
        "-accel", accel,
        *_machine_args(scenario, serial_log),
        "-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
    ]  # fmt: skip
    nic = f"virtio-net-pci,netdev=n0,mac={scenario.mac}"
    if scenario.firmware == "bios":
        tools.require(*tools.FOR_BIOS)
        return [*cmd, "-machine", "pc", "-device", nic, "-boot", "order=n,reboot-timeout=0"]
    found = tools.require(*tools.FOR_EFI)
    code, variables, machine = found["ovmf-code"], found["ovmf-vars"], "q35"
    if scenario.secure_boot:
        # Secure Boot with Microsoft's keys enrolled: the SMM build needs SMM on and the
        # variable store's flash marked secure, so only SMM code can write it (OVMF README).
        sb = tools.require(*tools.FOR_SECUREBOOT)
        code, variables, machine = sb["ovmf-code-secboot"], sb["ovmf-vars-ms"], "q35,smm=on"
        cmd += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
    assert vars_copy is not None
    if not vars_copy.exists():
        shutil.copyfile(variables, vars_copy)
    cmd += [
        "-machine", machine,
        "-drive", f"if=pflash,format=raw,readonly=on,file={code}",
        "-drive", f"if=pflash,format=raw,file={vars_copy}",
        "-device", f"{nic},romfile=",
    ]  # fmt: skip
    if scenario.family == 6 or scenario.firmware == "efihttp":
        cmd += ["-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n"]
    if scenario.firmware == "efihttp":
        cmd += ["-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"]
    return cmd


def _machine_args(scenario: Scenario, serial_log: Path) -> list[str]:
    """What every lab VM has, x86 or arm64: memory, one CPU, no defaults or display, no reboot, its serial
    console to ``serial_log``, and an SMBIOS UUID derived from its MAC."""
    return [
        "-m", str(MEMORY_MB),
        "-smp", "1",
        "-nodefaults",
        "-no-user-config",
        "-display", "none",
        "-no-reboot",
        "-monitor", "none",
        "-serial", f"file:{serial_log}",
        "-uuid", smbios_uuid(scenario.mac),
    ]  # fmt: skip


def arm64_command(scenario: Scenario, tap: str, serial_log: Path, vars_copy: Path) -> list[str]:
    """``qemu-system-aarch64``: AAVMF on ``-machine virt -cpu cortex-a57``, TCG whatever ``--accel`` says.

    KVM cannot run an arm64 guest on an x86 host. As with OVMF: a private copy
    of the variable store (``AAVMF_VARS.fd``), ``romfile=`` empty so the
    firmware's own virtio-net driver and network stack run, and the same fw_cfg
    knobs for PXE over IPv6 only or UEFI HTTP boot only (arch 11 for PXE, 19 for
    HTTP boot in DHCP).
    """
    found = tools.require(*tools.FOR_ARM64)
    if not vars_copy.exists():
        shutil.copyfile(found["aavmf-vars"], vars_copy)
    cmd = [
        str(found["qemu-system-aarch64"]),
        "-machine", "virt",
        "-cpu", "cortex-a57",
        "-accel", "tcg",
        *_machine_args(scenario, serial_log),
        "-drive", f"if=pflash,format=raw,readonly=on,file={found['aavmf-code']}",
        "-drive", f"if=pflash,format=raw,file={vars_copy}",
        "-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
        "-device", f"virtio-net-pci,netdev=n0,mac={scenario.mac},romfile=",
    ]  # fmt: skip
    if scenario.family == 6 or scenario.firmware == "arm64http":
        cmd += ["-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n"]
    if scenario.firmware == "arm64http":
        cmd += ["-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"]
    return cmd


def smbios_uuid(mac: str) -> str:
    """A per-VM SMBIOS UUID: iPXE's DHCPv6 DUID is DUID-UUID, all zeros without one."""
    return f"b0071ab0-0000-4000-8000-{mac.replace(':', '')}"


def choose_accel(requested: str, payload: Payload, cache: Path) -> str:
    """``kvm`` or ``tcg``: ``auto`` uses KVM only when a probe boot under KVM works."""
    if requested in ("kvm", "tcg"):
        return requested
    return "kvm" if kvm_works(payload, cache) else "tcg"


def kvm_works(payload: Payload, cache: Path, timeout: float = 20.0) -> bool:
    """Boot the payload directly (``-kernel``) under KVM and look for the marker; cached per host kernel.

    /dev/kvm may exist and open yet never run a guest (nested virtualisation);
    only a real boot tells.
    """
    if not tools.kvm_usable():
        return False
    stamp = cache / "kvm-probe.json"
    key = f"{platform.release()} {payload.marker}"
    try:
        known = json.loads(stamp.read_text())
        if known.get("key") == key:
            return bool(known["ok"])
    except (OSError, ValueError, KeyError):
        pass
    serial = cache / f"kvm-probe-{os.getpid()}.log"
    started = time.monotonic()
    cmd = [
        str(tools.find("qemu-system-x86_64")), "-accel", "kvm", "-m", "256", "-nodefaults", "-display", "none",
        "-no-reboot", "-monitor", "none", "-serial", f"file:{serial}",
        "-kernel", str(payload.kernel), "-initrd", str(payload.initrd), "-append", "console=ttyS0",
    ]  # fmt: skip
    try:
        result = run(cmd, timeout=timeout, check=False)
        ok = result.returncode == 0 and payload.marker.encode() in serial.read_bytes()
    except Exception:
        ok = False
    finally:
        serial.unlink(missing_ok=True)
    stamp.write_text(json.dumps({"key": key, "ok": ok, "seconds": round(time.monotonic() - started, 1)}))
    return ok
