"""The duty room's side of the link to the fire remote monitoring centre (GB/T 26875.3, via park_sync).

The centre checks that someone is on duty with a roll-call (查岗). park_sync, the park's user information
transmission device, hands it over with ``smart_park/centre/report``; here it becomes a persistent
notification in HA (``smart_park_<park id>_centre_rollcall``), a push to the duty officers on duty (when the
volunteers roster has any) and the ``smart_park_centre_rollcall`` event. Someone answers with the action
``smart_park.answer_centre_rollcall``: the answer is an audit entry (category ``centre``, action
``rollcall_answered``, with the user), which park_sync reads from its audit stream and sends to the centre
as a roll-call answer. A roll-call not answered in time is audited as missed and its notification says so.

Clock synchronisations and initialisations from the centre are audited here too (park_sync does not set the
host's clock). Pending roll-calls are kept in memory: after a restart of HA the centre asks again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.components import persistent_notification
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from ..audit import Category, Source, source_of
from ..const import DOMAIN
from ..coordinator import SmartParkConfigEntry
from ..entry import loaded_entries
from ..errors import invalid

_LOGGER = logging.getLogger(__name__)

DATA_CENTRE: Final = f"{DOMAIN}_centre"
EVENT_ROLLCALL: Final = f"{DOMAIN}_centre_rollcall"
EVENT_ROLLCALL_ANSWERED: Final = f"{DOMAIN}_centre_rollcall_answered"
# The centre's command carries the minutes it waits for an answer; 0 (unset) means this many.
DEFAULT_MINUTES: Final = 10
LANGUAGES: Final = ("en", "zh-Hans")
# English when a translation is missing: a broken file must not lose the prompt.
FALLBACK: Final = {
    "centre_rollcall_title": "Roll-call from the fire monitoring centre",
    "centre_rollcall_message": (
        "{park}: the fire remote monitoring centre is checking that the duty room is staffed. Answer "
        "within {minutes} minutes (before {deadline}) with the action smart_park.answer_centre_rollcall."
    ),
    "centre_rollcall_missed_title": "Centre roll-call not answered",
    "centre_rollcall_missed_message": (
        "{park}: the fire remote monitoring centre's roll-call of {asked} was not answered within {minutes} "
        "minutes."
    ),
}


def notification_id(park_id: str) -> str:
    """The persistent notification of a park's roll-call."""
    return f"{DOMAIN}_{park_id}_centre_rollcall"


@dataclass(slots=True)
class PendingRollCall:
    """A roll-call waiting for someone on duty."""

    park_id: str
    asked_at: datetime
    deadline: datetime
    minutes: int
    cancel_timer: CALLBACK_TYPE


async def _async_texts(hass: HomeAssistant, language: str) -> dict[str, str]:
    translations = await async_get_translations(hass, language, "exceptions", {DOMAIN})
    prefix = f"component.{DOMAIN}.exceptions."
    return {key: translations.get(f"{prefix}{key}.message", text) for key, text in FALLBACK.items()}


def _format(texts: dict[str, str], key: str, **values: Any) -> str:
    try:
        return texts[key].format(**values)
    except (KeyError, IndexError, ValueError):
        return FALLBACK[key].format(**values)


def _entry_of(hass: HomeAssistant, park_id: str) -> SmartParkConfigEntry | None:
    return next((e for e in loaded_entries(hass) if e.runtime_data.profile.id == park_id), None)


class CentreDesk:
    """Roll-calls waiting for an answer, by park id, and the audit of what the centre did."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.pending: dict[str, PendingRollCall] = {}
        self._followed: set[str] = set()

    @callback
    def _follow_unload(self, entry: SmartParkConfigEntry) -> None:
        """A park unloading takes its pending roll-call (and its timer) with it."""
        if entry.entry_id in self._followed:
            return
        self._followed.add(entry.entry_id)
        park_id = entry.runtime_data.profile.id

        @callback
        def unloaded() -> None:
            self._followed.discard(entry.entry_id)
            if (rollcall := self.pending.pop(park_id, None)) is not None:
                rollcall.cancel_timer()

        entry.async_on_unload(unloaded)

    @callback
    def record(
        self, entry: SmartParkConfigEntry, action: str, *, context: Context | None = None, **data: Any
    ) -> None:
        """Audit something the centre did to the park's link (clock sync, initialise, a roll-call)."""
        source = source_of(context) if context is not None and context.user_id else Source.SYSTEM
        entry.runtime_data.audit.record(Category.CENTRE, action, source=source, context=context, **data)

    async def async_rollcall(self, entry: SmartParkConfigEntry, minutes: int) -> PendingRollCall:
        """The centre asks who is on duty: prompt the duty room (a new roll-call replaces a pending one)."""
        profile = entry.runtime_data.profile
        minutes = minutes or DEFAULT_MINUTES
        now = dt_util.utcnow()
        if (old := self.pending.pop(profile.id, None)) is not None:
            old.cancel_timer()
        park_id = profile.id

        @callback
        def expired(_now: datetime) -> None:
            self.hass.async_create_task(self._async_missed(park_id), eager_start=True)

        rollcall = PendingRollCall(
            park_id,
            now,
            now + timedelta(minutes=minutes),
            minutes,
            async_call_later(self.hass, minutes * 60, expired),
        )
        self.pending[park_id] = rollcall
        self._follow_unload(entry)
        self.record(entry, "rollcall_asked", minutes=minutes, deadline=rollcall.deadline.isoformat())
        self.hass.bus.async_fire(
            EVENT_ROLLCALL,
            {
                "config_entry_id": entry.entry_id,
                "park_id": park_id,
                "minutes": minutes,
                "deadline": rollcall.deadline.isoformat(),
            },
        )
        texts = {language: await _async_texts(self.hass, language) for language in LANGUAGES}
        values = {
            "park": profile.name,
            "minutes": minutes,
            "deadline": dt_util.as_local(rollcall.deadline).strftime("%H:%M"),
        }

        def shown(language: str) -> tuple[str, str]:
            chosen = texts["zh-Hans" if language.lower().startswith("zh") else "en"]
            return (
                _format(chosen, "centre_rollcall_title"),
                _format(chosen, "centre_rollcall_message", **values),
            )

        title, message = shown(self.hass.config.language)
        persistent_notification.async_create(
            self.hass, message, title=title, notification_id=notification_id(park_id)
        )
        await self._async_push(entry, shown, park_id)
        return rollcall

    async def _async_push(self, entry: SmartParkConfigEntry, shown: Any, park_id: str) -> None:
        """The duty officers on duty get it on their phones too (best effort: HA's notification stays)."""
        team = entry.runtime_data.volunteers
        if not team.escalation.recipients(roles=["duty_officer"], on_duty_only=True):
            return
        title, message = shown(self.hass.config.language)
        try:
            await team.escalation.async_notify(
                title=title,
                message=message,
                localized=shown,
                roles=["duty_officer"],
                on_duty_only=True,
                tag=notification_id(park_id),
            )
        except Exception:  # a push path failing must not lose the prompt in HA
            _LOGGER.exception("Pushing the centre's roll-call to the duty officers failed")

    async def _async_missed(self, park_id: str) -> None:
        rollcall = self.pending.pop(park_id, None)
        if rollcall is None:
            return
        entry = _entry_of(self.hass, park_id)
        texts = await _async_texts(self.hass, self.hass.config.language)
        asked = dt_util.as_local(rollcall.asked_at).strftime("%H:%M")
        name = entry.runtime_data.profile.name if entry is not None else park_id
        persistent_notification.async_create(
            self.hass,
            _format(
                texts, "centre_rollcall_missed_message", park=name, asked=asked, minutes=rollcall.minutes
            ),
            title=_format(texts, "centre_rollcall_missed_title"),
            notification_id=notification_id(park_id),
        )
        if entry is not None:
            self.record(
                entry, "rollcall_missed", asked_at=rollcall.asked_at.isoformat(), minutes=rollcall.minutes
            )

    @callback
    def answer(self, entry: SmartParkConfigEntry, context: Context) -> dict[str, Any]:
        """Someone on duty answers the pending roll-call; a translated refusal when none is pending."""
        park_id = entry.runtime_data.profile.id
        rollcall = self.pending.pop(park_id, None)
        if rollcall is None:
            raise invalid("centre_rollcall_none", park=entry.runtime_data.profile.name)
        rollcall.cancel_timer()
        seconds = round((dt_util.utcnow() - rollcall.asked_at).total_seconds(), 1)
        self.record(
            entry,
            "rollcall_answered",
            context=context,
            asked_at=rollcall.asked_at.isoformat(),
            seconds=seconds,
        )
        persistent_notification.async_dismiss(self.hass, notification_id(park_id))
        result = {"park_id": park_id, "asked_at": rollcall.asked_at.isoformat(), "seconds": seconds}
        self.hass.bus.async_fire(
            EVENT_ROLLCALL_ANSWERED, {"config_entry_id": entry.entry_id, **result}, context=context
        )
        return result

    @callback
    def async_stop(self) -> None:
        """Cancel the deadlines (HA stops)."""
        for rollcall in self.pending.values():
            rollcall.cancel_timer()
        self.pending.clear()


def desk(hass: HomeAssistant) -> CentreDesk:
    """The desk of this HA instance (made on first use)."""
    found: CentreDesk | None = hass.data.get(DATA_CENTRE)
    if found is None:
        found = hass.data[DATA_CENTRE] = CentreDesk(hass)
    return found
