"""The screen's subscriptions: which parks are followed, for whom, and parks loaded or unloaded meanwhile.

One :class:`ScreenHub` per Home Assistant (created at the integration's set-up). A park is followed
(:class:`.park.ParkScreen`) while at least one subscription covers it. A subscription without a park covers
every loaded park and, through HA's config-entry signal, parks loaded later (a ``snapshot`` event with that
park); a park that unloads is announced with a ``removed`` event and followed again when it comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from .park import ParkScreen, Payload
from .sync import SyncLinks

DATA_SCREEN: HassKey[ScreenHub] = HassKey(f"{DOMAIN}_screen")


type Send = Callable[[Payload], None]


@dataclass(slots=True, eq=False)
class Subscription:
    """One client's subscription: its park (None: all) and the parks it currently follows."""

    entry_id: str | None
    send: Send
    attached: dict[str, CALLBACK_TYPE] = field(default_factory=dict)

    def covers(self, entry_id: str) -> bool:
        """Whether the subscription is for this park."""
        return self.entry_id is None or self.entry_id == entry_id


class ScreenHub:
    """The followed parks and the subscriptions of one Home Assistant."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.sync = SyncLinks()
        self.parks: dict[str, ParkScreen] = {}
        self._subscriptions: list[Subscription] = []
        self.unsubscribe = async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, self._entry_changed)

    async def async_park(self, entry: ConfigEntry[Any]) -> ParkScreen:
        """The followed park of ``entry``, started (once) if nobody followed it yet."""
        park = self.parks.get(entry.entry_id)
        if park is None:
            park = self.parks[entry.entry_id] = ParkScreen(self.hass, entry, self.sync)
            try:
                await park.async_start()
            except BaseException:
                self._drop(entry.entry_id, park)
                raise
        else:
            await park.started.wait()
            if self.parks.get(entry.entry_id) is not park:
                raise RuntimeError(f"the screen could not follow park {entry.entry_id}")
        return park

    @callback
    def track(self, subscription: Subscription) -> None:
        """Follow parks loaded later for the subscription, until :meth:`release`."""
        if subscription not in self._subscriptions:
            self._subscriptions.append(subscription)

    @callback
    def attach(self, subscription: Subscription, park: ParkScreen) -> None:
        """Send the park's deltas to the subscription (after its snapshot was sent)."""
        if park.entry.entry_id in subscription.attached or self.parks.get(park.entry.entry_id) is not park:
            return
        subscription.attached[park.entry.entry_id] = park.listeners.add(subscription.send)

    @callback
    def release(self, subscription: Subscription) -> None:
        """The subscription ended: stop following parks nobody else watches."""
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
        for entry_id, detach in list(subscription.attached.items()):
            detach()
            self.stop_if_unwatched(entry_id)
        subscription.attached.clear()

    def stop_if_unwatched(self, entry_id: str) -> None:
        """Stop following a park no subscription watches."""
        watched = any(entry_id in s.attached for s in self._subscriptions)
        if not watched and (park := self.parks.get(entry_id)) is not None:
            self._drop(entry_id, park)

    def _drop(self, entry_id: str, park: ParkScreen) -> None:
        if self.parks.get(entry_id) is park:
            del self.parks[entry_id]
        park.async_stop()
        park.started.set()  # whoever waits for it finds it gone

    @callback
    def _entry_changed(self, change: ConfigEntryChange, entry: ConfigEntry[Any]) -> None:
        if entry.domain != DOMAIN or change is not ConfigEntryChange.UPDATED:
            return
        if entry.state is ConfigEntryState.LOADED:
            wanted = any(s.covers(entry.entry_id) for s in self._subscriptions)
            if wanted and entry.entry_id not in self.parks:
                self.hass.async_create_task(self._async_follow(entry))
            return
        park = self.parks.get(entry.entry_id)
        if park is None:
            return
        # Unloading (or failed): the park's capabilities go away, so does its view.
        self._drop(entry.entry_id, park)
        removed = Payload({"type": "removed", "config_entry_id": entry.entry_id, "park_id": park.park_id})
        for subscription in self._subscriptions:
            if (detach := subscription.attached.pop(entry.entry_id, None)) is not None:
                detach()
                subscription.send(removed)

    async def _async_follow(self, entry: ConfigEntry[Any]) -> None:
        """A park loaded after subscriptions that cover it: send them its snapshot, then its deltas."""
        wanting = [s for s in self._subscriptions if s.covers(entry.entry_id)]
        if not wanting or entry.state is not ConfigEntryState.LOADED:
            return
        park = await self.async_park(entry)
        snapshot = Payload({"type": "snapshot", "parks": [park.snapshot()]})
        for subscription in wanting:
            if subscription in self._subscriptions and entry.entry_id not in subscription.attached:
                subscription.send(snapshot)
                self.attach(subscription, park)
        self.stop_if_unwatched(entry.entry_id)
