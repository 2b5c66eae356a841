"""bootwright: one program that network-boots machines.

DHCPv4, DHCPv6, IPv6 router advertisements, TFTP, HTTP and iPXE scripts and
menus, answered per machine over IPv4 and IPv6, for BIOS and UEFI firmware.
"""

__version__ = "0.1.0"
