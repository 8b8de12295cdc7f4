"""The park's broadcast manager: what the controllers report, repairs, zones and the alternation's holds.

:class:`BroadcastManager` is the scheduler (:mod:`.scheduler`) wired to the park: it follows the coordinators'
polls (a controller gone idle ends its programme, an amplifier fault raises a repair issue), names zones and
builds messages for the actions and media players, sets zone volumes, and holds zones silently at fire
priority for the bells/message alternation (:mod:`.alternation`), which it creates at setup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir

from ..audit import AuditLog, Source, source_of
from ..const import LOGGER
from ..engine.catalogue import Tier
from ..engine.modbus import DeviceReading, ModbusError
from ..errors import failed, invalid
from ..hooks import async_subscribe_polls
from ..linkage import FireLinkage
from ..repairs import RepairIssues
from . import messages, targets
from .alternation import Alternation, async_setup_alternation
from .arbitration import blockers, end_reason, settle
from .controller import take_reading
from .model import (
    Broadcast,
    BroadcastBlocked,
    BroadcastCallback,
    BroadcastController,
    BroadcastStatus,
    EndReason,
    Message,
    Priority,
    Zone,
)
from .scheduler import BroadcastScheduler

if TYPE_CHECKING:
    from ..data import ParkPolls, SmartParkConfigEntry

ISSUE_AMPLIFIER_FAULT: Final = "broadcast_amplifier_fault"


class BroadcastManager(BroadcastScheduler):
    """Every broadcast controller of one park, the broadcasts on them and the queue."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartParkConfigEntry,
        polls: ParkPolls,
        *,
        linkage: FireLinkage,
        audit: AuditLog,
        repairs: RepairIssues,
    ) -> None:
        super().__init__(hass, entry, polls, linkage=linkage, audit=audit)
        self.repairs = repairs
        self.alternation: Alternation | None = None

    # --- life cycle -----------------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Take the first polls' readings and follow the coordinators."""
        gateways = {controller.device.gateway for controller in self.controllers.values()}
        await async_subscribe_polls(
            self.polls.coordinators,
            lambda key: key[0] in gateways,
            self._async_on_readings,
            # The state only: a programme that ended while nobody watched is not this set-up's to end.
            replay=lambda _gateway_id, _tier, readings: self._take_readings(readings),
        )

    def _take_readings(self, readings: dict[str, DeviceReading]) -> None:
        for device_id, reading in readings.items():
            if device_id in self.controllers:
                self._take_reading(self.controllers[device_id], reading)

    @callback
    def async_unload(self) -> None:
        """On unload: close the books of the broadcasts still running or waiting (controllers play on)."""
        for broadcast in [*self.active.values(), *self.queue]:
            if broadcast.expiry is not None:
                broadcast.expiry()
            self._close(broadcast, EndReason.UNLOADED, None)
        self.active.clear()
        self.queue.clear()

    # --- zones and messages ---------------------------------------------------------------------------

    def zone_broadcast(self, zone: Zone) -> Broadcast | None:
        """The active broadcast that uses ``zone``."""
        return next((b for b in self.active.values() if zone in b.zones), None)

    def zone_in_use(self, zone: Zone) -> bool:
        """Whether a broadcast uses or waits for ``zone``."""
        return any(zone in b.zones for b in [*self.active.values(), *self.queue])

    def resolve_zones(
        self, zones: Sequence[str] | None, buildings: Sequence[str] | None, everything: bool
    ) -> tuple[Zone, ...]:
        """Zones named by zone ids or media player entity ids, by building, or all; translated errors."""
        return targets.resolve_zones(self.hass, self.profile, self.zones, zones, buildings, everything)

    def zones_of(self, building: str | None) -> list[Zone]:
        """Zones in a building (every zone for ``None``, the park)."""
        return targets.zones_of(self.zones.values(), building)

    def unique_id(self, zone: Zone) -> str:
        """Unique id of the zone's media player."""
        return targets.zone_unique_id(self.profile, zone)

    async def async_preset_message(self, zones: Sequence[Zone], preset: str) -> Message:
        """A preset (name or slot number) as each controller of ``zones`` numbers it; translated errors."""
        return await messages.async_preset_message(self.hass, self.controllers, zones, preset)

    async def async_tts_message(
        self, text: str, language: str | None, engine: str | None, target: str | None = None
    ) -> Message:
        """A text made into speech by HA's TTS, as an absolute URL the controllers can fetch."""
        return await messages.async_tts_message(self.hass, text, language, engine, target)

    @staticmethod
    def url_message(url: str, title: str | None = None) -> Message:
        """An audio URL to play; titled by ``title`` or the URL's file name."""
        return messages.url_message(url, title)

    async def async_media_url(self, media_id: str, target: str | None = None) -> str:
        """An absolute URL for a media source id or a URL (HA's own paths made absolute and signed)."""
        return await messages.async_media_url(self.hass, media_id, target)

    # --- readings and repairs -------------------------------------------------------------------------

    def _take_reading(self, controller: BroadcastController, reading: DeviceReading) -> bool:
        """Take one tier's reading of a controller; True when what entities show changed."""
        changed = take_reading(controller, reading)
        if reading.available and "amplifier_fault" in reading.values:
            self._update_issue(controller)
        return changed

    def _issue_id(self, controller: BroadcastController) -> str:
        return f"{self.profile.id}_{ISSUE_AMPLIFIER_FAULT}_{controller.id}"

    def _update_issue(self, controller: BroadcastController) -> None:
        """A critical repair issue while the amplifier reports a fault; gone (and audited) when it clears."""
        raised = self.repairs.is_raised(issue_id := self._issue_id(controller))
        if controller.amplifier_fault and not raised:
            self.repairs.create(
                issue_id,
                ISSUE_AMPLIFIER_FAULT,
                severity=ir.IssueSeverity.CRITICAL,
                placeholders={"controller": controller.device.name},
            )
            self._audit("amplifier_fault", Source.FIELD, target=controller.id, fault=True)
        elif not controller.amplifier_fault and raised:
            self.repairs.delete(issue_id)
            self._audit("amplifier_fault", Source.FIELD, target=controller.id, fault=False)

    async def _async_on_readings(
        self, gateway_id: str, tier: Tier, readings: dict[str, DeviceReading]
    ) -> None:
        """Coordinator hook: status, volumes and faults; a controller gone idle ends its programme."""
        changed = False
        for device_id, reading in readings.items():
            if (controller := self.controllers.get(device_id)) is not None:
                changed |= self._take_reading(controller, reading)
        idle = {
            controller_id
            for broadcast in self.active.values()
            for controller_id in broadcast.playing
            if self.controllers[controller_id].device.gateway == gateway_id
            and not self.controllers[controller_id].playing
            and self.controllers[controller_id].online
        }
        if idle:
            async with self._transaction():
                await self._async_programmes_ended(idle)
        elif changed:
            self._notify()

    async def _async_programmes_ended(self, controller_ids: set[str]) -> None:
        """Confirm with a fresh read (a poll may predate our play command), then end what finished."""
        for controller_id in controller_ids:
            try:
                await self.io.async_read_status(self.controllers[controller_id])
            except ModbusError as err:
                LOGGER.debug("Status of %s not confirmed: %s", controller_id, err)
        finished = settle(self.active.values(), self.controllers, controller_ids)
        for broadcast in finished:
            if broadcast.persistent:
                broadcast.status = BroadcastStatus.HOLDING
                if broadcast.on_done is not None:
                    self._callbacks.append((broadcast.on_done, broadcast))
            else:
                await self._async_end(broadcast, end_reason(broadcast))
        if finished:
            await self._async_start_queued()

    # --- held broadcasts (the alternation) -------------------------------------------------------------

    async def async_hold(
        self,
        *,
        zones: Sequence[Zone],
        message: Message,
        repeat: int,
        origin: str,
        on_done: BroadcastCallback,
        on_end: BroadcastCallback,
    ) -> Broadcast:
        """Hold ``zones`` at fire priority, silent until :meth:`async_play_held`; raise BroadcastBlocked."""
        broadcast = self._new(
            priority=Priority.FIRE,
            message=message,
            zones=zones,
            repeat=repeat,
            volume=None,
            origin=origin,
            context=None,
            persistent=True,
        )
        broadcast.on_done, broadcast.on_end = on_done, on_end
        async with self._transaction():
            if blocking := blockers(broadcast, self.active.values()):
                raise BroadcastBlocked(blocking[0])
            await self._async_begin(broadcast, silent=True)
        return broadcast

    async def async_play_held(self, broadcast: Broadcast) -> bool:
        """Play a held broadcast's message once (its repeats); False when it is gone or cannot play."""
        async with self._transaction():
            if self.active.get(broadcast.id) is not broadcast:
                return False
            try:
                await self.io.async_prepare(broadcast)
                await self.io.async_play(broadcast)
            except HomeAssistantError as err:
                LOGGER.warning("Evacuation message of %s did not play: %s", broadcast.origin, err)
                broadcast.status = BroadcastStatus.HOLDING
                return False
            broadcast.status = BroadcastStatus.PLAYING
            self._audit(
                "played",
                Source.SYSTEM,
                target=broadcast.id,
                origin=broadcast.origin,
                repeat=broadcast.repeat,
                zones=[zone.id for zone in broadcast.zones],
                failed=dict(broadcast.failed) or None,
            )
            return True

    async def async_quiet_held(self, broadcast: Broadcast) -> None:
        """Stop a held broadcast's message but keep its zones (the message overran its time)."""
        async with self._transaction():
            if (
                self.active.get(broadcast.id) is not broadcast
                or broadcast.status is not BroadcastStatus.PLAYING
            ):
                return
            await self.io.async_stop_on(broadcast.controllers())
            broadcast.playing.clear()
            broadcast.status = BroadcastStatus.HOLDING

    async def async_release(self, broadcast: Broadcast) -> None:
        """End a held broadcast (the alarm was silenced or reset)."""
        async with self._transaction():
            if self.active.get(broadcast.id) is broadcast:
                broadcast.on_end = None  # its owner is the one letting go
                await self._async_end(broadcast, EndReason.RELEASED)
                await self._async_start_queued()

    # --- zone volume, diagnostics ---------------------------------------------------------------------

    async def async_set_zone_volume(self, zone: Zone, volume: int, context: Context | None) -> None:
        """Set a zone's own volume (0-100), verified by read-back."""
        controller = self.controllers[zone.controller_id]
        key = f"zone_volume_{zone.number}"
        if key not in controller.points:
            raise invalid("broadcast_no_zone_volume", zone=zone.id)
        async with self._transaction():
            try:
                await self.io.async_write(controller, {key: volume})
            except ModbusError as err:
                raise failed("broadcast_failed", error=err) from err
            controller.volumes[zone.number] = volume
            self._audit("volume", source_of(context), target=zone.id, context=context, volume=volume)

    def diagnostics(self) -> dict[str, Any]:
        """Active and queued broadcasts and what each controller reports."""
        return {
            "active": [b.describe() for b in self.active.values()],
            "queued": [b.describe() for b in self.queue],
            "controllers": {
                c.id: {
                    "online": c.online,
                    "playing": c.playing,
                    "current_message": c.current_message,
                    "active_zones": c.active_zones,
                    "fetch_status": c.fetch_status,
                    "amplifier_fault": c.amplifier_fault,
                    "zones": len(c.zones),
                }
                for c in self.controllers.values()
            },
        }


async def async_setup_broadcast(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    polls: ParkPolls,
    *,
    linkage: FireLinkage,
    audit: AuditLog,
    repairs: RepairIssues,
) -> BroadcastManager:
    """Create the park's broadcast manager and, when enabled, the bells/message alternation."""
    manager = BroadcastManager(hass, entry, polls, linkage=linkage, audit=audit, repairs=repairs)
    await manager.async_start()
    entry.async_on_unload(manager.async_unload)
    manager.alternation = async_setup_alternation(hass, entry, manager, linkage=linkage, audit=audit)
    return manager
