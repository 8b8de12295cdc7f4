"""Diagnostics: entry, profile, poller statistics and last readings, with personal data redacted.

Redaction is by key and by shape. A profile may keep enterprise fields under any key (联系电话, 负责人,
manager_mobile), so keys are matched by the words they contain, and every string anywhere is searched for
phone numbers, USCCs and e-mail addresses, which are replaced wherever they appear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Final

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant

from . import volunteers
from .audit import AuditLog
from .const import TO_REDACT
from .coordinator import SmartParkConfigEntry, SmartParkData
from .engine.profile import ParkProfile

# Parts of a key that mark its value as personal or secret, in the spellings a park's spreadsheet uses.
_KEY_PARTS: Final = (
    "phone",
    "mobile",
    "email",
    "e_mail",
    "contact",
    "manager",
    "uscc",
    "credit_code",
    "id_card",
    "id_number",
    "password",
    "token",
    "secret",
    "api_key",
    "联系",
    "电话",
    "手机",
    "负责人",
    "经理",
    "法人",
    "法定代表人",
    "姓名",
    "邮箱",
    "信用代码",
    "身份证",
)
_SHAPES: Final = re.compile(
    "|".join(
        (
            # Mainland mobile, optionally +86 / 0086, optionally grouped 3-4-4.
            r"(?<![\d+])(?:(?:\+|00)86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)",
            # Landline with area code (0571-88886666, 057188886666, extension), and 400/800 service numbers.
            r"(?<!\d)0\d{2,3}[\s-]?\d{7,8}(?:-\d{1,6})?(?!\d)",
            r"(?<!\d)[48]00[\s-]?\d{3}[\s-]?\d{4}(?!\d)",
            # USCC (GB 32100-2015): 18 characters of its alphabet (no I, O, S, V, Z); and 18-digit ID numbers.
            r"(?<![0-9A-Za-z])[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}(?![0-9A-Za-z])",
            r"(?<!\d)\d{17}[\dXx](?!\d)",
            # E-mail.
            r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
        )
    )
)


def _personal_key(key: Any) -> bool:
    name = str(key).strip().lower().replace("-", "_").replace(" ", "_")
    return name in TO_REDACT or any(part in name for part in _KEY_PARTS)


def redact(data: Any) -> Any:
    """``data`` with personal values replaced: by key (recursively, any nesting) and by shape (any string)."""
    if isinstance(data, Mapping):
        return {
            key: REDACTED if _personal_key(key) and value not in (None, "") else redact(value)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact(item) for item in data]
    if isinstance(data, str):
        return _SHAPES.sub(REDACTED, data)
    if isinstance(data, int) and not isinstance(data, bool) and _SHAPES.fullmatch(str(data)):
        # YAML reads an unquoted phone number as an int.
        return REDACTED
    return data


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SmartParkConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a park entry."""
    data = entry.runtime_data
    return redact(  # type: ignore[no-any-return]
        {
            "entry": {"title": entry.title, "data": dict(entry.data), "options": dict(entry.options)},
            "park": _park(data.profile),
            "pollers": _pollers(data),
            "coordinators": _coordinators(data),
            "offline_gateways": {
                gw: since.isoformat() for gw, since in data.issues.gateway_offline_since.items()
            },
            "linkage": data.linkage.diagnostics(),
            "broadcast": data.broadcast.diagnostics(),
            # Records with USCC and contact redacted (TO_REDACT), figure months, followed meters.
            "enterprises": data.enterprises.diagnostics(),
            "audit": _audit(data.audit),
            "incidents": data.incidents.diagnostics(),
            "one_key_terminals": data.one_key.diagnostics(),
            # Roles, places, reachability and roll-call figures: no volunteer's name or phone.
            "volunteers": volunteers.diagnostics(data.volunteers),
        }
    )


def _park(profile: ParkProfile) -> dict[str, Any]:
    """The park's gateways in full; its other sections only counted (enterprises have their own part)."""
    return {
        "id": profile.id,
        "name": profile.name,
        "gateways": {gw_id: asdict(gateway) for gw_id, gateway in profile.gateways.items()},
        "buildings": len(profile.buildings),
        "enterprises": len(profile.enterprises),
        "devices": len(profile.devices),
        "device_types": sorted({device.device_type.type for device in profile.devices.values()}),
    }


def _pollers(data: SmartParkData) -> dict[str, Any]:
    """Per gateway: its connection and how many requests each tier's cycle costs."""
    pollers: dict[str, Any] = {}
    for gw_id, poller in data.pollers.items():
        client = data.clients[gw_id]
        pollers[gw_id] = {
            "connected": client.connected,
            "requests_sent": client.requests,
            "devices": len(poller.devices),
            "requests_per_cycle": {str(tier): poller.request_count(tier) for tier in sorted(poller.tiers())},
        }
    return pollers


def _coordinators(data: SmartParkData) -> dict[str, Any]:
    """Per gateway and tier: interval, last outcome and last readings."""
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
    return coordinators


def _audit(audit: AuditLog) -> dict[str, Any]:
    """The audit log's size and its last 50 entries."""
    return {
        "count": len(audit.entries()),
        "pruned": audit.pruned,
        "max_entries": audit.max_entries,
        "last": [entry.as_dict() for entry in audit.entries(limit=50)],
    }
