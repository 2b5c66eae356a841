"""Reading a config file into the model, and key paths to line numbers for every error."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath

from pydantic import ValidationError

from bootwright.config.checks import check_semantics
from bootwright.config.model import Config, ConfigError, Hook, HostEntry, Problem

# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedConfig:
    """A config file that parsed into the model, with its text (for line numbers) and name."""

    config: Config
    source: str
    text: str


def read_config(path: str | Path) -> LoadedConfig:
    """Read and parse a config file into the model; raise :class:`ConfigError` on syntax/model errors.

    The cross-field checks are left to the caller's validation
    (``bootwright.boot.validation.validate``), which reports them together with
    template, host and inventory problems in one round.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, [Problem("", f"cannot read the file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [Problem("", f"not UTF-8 text (byte {exc.start})")]) from None
    config = relative_to(parse_model(text, source), Path(path).resolve().parent)
    return LoadedConfig(config, source, text)


def relative_to(config: Config, base: Path) -> Config:
    """``config`` with its relative paths (roots, state_dir, token_file, TLS files, BMC password files, hook
    programs named with a '/') taken from ``base``.

    A config file's relative paths mean "next to this file", whatever the
    working directory (under systemd it is ``/``): what nginx (prefix) and Kea
    (the config file's directory) do. Paths given on the command line keep
    meaning the working directory, as every CLI's do.
    """

    def rebase(value: Path | None) -> Path | None:
        return base / value if value is not None and not value.is_absolute() else value

    def rebase_host(host: HostEntry) -> HostEntry:
        if host.bmc is None or host.bmc.password_file is None or host.bmc.password_file.is_absolute():
            return host
        return host.model_copy(update={"bmc": host.bmc.model_copy(
            update={"password_file": rebase(host.bmc.password_file)})})

    def rebase_hook(hook: Hook) -> Hook:
        # A program named with a '/' is a path; a bare name is looked up in PATH, as a shell would.
        if not hook.command or "/" not in hook.command[0] or PurePath(hook.command[0]).is_absolute():
            return hook
        return hook.model_copy(update={"command": [str(base / hook.command[0]), *hook.command[1:]]})

    http = config.http
    return config.model_copy(
        update={
            "root": rebase(config.root),
            "state_dir": rebase(config.state_dir),
            "tftp": config.tftp.model_copy(
                update={"root": rebase(config.tftp.root), "remap_file": rebase(config.tftp.remap_file)}
            ),
            "http": http.model_copy(update={"root": rebase(http.root), "tls_cert": rebase(http.tls_cert),
                                            "tls_key": rebase(http.tls_key)}),
            "api": config.api.model_copy(update={"token_file": rebase(config.api.token_file)}),
            "host": [rebase_host(h) for h in config.host],
            "hook": [rebase_hook(h) for h in config.hook],
            "ddns": config.ddns.model_copy(update={"key_secret_file": rebase(config.ddns.key_secret_file)}),
        }
    )


def load_config(path: str | Path) -> Config:
    """Read, parse and validate a config file; raise :class:`ConfigError` if unusable."""
    loaded = read_config(path)
    return _checked(loaded.config, loaded.text, loaded.source)


def parse_model(text: str, source: str = "<config>") -> Config:
    """Parse TOML text into the model (types, unknown keys), without the cross-field checks."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(source, [Problem("", f"TOML syntax: {exc}", line)]) from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, with_lines(list(pydantic_problems(exc)), text)) from None


def parse_config(text: str, source: str = "<config>") -> Config:
    """Parse and validate TOML text; ``source`` names it in errors."""
    return _checked(parse_model(text, source), text, source)


def _checked(config: Config, text: str, source: str) -> Config:
    problems = list(check_semantics(config))
    if problems:
        raise ConfigError(source, with_lines(problems, text))
    return config


# --------------------------------------------------------------------------- line numbers

# tomllib keeps no positions; this locator reads the table headers and ``key =`` lines
# of the text, which is all a key path (``subnet4[1].pools[0]``) needs.
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_BARE = r'(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')'
_KEY = re.compile(rf"^\s*({_BARE}(?:\s*\.\s*{_BARE})*)\s*=(.*)$")
_INLINE_KEY = re.compile(r'[{,]\s*([A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')\s*=')
_PART = re.compile(r'"[^"]*"|\'[^\']*\'|[^.\s]+')


def _dotted(text: str) -> list[str]:
    return [p.strip("\"'") for p in _PART.findall(text)]


def key_lines(text: str) -> dict[str, int]:
    """Key path (``subnet4[0].options.abc``, ``targets.inst``) → 1-based line where it is written."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}  # array-of-tables path → last index
    prefix = ""
    array_key: str | None = None  # a multi-line ``key = [`` being read
    array_index = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if array_key is not None:
            if stripped.startswith("]"):
                array_key = None
                continue
            lines.setdefault(f"{array_key}[{array_index}]", number)
            for key in _INLINE_KEY.findall(stripped):
                lines.setdefault(f"{array_key}[{array_index}].{key.strip(chr(34) + chr(39))}", number)
            array_index += 1
            if stripped.rstrip(",").rstrip().endswith("]") and not stripped.startswith(("{", '"', "'")):
                array_key = None
            continue
        header = _HEADER.match(stripped)
        if header and not _KEY.match(stripped):
            path = ""
            parts = _dotted(header.group(2))
            for i, part in enumerate(parts):
                path = f"{path}.{part}" if path else part
                if i < len(parts) - 1 and path in counts:
                    path = f"{path}[{counts[path]}]"
            if header.group(1) == "[[":
                counts[path] = counts.get(path, -1) + 1
                path = f"{path}[{counts[path]}]"
            prefix = path
            lines.setdefault(path, number)
            continue
        match = _KEY.match(raw)
        if not match:
            continue
        key = ".".join(_dotted(match.group(1)))
        path = f"{prefix}.{key}" if prefix else key
        lines.setdefault(path, number)
        value = match.group(2).split("#")[0].strip() if not match.group(2).strip().startswith(("'", '"')) else ""
        for inner in _INLINE_KEY.findall(match.group(2)):
            lines.setdefault(f"{path}.{inner.strip(chr(34) + chr(39))}", number)
        if value == "[" or (value.startswith("[") and value.count("[") > value.count("]")):
            array_key, array_index = path, 0
    return lines


_LAST_PART = re.compile(r"(\.[^.\[]+|\[\d+\])$")


def line_of(path: str, lines: dict[str, int]) -> int | None:
    """The line of ``path`` or of the nearest enclosing key that is written in the file."""
    while path:
        if path in lines:
            return lines[path]
        shorter = _LAST_PART.sub("", path)
        if shorter == path:
            break
        path = shorter
    return None


def with_lines(problems: Iterable[Problem], text: str | None) -> list[Problem]:
    """``problems`` with the TOML line of each key path filled in (when ``text`` is given)."""
    if text is None:
        return list(problems)
    lines = key_lines(text)
    return [p if p.line is not None else Problem(p.path, p.message, line_of(p.path, lines)) for p in problems]


def _loc_path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("function-") or part in ("str", "int", "list[str]"):
            continue  # pydantic's names for union members / validators, not keys
        else:
            out += f".{part}" if out else part
    return out


def pydantic_problems(exc: ValidationError) -> Iterator[Problem]:
    """pydantic's errors as :class:`Problem` s with key paths (``subnet4[0].pools[0]``), each once."""
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False):
        path = _loc_path(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/configuration.md)"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        # A whole table is not echoed (it may hold a BMC password), nor a password itself.
        secret = path.rsplit(".", 1)[-1] in ("password", "password_hash") or isinstance(err.get("input"), dict | list)
        if "input" in err and err["type"] not in ("missing", "extra_forbidden") and not secret:
            shown = repr(err["input"])
            if len(shown) < 60 and shown not in msg:
                msg = f"{msg} (got {shown})"
        if (path, msg) not in seen:
            seen.add((path, msg))
            yield Problem(path, msg)
