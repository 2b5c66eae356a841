"""The netns + QEMU lab that boots real firmware against bootwright.

``bootwright lab`` creates a network namespace with a bridge named ``tap0``
(192.0.2.1/24, 2001:db8::1/64), runs ``bootwright serve`` (or, with
``--reference``, dnsmasq and a plain HTTP server) inside it, boots QEMU guests —
SeaBIOS + iPXE ROM, OVMF PXE, OVMF HTTP boot, each over IPv4 and IPv6 — and
follows each one through DHCP offer → boot program → script → kernel → initrd
→ marker. :func:`run_lab` boots each scenario once; a :class:`LabSession`
boots VMs on demand — the same machine twice, acting on the server between
boots. See docs/lab.md.
"""

from bootwright.lab.proc import LabError
from bootwright.lab.runner import LabOptions, LabReport, run_lab
from bootwright.lab.session import LabSession

__all__ = ["LabError", "LabOptions", "LabReport", "LabSession", "run_lab"]
