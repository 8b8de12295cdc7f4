"""Subscribing a capability to the coordinators' polls, with the replay of the polls it missed.

Capabilities are set up after the first polls (so they start from real readings) and before the poll loops
start: each one must both follow the next polls and take the first ones it did not see. Written once here so
that the two steps cannot drift apart between capabilities.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Container, Mapping

from homeassistant.core import CALLBACK_TYPE, callback

from .coordinator import PollKey, ReadingsHook, SmartParkCoordinator
from .engine.catalogue import Tier
from .engine.modbus import DeviceReading

# What takes a missed poll: the hook itself (True), another handler (sync, or async: awaited), or nothing.
type ReplayHandler = Callable[[str, Tier, dict[str, DeviceReading]], object]


async def async_subscribe_polls(
    coordinators: Mapping[PollKey, SmartParkCoordinator],
    wanted: Container[PollKey] | Callable[[PollKey], bool],
    hook: ReadingsHook,
    *,
    replay: bool | ReplayHandler = True,
) -> CALLBACK_TYPE:
    """Run ``hook`` in the wanted coordinators' polls, replay their last polls now; return an unsubscribe.

    ``wanted`` is a set of (gateway, tier) keys or a predicate on them. The replay skips coordinators that
    have not polled successfully yet (no data), like a poll that did not happen.
    """
    selected = [
        coordinator
        for key, coordinator in coordinators.items()
        if (wanted(key) if callable(wanted) else key in wanted)
    ]
    for coordinator in selected:
        coordinator.hooks.append(hook)
    handler: ReplayHandler | None = hook if replay is True else (replay or None)
    if handler is not None:
        for coordinator in selected:
            if coordinator.data is not None:
                result = handler(coordinator.gateway_id, coordinator.tier, coordinator.data)
                if inspect.isawaitable(result):
                    await result

    @callback
    def unsubscribe() -> None:
        for coordinator in selected:
            if hook in coordinator.hooks:
                coordinator.hooks.remove(hook)

    return unsubscribe
