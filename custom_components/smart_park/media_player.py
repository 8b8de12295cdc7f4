"""Media players: one per zone of each broadcast controller.

A zone plays preset messages (browsable), TTS and other media (any media source or URL, handed to the
controller as an audio URL), at the zone's own volume. Plays from here go through the broadcast manager like
the ``smart_park.broadcast`` action: notice priority unless ``extra: {priority: ...}`` says otherwise, so a
zone busy with an emergency refuses them with a translated error. The state is what the controller reports.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components import media_source
from homeassistant.components.media_player import MediaPlayerEntity
from homeassistant.components.media_player.browse_media import BrowseMedia
from homeassistant.components.media_player.const import (
    ATTR_MEDIA_EXTRA,
    MediaClass,
    MediaPlayerDeviceClass,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .broadcast import (
    ATTR_PIN,
    ATTR_PRIORITY,
    ATTR_REPEAT,
    BroadcastController,
    BroadcastManager,
    Message,
    Priority,
    Zone,
    async_preset_titles,
    preset_title,
)
from .const import DOMAIN
from .coordinator import SmartParkConfigEntry
from .entity import park_device_info
from .errors import invalid

PARALLEL_UPDATES = 0
# media_content_id of a preset in this integration's media browser.
PRESET_PREFIX: Final = f"{DOMAIN}/preset/"
PRESET_TYPE: Final = f"{DOMAIN}_preset"
MAX_REPEAT: Final = 99


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a media player per broadcast zone."""
    manager = entry.runtime_data.broadcast
    async_add_entities(
        BroadcastZone(manager, controller, zone)
        for controller in manager.controllers.values()
        for zone in controller.zones.values()
    )


class BroadcastZone(MediaPlayerEntity):
    """One zone (分区) of a broadcast controller."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_device_class = MediaPlayerDeviceClass.SPEAKER
    _attr_translation_key = "zone"
    _attr_supported_features = (
        MediaPlayerEntityFeature.PLAY_MEDIA
        | MediaPlayerEntityFeature.MEDIA_ANNOUNCE
        | MediaPlayerEntityFeature.BROWSE_MEDIA
        | MediaPlayerEntityFeature.STOP
        | MediaPlayerEntityFeature.VOLUME_SET
        | MediaPlayerEntityFeature.VOLUME_STEP
    )

    def __init__(self, manager: BroadcastManager, controller: BroadcastController, zone: Zone) -> None:
        """Initialise the zone."""
        self.manager = manager
        self.controller = controller
        self.zone = zone
        self._attr_unique_id = manager.unique_id(zone)
        self._attr_device_info = park_device_info(manager.profile, controller.device)
        if zone.name:
            self._attr_name = zone.name
        else:
            self._attr_translation_placeholders = {"n": str(zone.number)}

    async def async_added_to_hass(self) -> None:
        """Follow the broadcast manager."""
        self.async_on_remove(self.manager.async_add_listener(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Unavailable while the controller does not answer."""
        return self.controller.online

    @property
    def state(self) -> MediaPlayerState:
        """Playing while the controller reports this zone active."""
        return (
            MediaPlayerState.PLAYING
            if self.controller.zone_playing(self.zone.number)
            else MediaPlayerState.IDLE
        )

    @property
    def volume_level(self) -> float | None:
        """The zone's own volume."""
        volume = self.controller.volumes.get(self.zone.number)
        return None if volume is None else min(max(volume, 0), 100) / 100

    @property
    def media_title(self) -> str | None:
        """The message playing here (when this integration started it)."""
        if not self.controller.zone_playing(self.zone.number):
            return None
        broadcast = self.manager.zone_broadcast(self.zone)
        return broadcast.message.title if broadcast is not None else None

    @property
    def media_content_type(self) -> MediaType | str | None:
        """Music for audio URLs, a preset otherwise."""
        if not self.controller.zone_playing(self.zone.number):
            return None
        broadcast = self.manager.zone_broadcast(self.zone)
        if broadcast is None or broadcast.message.url is None:
            return PRESET_TYPE
        return MediaType.MUSIC

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The broadcast holding the zone, with its priority."""
        broadcast = self.manager.zone_broadcast(self.zone)
        return {
            "zone": self.zone.id,
            "broadcast_id": broadcast.id if broadcast else None,
            "priority": broadcast.priority.label if broadcast else None,
        }

    async def async_set_volume_level(self, volume: float) -> None:
        """Set the zone's own volume."""
        await self.manager.async_set_zone_volume(self.zone, round(volume * 100), self._context)

    async def async_media_stop(self) -> None:
        """Stop what plays in this zone (other zones of the same broadcast play on); idle, nothing to do."""
        if self.manager.zone_in_use(self.zone):
            await self.manager.async_stop(zones=[self.zone], context=self._context)

    async def async_play_media(self, media_type: MediaType | str, media_id: str, **kwargs: Any) -> None:
        """Play a preset (from the browser), a media source item (TTS, local media) or an audio URL."""
        extra: dict[str, Any] = kwargs.get(ATTR_MEDIA_EXTRA) or {}
        try:
            priority = Priority.from_label(str(extra.get(ATTR_PRIORITY, Priority.NOTICE.label)))
        except KeyError:
            raise invalid(
                "broadcast_bad_extra",
                field=ATTR_PRIORITY,
                value=extra.get(ATTR_PRIORITY),
                allowed=", ".join(p.label for p in Priority),
            ) from None
        repeat = extra.get(ATTR_REPEAT, 1)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or not 0 <= repeat <= MAX_REPEAT:
            raise invalid("broadcast_bad_extra", field=ATTR_REPEAT, value=repeat, allowed=f"0–{MAX_REPEAT}")
        message: Message
        if media_id.startswith(PRESET_PREFIX):
            message = await self.manager.async_preset_message(
                [self.zone], media_id.removeprefix(PRESET_PREFIX)
            )
        else:
            url = await self.manager.async_media_url(media_id, self.entity_id)
            message = self.manager.url_message(url, _tts_text(media_id))
        await self.manager.async_broadcast(
            zones=[self.zone],
            message=message,
            priority=priority,
            repeat=repeat,
            origin="media_player",
            context=self._context,
            pin=extra.get(ATTR_PIN),
        )

    async def async_browse_media(
        self, media_content_type: MediaType | str | None = None, media_content_id: str | None = None
    ) -> BrowseMedia:
        """The controller's preset messages, then HA's audio media sources (TTS, local media)."""
        if media_content_id and media_source.is_media_source_id(media_content_id):
            return await media_source.async_browse_media(
                self.hass, media_content_id, content_filter=_audio_only
            )
        titles = await async_preset_titles(self.hass)
        children = [
            BrowseMedia(
                media_class=MediaClass.TRACK,
                media_content_id=f"{PRESET_PREFIX}{slot}",
                media_content_type=PRESET_TYPE,
                title=preset_title(titles, name, slot),
                can_play=True,
                can_expand=False,
            )
            for slot, name in sorted(self.controller.presets.items())
        ]
        if "media_source" in self.hass.config.components:
            children.append(
                await media_source.async_browse_media(self.hass, None, content_filter=_audio_only)
            )
        return BrowseMedia(
            media_class=MediaClass.DIRECTORY,
            media_content_id="",
            media_content_type=PRESET_TYPE,
            title=self.controller.device.name,
            can_play=False,
            can_expand=True,
            children=children,
            children_media_class=MediaClass.TRACK,
        )


def _audio_only(item: BrowseMedia) -> bool:
    return item.media_content_type.startswith("audio/")


def _tts_text(media_id: str) -> str | None:
    """The text of a TTS media source id (the message's title), if it is one."""
    if not media_id.startswith("media-source://tts/"):
        return None
    from homeassistant.components.tts.media_source import parse_media_source_id

    try:
        parsed = parse_media_source_id(media_id)
    except HomeAssistantError:
        return None
    if "stream" in parsed:
        return None  # a streamed message (an assist pipeline's) has no text up front
    return parsed["message"]
