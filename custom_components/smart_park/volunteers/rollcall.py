"""Roll-calls: from an incident to the volunteers' phones and back, persisted so a restart resumes them.

One :class:`RollCalls` per park. A dispatch (automatic when an incident of a chosen kind opens, or the
``dispatch_volunteers`` action) asks the volunteers on duty, the same building first, and the building's
leaders; each recipient gets a token, and the buttons of their notification carry it, so an answer (a
``mobile_app_notification_action`` event) is matched to the volunteer and checked against the event's
``context.user_id``. Every step is stored with the escalation's deadlines, audited and announced; the timers
are re-armed from the stored deadlines after a restart. The incident carries the roll-call's figures (no
names) in its detail, so the dashboard and the central platform see them with the incident.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components import persistent_notification
from homeassistant.core import CALLBACK_TYPE, Context, Event, HassJob, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from ..audit import Outcome, ScopedAudit, Source, source_of
from ..const import DOMAIN, LOGGER
from ..errors import invalid
from ..listeners import Listeners
from ..records import RecordStore
from . import messages, push
from .model import (
    EVENT_DISPATCHED,
    EVENT_ENDED,
    EVENT_RESPONDED,
    Delivery,
    Recipient,
    Response,
    RollCall,
    Volunteer,
    choose_recipients,
)
from .options import RollCallOptions
from .roster import Roster

if TYPE_CHECKING:
    from ..incidents import Incident, IncidentManager
    from . import VolunteerTeam

MAX_ENDED: Final = 500  # ended roll-calls kept for the month's figures and the dashboard
EVENT_NOTIFICATION_ACTION: Final = "mobile_app_notification_action"
# Dispatched with (entry id, team, roll-call) on every change: websocket subscribers of every park.
SIGNAL_ROLLCALL_CHANGED: Final = f"{DOMAIN}_rollcall_changed"

type EscalationHandler = Callable[[RollCall, datetime], Any]


class RollCalls:
    """The roll-calls of one park."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        roster: Roster,
        incidents: IncidentManager,
        audit: ScopedAudit,
        options: RollCallOptions,
    ) -> None:
        self.hass = hass
        self.entry_id = entry_id
        # The capability this belongs to, for the websocket subscribers (set once it is assembled).
        self.team: VolunteerTeam | None = None
        self.roster = roster
        self.incidents = incidents
        self.profile = incidents.profile
        self.options = options
        self._audit = audit
        self._rollcalls: dict[str, RollCall] = {}
        self._tokens: dict[str, tuple[str, str]] = {}  # token -> (incident id, user id)
        self._timers: dict[str, CALLBACK_TYPE] = {}
        self.listeners: Listeners[[RollCall]] = Listeners()
        # Set by the escalation (it needs the broadcast capability): called when a deadline is due.
        self.on_due: EscalationHandler | None = None
        self._store = RecordStore(hass, f"{DOMAIN}.{entry_id}.rollcalls", "rollcalls")

    # --- persistence and life cycle -------------------------------------------------------------------

    async def async_load(self) -> None:
        """Load the roll-calls; end those whose incident closed while HA was down."""
        stored = await self._store.async_load()
        for item in stored.get("rollcalls", []):
            rollcall = RollCall.from_dict(item)
            self._rollcalls[rollcall.incident_id] = rollcall
            self._store.put(rollcall.incident_id, rollcall.as_dict())
            for recipient in rollcall.recipients.values():
                self._tokens[recipient.token] = (rollcall.incident_id, recipient.user_id)

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow incidents and answers, re-arm the stored deadlines; returns the stop callback."""
        unsubscribe = [
            self.incidents.async_subscribe(self._on_incident),
            self.hass.bus.async_listen(EVENT_NOTIFICATION_ACTION, self._async_on_action),
        ]
        for rollcall in list(self._rollcalls.values()):
            incident = self.incidents.get(rollcall.incident_id)
            if rollcall.active and (incident is None or not incident.is_open):
                self.hass.async_create_task(self._async_end(rollcall, None))
            else:
                self._arm(rollcall)

        @callback
        def stop() -> None:
            for cancel in [*unsubscribe, *self._timers.values()]:
                cancel()
            self._timers.clear()

        return stop

    async def async_flush(self) -> None:
        """Write now (on unload)."""
        await self._store.async_flush()

    def _commit(self, rollcall: RollCall) -> RollCall:
        """Keep, save and announce a roll-call; its figures go on the incident."""
        self._rollcalls[rollcall.incident_id] = rollcall
        self._store.put(rollcall.incident_id, rollcall.as_dict())
        ended = [r.incident_id for r in self._rollcalls.values() if not r.active]
        for incident_id in ended[: max(0, len(ended) - MAX_ENDED)]:
            self._store.drop(incident_id)
            for recipient in self._rollcalls.pop(incident_id).recipients.values():
                self._tokens.pop(recipient.token, None)
        self._store.save()
        # Only a change of the figures touches the incident (a delivery confirmed is not one).
        summary = rollcall.summary()
        incident = self.incidents.get(rollcall.incident_id)
        if incident is not None and incident.detail.get("rollcall") != summary:
            self.incidents.update_detail(rollcall.incident_id, {"rollcall": summary})
        self.listeners.notify(rollcall)
        if self.team is not None:
            async_dispatcher_send(self.hass, SIGNAL_ROLLCALL_CHANGED, self.entry_id, self.team, rollcall)
        return rollcall

    # --- queries --------------------------------------------------------------------------------------

    def get(self, incident_id: str) -> RollCall | None:
        """The roll-call of an incident."""
        return self._rollcalls.get(incident_id)

    def rollcalls(self) -> list[RollCall]:
        """Every kept roll-call, oldest first."""
        return list(self._rollcalls.values())

    def place(self, language: str, rollcall: RollCall) -> str:
        building = self.profile.buildings.get(rollcall.building) if rollcall.building else None
        enterprise = self.profile.enterprises.get(rollcall.enterprise) if rollcall.enterprise else None
        return messages.place(
            language,
            building.name if building else None,
            rollcall.floor,
            enterprise.name if enterprise else None,
        )

    def language(self, volunteer: Volunteer | None) -> str:
        """The language a volunteer reads (the park's when unset)."""
        return messages.language_of(volunteer.language if volunteer else None, self.hass.config.language)

    # --- dispatch -------------------------------------------------------------------------------------

    @callback
    def _on_incident(self, incident: Incident) -> None:
        """A new incident of a dispatched kind calls the volunteers; a closed one ends its roll-call."""
        rollcall = self._rollcalls.get(incident.id)
        if not incident.is_open:
            if rollcall is not None and rollcall.active:
                self.hass.async_create_task(self._async_end(rollcall, None))
        elif rollcall is None and incident.kind.value in self.options.kinds and self.roster.volunteers():
            # A park without a roster does not use volunteer dispatch: nothing to ask, nothing to record.
            self.hass.async_create_task(self._async_auto_dispatch(incident))

    async def _async_auto_dispatch(self, incident: Incident) -> None:
        try:
            await self.async_dispatch(incident.id, context=None)
        except Exception:
            LOGGER.exception("Dispatching the volunteers for incident %s failed", incident.id)

    async def async_dispatch(
        self, incident_id: str, *, context: Context | None, everyone: bool = False
    ) -> RollCall:
        """Ask the volunteers of an open incident; the existing roll-call when there is one (idempotent).

        ``everyone`` on an existing roll-call asks the volunteers it has not asked yet (the duty room widening
        the call), and nobody twice.
        """
        if (existing := self._rollcalls.get(incident_id)) is not None:
            if everyone and existing.active:
                others = [v for v in self.roster.volunteers() if v.user_id not in existing.recipients]
                if others:
                    self.roster.refresh()
                    await self.async_ask(existing, others)
                    self._audit(
                        "rollcall_widened",
                        source_of(context),
                        target=incident_id,
                        context=context,
                        asked=[v.user_id for v in others],
                    )
            return self._rollcalls[incident_id]
        if not self.roster.volunteers():
            raise invalid("volunteer_roster_empty")
        incident = self.incidents.get(incident_id)
        if incident is None or not incident.is_open:
            raise invalid(
                "incident_not_found" if incident is None else "incident_already_closed",
                incident_id=incident_id,
            )
        now = dt_util.utcnow()
        rollcall = RollCall(
            incident_id=incident.id,
            kind=incident.kind.value,
            building=incident.building,
            floor=incident.floor,
            enterprise=incident.enterprise,
            opened_at=incident.opened_at,
            dispatched_at=now,
            quorum=self.options.quorum,
            repeat_at=now + self.options.repeat_after if self.options.repeat_after.total_seconds() else None,
            escalate_at=now + self.options.escalate_after
            if self.options.escalate_after.total_seconds()
            else None,
        )
        self._commit(rollcall)
        self.roster.refresh()
        chosen = choose_recipients(
            self.roster.volunteers(), incident.building, dt_util.as_local(now), everyone=everyone
        )
        await self.async_ask(rollcall, chosen)
        rollcall = self._rollcalls[incident_id]
        self._audit(
            "rollcall_dispatched",
            source_of(context) if context else Source.SYSTEM,
            target=incident_id,
            context=context,
            asked=[r.user_id for r in rollcall.recipients.values()],
            everyone=everyone,
        )
        self.hass.bus.async_fire(EVENT_DISPATCHED, self.event_data(rollcall), context=context)
        self._arm(rollcall)
        return rollcall

    async def async_ask(self, rollcall: RollCall, volunteers: Iterable[Volunteer]) -> None:
        """Send (or send again) the call-out to ``volunteers``, all at once; new ones become recipients.

        Recorded first (a crash mid-send still shows who was asked), then sent concurrently: one phone whose
        relay hangs must not delay the others' alarm by its timeout.
        """
        sends = []
        for volunteer in volunteers:
            current = self._rollcalls[rollcall.incident_id]
            recipient = current.recipients.get(volunteer.user_id)
            if recipient is None:
                recipient = Recipient(
                    user_id=volunteer.user_id, name=volunteer.name, token=secrets.token_hex(8)
                )
                self._tokens[recipient.token] = (rollcall.incident_id, volunteer.user_id)
            recipient = replace(recipient, asked_at=(*recipient.asked_at, dt_util.utcnow()))
            self._commit(current.with_recipient(recipient))
            sends.append(self._async_send_callout(current, volunteer, recipient))
        await asyncio.gather(*sends)

    async def _async_send_callout(
        self, rollcall: RollCall, volunteer: Volunteer, recipient: Recipient
    ) -> None:
        language = self.language(volunteer)
        payload = messages.callout(
            language,
            rollcall.kind,
            self.place(language, rollcall),
            recipient.token,
            messages.tag(rollcall.incident_id),
            on_the_way=recipient.response is Response.ON_MY_WAY,
        )
        await push.async_notify(
            self.hass,
            self.roster.phones(volunteer.user_id),
            payload,
            self._delivery_callback(rollcall.incident_id, volunteer.user_id),
        )

    def _delivery_callback(self, incident_id: str, user_id: str) -> push.DeliveryCallback:
        @callback
        def on_delivery(delivery: Delivery, path: str) -> None:
            self.roster.record_delivery(user_id, delivery, path)
            rollcall = self._rollcalls.get(incident_id)
            if rollcall is None or (recipient := rollcall.recipients.get(user_id)) is None:
                return
            if recipient.delivery is Delivery.CONFIRMED and delivery is not Delivery.CONFIRMED:
                return  # another phone of the volunteer confirmed already
            now = dt_util.utcnow()
            self._commit(
                rollcall.with_recipient(
                    replace(
                        recipient,
                        delivery=delivery,
                        path=path,
                        delivered_at=now if delivery is Delivery.CONFIRMED else recipient.delivered_at,
                    )
                )
            )
            self._audit(
                "notification_" + delivery.value,
                Source.SYSTEM,
                Outcome.FAILED if delivery is Delivery.FAILED else Outcome.OK,
                target=incident_id,
                volunteer=user_id,
                path=path,
            )

        return on_delivery

    # --- answers --------------------------------------------------------------------------------------

    @callback
    def _async_on_action(self, event: Event) -> None:
        """An answer tapped on a phone: the token names the volunteer, the event's user must be them."""
        parsed = messages.parse_action(str(event.data.get("action", "")))
        if parsed is None or (found := self._tokens.get(parsed[0])) is None:
            return  # another integration's notification, or another park's
        incident_id, user_id = found
        if event.context.user_id != user_id:
            self._audit(
                "answer_refused",
                source_of(event.context),
                Outcome.REFUSED,
                target=incident_id,
                context=event.context,
                volunteer=user_id,
                reason="answer_from_other_user",
            )
            return
        self.hass.async_create_task(
            self.async_respond(incident_id, user_id, parsed[1], via="app", context=event.context)
        )

    async def async_respond(
        self, incident_id: str, user_id: str, response: Response, *, via: str, context: Context | None
    ) -> RollCall:
        """Record an answer (from the app, or by radio through the duty room); audited and announced."""
        rollcall = self._rollcalls.get(incident_id)
        if rollcall is None:
            raise invalid("rollcall_not_found", incident_id=incident_id)
        recipient = rollcall.recipients.get(user_id)
        if recipient is None:
            volunteer = self.roster.get(user_id)
            if volunteer is None:
                raise invalid("volunteer_not_found", field="user_id", value=user_id)
            recipient = Recipient(user_id=user_id, name=volunteer.name, token=secrets.token_hex(8))
            self._tokens[recipient.token] = (incident_id, user_id)
        now = dt_util.utcnow()
        recorded_by = context.user_id if via == "radio" and context else None
        if response is Response.ARRIVED:
            changed = replace(recipient, arrived_at=recipient.arrived_at or now, response=Response.ON_MY_WAY)
            if recipient.response is not Response.ON_MY_WAY:
                changed = replace(changed, responded_at=now)
        else:
            changed = replace(recipient, response=response, responded_at=now)
        changed = replace(changed, via=via, recorded_by=recorded_by)
        rollcall = rollcall.with_recipient(changed)
        if rollcall.quorum_at is None and rollcall.count(Response.ON_MY_WAY) >= rollcall.quorum:
            rollcall = replace(rollcall, quorum_at=now, repeat_at=None, escalate_at=None)
            self._disarm(incident_id)
        self._commit(rollcall)
        self._audit(
            "volunteer_" + response.value,
            Source.USER if via == "app" else source_of(context),
            target=incident_id,
            context=context,
            volunteer=user_id,
            volunteer_name=changed.name,
            via=via,
        )
        data = {
            **self.event_data(rollcall),
            "user_id": user_id,
            "name": changed.name,
            "response": response.value,
            "via": via,
            "seconds": round((now - rollcall.opened_at).total_seconds(), 1),
        }
        self.hass.bus.async_fire(EVENT_RESPONDED, data, context=context)
        if response is Response.ON_MY_WAY and rollcall.active and (volunteer := self.roster.get(user_id)):
            # The notification becomes the "Arrived" one (same tag: it replaces the call-out).
            await self._async_send_callout(rollcall, volunteer, changed)
        return rollcall

    # --- escalation timers and the end ----------------------------------------------------------------

    def _arm(self, rollcall: RollCall) -> None:
        self._disarm(rollcall.incident_id)
        if (deadline := rollcall.next_deadline()) is None:
            return

        async def due(now: datetime) -> None:
            self._timers.pop(rollcall.incident_id, None)
            current = self._rollcalls.get(rollcall.incident_id)
            if current is not None and current.active and self.on_due is not None:
                await self.on_due(current, now)
                if (after := self._rollcalls.get(rollcall.incident_id)) is not None:
                    self._arm(after)

        self._timers[rollcall.incident_id] = async_track_point_in_utc_time(
            self.hass, HassJob(due, cancel_on_shutdown=True), deadline
        )

    def _disarm(self, incident_id: str) -> None:
        if (cancel := self._timers.pop(incident_id, None)) is not None:
            cancel()

    def commit_step(self, rollcall: RollCall) -> RollCall:
        """Keep an escalation step's roll-call (the escalation module's way in)."""
        return self._commit(rollcall)

    async def _async_end(self, rollcall: RollCall, context: Context | None) -> None:
        """The incident closed: end the roll-call, clear its notifications from the phones and HA's UI."""
        rollcall = self._rollcalls.get(rollcall.incident_id, rollcall)
        if not rollcall.active:
            return  # ended by an earlier change of the same incident
        self._disarm(rollcall.incident_id)
        rollcall = self._commit(
            replace(rollcall, ended_at=dt_util.utcnow(), repeat_at=None, escalate_at=None)
        )
        tag = messages.tag(rollcall.incident_id)
        # The call-out on every phone asked; the call for help on everyone's (it went to officers too).
        helped = any(step == "call_for_help" for step, _at in rollcall.steps)
        clears = [
            push.async_clear(self.hass, self.roster.phones(u), messages.clear(tag))
            for u in rollcall.recipients
        ]
        if helped:
            help_clear = messages.clear(messages.help_tag(rollcall.incident_id))
            clears += [
                push.async_clear(self.hass, self.roster.phones(v.user_id), help_clear)
                for v in self.roster.volunteers()
            ]
        await asyncio.gather(*clears)
        persistent_notification.async_dismiss(self.hass, messages.help_tag(rollcall.incident_id))
        self._audit(
            "rollcall_ended",
            Source.SYSTEM,
            target=rollcall.incident_id,
            context=context,
            **rollcall.summary(),
        )
        self.hass.bus.async_fire(EVENT_ENDED, self.event_data(rollcall), context=context)

    def event_data(self, rollcall: RollCall) -> dict[str, Any]:
        """What the roll-call events carry: ids, place and figures (names only of who answered)."""
        building = self.profile.buildings.get(rollcall.building) if rollcall.building else None
        enterprise = self.profile.enterprises.get(rollcall.enterprise) if rollcall.enterprise else None
        return {
            "park_id": self.profile.id,
            # Blueprints pass it on to the park's actions (several parks loaded).
            "config_entry_id": self.entry_id,
            "incident_id": rollcall.incident_id,
            "kind": rollcall.kind,
            "building": rollcall.building,
            "building_name": building.name if building else None,
            "floor": rollcall.floor,
            "enterprise": rollcall.enterprise,
            "enterprise_name": enterprise.name if enterprise else None,
            **rollcall.summary(),
        }
