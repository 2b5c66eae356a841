#!/usr/bin/env bash
# Install everything bootwright and its tests need on Debian 12, as root:
# Debian packages (the peers the tests run against) and a virtualenv in .venv
# with bootwright installed in editable mode. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Python, plus the real peers used by interop tests, the lab and benchmarks.
APT_PACKAGES=(
  python3 python3-venv python3-pip
  # a C compiler and Python's headers build bootwright._tftp_pump (docs/tftp.md, "Native pump")
  gcc python3-dev
  iproute2
  # bootwright lab (docs/lab.md): QEMU, SeaBIOS + iPXE ROM, OVMF, iPXE programs, the
  # reference stack and the per-port filter. busybox-static is not installed (it
  # conflicts with busybox): the lab downloads and unpacks it with the kernel.
  qemu-system-x86 seabios ipxe-qemu ipxe ovmf dnsmasq-base nftables
  # the arm64 scenarios (AAVMF on qemu-system-aarch64); their kernel, busybox and GRUB are
  # arm64 packages downloaded into the lab cache, never installed (docs/lab.md); grub-common's
  # grub-mkimage builds their HTTP-boot GRUB (grubhttpaa64.efi) from those modules
  qemu-system-arm qemu-efi-aarch64 grub-common
  # Secure Boot over UEFI HTTP boot (docs/lab.md): sbsign signs the lab's own HTTP GRUB (built with
  # grub-mkimage from grub-efi-amd64-bin, downloaded into the lab cache) with a site key enrolled in db
  sbsigntool openssl
  # DHCPv4 interop tests and benchmark (docs/dhcp4.md): real clients, a real relay, Kea, perfdhcp.
  isc-dhcp-client busybox isc-dhcp-relay kea-dhcp4-server kea-admin
  # DHCPv6 + RA interop tests and benchmark (docs/ipv6.md): rdisc6, Kea DHCPv6 (dhclient,
  # dhcrelay, perfdhcp and dnsmasq come with the packages above).
  ndisc6 kea-dhcp6-server
  # HTTP interop tests and benchmark (docs/http.md): curl, nginx (reference server), wrk.
  curl nginx-light wrk
  # TFTP interop tests and benchmark (docs/tftp.md): tftp-hpa and atftp clients, tftpd-hpa
  # (the reference server; curl, busybox and dnsmasq come with the packages above).
  tftp-hpa atftp tftpd-hpa
  # Power control tests and the lab's BMC scenarios (docs/power.md): OpenIPMI's ipmi_sim (a BMC simulator)
  # and ipmitool (the reference client). sushy-emulator (Redfish) comes from PyPI with the test extra.
  openipmi ipmitool
  # proxyDHCP tests and the lab's proxy runs (docs/proxy.md, docs/probe.md): ISC dhcpd as the link's
  # foreign DHCP server (its unit is disabled below when this run installed it).
  isc-dhcp-server
  # Metrics tests (docs/metrics.md): promtool check metrics lints what /metrics serves. The package
  # is the Prometheus server too; its unit is disabled below when this run installed it.
  prometheus
  # Zone export tests (docs/hosts.md): named-checkzone loads the exported BIND zones as BIND would.
  bind9-utils
  # NFS roots (docs/nfs.md): NFS-Ganesha and rpcbind, which bootwright serve starts and supervises for [nfs]
  # (this machine kind's kernel has no nfsd), and libnfs's nfs-ls/nfs-cat as the user-space test client.
  # Their units are disabled below when this run installed them.
  nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils
  # Taking over a set-up (docs/migrate.md, docs/dns.md): the differential tests run the seeds' radvd and
  # BIRD beside bootwright, the export tests validate with `radvd -c`, `bird -p` and virt-xml-validate
  # (libvirt-clients), and the DNS update tests start a real BIND named. Units disabled below.
  radvd bird2 bind9 libvirt-clients
  # virt-xml-validate (libvirt-clients) runs xmllint, which libvirt-clients does not pull in (bootwright export libvirt)
  libxml2-utils
  # The DNS update tests (tests/interop/test_ddns_bind.py) ask that named with dig.
  bind9-dnsutils
  # Web UI browser test (docs/ui.md): Playwright (PyPI, the test extra) drives Debian's chromium
  # through executable_path; `playwright install` (a browser download) is never run.
  chromium
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Some peers are servers (kea-dhcp4-server, isc-dhcp-relay): they must never start on this
  # machine's real interfaces. Forbid service starts while installing, unless a policy exists.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  rc=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$rc" = 0 ] || exit "$rc"
fi
# Tests and benchmarks start these peers themselves, inside network namespaces. A server
# package this run installed must not start with the machine on its real interfaces, so its
# unit is disabled — only when this run installed it: a service that was already on the machine
# (a seed user's nginx, tftpd-hpa or Kea) is never stopped, disabled or reconfigured.
for unit in kea-dhcp4-server kea-dhcp6-server isc-dhcp-relay isc-dhcp-server nginx tftpd-hpa openipmi ipmievd prometheus \
    nfs-ganesha nfs-ganesha-lock rpcbind.service rpcbind.socket radvd bird named; do
  pkg=$unit
  [ "$unit" = nginx ] && pkg=nginx-light
  [ "$unit" = ipmievd ] && pkg=ipmitool
  [ "$unit" = nfs-ganesha-lock ] && pkg=nfs-ganesha
  [[ "$unit" == rpcbind.* ]] && pkg=rpcbind
  [ "$unit" = bird ] && pkg=bird2
  [ "$unit" = named ] && pkg=bind9
  if [[ " ${missing[*]-} " == *" $pkg "* ]]; then
    systemctl disable "$unit" >/dev/null 2>&1 || true
  fi
done

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/pip install -q -e '.[test]'
echo "setup: bootwright $(.venv/bin/bootwright --version | cut -d' ' -f2) installed in .venv"

# The lab's payload (Debian's cloud kernel + a busybox initrd), downloaded once and
# cached in /var/cache/bootwright-lab; a no-op when the cache is complete.
.venv/bin/bootwright lab --prepare-only || echo "setup: the lab payload is not prepared yet (bootwright lab retries)"
