"""The BMC drivers by name (the ``driver`` key of a host's ``bmc``)."""

from __future__ import annotations

from collections.abc import Callable

from bootwright.bmc.base import Driver
from bootwright.bmc.ipmi import IpmiDriver
from bootwright.bmc.redfish import RedfishDriver
from bootwright.model import Bmc

DRIVERS: dict[str, Callable[[Bmc, str], Driver]] = {"ipmi": IpmiDriver, "redfish": RedfishDriver}
