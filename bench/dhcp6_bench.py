"""DHCPv6 benchmark: perfdhcp -6 against bootwright, kea-dhcp6 (memfile) and dnsmasq.

Not a test: it measures, it asserts nothing. One namespace pair per server (server
interface ``bw-srv`` with 2001:db8:1::1/64, the shared ``bench/bench.toml`` contract;
perfdhcp on ``bw-cli`` across a veth pair). Every trial starts a fresh server on an
empty lease database, runs one bounded perfdhcp -6 at one rate (4-way exchanges:
Solicit/Advertise/Request/Reply, to ff02::1:2) and stops it. A rate is clean when
neither exchange drops more than 0.1 % and perfdhcp sent at least 97 % of it; each
server climbs the ladder until a rate fails twice, then bisects twice. The servers
take turns, one trial each per round, so background load hits them alike. Logging:
two passes, *warnings* (every server logs warnings only; bootwright still records
every Advertise and Reply as an event in its SQLite history) and *default* (bootwright
and Kea at their default levels, dnsmasq left out), as ``bench/dhcp4_bench.py`` does.

    .venv/bin/python bench/dhcp6_bench.py [--period 10] [--logging both] [--update-docs]

It takes ``/tmp/bootwright-bench.lock`` (the machine is shared with other benchmarks).
Every load loop is bounded (a fixed ladder, at most 60 rounds, fixed periods); every
process and namespace is removed on exit, also on failure (``tests/interop/netns.py``).
Needs root, perfdhcp and kea-dhcp6 (Debian kea-admin, kea-dhcp6-server), dnsmasq-base.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import perfdhcp_ladder
from perfdhcp_ladder import SERVER_IF, Family, NetnsPair, start_bootwright

PREFIX = "2001:db8:1::/64"
POOL = ("2001:db8:1::1:0", "2001:db8:1::ffff:ffff")  # bench/bench.toml subnet6 pool
LADDER = (250, 500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 7000, 8000, 10000)
NAME = "DHCPv6"  # the docs section is "## DHCPv6"
NOTES_FILE = Path(__file__).with_name("dhcp6_notes.md")
"""Free text appended to the section (where the time goes, what was tuned); kept with the script."""


# ---------------------------------------------------------------- servers


def start_kea(link: NetnsPair, work: Path, quiet: bool) -> subprocess.Popen[Any]:
    """kea-dhcp6, memfile with persist and lfc-interval 0, data-directory, the same prefix and pool."""
    conf = {
        "Dhcp6": {
            "interfaces-config": {"interfaces": [SERVER_IF]},
            "data-directory": str(work),
            "lease-database": {
                "type": "memfile", "persist": True, "lfc-interval": 0, "name": str(work / "kea-leases6.csv"),
            },
            "preferred-lifetime": 3000, "valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 2000,
            "subnet6": [{
                "id": 1, "subnet": PREFIX, "interface": SERVER_IF,
                "pools": [{"pool": f"{POOL[0]}-{POOL[1]}"}],
                "option-data": [{"name": "dns-servers", "data": "2001:db8:1::1"}],
            }],
            "loggers": [{
                "name": "kea-dhcp6", "severity": "WARN" if quiet else "INFO",
                "output_options": [{"output": str(work / "kea.log")}],
            }],
        }
    }  # fmt: skip
    (work / "kea.json").write_text(json.dumps(conf, indent=1))
    env = {**os.environ, "KEA_PIDFILE_DIR": str(work), "KEA_LOCKFILE_DIR": str(work)}
    log = (work / "kea.out").open("w")
    return link.spawn_server(["kea-dhcp6", "-c", str(work / "kea.json")], stdout=log, stderr=subprocess.STDOUT, env=env)


def start_dnsmasq(link: NetnsPair, work: Path, quiet: bool) -> subprocess.Popen[Any]:
    """dnsmasq as a DHCPv6-only server on the same prefix and pool (DNS off)."""
    cmd = [
        "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--user=root",
        f"--interface={SERVER_IF}", "--bind-interfaces", "--no-resolv", "--no-hosts",
        f"--dhcp-range={POOL[0]},{POOL[1]},64,4000", "--dhcp-option=option6:dns-server,[2001:db8:1::1]",
        "--dhcp-lease-max=1000000", f"--dhcp-leasefile={work / 'dnsmasq.leases'}",
        f"--pid-file={work / 'dnsmasq.pid'}", "--dhcp-authoritative", f"--log-facility={work / 'dnsmasq.log'}",
        *(["--quiet-dhcp6"] if quiet else []),
    ]  # fmt: skip
    log = (work / "dnsmasq.out").open("w")
    return link.spawn_server(cmd, stdout=log, stderr=subprocess.STDOUT)


def docs_section(table: str, meta: dict[str, Any]) -> str:
    """The DHCPv6 section of docs/benchmarks.md around the result table (markdown); bench/dhcp6_notes.md ends it."""
    notes = NOTES_FILE.read_text() if NOTES_FILE.exists() else ""
    clients, period = meta.get("clients", 20000), meta.get("period", 10)
    return f"""## {NAME}

perfdhcp -6 (Debian kea-admin) in a client namespace, over the veth pair of `bench/bench.toml`
(`bw-srv` 2001:db8:1::1/64), to ff02::1:2, against bootwright (`bootwright serve --config
bench/bench.toml`, every service of that file running), Kea 2.2 (`kea-dhcp6`, memfile with `persist`,
`lfc-interval` 0 and a `data-directory`) and dnsmasq 2.90: the same prefix, pool
(2001:db8:1::1:0-2001:db8:1::ffff:ffff) and DNS option, in one run. {clients:,} distinct clients
(`-R`), {period} s per rate, every rate on a fresh server with an empty lease database. A rate is clean
when neither exchange (SOLICIT-ADVERTISE, REQUEST-REPLY) drops more than 0.1 % and perfdhcp sent at
least 97 % of it; the ladder climbs until a rate fails twice, then bisects twice. The servers take
turns, one rate each per round, so background load on the machine hits them alike. Logging: two
passes. *warnings*: every server logs warnings only (bootwright `--log-level warning`: every
Advertise and Reply is still an event in the SQLite history and for live listeners, without a log
line; Kea severity WARN; dnsmasq `--quiet-dhcp6`), as the project's other benchmarks run it.
*default*: bootwright and Kea at their default level, to a file (bootwright one `dhcp6.advertise` and
one `dhcp6.reply` line per exchange, Kea `DHCP6_LEASE_ADVERT` and `DHCP6_LEASE_ALLOC`).

Durability differs: bootwright sends a Reply only after its lease is committed to SQLite (WAL,
`synchronous=FULL`, one fsync per group commit, binding Replies gathered for up to 5 ms); Kea
appends each lease to its CSV file without fsync; dnsmasq rewrites its lease file.

Reproduce (as root, after `bash scripts/setup.sh`):

```sh
.venv/bin/python bench/dhcp6_bench.py --update-docs
```

{table}

Machine: {os.cpu_count()} CPUs, {meta.get("kernel", "")}, Python {meta.get("python", "")}; measured
{meta.get("when", "")}, load average {meta.get("load_start", 0):.2f} at the start and {meta.get("load_end", 0):.2f} at
the end. Other work shares this machine (QEMU guests, other benchmarks), so absolute rates move
between runs, and so does the ratio; compare within one run. "CPU per exchange" is the server's
user + system time divided by the Replies perfdhcp received at the clean rate; "Reply delay" is
perfdhcp's average REQUEST→REPLY time there (bootwright's includes the commit window and, near its
limit, requests queued in its 4 MiB socket buffer).
{notes}"""


FAMILY = Family(
    name=NAME, prog="dhcp6_bench", description=__doc__ or "", flag="-6", target="all", ladder=LADDER,
    drop_keys=("drops_sa", "drops_rr"), reply="Reply",
    servers={"bootwright": start_bootwright, "kea": start_kea, "dnsmasq": start_dnsmasq},
    requirements=("perfdhcp", "kea-dhcp6", "dnsmasq"), tag="d6b", pair_per_server=True, docs_section=docs_section,
)  # fmt: skip
"""DHCPv6 for the shared ladder: perfdhcp -6 to ff02::1:2 ("all"), one namespace pair per server."""


def main() -> int:
    """Run the comparison and print the table (markdown)."""
    return perfdhcp_ladder.main(FAMILY)


if __name__ == "__main__":
    sys.exit(main())
