"""The reference stack: dnsmasq (DHCPv4, DHCPv6, RA, TFTP) plus a plain HTTP server.

It answers like ``examples/quickstart.toml`` with the configuration the seeds
would use: iPXE clients (user class ``iPXE``) get ``boot.ipxe`` over HTTP, a
static script with relative URLs that iPXE resolves against the script's own
URL (so one file serves both families); UEFI PXE gets ``ipxe.efi`` over TFTP;
UEFI HTTP boot gets ``http://…/ipxe.efi`` with the ``HTTPClient`` echo.
dnsmasq picks the *last* matching ``dhcp-boot`` line, so every line carries
exclusive tags.
"""

from __future__ import annotations

from pathlib import Path

from bootwright.lab.netns import ADDRESS4, ADDRESS6, BRIDGE

BOOT_SCRIPT = """#!ipxe
# bootwright lab reference: the same boot as examples/quickstart.toml's target "linux".
kernel vmlinuz initrd=initrd.img console=ttyS0
initrd initrd.img
boot
"""

# DHCPv6 option 16 (RFC 8415 §21.17): enterprise 343 (UEFI 2.x HTTP boot), one 10-byte "HTTPClient".
_HTTPCLIENT6 = ":".join(f"{b:02x}" for b in (343).to_bytes(4, "big") + (10).to_bytes(2, "big") + b"HTTPClient")


def dnsmasq_config(root: Path, work: Path, http_port: int = 80) -> str:
    """The dnsmasq configuration file for the lab's reference run."""
    h4 = ADDRESS4 if http_port == 80 else f"{ADDRESS4}:{http_port}"
    h6 = f"[{ADDRESS6}]" if http_port == 80 else f"[{ADDRESS6}]:{http_port}"
    return f"""# bootwright lab reference stack (written by bootwright.lab.reference)
port=0
interface={BRIDGE}
bind-interfaces
keep-in-foreground
log-facility=-
log-dhcp
user=root
pid-file=
dhcp-leasefile={work}/dnsmasq.leases
dhcp-authoritative

dhcp-range=192.0.2.100,192.0.2.199,255.255.255.0,1h
dhcp-option=option:router,{ADDRESS4}
dhcp-range=2001:db8::100,2001:db8::1ff,64,1h
enable-ra
ra-param={BRIDGE},10,1800

enable-tftp={BRIDGE}
tftp-root={root}

# Who is asking: iPXE (option 77 / DHCPv6 option 15), UEFI x64 PXE (arch 7), UEFI x64 HTTP boot (arch 16).
dhcp-userclass=set:ipxe,iPXE
dhcp-match=set:efi64,option:client-arch,7
dhcp-match=set:efihttp,option:client-arch,16
dhcp-match=set:efi64,option6:61,7
dhcp-match=set:efihttp,option6:61,16

# DHCPv4
dhcp-boot=tag:!ipxe,tag:!efi64,tag:!efihttp,undionly.kpxe
dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi
dhcp-boot=tag:!ipxe,tag:efihttp,http://{h4}/ipxe.efi
dhcp-option-force=tag:!ipxe,tag:efihttp,60,HTTPClient
dhcp-boot=tag:ipxe,http://{h4}/boot.ipxe

# DHCPv6 (option 59 boot file URL; option 16 HTTPClient echo for HTTP boot)
dhcp-option=tag:ipxe,option6:bootfile-url,http://{h6}/boot.ipxe
dhcp-option=tag:!ipxe,tag:efi64,option6:bootfile-url,tftp://[{ADDRESS6}]/ipxe.efi
dhcp-option=tag:!ipxe,tag:efihttp,option6:bootfile-url,http://{h6}/ipxe.efi
dhcp-option-force=tag:!ipxe,tag:efihttp,option6:16,{_HTTPCLIENT6}
"""
