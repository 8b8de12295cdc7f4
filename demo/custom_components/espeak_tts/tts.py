"""The TTS entity: espeak-ng writes a WAV file to stdout."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.components.tts import TextToSpeechEntity, TtsAudioType
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

# HA language -> espeak-ng voice.
VOICES = {"zh-CN": "cmn", "zh-Hans": "cmn", "zh": "cmn", "en": "en", "en-US": "en-us", "en-GB": "en-gb"}
TIMEOUT = 30.0


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the engine's entity."""
    async_add_entities([EspeakEntity(entry.entry_id)])


class EspeakEntity(TextToSpeechEntity):
    """Mandarin and English speech from espeak-ng, offline."""

    _attr_name = "eSpeak NG"
    _attr_default_language = "zh-CN"

    def __init__(self, entry_id: str) -> None:
        """One entity per entry."""
        self._attr_unique_id = entry_id
        self._attr_supported_languages = list(VOICES)

    async def async_get_tts_audio(self, message: str, language: str, options: dict[str, Any]) -> TtsAudioType:
        """Speak ``message``; the text goes as an argument, never through a shell."""
        proc = await asyncio.create_subprocess_exec(
            "espeak-ng",
            "-v",
            VOICES[language],
            "--stdout",
            "--",
            message,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            audio, error = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        except TimeoutError:
            proc.kill()
            raise HomeAssistantError("espeak-ng did not finish") from None
        if proc.returncode != 0 or not audio:
            raise HomeAssistantError(f"espeak-ng failed: {error.decode(errors='replace').strip()}")
        return "wav", audio
