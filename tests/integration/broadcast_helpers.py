"""A park with two broadcast controllers and fire bells, for the broadcast tests (simulator over real TCP)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import Context, HomeAssistant, ServiceResponse
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.smart_park.audit import AuditEntry, Category
from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from simulator.server import BroadcastRecord, ParkSimulator, WriteRecord

from .conftest import ParkFactory, entry_options

PARK_ID = "bc_park"
PA, PA2 = "pa", "pa2"
HALL = "1号楼大厅"
# Long enough that nothing ends by itself unless a test says so (sim.audio.finish, or a frozen clock).
PLAY_SECONDS = 600.0


def broadcast_document(port: int = 5020) -> dict[str, Any]:
    """b1 and b2; controller pa (b1) has zones 1-2 in b1 and 3-4 in b2, pa2 (b2) two zones; bells in both."""
    return {
        "park": {"id": PARK_ID, "name": "广播测试园"},
        "gateways": [{"id": "gw1", "host": "127.0.0.1", "port": port, "timeout": 0.3}],
        "buildings": [{"id": "b1", "name": "1号楼", "floors": 6}, {"id": "b2", "name": "2号楼", "floors": 3}],
        "devices": [
            {
                "id": PA,
                "type": "broadcast_controller",
                "unit": 1,
                "building": "b1",
                "channels": 4,
                "name": "Broadcast A",
                "channel_map": {
                    1: {"name": HALL, "floor": 1},
                    2: {"floor": 2},
                    3: {"building": "b2", "name": "2号楼一层", "floor": 1},
                    4: {"building": "b2", "floor": 2},
                },
            },
            {"id": PA2, "type": "broadcast_controller", "unit": 2, "building": "b2", "channels": 2},
            {"id": "bells_1", "type": "fire_bell_controller", "unit": 3, "building": "b1", "channels": 6},
            {"id": "bells_2", "type": "fire_bell_controller", "unit": 4, "building": "b2", "channels": 3},
        ],
    }


async def start_park(
    park_factory: ParkFactory, seconds: float = PLAY_SECONDS, **options: Any
) -> tuple[SmartParkConfigEntry, ParkSimulator]:
    """The park set up in HA (polls on demand, ``options`` on top) against its simulator with the
    controllers' HTTP APIs on; a message plays ``seconds``."""
    return await park_factory(
        broadcast_document(), options=entry_options(**options), http_audio=True, broadcast_seconds=seconds
    )


async def call(
    hass: HomeAssistant, service: str, user: MockUser | None = None, **data: Any
) -> ServiceResponse:
    """Call one of our actions as ``user`` (an automation when None), returning its response if it has one."""
    return await hass.services.async_call(
        DOMAIN,
        service,
        data,
        blocking=True,
        context=Context(user_id=user.id if user else None),
        return_response=service in ("broadcast", "stop_broadcast"),
    )


def zone_entity(hass: HomeAssistant, controller: str, number: int) -> str:
    """Entity id of a zone's media player."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "media_player", DOMAIN, f"{PARK_ID}_{controller}_zone_{number}"
    )
    assert entity_id is not None
    return entity_id


def zone_state(hass: HomeAssistant, controller: str, number: int) -> str:
    """State of a zone's media player."""
    state = hass.states.get(zone_entity(hass, controller, number))
    assert state is not None
    return state.state


def broadcast_audit(entry: SmartParkConfigEntry, action: str | None = None) -> list[AuditEntry]:
    """The park's broadcast audit entries (of one action)."""
    return [
        e
        for e in entry.runtime_data.audit.entries()
        if e.category is Category.BROADCAST and (action is None or e.action == action)
    ]


def plays(sim: ParkSimulator, device_id: str | None = None, after: int = 0) -> list[BroadcastRecord]:
    """Play/stop commands the controllers received (from index ``after``)."""
    return [b for b in sim.broadcasts[after:] if device_id is None or b.device_id == device_id]


def controller_writes(sim: ParkSimulator, after: int = 0) -> list[WriteRecord]:
    """Writes to the broadcast controllers (from index ``after`` of the write log)."""
    return [w for w in sim.writes[after:] if w.device_id in (PA, PA2)]
