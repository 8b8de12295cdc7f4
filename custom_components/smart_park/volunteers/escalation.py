"""The roll-call's escalation, and notices to volunteers by role and place.

Step 1 (default 60 s): nobody on the way yet, so the call-out goes to everyone on the roster, on duty or
not, and again to those who have not answered. Step 2 (default 3 min): still below quorum, so an
emergency-priority broadcast "volunteers needed at …" in every zone (queued behind a fire evacuation, never
preempting it), a critical notice to the duty officers, an HA persistent notification for the park manager,
and the optional extra notify action (an SMS gateway). Every step is stored first, audited, announced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.components import persistent_notification
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from ..audit import Outcome, ScopedAudit, Source, source_of
from ..broadcast import Priority
from ..const import LOGGER
from . import messages, push
from .model import EVENT_ESCALATED, Delivery, Response, Role, RollCall, Step, Volunteer, choose_recipients
from .rollcall import RollCalls

if TYPE_CHECKING:
    from homeassistant.core import Context

    from ..broadcast import BroadcastManager

HELP_QUEUE_TIMEOUT = 900.0  # a call for help waits this long behind a fire evacuation


class Escalation:
    """Runs the due steps of a park's roll-calls and sends notices to groups of volunteers."""

    def __init__(self, rollcalls: RollCalls, broadcast: BroadcastManager, audit: ScopedAudit) -> None:
        self.rollcalls = rollcalls
        self.hass = rollcalls.hass
        self.roster = rollcalls.roster
        self.broadcast = broadcast
        self._audit = audit
        rollcalls.on_due = self.async_due

    async def async_due(self, rollcall: RollCall, now: datetime) -> None:
        """Run the steps whose deadline has passed at ``now`` (the timer's time)."""
        if rollcall.repeat_at is not None and rollcall.repeat_at <= now:
            rollcall = self.rollcalls.commit_step(replace(rollcall, repeat_at=None))
            if rollcall.count(Response.ON_MY_WAY) == 0:
                await self._async_repeat_all(rollcall)
        rollcall = self.rollcalls.get(rollcall.incident_id) or rollcall
        if rollcall.escalate_at is not None and rollcall.escalate_at <= now:
            rollcall = self.rollcalls.commit_step(replace(rollcall, escalate_at=None))
            if rollcall.quorum_at is None:
                await self._async_call_for_help(rollcall)

    def _stepped(self, rollcall: RollCall, step: Step, **data: Any) -> RollCall:
        rollcall = self.rollcalls.commit_step(
            replace(rollcall, steps=(*rollcall.steps, (step.value, dt_util.utcnow())))
        )
        self._audit("rollcall_" + step.value, Source.SYSTEM, target=rollcall.incident_id, **data)
        self.hass.bus.async_fire(EVENT_ESCALATED, {**self.rollcalls.event_data(rollcall), "step": step.value})
        return rollcall

    async def _async_repeat_all(self, rollcall: RollCall) -> None:
        everyone = choose_recipients(
            self.roster.volunteers(), rollcall.building, dt_util.now(), everyone=True
        )
        waiting = [
            v for v in everyone if (r := rollcall.recipients.get(v.user_id)) is None or r.response is None
        ]
        rollcall = self._stepped(rollcall, Step.REPEAT_ALL, asked=[v.user_id for v in waiting])
        self.roster.refresh()
        await self.rollcalls.async_ask(rollcall, waiting)

    def _help_texts(self, rollcall: RollCall) -> Callable[[str], tuple[str, str]]:
        """(title, text) of the call for help in a language."""

        def texts(language: str) -> tuple[str, str]:
            kind = messages.kind_text(language, rollcall.kind)
            where = self.rollcalls.place(language, rollcall)
            return kind, messages.text(language, "help", place=where, kind=kind)

        return texts

    async def _async_call_for_help(self, rollcall: RollCall) -> None:
        texts = self._help_texts(rollcall)
        park_language = messages.language_of(None, self.hass.config.language)
        title, text = texts(park_language)
        on_way = rollcall.count(Response.ON_MY_WAY)
        rollcall = self._stepped(rollcall, Step.CALL_FOR_HELP, on_my_way=on_way, quorum=rollcall.quorum)
        if self.rollcalls.options.help_broadcast:
            # One language for the loudspeakers: the park's.
            await self._async_help_broadcast(rollcall, text, park_language)
        await self.async_notify(
            title=title,
            message=text,
            localized=texts,
            roles=[Role.DUTY_OFFICER, Role.CAPTAIN],
            on_duty_only=False,
            critical=True,
            tag=messages.help_tag(rollcall.incident_id),
        )
        # The park manager, in HA's UI; dismissed when the roll-call ends.
        persistent_notification.async_create(
            self.hass,
            f"{text} ({on_way}/{rollcall.quorum})",
            title=text,
            notification_id=messages.help_tag(rollcall.incident_id),
        )
        if (service := self.rollcalls.options.notify_service) is not None:
            domain, _, name = service.partition(".")
            try:
                await self.hass.services.async_call(
                    domain, name, {"message": text, "title": text}, blocking=True
                )
            except (HomeAssistantError, ValueError) as err:
                LOGGER.warning("The roll-call's extra notify action %s failed: %s", service, err)
                self._audit(
                    "rollcall_notify_service",
                    Source.SYSTEM,
                    Outcome.FAILED,
                    target=rollcall.incident_id,
                    service=service,
                )
            else:
                self._audit(
                    "rollcall_notify_service", Source.SYSTEM, target=rollcall.incident_id, service=service
                )

    async def _async_help_broadcast(self, rollcall: RollCall, text: str, language: str) -> None:
        """Emergency priority in every zone, queued behind what outranks it (a fire evacuation plays on)."""
        zones = self.broadcast.zones_of(None)
        if not zones:
            return
        try:
            message = await self.broadcast.async_tts_message(text, language, None)
            await self.broadcast.async_broadcast(
                zones=zones,
                message=message,
                priority=Priority.EMERGENCY,  # above notices and drills, below fire
                queue=True,
                queue_timeout=HELP_QUEUE_TIMEOUT,
                origin="rollcall",
                incident_id=rollcall.incident_id,
            )
        except HomeAssistantError as err:
            LOGGER.warning("The call for volunteers could not be broadcast: %s", err)
            self._audit(
                "rollcall_broadcast",
                Source.SYSTEM,
                Outcome.FAILED,
                target=rollcall.incident_id,
                error=str(err),
            )

    def recipients(
        self,
        *,
        users: Iterable[str] = (),
        roles: Iterable[str] = (),
        buildings: Iterable[str] = (),
        enterprises: Iterable[str] = (),
        on_duty_only: bool = True,
    ) -> list[Volunteer]:
        """Volunteers matching every given filter (an empty filter matches all)."""
        users, roles, buildings, enterprises = set(users), set(roles), set(buildings), set(enterprises)
        pool = self.roster.on_duty() if on_duty_only else self.roster.volunteers()
        return [
            v
            for v in pool
            if (not users or v.user_id in users)
            and (not roles or v.role.value in roles)
            and (not buildings or v.building in buildings)
            and (not enterprises or v.enterprise in enterprises)
        ]

    async def async_notify(
        self,
        *,
        title: str,
        message: str,
        localized: Callable[[str], tuple[str, str]] | None = None,
        users: Sequence[str] = (),
        roles: Sequence[str] = (),
        buildings: Sequence[str] = (),
        enterprises: Sequence[str] = (),
        on_duty_only: bool = True,
        critical: bool = False,
        tag: str | None = None,
        context: Context | None = None,
    ) -> dict[str, list[str]]:
        """A notice to the matching volunteers, all at once; which were sent and which had no path.

        ``localized`` gives (title, message) in a recipient's language; without it everyone reads ``title``
        and ``message`` as given.
        """
        chosen = self.recipients(
            users=users, roles=roles, buildings=buildings, enterprises=enterprises, on_duty_only=on_duty_only
        )
        self.roster.refresh()
        notice_tag = tag or f"{messages.TAG_PREFIX}notice"

        async def send(volunteer: Volunteer) -> bool:
            user_id = volunteer.user_id

            def on_delivery(delivery: Delivery, path: str) -> None:
                self.roster.record_delivery(user_id, delivery, path)

            shown = localized(self.rollcalls.language(volunteer)) if localized else (title, message)
            payload = {
                "title": shown[0],
                "message": shown[1],
                "data": messages.alarm_fields(notice_tag, critical=critical),
            }
            return await push.async_notify(self.hass, self.roster.phones(user_id), payload, on_delivery)

        reached = await asyncio.gather(*(send(volunteer) for volunteer in chosen))
        sent = [v.user_id for v, ok in zip(chosen, reached, strict=True) if ok]
        unreachable = [v.user_id for v, ok in zip(chosen, reached, strict=True) if not ok]
        self._audit(
            "volunteers_notified",
            source_of(context) if context is not None else Source.SYSTEM,
            context=context,
            title=title,
            sent=sent,
            unreachable=unreachable,
        )
        return {"sent": sent, "unreachable": unreachable}
