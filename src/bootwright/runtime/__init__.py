"""What runs below the services: the shared :class:`Runtime`, events, hot reload, one-shot tracking.

No sockets here: ``net/`` and ``web/`` build on this package, ``app.py`` composes them.
"""

from bootwright.runtime.core import (
    DEFAULT_ROOT,
    DEFAULT_STATE_DIR,
    Runtime,
    Service,
    ServiceError,
    ServiceFactory,
    resolve_paths,
)

__all__ = [
    "DEFAULT_ROOT",
    "DEFAULT_STATE_DIR",
    "Runtime",
    "Service",
    "ServiceError",
    "ServiceFactory",
    "resolve_paths",
]
