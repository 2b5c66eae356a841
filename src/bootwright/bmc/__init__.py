"""Out-of-band control of machines through their BMCs: power and next boot device (docs/power.md).

``base`` is the driver interface every driver implements, ``ipmi`` (pyghmi,
RMCP+) and ``redfish`` (sushy) are the drivers, ``control`` runs them off the
event loop with bounded concurrency and time limits and reports each step as
an event in the machine's timeline, ``reprovision`` is the unattended
"boot this target once, power-cycle, watch it boot" sequence.
"""
