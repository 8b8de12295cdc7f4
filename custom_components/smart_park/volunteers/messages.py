"""The notifications volunteers get: texts in the recipient's language and the companion app's push fields.

The app's fields (companion docs, "Critical notifications" and "Actionable notifications"): ``tag`` and
``group`` per incident so a new message replaces the last instead of stacking; Android ``channel:
alarm_stream`` (plays as an alarm, through do-not-disturb), ``ttl: 0`` and ``priority: high`` (delivered now,
not batched), ``persistent`` (cannot be swiped away until the incident closes); iOS ``push.interruption-level:
critical`` with a critical sound. Texts live here, not in strings.json: HA translates entities and errors, not
the bodies of pushes, and each recipient may read another language than the HA instance.
"""

from __future__ import annotations

from typing import Any, Final

from .model import ACTION_PREFIX, Response

TAG_PREFIX: Final = "smart_park_"

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "fire": "Fire alarm",
        "one_key": "One-key alarm",
        "gas": "Gas alarm",
        "floor": "floor {floor}",
        "body": "{kind} at {place}. Volunteers needed: answer now.",
        "body_going": "{kind} at {place}. You are on your way: tap Arrived when you are there.",
        "on_my_way": "On my way",
        "cannot_come": "Can't come",
        "arrived": "Arrived",
        "help": "Volunteers needed at {place}. {kind}. Volunteers, please go now.",
        "park": "the park",
        "closed": "{kind} at {place} is over. Thank you.",
    },
    "zh-Hans": {
        "fire": "火警",
        "one_key": "一键报警",
        "gas": "燃气报警",
        "floor": "{floor}层",
        "body": "{place}发生{kind}，需要志愿者，请立即回复。",
        "body_going": "{place}发生{kind}。您已出发，到达后请点“已到达”。",
        "on_my_way": "出发",
        "cannot_come": "无法前往",
        "arrived": "已到达",
        "help": "{place}需要志愿者支援。{kind}。请志愿者立即前往。",
        "park": "园区",
        "closed": "{place}的{kind}已结束，谢谢。",
    },
}


def language_of(language: str | None, default: str) -> str:
    """``zh-Hans`` for any Chinese, else English (the two languages the product ships)."""
    chosen = (language or default or "en").lower()
    return "zh-Hans" if chosen.startswith("zh") else "en"


def text(language: str, key: str, **values: Any) -> str:
    """One text in ``language`` (en or zh-Hans)."""
    return _TEXTS[language][key].format(**values)


def kind_text(language: str, kind: str) -> str:
    """ "火警" / "Fire alarm" for an incident kind (the kind itself when unknown)."""
    return _TEXTS[language].get(kind, kind) if kind in ("fire", "one_key", "gas") else kind


def place(language: str, building: str | None, floor: int | None, enterprise: str | None) -> str:
    """ "1号楼 3层 恒达机械" / "Building 1, floor 3, Hengda": names, never ids, as far as they are known."""
    parts = [
        part
        for part in (building, text(language, "floor", floor=floor) if floor else None, enterprise)
        if part
    ]
    if not parts:
        return text(language, "park")
    return (" " if language == "zh-Hans" else ", ").join(parts)


def tag(incident_id: str) -> str:
    """The notification tag (and group) of an incident: one notification per incident on each phone."""
    return f"{TAG_PREFIX}{incident_id}"


def help_tag(incident_id: str) -> str:
    """The tag of an incident's call for help (the duty officers' notice and HA's persistent notification)."""
    return f"{TAG_PREFIX}{incident_id}_volunteers"


def action_id(token: str, response: Response) -> str:
    """The action id of one recipient's button: the token says who, the suffix what."""
    return f"{ACTION_PREFIX}{token}_{response.value.upper()}"


def parse_action(action: str) -> tuple[str, Response] | None:
    """(token, response) of an action id the integration minted; None for anything else."""
    if not action.startswith(ACTION_PREFIX):
        return None
    token, _, suffix = action.removeprefix(ACTION_PREFIX).partition("_")
    try:
        return token, Response(suffix.lower())
    except ValueError:
        return None


def alarm_fields(incident_tag: str, *, critical: bool = True) -> dict[str, Any]:
    """The companion app's fields of an alarm (or, ``critical=False``, of an ordinary notice)."""
    fields: dict[str, Any] = {"tag": incident_tag, "group": incident_tag}
    if critical:
        fields |= {
            "channel": "alarm_stream",
            "ttl": 0,
            "priority": "high",
            "importance": "high",
            "persistent": True,
            "sticky": True,
            "push": {
                "interruption-level": "critical",
                "sound": {"name": "default", "critical": 1, "volume": 1.0},
            },
        }
    return fields


def callout(
    language: str, kind: str, where: str, token: str, incident_tag: str, *, on_the_way: bool = False
) -> dict[str, Any]:
    """The roll-call notification: the alarm and its answers ("Arrived" once on the way)."""
    kind_label = kind_text(language, kind)
    answers = (
        [Response.ARRIVED, Response.CANNOT_COME] if on_the_way else [Response.ON_MY_WAY, Response.CANNOT_COME]
    )
    return {
        "title": f"{kind_label} · {where}",
        "message": text(language, "body_going" if on_the_way else "body", kind=kind_label, place=where),
        "data": {
            **alarm_fields(incident_tag),
            "actions": [{"action": action_id(token, r), "title": text(language, r.value)} for r in answers],
        },
    }


def clear(incident_tag: str) -> dict[str, Any]:
    """The companion app's command removing the incident's notification from the phone."""
    return {"message": "clear_notification", "data": {"tag": incident_tag}}
