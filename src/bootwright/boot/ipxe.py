"""Render iPXE scripts and menus for one client (pure, Jinja2 sandboxed).

The script layout follows seed 002's ``script.ipxe``: optional prelude lines,
per-host scripts tried first, a menu per platform (``${platform}`` is ``efi``
or ``pcbios``) with a default (and a timeout when the menu sets one; without it
``choose`` waits for a key), one section per target, and a
failure label that returns to the menu. The top menu's default is the host's
``menu_default`` when it names an item of that menu, else the menu's ``default``.
A menu whose prelude names the iPXE variable ``menu-default`` (seed 001's
``isset ${menu-default} || set menu-default localhdd``) chooses by that variable,
so a per-host script chained before the menu can set it too. Every user-written string (kernel,
command line, URLs, prelude lines) is itself a sandboxed Jinja2 template with
the variables listed in :func:`template_context`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from bootwright.boot.policy import ARCH_TABLE, HOST_SCRIPT_PREFIX, ServerContext, platform_of
from bootwright.config import Config, Menu, Problem, Target
from bootwright.model import ClientInfo, Host

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
FAILED_LABEL = "bw-failed"
BOOTIF = "BOOTIF=01-${netX/mac:hexhyp}"


class RenderError(Exception):
    """A user template failed to render; ``where`` is its key path (``targets.x.kernel``)."""

    def __init__(self, where: str, detail: str) -> None:
        self.where = where
        self.detail = detail
        super().__init__(f"{where}: {detail}")


@lru_cache(maxsize=4096)
def _compile(text: str) -> Any:
    return _ENV.from_string(text)


def render_text(text: str, context: dict[str, Any], where: str = "template") -> str:
    """Render one user string; plain strings without Jinja markup pass through."""
    if "{{" not in text and "{%" not in text and "{#" not in text:
        return text
    try:
        return str(_compile(text).render(context))
    except (UndefinedError, SecurityError, TemplateSyntaxError) as exc:
        line = getattr(exc, "lineno", None)
        at = f"template line {line}: " if line else ""
        raise RenderError(where, f"{at}{exc}") from None
    except Exception as exc:
        # Anything a sandboxed template raises is the template's fault: ``{{ 7 // 0 }}``
        # (ZeroDivisionError), Jinja2's sandbox range limit (OverflowError, MAX_RANGE), a bad filter use.
        raise RenderError(where, f"template error: {exc or type(exc).__name__}") from None


def label(name: str) -> str:
    """An iPXE label / menu item id for a target or menu name."""
    return _LABEL_UNSAFE.sub("_", name)


def template_context(client: ClientInfo | None, host: Host | None, ctx: ServerContext) -> dict[str, Any]:
    """Variables available to every user template.

    ``mac``, ``host`` (name, groups, vars), ``vars`` (the host's free variables),
    ``server``/``http``/``tftp`` (our address and base URLs), ``family``,
    ``platform`` and ``arch`` (the first client architecture code).
    """
    variables = dict(host.variables) if host else {}
    return {
        "mac": client.mac if client else None,
        "host": {"name": host.name, "groups": list(host.groups), "vars": variables} if host else None,
        "vars": variables,
        "server": ctx.server,
        "http": ctx.http,
        "tftp": ctx.tftp,
        "family": client.family if client else None,
        "platform": platform_of(client) if client else None,
        "arch": client.arches[0] if client and client.arches else None,
    }


@dataclass
class _Script:
    """Accumulates lines; keeps the render state of one script."""

    config: Config
    context: dict[str, Any]
    lines: list[str]
    home: str | None  # label to return to after a failure or `config`, None: standalone

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def text(self, value: str, where: str) -> str:
        return render_text(value, self.context, where)


def render_script(
    config: Config,
    name: str | None,
    client: ClientInfo | None,
    ctx: ServerContext,
    host: Host | None = None,
) -> str:
    """The whole iPXE script for target or menu ``name`` as one client sees it."""
    context = template_context(client, host, ctx)
    who = (client.mac if client else None) or "unknown client"
    if host is not None:
        who += f" ({host.name})"
    if name is None:
        return "\n".join(
            [
                "#!ipxe",
                f"# bootwright: no boot target for {who}",
                "echo bootwright has no boot target for ${netX/mac}; trying the next boot device",
                "exit 1",
                "",
            ]
        )
    menu = config.menus.get(name)
    script = _Script(config, context, ["#!ipxe", f"# bootwright: {name} for {who}"], label(name) if menu else None)
    if menu is not None:
        _render_menu_script(script, name, menu, host.menu_default if host is not None else None)
    else:
        target = config.targets[name]
        _render_target(script, name, target, standalone=True)
        _render_failed(script, config.targets[name].label or name)
    return "\n".join(script.lines) + "\n"


def _reachable_menus(config: Config, top: str) -> Iterator[str]:
    seen = {top}
    queue = [top]
    while queue:
        name = queue.pop(0)
        yield name
        for item in config.menus[name].items:
            if item.target in config.menus and item.target not in seen:
                seen.add(item.target)
                queue.append(item.target)


def _reachable_targets(config: Config, menus: list[str]) -> list[str]:
    out: list[str] = []
    for name in menus:
        for item in config.menus[name].items:
            if item.target in config.targets and item.target not in out:
                out.append(item.target)
    return out


def _render_menu_script(script: _Script, name: str, menu: Menu, host_default: str | None = None) -> None:
    config = script.config
    items = [i.target for i in menu.items if i.target]
    # The host's preselected item, if it is one of this menu's (boot/validation.py reports it otherwise).
    chosen = host_default if host_default in items else None
    # Seed 001: the prelude keeps an iPXE variable ``menu-default`` that scripts run before the menu
    # (per-host ones) may set; then ``choose`` takes the variable, and the host's item is set first,
    # so the prelude's ``isset … || set …`` keeps it and a per-host script can still change it.
    variable = any("menu-default" in line for line in menu.prelude)
    if variable and chosen:
        script.add(f"set menu-default {label(chosen)}")
    for i, line in enumerate(menu.prelude):
        script.add(script.text(line, f"menus.{name}.prelude[{i}]"))
    top = label(name)
    chains = [script.text(u, f"menus.{name}.per_host_chain[{i}]") for i, u in enumerate(menu.per_host_chain)]
    for i, url in enumerate(chains):
        if i:
            script.add(f":bw-chain-{i}")
        fallback = f"bw-chain-{i + 1}" if i + 1 < len(chains) else top
        # A per-host script that returns (exit 0) leads to the menu; a missing one falls through.
        script.add(f"chain --autofree {url} && goto {top} || goto {fallback}")
    menus = list(_reachable_menus(config, name))
    # With the variable, a fallback is always set (iPXE's own default, the first item, when the menu
    # names none), so ``--default ${menu-default}`` never expands to nothing.
    default = (menu.default or (items[0] if items else None)) if variable else (chosen or menu.default)
    for mname in menus:
        top_menu = mname == name
        _render_menu(script, mname, config.menus[mname], top,
                     default if top_menu else config.menus[mname].default, variable and top_menu)  # fmt: skip
    for tname in _reachable_targets(config, menus):
        _render_target(script, tname, config.targets[tname], standalone=False)
    _render_failed(script, None, menu)


def _render_menu(script: _Script, name: str, menu: Menu, top: str, default: str | None, variable: bool) -> None:
    me = label(name)
    platforms = {item.platform for item in menu.items} - {None}
    script.add(f":{me}")
    if platforms:
        script.add(f"iseq ${{platform}} efi && goto {me}-efi || goto {me}-pcbios")
        for platform in ("efi", "pcbios"):
            script.add(f":{me}-{platform}")
            _render_menu_body(script, name, menu, platform, top, default, variable)
    else:
        _render_menu_body(script, name, menu, None, top, default, variable)


def _render_menu_body(script: _Script, name: str, menu: Menu, platform: str | None, top: str,
                      default: str | None, variable: bool) -> None:  # fmt: skip
    title = script.text(menu.title, f"menus.{name}.title") if menu.title else ""
    script.add(f"menu {title}".rstrip())
    for i, item in enumerate(menu.items):
        if platform is not None and item.platform not in (None, platform):
            continue
        if item.gap is not None:
            gap = script.text(item.gap, f"menus.{name}.items[{i}].gap")
            script.add(f"item --gap -- {gap}".rstrip() if gap else "item")
            continue
        assert item.target is not None
        text = item.label or _default_label(script.config, item.target)
        text = script.text(text, f"menus.{name}.items[{i}].label")
        key = f"--key {item.key} " if item.key else ""
        script.add(f"item {key}{label(item.target)} {text}".rstrip())
    choose = "choose"
    if default and variable:
        # A value set before (prelude, per-host script, the host's menu_default) wins; set here only
        # when unset, so --default never expands to nothing (iPXE would take the next word).
        script.add(f"isset ${{menu-default}} || set menu-default {label(default)}")
        choose += " --default ${menu-default}"
    elif default:
        choose += f" --default {label(default)}"
    if menu.timeout:  # none: ``choose`` waits for a key (ipxe.org/cmd/choose)
        choose += f" --timeout {menu.timeout}"
    # Escape (or a failed choose) shows the top menu again, as seed 002 does.
    script.add(f"{choose} target && goto ${{target}} || goto {top}")


def _default_label(config: Config, name: str) -> str:
    if name in config.targets:
        return config.targets[name].label or name
    return config.menus[name].title or name


def _render_target(script: _Script, name: str, target: Target, standalone: bool) -> None:
    me = label(name)
    if not standalone:
        script.add(f":{me}")
    if target.variants:
        script.add(f"iseq ${{platform}} efi && goto {me}-efi || goto {me}-pcbios")
        for platform in ("efi", "pcbios"):
            script.add(f":{me}-{platform}")
            _render_action(script, name, target.for_platform(platform))
    else:
        _render_action(script, name, target)


def _cmdline(script: _Script, name: str, target: Target) -> str:
    parts = [script.text(target.cmdline, f"targets.{name}.cmdline")] if target.cmdline else []
    have = " ".join(parts)
    # EFI-stub kernels only find an initrd named on their command line; without it
    # Linux panics (no root) when booted by iPXE under EFI. Harmless under BIOS.
    names = [PurePosixPath(script.text(i, f"targets.{name}.initrd").split("?")[0]).name for i in target.initrd]
    missing = [f"initrd={n}" for n in names if f"initrd={n}" not in have]
    if missing and "initrd=" not in have:
        parts.insert(0, " ".join(missing))
    if target.bootif and "BOOTIF=" not in have:
        parts.append(BOOTIF)
    return " ".join(p for p in parts if p)


def _render_action(script: _Script, name: str, target: Target) -> None:
    where = f"targets.{name}"
    after_boot = f"|| goto {FAILED_LABEL}"
    if target.message:
        script.add("echo " + script.text(target.message, f"{where}.message"))
    for i, line in enumerate(target.ipxe):
        script.add(script.text(line, f"{where}.ipxe[{i}]"))
    if target.kernel:
        kernel = script.text(target.kernel, f"{where}.kernel")
        cmdline = _cmdline(script, name, target)
        script.add(f"kernel {kernel} {cmdline}".rstrip())
        for initrd in target.initrd:
            script.add("initrd " + script.text(initrd, f"{where}.initrd"))
        script.add(f"boot {after_boot}")
    elif target.chain:
        script.add(f"chain --autofree {script.text(target.chain, f'{where}.chain')} {after_boot}")
    elif target.sanboot:
        script.add(f"sanboot {script.text(target.sanboot, f'{where}.sanboot')} {after_boot}")
    elif target.efi:
        script.add(f"chain --autofree {script.text(target.efi, f'{where}.efi')} {after_boot}")
    elif target.config:
        script.add("config")
        script.add(f"goto {script.home}" if script.home else "exit 0")
    elif target.shell:
        script.add("shell")
    elif target.exit:
        # Leave iPXE so the firmware tries the next boot device (the local disk).
        script.add("exit")
    elif not target.ipxe:
        script.add(f"goto {FAILED_LABEL}")
    if not script.home and not target.exit:
        script.add("exit 0")
    elif script.home and not (target.config or target.exit):
        script.add(f"goto {script.home}")


def _render_failed(script: _Script, what: str | None, menu: Menu | None = None) -> None:
    script.add(f":{FAILED_LABEL}")
    if menu is not None and script.home:
        script.add(f"echo {menu.failed_message}")
        if menu.failed_sleep:
            script.add(f"sleep {menu.failed_sleep}")
        script.add(f"goto {script.home}")
    else:
        script.add(f"echo Booting {what} failed; trying the next boot device")
        script.add("exit 1")


def render_entry_script(ctx: ServerContext) -> str:
    """The script DHCP points iPXE at: it reports who it is and chains to its own script.

    iPXE fills in the settings, so the per-host endpoint learns the MAC, the
    platform (``efi``/``pcbios``), the build architecture, UUID and serial.
    """
    base = ctx.http or ""
    query = (
        "platform=${platform}&buildarch=${buildarch}&uuid=${uuid}"
        "&serial=${serial:uristring}&asset=${asset:uristring}"
    )
    return "\n".join(
        [
            "#!ipxe",
            "# bootwright entry script: identify this machine and fetch its own script",
            f"chain --autofree {base}/{HOST_SCRIPT_PREFIX}${{netX/mac:hexhyp}}.ipxe?{query} || goto bw-failed",
            "exit 0",
            f":{FAILED_LABEL}",
            "echo bootwright: could not fetch the script for ${netX/mac}; trying the next boot device",
            "sleep 5",
            "exit 1",
            "",
        ]
    )


# --------------------------------------------------------------------------- check-time validation


def _user_strings(config: Config) -> Iterator[tuple[str, str]]:
    for name, target in config.targets.items():
        for key in ("kernel", "cmdline", "chain", "sanboot", "efi", "message", "label"):
            value = getattr(target, key)
            if value:
                yield f"targets.{name}.{key}", value
        for i, value in enumerate(target.initrd):
            yield f"targets.{name}.initrd[{i}]", value
        for i, value in enumerate(target.ipxe):
            yield f"targets.{name}.ipxe[{i}]", value
        for platform, variant in target.variants.items():
            for key, value in variant.model_dump().items():
                for j, text in enumerate(value if isinstance(value, list) else [value]):
                    if text:
                        yield f"targets.{name}.variants.{platform}.{key}[{j}]", text
    for name, menu in config.menus.items():
        if menu.title:
            yield f"menus.{name}.title", menu.title
        for i, line in enumerate(menu.prelude):
            yield f"menus.{name}.prelude[{i}]", line
        for i, url in enumerate(menu.per_host_chain):
            yield f"menus.{name}.per_host_chain[{i}]", url
        for i, item in enumerate(menu.items):
            for key in ("label", "gap"):
                value = getattr(item, key)
                if value:
                    yield f"menus.{name}.items[{i}].{key}", value


def template_problems(config: Config) -> list[Problem]:
    """Compile every user template and render every script once for an unknown client.

    Problems name the key path of the template (``targets.inst.kernel``), so
    ``bootwright check`` can give the file line.
    """
    problems: list[Problem] = []
    for where, text in _user_strings(config):
        try:
            _compile(text)
        except TemplateSyntaxError as exc:
            problems.append(Problem(where, f"template error at line {exc.lineno}: {exc.message}"))
    if problems:
        return problems
    seen: set[str] = set()
    client = ClientInfo(family=4, mac="00:00:00:00:00:00")
    for name in sorted(config.script_names()):
        for problem in _render_problems(config, name, client, None):
            if str(problem) not in seen:
                seen.add(str(problem))
                problems.append(problem)
    return problems


def host_template_problems(config: Config, host: Host) -> list[Problem]:
    """Every target and menu rendered for ``host``: the problems, each naming the template's key path."""
    client = ClientInfo(family=4, mac=host.macs[0] if host.macs else None)
    out: list[Problem] = []
    seen: set[str] = set()
    for name in sorted(config.script_names()):
        for problem in _render_problems(config, name, client, host):
            if str(problem) not in seen:
                seen.add(str(problem))
                out.append(problem)
    return out


def _render_problems(config: Config, name: str, client: ClientInfo, host: Host | None) -> list[Problem]:
    ctx = ServerContext(address=str(config.server.address4) if config.server.address4 else "192.0.2.1")
    try:
        render_script(config, name, client, ctx, host)
    except RenderError as exc:
        return [Problem(exc.where, exc.detail + (f" (rendering {name!r} for host {host.name})" if host else ""))]
    return []


def check_templates(config: Config, hosts: list[Host]) -> list[Problem]:
    """:func:`template_problems`, then :func:`host_template_problems` for each of ``hosts``."""
    problems = template_problems(config)
    if problems:
        return problems
    seen = {str(p) for p in problems}
    for host in hosts:
        for problem in host_template_problems(config, host):
            if str(problem) not in seen:
                seen.add(str(problem))
                problems.append(problem)
    return problems


def arch_platform_name(code: int) -> str:
    """Readable name of an architecture code, for summaries."""
    info = ARCH_TABLE.get(code)
    return info.name if info else f"unknown ({code})"
