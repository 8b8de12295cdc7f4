"""The Smart Park integration: a park's Modbus field devices as Home Assistant devices and entities.

HA's loader reads the integration's entry points (``async_setup``, ``async_setup_entry``,
``CONFIG_SCHEMA``, ...) from this package; they live in :mod:`.lifecycle` and are looked up here on first
use. Importing the package therefore does not import Home Assistant, so ``smart_park.engine``
(profile, catalogue, codec, Modbus poller) serves the simulator, the benchmarks and the tests without it. HA
imports the integration and its platforms in an executor before it touches an entry point.
"""

from __future__ import annotations

from typing import Any

# The names HA's loader and config entries read from an integration's package.
_ENTRY_POINTS = frozenset(
    {
        "CONFIG_SCHEMA",
        "PLATFORMS",
        "async_setup",
        "async_setup_entry",
        "async_unload_entry",
        "async_remove_entry",
        "async_migrate_entry",
        "async_remove_config_entry_device",
        "async_reset_platform",
    }
)


def __getattr__(name: str) -> Any:
    """An entry point from :mod:`.lifecycle`; only the names it defines exist."""
    if name in _ENTRY_POINTS:
        # Deferred: importing the package must not import HA (the engine is used without it).
        from . import lifecycle

        if hasattr(lifecycle, name):
            return getattr(lifecycle, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
