"""Building the messages a broadcast plays: presets by name or slot, text via HA's TTS, any media as a URL.

Everything is checked here, before anything is written to a controller, and each bad value is refused with a
translated error naming its field. URLs come out absolute, since the controller fetches the audio itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import yarl
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.translation import async_get_translations

from ..const import DOMAIN
from ..errors import invalid
from .model import (
    ATTR_LANGUAGE,
    ATTR_MESSAGE,
    ATTR_PRESET,
    ATTR_TTS_ENGINE,
    BroadcastController,
    Message,
    MessageKind,
    Zone,
)

MAX_TITLE: Final = 60


def name_list(items: Iterable[str], limit: int = 12) -> str:
    """Names for an error's placeholder: sorted, at most ``limit``, with how many more there are."""
    names = sorted(items)
    more = f" (+{len(names) - limit})" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _short(title: str) -> str:
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


async def async_preset_titles(hass: HomeAssistant) -> dict[str, str]:
    """Preset message names in HA's language (selector ``broadcast_preset`` of strings.json)."""
    translations = await async_get_translations(hass, hass.config.language, "selector", {DOMAIN})
    prefix = f"component.{DOMAIN}.selector.broadcast_preset.options."
    return {key.removeprefix(prefix): text for key, text in translations.items() if key.startswith(prefix)}


def preset_title(titles: Mapping[str, str], name: str | None, slot: int) -> str:
    """A preset's title: translated, else its name made readable, else its slot number."""
    if name is None:
        return f"#{slot}"
    return titles.get(name) or name.replace("_", " ").capitalize()


async def async_preset_message(
    hass: HomeAssistant, controllers: Mapping[str, BroadcastController], zones: Sequence[Zone], preset: str
) -> Message:
    """A preset (name or slot number) as each controller of ``zones`` numbers it; translated errors."""
    titles = await async_preset_titles(hass)
    slots: dict[str, int] = {}
    name: str | None = None
    for controller_id in sorted({zone.controller_id for zone in zones}):
        table = controllers[controller_id].presets
        known = ", ".join(f"{slot} {key}" for slot, key in sorted(table.items()))
        if preset.isdigit():
            slot = int(preset)
            # A vendor map without a preset table accepts any slot number.
            if not 1 <= slot <= 0xFFFF or (table and slot not in table):
                raise invalid("broadcast_unknown_preset", field=ATTR_PRESET, preset=preset, presets=known)
        else:
            slot = next((s for s, key in table.items() if key == preset), 0)
            if not slot:
                raise invalid("broadcast_unknown_preset", field=ATTR_PRESET, preset=preset, presets=known)
        slots[controller_id] = slot
        name = name or table.get(slot)
    first = next(iter(slots.values()), 0)
    return Message(MessageKind.PRESET, preset_title(titles, name, first), slots=slots, preset=name or preset)


async def async_tts_message(
    hass: HomeAssistant, text: str, language: str | None, engine: str | None, target: str | None = None
) -> Message:
    """A text made into speech by HA's TTS, as an absolute URL the controllers can fetch."""
    if not {"tts", "media_source"} <= hass.config.components:
        raise invalid("broadcast_tts_unavailable", field=ATTR_MESSAGE)
    # Imported when used: tts is an optional (after-)dependency, loaded only in parks that speak.
    from homeassistant.components import tts
    from homeassistant.components.tts.helper import get_engine_instance

    resolved_engine = tts.async_resolve_engine(hass, engine)
    if resolved_engine is None:
        raise invalid("broadcast_tts_unavailable", field=ATTR_TTS_ENGINE)
    instance = get_engine_instance(hass, resolved_engine)
    if language is not None and instance is not None and language not in (instance.supported_languages or ()):
        raise invalid(
            "broadcast_tts_language",
            field=ATTR_LANGUAGE,
            language=language,
            languages=name_list(instance.supported_languages or ()),
        )
    try:
        media_id = tts.generate_media_source_id(hass, text, engine=resolved_engine, language=language)
    except HomeAssistantError as err:
        raise invalid("broadcast_tts_failed", field=ATTR_MESSAGE, error=str(err)) from err
    url = await async_media_url(hass, media_id, target)
    return Message(MessageKind.URL, _short(text), url=url, text=text, language=language)


def url_message(url: str, title: str | None = None) -> Message:
    """An audio URL to play; titled by ``title`` or the URL's file name."""
    return Message(MessageKind.URL, _short(title or yarl.URL(url).name or url), url=url)


async def async_media_url(hass: HomeAssistant, media_id: str, target: str | None = None) -> str:
    """An absolute URL for a media source id or a URL (HA's own paths made absolute and signed)."""
    # Imported when used, like tts: media_source is an optional (after-)dependency.
    from homeassistant.components import media_source
    from homeassistant.components.media_player.browse_media import async_process_play_media_url

    if media_source.is_media_source_id(media_id):
        if "media_source" not in hass.config.components:
            raise invalid("broadcast_tts_unavailable", field=ATTR_MESSAGE)
        try:
            resolved = await media_source.async_resolve_media(hass, media_id, target)
        except HomeAssistantError as err:
            raise invalid("broadcast_media_unresolvable", media=media_id, error=str(err)) from err
        media_id = resolved.url
    try:
        url = async_process_play_media_url(hass, media_id)
    except HomeAssistantError as err:
        raise invalid("broadcast_no_url", error=str(err)) from err
    if not url.startswith(("http://", "https://")):
        raise invalid("broadcast_no_url", error=url)
    return url
