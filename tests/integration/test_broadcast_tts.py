"""A text broadcast: HA's tts makes the audio URL; the simulated controller fetches it from HA over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from aiohttp.test_utils import TestServer
from homeassistant.components.media_player import (
    ATTR_MEDIA_CONTENT_ID,
    ATTR_MEDIA_CONTENT_TYPE,
    SERVICE_PLAY_MEDIA,
)
from homeassistant.components.media_player.const import DOMAIN as MP_DOMAIN
from homeassistant.components.tts import TextToSpeechEntity, TtsAudioType, generate_media_source_id
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    MockUser,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from simulator.server import ParkSimulator

from .broadcast_helpers import PA, PA2, broadcast_audit, call, plays, start_park, zone_entity
from .conftest import ParkFactory
from .helpers import async_poll

pytestmark = pytest.mark.usefixtures("socket_enabled")

SPEECH_DOMAIN = "test_speech"
# Not real MP3 frames, but what a TTS engine hands over: bytes with an mp3 type.
AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 64
TEXT = "请各位员工立即有序撤离至集合点。"


class SpeechEngine(TextToSpeechEntity):
    """A small TTS engine for tests: any text becomes the same bytes."""

    _attr_name = "Test speech"
    _attr_unique_id = "test_speech"
    _attr_default_language = "zh-CN"
    _attr_supported_languages = ["zh-CN", "en"]

    def __init__(self) -> None:
        """Remember what it was asked to say."""
        self.spoken: list[tuple[str, str]] = []

    def get_tts_audio(self, message: str, language: str, options: dict[str, Any]) -> TtsAudioType:
        """Say ``message``."""
        self.spoken.append((message, language))
        return "mp3", AUDIO


@pytest.fixture
def tts_cache(tmp_path: Path) -> Iterator[Path]:
    """tts keeps its file cache in a temporary folder, not in the test config folder."""
    with patch("homeassistant.components.tts._init_tts_cache_dir", return_value=str(tmp_path)):
        yield tmp_path


class SpeechFlow(ConfigFlow):
    """The test engine's integration needs a config flow for its entry."""

    VERSION = 1


@pytest.fixture
async def engine(hass: HomeAssistant, tts_cache: Path) -> AsyncIterator[SpeechEngine]:
    """http, media_source and tts with the test engine (a config entry of a mocked integration)."""
    assert await async_setup_component(hass, "http", {"http": {}})
    assert await async_setup_component(hass, "media_source", {})
    speech = SpeechEngine()

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, [Platform.TTS])
        return True

    async def unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        return await hass.config_entries.async_unload_platforms(entry, [Platform.TTS])

    async def setup_platform(
        hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        async_add_entities([speech])

    mock_integration(
        hass, MockModule(SPEECH_DOMAIN, async_setup_entry=setup_entry, async_unload_entry=unload_entry)
    )
    mock_platform(hass, f"{SPEECH_DOMAIN}.config_flow")
    mock_platform(hass, f"{SPEECH_DOMAIN}.tts", MockPlatform(async_setup_entry=setup_platform))
    with mock_config_flow(SPEECH_DOMAIN, SpeechFlow):
        entry = MockConfigEntry(domain=SPEECH_DOMAIN)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        yield speech


@pytest.fixture
async def bc_park(
    park_factory: ParkFactory, engine: SpeechEngine
) -> tuple[SmartParkConfigEntry, ParkSimulator]:
    """The park in HA and its simulator; a text plays for a moment."""
    return await start_park(park_factory, seconds=0.2)


@pytest.fixture
def sim(bc_park: tuple[SmartParkConfigEntry, ParkSimulator]) -> ParkSimulator:
    """The broadcast park's simulator."""
    return bc_park[1]


@pytest.fixture
async def park(
    hass: HomeAssistant, bc_park: tuple[SmartParkConfigEntry, ParkSimulator]
) -> AsyncIterator[tuple[SmartParkConfigEntry, str]]:
    """The park in HA, and HA's HTTP server on a real 127.0.0.1 port as its internal URL."""
    entry = bc_park[0]
    # Started last: serving freezes the routes, and the media_player platform registers views at setup.
    server = TestServer(hass.http.app, host="127.0.0.1")
    await server.start_server()
    base = f"http://127.0.0.1:{server.port}"
    await hass.config.async_update(internal_url=base)
    yield entry, base
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await server.close()


async def test_text_is_spoken_and_fetched_by_the_controllers(
    hass: HomeAssistant,
    park: tuple[SmartParkConfigEntry, str],
    sim: ParkSimulator,
    engine: SpeechEngine,
    hass_admin_user: MockUser,
) -> None:
    """TTS URL handed over HTTP; each controller GETs it from HA (200, audio/mpeg, every byte) and plays."""
    entry, base = park
    response = await call(
        hass,
        "broadcast",
        hass_admin_user,
        zones=[f"{PA}.1", f"{PA2}.2"],
        message=TEXT,
        language="zh-CN",
        priority="emergency",
    )
    assert response is not None
    first = await sim.audio.wait_for_fetch(0)
    second = await sim.audio.wait_for_fetch(1)
    fetches = {f.device_id: f for f in (first, second)}
    assert fetches.keys() == {PA, PA2}
    for fetch in fetches.values():
        assert fetch.url.startswith(f"{base}/api/tts_proxy/")
        assert (fetch.status, fetch.content_type, fetch.bytes) == (200, "audio/mpeg", len(AUDIO))
    assert engine.spoken == [(TEXT, "zh-CN")]
    url_plays = {p.device_id: p for p in plays(sim)}
    assert url_plays[PA].command == url_plays[PA2].command == 2
    assert url_plays[PA].url == fetches[PA].url
    assert (url_plays[PA].zones, url_plays[PA2].zones) == ([1], [2])
    # Its ticket is what the Modbus command carried.
    assert url_plays[PA].message_slot == fetches[PA].ticket
    await hass.async_block_till_done()
    state = hass.states.get(zone_entity(hass, PA, 1))
    assert state is not None
    assert (state.state, state.attributes["media_title"]) == ("playing", TEXT)
    [started] = broadcast_audit(entry, "started")
    assert started.data["message"]["text"] == TEXT
    assert started.data["message"]["language"] == "zh-CN"
    assert started.data["message"]["url"] == fetches[PA].url

    # Played to its end (0.2 s): the fast poll sees both controllers idle and the broadcast completes.
    for device_id in (PA, PA2):
        await sim.audio.controllers[device_id].wait_idle(5)
    await async_poll(hass, entry, Tier.FAST)
    [ended] = broadcast_audit(entry, "ended")
    assert ended.data["reason"] == "completed"


async def test_tts_through_the_media_player(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, str], sim: ParkSimulator
) -> None:
    """play_media with a tts media source id: the zone's controller fetches the spoken text."""
    media_id = generate_media_source_id(hass, "Drill in five minutes", language="en")
    await hass.services.async_call(
        MP_DOMAIN,
        SERVICE_PLAY_MEDIA,
        {
            ATTR_ENTITY_ID: zone_entity(hass, PA, 2),
            ATTR_MEDIA_CONTENT_TYPE: "music",
            ATTR_MEDIA_CONTENT_ID: media_id,
        },
        blocking=True,
    )
    fetch = await sim.audio.wait_for_fetch()
    assert (fetch.device_id, fetch.status, fetch.bytes) == (PA, 200, len(AUDIO))
    assert plays(sim)[-1].zones == [2]


async def test_a_fetch_that_fails_ends_the_broadcast_as_failed(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, str], sim: ParkSimulator
) -> None:
    """An audio URL that answers 404: the controller reports it, the broadcast ends failed."""
    entry, base = park
    await hass.services.async_call(
        MP_DOMAIN,
        SERVICE_PLAY_MEDIA,
        {
            ATTR_ENTITY_ID: zone_entity(hass, PA, 1),
            ATTR_MEDIA_CONTENT_TYPE: "music",
            ATTR_MEDIA_CONTENT_ID: f"{base}/api/tts_proxy/nothing-here.mp3",
        },
        blocking=True,
    )
    fetch = await sim.audio.wait_for_fetch()
    assert fetch.status == 404
    await sim.audio.controllers[PA].wait_idle(5)
    await async_poll(hass, entry, Tier.FAST)
    [ended] = broadcast_audit(entry, "ended")
    assert ended.data["reason"] == "failed"
    assert ended.data["failed"] == {PA: "fetch status 404"}


async def test_unsupported_language_is_refused_before_anything_is_written(
    hass: HomeAssistant, park: tuple[SmartParkConfigEntry, str], sim: ParkSimulator, engine: SpeechEngine
) -> None:
    """A language the engine lacks: a translated error naming the field; no speech, no write."""
    start = len(sim.writes)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "broadcast", zones=[f"{PA}.1"], message="Bonjour", language="fr")
    assert err.value.translation_key == "broadcast_tts_language"
    assert (err.value.translation_placeholders or {})["field"] == "language"
    assert sim.writes[start:] == []
    assert engine.spoken == []
