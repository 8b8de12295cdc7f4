"""park_sync tells HA's duty-room screen (#13) that the central acknowledged its uploads.

Real peers: HA (test harness) with smart_park on the park simulator and its websocket API on a loopback port,
park_sync in process, the reference central.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from central.server import Central
from custom_components.smart_park.screen import DATA_SCREEN
from park_sync.app import ParkSync
from simulator.reference import reference_profile

from .conftest import make_options, wait_for
from .test_e2e_ha import ParkFactory, smart_park  # noqa: F401 - the fixture

PARK_ID = "zhifeng"  # reference_profile's, and make_options' park_id


async def test_acknowledged_uploads_make_the_sync_link_ok(
    hass: HomeAssistant,
    ha_api: tuple[str, str],
    smart_park: ParkFactory,  # noqa: F811 - the imported fixture
    central: Central,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, token = ha_api
    await smart_park(reference_profile(5))
    sync = hass.data[DATA_SCREEN].sync
    assert sync.state(PARK_ID, dt_util.utcnow())["state"] == "unknown"
    app = ParkSync(make_options(tmp_path, central.url), url, token, "127.0.0.1")
    await app.start()
    try:

        async def ok() -> bool:
            return bool(sync.state(PARK_ID, dt_util.utcnow())["state"] == "ok")

        await wait_for(ok, what="the sync heartbeat at HA")
        state = sync.state(PARK_ID, dt_util.utcnow())
        assert state["interval"] == pytest.approx(app.sync_interval())
        assert app.http is not None
        assert app.http.state == "up"
        # Three intervals without a heartbeat: late.
        later = dt_util.utcnow() + timedelta(seconds=3 * app.sync_interval() + 1)
        assert sync.state(PARK_ID, later)["state"] == "late"
        # A park HA does not have: refused, said once, and the sync goes on.
        assert app.ha is not None
        with caplog.at_level(logging.WARNING, logger="park_sync.ha_source"):
            assert not await app.ha.heartbeat("elsewhere", 30)
            assert not await app.ha.heartbeat("elsewhere", 30)
        refusals = [r for r in caplog.records if "refused the sync heartbeat" in r.getMessage()]
        assert len(refusals) == 1
        assert await app.ha.heartbeat(PARK_ID, 30)
    finally:
        await app.stop()
