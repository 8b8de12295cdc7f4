"""A night patrol's log reaches the central: each step is an audit entry, park_sync uploads the stream.

Real peers: HA (test harness) with smart_park on the park simulator and its websocket API on a loopback port,
HA's tag integration for the scans, park_sync in process, the reference central.
"""

from __future__ import annotations

from pathlib import Path

from homeassistant.components.tag import async_scan_tag
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockUser

from central.server import Central
from park_sync.app import ParkSync
from simulator.reference import reference_profile

from .conftest import make_options, wait_for
from .test_e2e_ha import ParkFactory, smart_park  # noqa: F401 - the fixture


async def test_patrol_steps_reach_the_central_as_audit_records(
    hass: HomeAssistant,
    ha_api: tuple[str, str],
    smart_park: ParkFactory,  # noqa: F811 - the imported fixture
    central: Central,
    tmp_path: Path,
    hass_admin_user: MockUser,
) -> None:
    url, token = ha_api
    assert await async_setup_component(hass, "tag", {})
    await smart_park(reference_profile(5))
    app = ParkSync(make_options(tmp_path, central.url), url, token, "127.0.0.1")
    await app.start()
    try:
        await hass.services.async_call(
            "smart_park",
            "start_patrol",
            {"route": "Night round A", "checkpoints": ["04-a1", "04-b2"], "duration": {"hours": 1}},
            blocking=True,
            context=Context(user_id=hass_admin_user.id),
        )
        await async_scan_tag(hass, "04-a1", "phone-1", context=Context(user_id=hass_admin_user.id))
        await hass.services.async_call("smart_park", "end_patrol", {}, blocking=True)
        await hass.async_block_till_done()

        async def patrol_log() -> list[dict[str, object]]:
            return [
                r["data"] for r in await central.storage.records("audit") if r["data"]["category"] == "patrol"
            ]

        async def arrived() -> bool:
            return len(await patrol_log()) == 3

        await wait_for(arrived, what="the patrol's audit entries at the central")
        log = sorted(await patrol_log(), key=lambda entry: int(str(entry["seq"])))
        assert [(e["action"], e["user_id"]) for e in log] == [
            ("start_patrol", hass_admin_user.id),
            ("patrol_scan", hass_admin_user.id),
            ("end_patrol", None),
        ]
        end = log[2]["data"]
        assert isinstance(end, dict)
        assert (end["state"], end["missed"], end["patrollers"]) == ("missed", ["04-b2"], [hass_admin_user.id])
    finally:
        await app.stop()
