"""What the importer tests share: the seed/own files, validation as `bootwright check` runs it, typical clients."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from bootwright.boot.policy import BootPolicy, ServerContext
from bootwright.boot.validation import InventoryHost, validate
from bootwright.config import Config
from bootwright.migrate.result import Imported
from bootwright.model import BootAnswer, ClientInfo

DATA = Path(__file__).parents[2] / "data" / "migrate"


def text(path: str) -> str:
    """A test input under tests/data/migrate."""
    return (DATA / path).read_text()


def reader(directory: str):
    """A Reader for includes next to the file, as the CLI gives one."""
    return lambda name: (DATA / directory / name).read_text()


def checked(imported: Imported) -> Config:
    """The imported config, validated as `bootwright check` validates it (with its hosts); no errors allowed."""
    config = Config.model_validate(imported.config)
    report = validate(config, [InventoryHost(h, "import") for h in imported.hosts])
    assert report.errors == (), report.errors
    assert not report.skipped, report.skipped
    return config


def lines(imported: Imported) -> dict[int | None, list[str]]:
    """Findings of the main file by line: {line: [action, …]}."""
    out: dict[int | None, list[str]] = {}
    for f in imported.findings:
        if f.file == imported.file:
            out.setdefault(f.line, []).append(f.action)
    return out


# Typical clients, as the lab's firmware sends them (PEERS.md, tests/data/*.txt).
SEABIOS_IPXE = dict(arches=(0,), vendor_class="PXEClient:Arch:00000:UNDI:002001", user_classes=("iPXE",))
BIOS_PXE = dict(arches=(0,), vendor_class="PXEClient:Arch:00000:UNDI:002001")
UEFI_PXE = dict(arches=(7,), vendor_class="PXEClient:Arch:00007:UNDI:003010")
UEFI_IPXE = dict(arches=(7,), vendor_class="PXEClient:Arch:00007:UNDI:003010", user_classes=("iPXE",))
UEFI_HTTP = dict(arches=(16,), vendor_class="HTTPClient:Arch:00016:UNDI:003000")
ARM64_PXE = dict(arches=(11,), vendor_class="PXEClient:Arch:00011:UNDI:003000")
PLAIN: dict[str, object] = {}


def decide(
    config: Config, imported: Imported, subnet: str, family: int = 4, mac: str = "52:54:00:aa:bb:cc", **client: object
) -> BootAnswer:
    """What the imported policy answers a client in ``subnet``."""
    net: IPv4Network | IPv6Network = ip_network(subnet)
    policy = BootPolicy(config, list(imported.hosts))
    info = ClientInfo(family=family, mac=mac, **client)  # type: ignore[arg-type]
    return policy.decide(info, ServerContext(address=str(net[1]), subnet=net))
