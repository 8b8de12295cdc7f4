"""Registry entries and states of the event, media player, siren, switch and to-do platforms, as snapshots.

The sensor and binary sensor snapshots are in test_sensor.py and test_binary_sensor.py. The conftest's park
has one device of every built-in type: the one-key alarm (event), the broadcast controller (media players),
the fire-bell controller and its building's linkage group (sirens), the I/O module (switches) and the
building's fire-inspection list (to-do).
"""

from __future__ import annotations

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from .conftest import ParkFactory, park_document


@pytest.mark.parametrize(
    "platform",
    [Platform.EVENT, Platform.MEDIA_PLAYER, Platform.SIREN, Platform.SWITCH, Platform.TODO],
    ids=str,
)
async def test_platform_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    park_factory: ParkFactory,
    platform: Platform,
) -> None:
    """Every entity of the platform: registry entry and state (snapshot_platform fails on none)."""
    entry, _sim = await park_factory(park_document(), platforms=[platform])
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
