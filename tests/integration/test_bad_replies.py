"""Issue #11 item 1: one controller's malformed replies must not blind the other buildings on its gateway."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.linkage import LinkageState

from .conftest import ParkFactory
from .safety_park import PARK_ID, bells_on, safety_document, wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")

# Generous: the linkage's usual latency is one safety poll (0.1 s) plus a verified write.
RING_WITHIN = 2.0


@pytest.mark.parametrize("mode", ["empty", "short", "wrong_function"])
async def test_bad_replies_of_one_controller_do_not_blind_the_gateway(
    hass: HomeAssistant, park_factory: ParkFactory, issue_registry: ir.IssueRegistry, mode: str
) -> None:
    """bells_a (b1) answers malformed replies: b1 shows a linkage fault, and a call point pressed in b2 on
    the same gateway still rings b2's bells within the usual latency."""
    entry, sim = await park_factory(safety_document(), options={})
    linkage = entry.runtime_data.linkage
    sim.bad_reply("bells_a", mode)
    await wait_until("b1 fault", lambda: "bells_a.invalid_reply" in linkage.groups["b1"].faults(), 3)
    assert linkage.groups["b1"].group.state is LinkageState.FAULT
    issue = issue_registry.async_get_issue(DOMAIN, f"{PARK_ID}_linkage_b1_fault")
    assert issue is not None
    assert "bells_a.invalid_reply" in (issue.translation_placeholders or {})["faults"]
    assert linkage.groups["b2"].group.state is LinkageState.NORMAL

    sim.press_call_point("bells_c", 2)
    await wait_until("b2 bells on", lambda: bells_on(sim, "bells_c"), RING_WITHIN)
    assert linkage.groups["b2"].group.state is LinkageState.ALARM
    # The healthy controller of the faulted building still sounds for a call point of its own.
    sim.press_call_point("bells_b", 1)
    await wait_until("b1 bells_b on", lambda: bells_on(sim, "bells_b"), RING_WITHIN)
    assert linkage.groups["b1"].group.state is LinkageState.ALARM

    # The controller heals: its fault clears and it joins its building's alarm.
    sim.bad_reply("bells_a", None)
    await wait_until("bells_a on", lambda: bells_on(sim, "bells_a"), 3)
    await wait_until("b1 fault cleared", lambda: not linkage.groups["b1"].faults(), 3)
    await hass.config_entries.async_unload(entry.entry_id)
