"""Diagnostics: entry, profile, poller statistics and last readings, with personal data redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import TO_REDACT
from .coordinator import SmartParkConfigEntry


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SmartParkConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a park entry."""
    data = entry.runtime_data
    profile = data.profile
    pollers: dict[str, Any] = {}
    for gw_id, poller in data.pollers.items():
        client = data.clients[gw_id]
        pollers[gw_id] = {
            "connected": client.connected,
            "requests_sent": client.requests,
            "devices": len(poller.devices),
            "requests_per_cycle": {str(tier): poller.request_count(tier) for tier in sorted(poller.tiers())},
        }
    coordinators: dict[str, Any] = {}
    for (gw_id, tier), coordinator in data.coordinators.items():
        coordinators[f"{gw_id}/{tier}"] = {
            "interval": coordinator.interval,
            "last_update_success": coordinator.last_update_success,
            "last_exception": repr(coordinator.last_exception) if coordinator.last_exception else None,
            "readings": {
                device_id: asdict(reading) for device_id, reading in (coordinator.data or {}).items()
            },
        }
    return async_redact_data(
        {
            "entry": {"title": entry.title, "data": dict(entry.data), "options": dict(entry.options)},
            "park": {
                "id": profile.id,
                "name": profile.name,
                "gateways": {gw_id: asdict(gateway) for gw_id, gateway in profile.gateways.items()},
                "buildings": len(profile.buildings),
                "enterprises": len(profile.enterprises),
                "devices": len(profile.devices),
                "device_types": sorted({device.device_type.type for device in profile.devices.values()}),
            },
            "pollers": pollers,
            "coordinators": coordinators,
            "offline_gateways": {
                gw: since.isoformat() for gw, since in data.issues.gateway_offline_since.items()
            },
            "linkage": data.linkage.diagnostics(),
            "broadcast": data.broadcast.diagnostics(),
            # Records with USCC and contact redacted (TO_REDACT), figure months, followed meters.
            "enterprises": data.enterprises.diagnostics(),
            "audit": {
                "count": len(data.audit.entries()),
                "pruned": data.audit.pruned,
                "max_entries": data.audit.max_entries,
                "last": [entry.as_dict() for entry in data.audit.entries(limit=50)],
            },
            "incidents": data.incidents.diagnostics(),
            "one_key_terminals": data.one_key.diagnostics(),
        },
        TO_REDACT,
    )
