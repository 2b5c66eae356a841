"""What many tests need, once (h11's ``tests/helpers.py``): a runtime as ``serve`` builds it, its events.

Import as ``from tests.helpers import …``. Nothing here opens a socket.
"""

from __future__ import annotations

from pathlib import Path

from bootwright.boot.policy import BootPolicy
from bootwright.config import Config, load_config, parse_config
from bootwright.model import Event
from bootwright.runtime import Runtime
from bootwright.runtime.events import EventSink
from bootwright.store.sqlite import SqliteStore

__all__ = ["make_runtime", "recorded"]


def make_runtime(
    tmp_path: Path,
    config: str | Config,
    *,
    root: Path | None = None,
    state_dir: Path | None = None,
    config_name: str = "site.toml",
    with_store: bool = False,
) -> Runtime:
    """A :class:`Runtime` for ``config`` (TOML text, written to ``tmp_path/config_name``, or a parsed Config).

    ``root`` and ``state_dir`` default to ``tmp_path``. ``with_store`` opens a real
    SQLite store in the state directory (close it with ``runtime.store.close()`` or
    ``await runtime.store.aclose()``); without it ``runtime.store`` is None, for
    services that never touch the store.
    """
    path = tmp_path / config_name
    if isinstance(config, str):
        path.write_text(config)
        cfg = load_config(path) if with_store else parse_config(config)
    else:
        cfg = config
    state = state_dir or tmp_path
    store = None
    if with_store:
        store = SqliteStore(state / "state.db")
        store.open()
    return Runtime(
        config=cfg,
        config_path=path,
        root=root or tmp_path,
        state_dir=state,
        store=store,  # type: ignore[arg-type]
        events=EventSink(store),
        policy=BootPolicy.from_config(cfg),
    )


def recorded(runtime: Runtime) -> list[Event]:
    """Every event the runtime emits from now on, appended as it happens."""
    events: list[Event] = []
    runtime.events.listeners.append(events.append)
    return events
