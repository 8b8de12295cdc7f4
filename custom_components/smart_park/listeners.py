"""Change listeners: the one subscribe/notify mechanism shared by the capabilities."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from homeassistant.core import CALLBACK_TYPE, callback

from .const import DOMAIN, LOGGER


class Listeners[**P]:
    """Callbacks called on every change; each is removed by calling what :meth:`add` returned."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[P, None]] = []

    @callback
    def add(self, listener: Callable[P, None]) -> CALLBACK_TYPE:
        """Call ``listener`` on every change until the returned callback is called."""
        self._callbacks.append(listener)

        @callback
        def remove() -> None:
            with suppress(ValueError):
                self._callbacks.remove(listener)

        return remove

    def notify(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Call every listener; one that fails (a closed websocket) is logged and the others still hear."""
        for listener in list(self._callbacks):
            try:
                listener(*args, **kwargs)
            except Exception:
                LOGGER.exception("Error in a %s listener", DOMAIN)
