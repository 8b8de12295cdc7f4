"""Audit log: user ids, bounded with a pruned counter across reloads, in logbook and in diagnostics."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.smart_park import audit
from custom_components.smart_park.audit import AuditLog, Category, Source
from custom_components.smart_park.const import CONF_AUDIT_SIZE
from custom_components.smart_park.coordinator import SmartParkConfigEntry
from custom_components.smart_park.engine.catalogue import Tier
from custom_components.smart_park.incidents import IncidentKind
from custom_components.smart_park.logbook import describe_audit, describe_incident
from simulator.server import ParkSimulator

from .conftest import PARK_ID, entry_options
from .helpers import async_poll, eid
from .test_one_key import TERMINAL

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """As conftest's, but the recorder's database is prepared before hass starts (for the logbook test)."""


async def test_audit_bounded_across_reload(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: ParkSimulator, hass_admin_user: MockUser
) -> None:
    """Past audit_size the oldest entries go and are counted; both survive a reload, seq keeps counting."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options=entry_options(**{CONF_AUDIT_SIZE: 4}))
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    entry: SmartParkConfigEntry = config_entry  # type: ignore[assignment]

    simulator.press_alarm_button(TERMINAL)  # open_incident, alarm_button_pressed
    await async_poll(hass, entry, Tier.FAST)
    (incident,) = entry.runtime_data.incidents.open_incidents()
    admin = Context(user_id=hass_admin_user.id)
    entry.runtime_data.incidents.acknowledge(incident.id, context=admin)  # + acknowledge_lamp
    await hass.async_block_till_done()
    entry.runtime_data.incidents.close(incident.id, context=admin)  # + acknowledge_lamp
    await hass.async_block_till_done()
    audit = entry.runtime_data.audit
    assert [e.seq for e in audit.entries()] == [3, 4, 5, 6]
    assert audit.pruned == 2
    assert [(e.action, e.user_id) for e in audit.entries()] == [
        ("acknowledge_incident", hass_admin_user.id),
        ("acknowledge_lamp", None),
        ("close_incident", hass_admin_user.id),
        ("acknowledge_lamp", None),
    ]

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    audit = entry.runtime_data.audit
    assert ([e.seq for e in audit.entries()], audit.pruned) == ([3, 4, 5, 6], 2)
    new = audit.record(Category.DEVICE, "test", source=Source.SYSTEM)
    assert (new.seq, new.id, audit.pruned) == (7, f"{PARK_ID}-a7", 3)
    assert await hass.config_entries.async_unload(entry.entry_id)


def test_logbook_messages() -> None:
    """Readable English lines, with the park's own names."""
    incident = {
        "id": "p-i1",
        "kind": "fire",
        "building": "b1",
        "building_name": "1号楼",
        "floor": 3,
        "enterprise": "e001",
        "enterprise_name": "恒达机械有限公司",
    }
    assert describe_incident("smart_park_incident_opened", incident) == (
        "Fire incident",
        "opened at 1号楼 floor 3, 恒达机械有限公司 (p-i1)",
    )
    assert describe_incident("smart_park_incident_closed", {"id": "p-i2", "kind": "gas"}) == (
        "Gas incident",
        "closed (p-i2)",
    )
    assert describe_audit({"action": "open_incident", "target": "p-i1", "outcome": "ok"}) == (
        "incident opened: p-i1"
    )
    assert (
        describe_audit(
            {
                "action": "acknowledge_incident",
                "target": "p-i1",
                "outcome": "refused",
                "data": {"reason": "incident_already_closed"},
            }
        )
        == "refused: incident acknowledged: p-i1 (incident_already_closed)"
    )
    assert describe_audit({"action": "acknowledge_lamp", "target": "t1", "data": {"on": True}}) == (
        "acknowledge lamp on: t1"
    )
    # Another capability's action reads as its name.
    assert describe_audit({"action": "silence_alarm", "target": "b1", "outcome": "ok"}) == "silence alarm: b1"


async def test_logbook(
    recorder_mock: Any,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: SmartParkConfigEntry,
    simulator: ParkSimulator,
    hass_admin_user: MockUser,
) -> None:
    """The audit entries and incident events show in the logbook, with the acting user's context."""
    assert await async_setup_component(hass, "logbook", {})
    start = dt_util.utcnow() - timedelta(seconds=1)
    simulator.press_alarm_button(TERMINAL)
    await async_poll(hass, init_integration, Tier.FAST)
    (incident,) = init_integration.runtime_data.incidents.open_incidents()
    init_integration.runtime_data.incidents.acknowledge(
        incident.id, context=Context(user_id=hass_admin_user.id)
    )
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "logbook/get_events", "start_time": start.isoformat()})
    response = await client.receive_json()
    assert response["success"], response
    lines = [
        (item.get("name"), item.get("message"), item.get("context_user_id"))
        for item in response["result"]
        if item.get("domain") == "smart_park"
    ]
    assert lines == [
        ("Smart Park", f"incident opened: {incident.id}", None),
        ("One-key alarm incident", f"opened at 1号楼 floor 1 ({incident.id})", None),
        ("Smart Park", f"alarm button pressed: {TERMINAL}", None),
        ("Smart Park", f"incident acknowledged: {incident.id}", hass_admin_user.id),
        ("One-key alarm incident", f"acknowledged at 1号楼 floor 1 ({incident.id})", hass_admin_user.id),
        ("Smart Park", f"acknowledge lamp on: {TERMINAL}", None),
    ]
    sensor = next(item for item in response["result"] if item.get("message", "").startswith("opened at"))
    assert sensor["entity_id"] == eid(hass, "sensor", "test_park_open_incidents")


async def test_diagnostics_audit_and_incidents(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: SmartParkConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """Audit summary and incidents are in diagnostics; personal data in their data is redacted."""
    runtime = init_integration.runtime_data
    fire = runtime.incidents.open(
        IncidentKind.FIRE, source="linkage:b1", building="b1", floor=2, enterprise="e001"
    )
    runtime.incidents.acknowledge(fire.id, context=Context(user_id=hass_admin_user.id))
    runtime.audit.record(
        Category.ENTERPRISE, "update_contact", source=Source.USER, contact_phone="13800000000", pin="1234"
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = json.dumps(diagnostics, ensure_ascii=False)
    assert "13800000000" not in text
    assert '"1234"' not in text
    audit = diagnostics["audit"]
    assert (audit["count"], audit["pruned"]) == (3, 0)
    assert [e["action"] for e in audit["last"]] == ["open_incident", "acknowledge_incident", "update_contact"]
    assert audit["last"][2]["data"] == {"contact_phone": "**REDACTED**", "pin": "**REDACTED**"}
    assert audit["last"][1]["user_id"] == hass_admin_user.id
    (open_incident,) = diagnostics["incidents"]["open"]
    assert (open_incident["id"], open_incident["state"], open_incident["enterprise_name"]) == (
        fire.id,
        "acknowledged",
        "恒达机械有限公司",
    )
    assert diagnostics["one_key_terminals"][TERMINAL]["lamp_wanted"] is False


async def _entries_after_restart(hass: HomeAssistant, entry_id: str) -> list[tuple[int, str | None]]:
    """The entries a new log of the same park reads back (as after HA restarted)."""
    log = AuditLog(hass, entry_id, "p", 100)
    await log.async_load()
    return [(e.seq, e.target) for e in log.entries()]


async def test_entries_survive_a_crash_without_any_save(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    log = AuditLog(hass, "crashed", "p", 100)
    await log.async_load()
    for number in range(1, 6):
        log.record(Category.LINKAGE, "silence_alarm", source=Source.USER, target=f"g{number}")
    # No flush, no snapshot (far below SNAPSHOT_EVERY): only the journal's appends, as when HA is killed.
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "smart_park.crashed.audit" not in hass_storage
    assert await _entries_after_restart(hass, "crashed") == [(n, f"g{n}") for n in range(1, 6)]
    # A line torn by the crash is skipped; the entries before it are kept.
    journal = Path(hass.config.path(".storage", "smart_park.crashed.audit.journal"))
    torn = b'{"id": "p-a6", "seq": 6, "at": "2026-'
    await hass.async_add_executor_job(journal.write_bytes, journal.read_bytes() + torn)
    assert await _entries_after_restart(hass, "crashed") == [(n, f"g{n}") for n in range(1, 6)]


async def test_snapshots_keep_the_journal_short(
    hass: HomeAssistant, hass_storage: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "SNAPSHOT_EVERY", 3)
    log = AuditLog(hass, "busy", "p", 100)
    await log.async_load()
    for number in range(1, 8):
        log.record(Category.INCIDENT, "open_incident", source=Source.FIELD, target=f"i{number}")
        await hass.async_block_till_done(wait_background_tasks=True)
    assert hass_storage["smart_park.busy.audit"]["data"]["seq"] == 6
    path = Path(hass.config.path(".storage", "smart_park.busy.audit.journal"))
    journal = (await hass.async_add_executor_job(path.read_text)).splitlines()
    assert [json.loads(line)["seq"] for line in journal] == [7]
    assert await _entries_after_restart(hass, "busy") == [(n, f"i{n}") for n in range(1, 8)]


async def test_flush_of_a_log_that_never_wrote_a_line(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """A park unloaded before its first audit entry: no journal file (nor .storage folder) to rewrite."""
    log = AuditLog(hass, "quiet", "p", 100)
    await log.async_load()
    await log.async_flush()
    assert hass_storage["smart_park.quiet.audit"]["data"]["seq"] == 0
    assert not await hass.async_add_executor_job(
        Path(hass.config.path(".storage", "smart_park.quiet.audit.journal")).exists
    )
