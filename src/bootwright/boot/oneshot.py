"""One-shot boots: serve a target to one host once, then fall back (pure state machine).

``bootwright boot web1 --target rescue --once`` stores a :class:`OneShot` in
state ``pending``. While it is pending or booting, the policy gives the host
that target instead of its own. The machine moves on through the events the
HTTP and TFTP services emit (names in :data:`SCRIPT_EVENTS`,
:data:`COMPLETE_EVENTS`, :data:`FAILED_EVENTS`; see docs/hosts.md)::

    pending ──script for the target served──▶ booting ──kernel and every initrd fully sent──▶ done
                                                 └──download error / timeout──────────────▶ failed

A target without files to fetch (``exit``, ``sanboot``, ``config``, a menu)
is done when its script is served. After ``done`` or ``failed`` the host gets
its own target again (or the rules' answer), e.g. ``exit`` for the local disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from bootwright.boot.ipxe import RenderError, render_text, template_context
from bootwright.boot.policy import ENTRY_SCRIPT
from bootwright.boot.reply import server_context
from bootwright.boot.timeline import classify_path
from bootwright.config import Config, Target
from bootwright.model import ClientInfo, Event, EventKind, Host, OneShotRow, Platform

OneShotState = Literal["pending", "booting", "done", "failed"]
ACTIVE_STATES = frozenset({"pending", "booting"})
DEFAULT_TIMEOUT = 1800.0  # seconds from "booting" to a complete download before "failed"

# Event kinds consumed here. Services emit them with mac= and these detail keys:
SCRIPT_EVENTS = frozenset({EventKind.HTTP_SCRIPT})  # script=<target or menu name>, platform=efi|pcbios (optional)
# …or an ``http.request`` answered 200 for a script path (``*.ipxe``, ``script.ipxe-<mac>``), script= optional.
COMPLETE_EVENTS = frozenset({EventKind.HTTP_DOWNLOAD_COMPLETE, EventKind.TFTP_DONE})  # path=<as requested>, outcome=ok
FAILED_EVENTS = frozenset({EventKind.HTTP_DOWNLOAD_FAILED, EventKind.TFTP_FAILED})  # path=…, error=…
# The event reporting that a one-shot boot entered a state (``runtime.reload`` emits it on every change).
STATE_EVENTS: dict[OneShotState, EventKind] = {
    "pending": EventKind.ONESHOT_PENDING,
    "booting": EventKind.ONESHOT_BOOTING,
    "done": EventKind.ONESHOT_DONE,
    "failed": EventKind.ONESHOT_FAILED,
}
# An outcome's word before any ": detail"; "unconfirmed" is a TFTP transfer whose final ACK never came
# (RFC 1350 §6), delivered as far as the server can tell.
OK_OUTCOMES = frozenset({"ok", "complete", "completed", "done", "success", "unconfirmed"})

FileSets = tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class OneShot:
    """The latest one-shot boot of a host and how far it got."""

    host: str
    target: str
    state: OneShotState = "pending"
    requested: float = 0.0
    updated: float = 0.0
    # File sets of the target, one per platform variant; fetching all of any one completes the boot.
    files: FileSets = ()
    fetched: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def active(self) -> bool:
        """True while the host is served the one-shot target."""
        return self.state in ACTIVE_STATES

    def to_row(self) -> OneShotRow:
        """The store row of this one-shot."""
        detail = {"files": [list(s) for s in self.files], "fetched": list(self.fetched), "reason": self.reason}
        return OneShotRow(self.host, self.target, self.state, self.requested, self.updated, detail)

    @classmethod
    def from_row(cls, row: OneShotRow) -> OneShot:
        """A one-shot from its store row (unknown states read as failed)."""
        state: Any = row.state if row.state in ("pending", "booting", "done", "failed") else "failed"
        detail = row.detail
        return cls(
            host=row.host,
            target=row.target,
            state=state,
            requested=row.requested,
            updated=row.updated,
            files=tuple(tuple(s) for s in detail.get("files") or ()),
            fetched=tuple(detail.get("fetched") or ()),
            reason=detail.get("reason"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the API and ``hosts show --json``."""
        return {
            "host": self.host,
            "target": self.target,
            "state": self.state,
            "requested": self.requested,
            "updated": self.updated,
            "files": [list(s) for s in self.files],
            "fetched": list(self.fetched),
            "reason": self.reason,
        }


def file_key(text: str) -> str:
    """A downloaded or expected file as a comparable path: no scheme, host, query or leading slash."""
    text = text.strip()
    if "://" in text:
        text = urlsplit(text).path
    return text.split("?", 1)[0].split("#", 1)[0].lstrip("/")


def same_file(expected: str, got: str) -> bool:
    """True when a transfer of ``got`` is the expected file (relative URLs resolve below a directory)."""
    if not expected or not got:
        return False
    return got == expected or got.endswith("/" + expected) or expected.endswith("/" + got)


def target_files(target: Target, render: Callable[[str], str], platform: Platform | None = None) -> FileSets:
    """The files a target makes the client fetch, per platform variant (kernel first)."""
    variants = [target]
    if target.variants:
        variants = [target.for_platform(p) for p in ((platform,) if platform else ("efi", "pcbios"))]
    sets: list[tuple[str, ...]] = []
    for t in variants:
        if t.kernel:
            names = [t.kernel, *t.initrd]
        elif t.efi:
            names = [t.efi]
        elif t.chain and urlsplit(render(t.chain)).scheme in ("", "http", "https", "tftp"):
            names = [t.chain]
        else:
            names = []
        files = tuple(file_key(render(n).split()[0]) for n in names if render(n).strip())
        if files not in sets:
            sets.append(files)
    return tuple(sets)


def _platform(event: Event) -> Platform | None:
    value = event.detail.get("platform")
    return value if value in ("efi", "pcbios") else None  # type: ignore[return-value]


def _path(event: Event) -> str:
    for key in ("path", "file", "url"):
        value = event.detail.get(key)
        if isinstance(value, str) and value:
            return file_key(value)
    return ""


def script_served(event: Event) -> bool:
    """True when ``event`` says a per-host iPXE script was sent (not the shared entry script)."""
    if event.kind in SCRIPT_EVENTS:
        return True
    if event.kind != EventKind.HTTP_REQUEST or event.detail.get("status") != 200:
        return False
    if event.detail.get("script"):
        return True
    path = _path(event)
    return classify_path(path) == "script" and path.rsplit("/", 1)[-1] != ENTRY_SCRIPT


def advance(shot: OneShot, event: Event, files_for: Callable[[Platform | None], FileSets], now: float) -> OneShot:
    """The one-shot after ``event`` (already known to be from this host); unchanged when irrelevant."""
    if not shot.active:
        return shot
    kind = event.kind
    if script_served(event):
        served = event.detail.get("script")
        if served not in (None, shot.target) or shot.state != "pending":
            return shot
        files = files_for(_platform(event))
        if not any(files):
            return replace(shot, state="done", updated=now, files=files, reason="script served; nothing to download")
        return replace(shot, state="booting", updated=now, files=files)
    if shot.state != "booting":
        return shot
    path = _path(event)
    wanted = [f for s in shot.files for f in s if same_file(f, path)]
    if not wanted:
        return shot
    outcome = event.detail.get("outcome")
    failed = kind in FAILED_EVENTS or (
        kind in COMPLETE_EVENTS and outcome is not None and str(outcome).split(":", 1)[0] not in OK_OUTCOMES
    )
    if failed:
        error = event.detail.get("error") or outcome or kind
        return replace(shot, state="failed", updated=now, reason=f"download of {path} failed: {error}")
    if kind not in COMPLETE_EVENTS:
        return shot
    fetched = tuple(dict.fromkeys([*shot.fetched, *wanted]))
    if any(s and all(f in fetched for f in s) for s in shot.files):
        return replace(shot, state="done", updated=now, fetched=fetched, reason="kernel and initrd fully downloaded"
                       if len(max(shot.files, key=len)) > 1 else "boot file fully downloaded")
    return replace(shot, fetched=fetched)


def expire(shot: OneShot, now: float, timeout: float = DEFAULT_TIMEOUT) -> OneShot:
    """Fail a boot that has not completed its downloads within ``timeout`` seconds of starting."""
    if shot.state == "booting" and now - shot.updated > timeout:
        missing = [f for s in shot.files[:1] for f in s if f not in shot.fetched]
        return replace(shot, state="failed", updated=now,
                       reason=f"no complete download of {', '.join(missing) or 'the boot files'} within {timeout:g} s")
    return shot


def files_resolver(config: Config, target_name: str, host: Host) -> Callable[[Platform | None], FileSets]:
    """A function giving the files ``target_name`` makes ``host`` fetch, for a platform when known.

    File names are rendered with the host's template variables, as in its
    script; a name that cannot be rendered outside a real request is kept raw.
    """
    target = config.targets.get(target_name)
    if target is None:  # a menu: what the operator picks is not known in advance
        return lambda platform: ()

    def files(platform: Platform | None) -> FileSets:
        client = ClientInfo(family=4, mac=host.macs[0] if host.macs else None, platform=platform)
        context = template_context(client, host, server_context(config, 4, None))

        def render(text: str) -> str:
            try:
                return render_text(text, context)
            except RenderError:
                return text

        return target_files(target, render, platform)

    return files


def hosts_with_oneshots(hosts: list[Host], active_targets: dict[str, str]) -> list[Host]:
    """The hosts as the policy serves them: an active one-shot's target in place of the host's own.

    ``active_targets`` is host name → target (``OneShotTracker.active_targets``);
    ``serve`` (hot reload) and ``explain`` both build their policy from this.
    """
    return [replace(h, target=active_targets[h.name]) if h.name in active_targets else h for h in hosts]
