"""Live DNS: RFC 2136 updates, signed with TSIG (RFC 8945), as leases and inventory hosts change (docs/dns.md).

Rule: nothing on a DHCP path waits for DNS. :meth:`DdnsService.on_leases` is a
``Runtime.lease_listeners`` entry, called once the DHCP services stored a batch
of leases (bound, released, declined, expired): it notes which names and
addresses changed and returns. The inventory is followed by watching
``runtime.policy`` (hot reload swaps it when hosts change: the file, the CLI,
the API). What each name and address should carry, and the UPDATEs that get it
there, are decided in ``inventory/ddns.py``; this module sends them.

* **Coalesced.** Work is keyed by forward name and by address; a key changed
  five times before its turn is sent once, as it stands then. A renewal that
  keeps name and address sends nothing.
* **Ordered, one at a time.** One worker sends one UPDATE at a time (a DNS
  server applies them serially anyway), forward name first, then the PTR.
* **Retried, bounded.** A timeout, a network error or SERVFAIL retries the key
  after 1, 2, 4, … s (at most :data:`BACKOFF_MAX`), ``[ddns] retries`` times;
  then it is given up, logged and counted. An answer that will not change by
  asking again — REFUSED, NOTAUTH (a TSIG error: BADKEY, BADSIG, BADTIME),
  NOTZONE, FORMERR, NOTIMP — is not retried.
* **Logged once.** A failure is one warning naming the record, the server and
  the rcode, at most one per rcode per :data:`LOG_EVERY` seconds (with how many
  were left out); a name held by another client (RFC 4703 conflict) is one info
  line. Outcomes are counted for ``/metrics`` (:meth:`DdnsService.reading`).

At start the bound leases in the store are taken as they are (their records are
written again, which the RFC 4703 DHCID check makes harmless), so names of
clients that lease on after a restart are removed when they go. Records of a
host removed, or a lease ended, while bootwright was stopped stay in DNS.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.tsig
from dns.rcode import Rcode

from bootwright.boot.policy import BootPolicy
from bootwright.config import DdnsSection
from bootwright.inventory.ddns import (
    Claim,
    SecretError,
    Settings,
    Step,
    Want,
    forward_steps,
    host_wants,
    lease_claim,
    rcode_text,
    read_secret,
    reverse_steps,
    settings,
)
from bootwright.model import Lease
from bootwright.runtime import Runtime, ServiceError
from bootwright.runtime.metrics import Reading

__all__ = ["OUTCOMES", "DdnsService", "create_service"]

log = logging.getLogger("bootwright.ddns")

OUTCOMES: Final = ("ok", "conflict", "failed", "retried")
"""How a change ends (``retried`` counts the attempts repeated after a timeout or SERVFAIL)."""
LOG_EVERY: Final = 60.0
"""Seconds between two warnings with the same rcode."""
BACKOFF_MAX: Final = 60.0
"""Longest wait, in seconds, before a retry."""
POLICY_EVERY: Final = 1.0
"""Seconds between two looks at whether the inventory changed (hot reload polls the store as often)."""
_TRANSIENT: Final = frozenset({Rcode.SERVFAIL})
_TSIG_ERRORS: Final = {
    dns.tsig.PeerBadKey: "BADKEY: the server does not know this key (name or algorithm)",
    dns.tsig.PeerBadSignature: "BADSIG: the server's secret for this key differs",
    dns.tsig.PeerBadTime: "BADTIME: the clocks differ by more than the fudge (300 s)",
    dns.tsig.PeerBadTruncation: "BADTRUNC",
}

_Key = tuple[str, object]  # ("name", dns.name.Name) or ("ptr", address text)


class _Refused(Exception):
    """An answer that asking again will not change (a TSIG error, an unsigned answer to a signed update)."""

    def __init__(self, rcode: str, detail: str) -> None:
        super().__init__(detail)
        self.rcode = rcode
        self.detail = detail


class DdnsService:
    """Keeps the DNS server's records in step with leases and hosts (see the module docstring)."""

    name = "ddns"

    def __init__(self, runtime: Runtime, section: DdnsSection, compiled: Settings) -> None:
        self.runtime = runtime
        self.settings = compiled
        assert section.server is not None, "config validation requires ddns.server"
        self.server = str(section.server)
        self.port = section.port
        self.timeout = section.timeout
        self.retries = section.retries
        self.where = f"[{self.server}]:{self.port}" if ":" in self.server else f"{self.server}:{self.port}"
        self.counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        self.errors = 0  # lease batches on_leases failed on (logged once)
        # Bound leases that name a client, by (family, address), and the names they claim.
        self._leases: dict[tuple[int, str], Lease] = {}
        self._claims: dict[tuple[int, str], Claim] = {}
        self._by_name: dict[dns.name.Name, dict[tuple[int, str], Claim]] = {}
        # The inventory's records (inventory/ddns.host_wants) and the policy they came from.
        self._policy: BootPolicy | None = None
        self._host_names: dict[dns.name.Name, Want] = {}
        self._host_ptrs: dict[str, dns.name.Name] = {}
        self._reserved: frozenset[object] = frozenset()
        # What this process last wrote (or found written), per key.
        self._had_names: dict[dns.name.Name, Want] = {}
        self._had_ptrs: dict[str, dns.name.Name] = {}
        # Work: keys to sync now (ordered, each once), and retries by due time.
        self._dirty: dict[_Key, None] = {}
        self._retry: list[tuple[float, int, _Key]] = []
        self._attempts: dict[_Key, int] = {}
        self._seq = 0
        self._wake = asyncio.Event()
        self._logged: dict[str, tuple[float, int]] = {}  # rcode → (monotonic time of the last warning, left out)
        self._conflicts: set[dns.name.Name] = set()  # names reported held by another client (once each)
        self.idle = asyncio.Event()  # set while nothing is queued (tests wait for it)

    # ------------------------------------------------------------------ what changed

    def on_leases(self, leases: Sequence[Lease]) -> None:
        """Lease listener: note the names and addresses that changed; never waits, never raises."""
        try:
            for lease in leases:
                self._lease(lease)
        except Exception:  # a bug here must never cost a reply: the DHCP services call this after storing
            self.errors += 1
            if self.errors == 1:
                log.exception("ddns: leases not followed (further failures are counted only)")

    def _lease(self, lease: Lease) -> None:
        key = (lease.family, lease.address)
        claim = lease_claim(lease, self.settings, self._reserved)
        if claim is None:
            self._leases.pop(key, None)
        else:
            self._leases[key] = lease
        self._set_claim(key, claim)

    def _set_claim(self, key: tuple[int, str], claim: Claim | None) -> None:
        old = self._claims.get(key)
        if old == claim:
            return  # a renewal: same name, same address
        if old is not None:
            held = self._by_name.get(old.name, {})
            held.pop(key, None)
            if not held:
                self._by_name.pop(old.name, None)
            self._mark(("name", old.name))
        if claim is None:
            self._claims.pop(key, None)
        else:
            self._claims[key] = claim
            self._by_name.setdefault(claim.name, {})[key] = claim
            self._mark(("name", claim.name))
        self._mark(("ptr", key[1]))

    def _follow_hosts(self) -> None:
        """After the inventory changed: mark what its records changed, and re-judge the leases by it."""
        policy = self.runtime.policy
        if policy is self._policy:
            return
        self._policy = policy
        names, ptrs = host_wants(policy.hosts.by_name.values(), self.settings)
        for name in names.keys() | self._host_names.keys():
            if names.get(name) != self._host_names.get(name):
                self._mark(("name", name))
        for address in ptrs.keys() | self._host_ptrs.keys():
            if ptrs.get(address) != self._host_ptrs.get(address):
                self._mark(("ptr", address))
        self._host_names, self._host_ptrs = names, ptrs
        self._reserved = frozenset((*names, *ptrs))
        for key, lease in list(self._leases.items()):
            self._set_claim(key, lease_claim(lease, self.settings, self._reserved))

    def _mark(self, key: _Key) -> None:
        self._dirty[key] = None
        self.idle.clear()
        self._wake.set()

    # ------------------------------------------------------------------ what should be

    def _want_name(self, name: dns.name.Name) -> Want | None:
        """The inventory's records for ``name``, else the addresses of the client that claimed it first."""
        host = self._host_names.get(name)
        if host is not None:
            return host
        claims = list(self._by_name.get(name, {}).items())
        if not claims:
            return None
        holder = claims[0][1]
        mine = [(family, address) for (family, address), c in claims if c.owner == holder.owner]
        if len(mine) < len(claims) and name not in self._conflicts:
            self._conflicts.add(name)
            log.info("ddns: %s is claimed by two clients here; it stays with %s's addresses", name, holder.owner)
        return Want(frozenset(a for f, a in mine if f == 4), frozenset(a for f, a in mine if f == 6), holder.dhcid)

    def _want_ptr(self, address: str) -> dns.name.Name | None:
        """The inventory's name for ``address``, else a leased name once its A/AAAA record is written (as dhcpd)."""
        host = self._host_ptrs.get(address)
        if host is not None:
            return host
        for family in (4, 6):
            claim = self._claims.get((family, address))
            if claim is not None:
                had = self._had_names.get(claim.name)
                if had is not None and had.dhcid is not None and address in (had.v4 | had.v6):
                    return claim.name
        return None

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Take the stored leases and the inventory, then send what changes until cancelled."""
        runtime = self.runtime
        for family in (4, 6):
            try:
                report = runtime.store.load_leases(family)
            except Exception as exc:  # the leases only seed the state: DNS follows new ones regardless
                log.warning("ddns: stored IPv%d leases not read (%s); following new ones only", family, exc)
                continue
            self.on_leases([lease for lease in report.leases if lease.expires > time.time()])
        self._follow_hosts()
        runtime.lease_listeners.append(self.on_leases)
        runtime.metrics.add_source(self.name, self.reading)
        worker = asyncio.create_task(self._work(), name="ddns-worker")
        try:
            key = "TSIG key " + self.settings.keyname.to_text() if self.settings.keyname else "unsigned"
            zones = ", ".join(z.to_text() for z in (self.settings.zone, *self.settings.reverse))
            runtime.mark_ready(self.name, f"updates to {self.where} ({key}): {zones}")
            while True:
                await asyncio.sleep(POLICY_EVERY)
                self._follow_hosts()
        finally:
            with contextlib.suppress(ValueError):
                runtime.lease_listeners.remove(self.on_leases)
            runtime.metrics.remove_source(self.name, self.reading)
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            left = len(self._dirty) + len(self._retry)
            if left:
                log.info("ddns: %d updates not sent: stopping", left)

    def reading(self, now: float) -> Reading:
        """Changes by outcome and changes waiting, for ``/metrics``."""
        return Reading(counters=dict(self.counts), gauges={"pending": len(self._dirty) + len(self._retry)})

    async def _work(self) -> None:
        while True:
            key = self._next()
            if key is None:
                self.idle.set()
                self._wake.clear()
                wait = self._retry[0][0] - time.monotonic() if self._retry else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            try:
                await self._sync(key)
            except Exception:  # a bug here must not end the worker
                log.exception("ddns: %s not updated", key[1])
                self.counts["failed"] += 1

    def _next(self) -> _Key | None:
        now = time.monotonic()
        while self._retry and self._retry[0][0] <= now:
            _, _, key = heapq.heappop(self._retry)
            self._dirty.setdefault(key, None)
        if not self._dirty:
            return None
        key = next(iter(self._dirty))
        del self._dirty[key]
        return key

    async def _sync(self, key: _Key) -> None:
        _, value = key
        want_name: Want | None = None
        want_ptr: dns.name.Name | None = None
        if isinstance(value, dns.name.Name):
            want_name, had_name = self._want_name(value), self._had_names.get(value)
            if want_name == had_name:
                return
            steps = forward_steps(value, want_name, had_name, self.settings)
        else:
            want_ptr, had_ptr = self._want_ptr(str(value)), self._had_ptrs.get(str(value))
            if want_ptr == had_ptr:
                return
            steps = reverse_steps(str(value), want_ptr, had_ptr, self.settings)
        if not steps:
            return
        outcome = await self._run(steps)
        if outcome == "retry":
            attempts = self._attempts.get(key, 0) + 1
            if attempts <= self.retries:
                self._attempts[key] = attempts
                self.counts["retried"] += 1
                self._seq += 1
                due = time.monotonic() + min(BACKOFF_MAX, 2.0 ** (attempts - 1))
                heapq.heappush(self._retry, (due, self._seq, key))
                return
            self._warn("GIVEN-UP", f"ddns: {steps[0].what}: given up after {attempts} attempts at {self.where}")
            outcome = "failed"
        self._attempts.pop(key, None)
        self.counts[outcome] += 1
        if outcome == "failed":
            return  # what the server holds is unknown: the next change of this key sends again
        # ok: the server holds what was wanted; conflict: the name is not ours (nothing of ours to remove later).
        if isinstance(value, dns.name.Name):
            before = self._had_names.pop(value, None)
            if outcome == "ok" and want_name is not None and (want_name.v4 or want_name.v6):
                self._had_names[value] = want_name
            for address in _addresses(before) | _addresses(want_name):  # their PTRs follow the A/AAAA records
                self._mark(("ptr", address))
        elif outcome == "ok" and want_ptr is not None:
            self._had_ptrs[str(value)] = want_ptr
        else:
            self._had_ptrs.pop(str(value), None)

    async def _run(self, steps: Sequence[Step]) -> str:
        """Send the steps in order: ``ok``, ``conflict``, ``failed`` (not retried) or ``retry``."""
        for step in steps:
            try:
                rcode = await self._send(step)
            except (dns.exception.Timeout, TimeoutError):
                self._warn("TIMEOUT", f"ddns: {step.what}: no answer from {self.where} in {self.timeout:g} s")
                return "retry"
            except OSError as exc:
                self._warn("NETWORK", f"ddns: {step.what}: cannot reach {self.where}: {exc.strerror or exc}")
                return "retry"
            except _Refused as exc:
                self._warn(exc.rcode, f"ddns: {step.what}: {self.where} refused the update: {exc.detail}")
                return "failed"
            if rcode in step.then:
                continue
            if rcode in step.conflict:
                name = step.what.rsplit(" ", 1)[-1]
                log.info(
                    "ddns: %s: not written: the name is another client's (RFC 4703 DHCID check, %s)",
                    name,
                    rcode_text(rcode),
                )
                return "conflict"
            if rcode == Rcode.NOERROR or rcode in step.done:
                log.debug("ddns: %s: updated at %s", step.what, self.where)
                return "ok"
            text = rcode_text(rcode)
            if rcode in _TRANSIENT:
                self._warn(text, f"ddns: {step.what}: {self.where} answered {text}")
                return "retry"
            self._warn(text, f"ddns: {step.what}: {self.where} refused the update: {text}{_hint(rcode)}")
            return "failed"
        return "ok"

    async def _send(self, step: Step) -> Rcode:
        """One UPDATE over UDP (TCP when the answer is truncated); its rcode, TSIG errors raised as refusals."""
        try:
            response, _ = await dns.asyncquery.udp_with_fallback(
                step.update, self.server, timeout=self.timeout, port=self.port
            )
        except dns.tsig.PeerError as exc:  # the server's answer carries a TSIG error (RFC 8945 §5.3.2)
            detail = next((text for cls, text in _TSIG_ERRORS.items() if isinstance(exc, cls)), str(exc))
            key = self.settings.keyname.to_text() if self.settings.keyname else "?"
            raise _Refused(detail.split(":", 1)[0], f"NOTAUTH, TSIG error {detail} (key {key})") from None
        except (dns.message.UnknownTSIGKey, dns.tsig.BadSignature) as exc:
            raise _Refused("BADSIG", f"the answer's TSIG signature does not verify ({exc})") from None
        except dns.exception.FormError as exc:
            raise _Refused("FORMERR", f"an answer that cannot be read: {exc}") from None
        return response.rcode()

    def _warn(self, rcode: str, line: str) -> None:
        """One warning per rcode per :data:`LOG_EVERY` seconds; the rest are counted into the next one."""
        now = time.monotonic()
        last, left = self._logged.get(rcode, (-math.inf, 0))
        if now - last < LOG_EVERY:
            self._logged[rcode] = (last, left + 1)
            return
        more = f" ({left} more like it in the last {LOG_EVERY:.0f} s)" if left else ""
        self._logged[rcode] = (now, 0)
        log.warning("%s%s", line, more)


def _addresses(want: Want | None) -> frozenset[str]:
    return frozenset() if want is None else want.v4 | want.v6


def _hint(rcode: Rcode) -> str:
    """What to look at for an rcode that asking again will not change (RFC 2136 §2.2, RFC 8945 §5.3)."""
    hints = {
        Rcode.REFUSED: " (the zone's allow-update / update-policy does not allow this key or address)",
        Rcode.NOTAUTH: " (the server is not authoritative for the zone, or rejected the TSIG key)",
        Rcode.NOTZONE: " (the record's name is outside the zone: check forward_zone / reverse_zones)",
        Rcode.NOTIMP: " (the server does not take dynamic updates)",
    }
    return hints.get(rcode, "")


def create_service(runtime: Runtime) -> DdnsService | None:
    """Service factory for ``app.SERVICE_FACTORIES``: ``None`` unless ``[ddns] enabled``.

    The TSIG secret is read here, as ``bootwright check`` reads it (``inventory/ddns.read_secret``).
    """
    section = runtime.config.ddns
    if not section.enabled:
        return None
    try:
        secret = read_secret(section, lambda path: Path(path).read_text(encoding="utf-8"), os.environ)
    except SecretError as exc:
        raise ServiceError(f"{runtime.config_path}: {exc.problem}") from None
    return DdnsService(runtime, section, settings(runtime.config, secret))
