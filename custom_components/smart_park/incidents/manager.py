"""The incidents of one park: opening, merging, moving, acknowledging and closing, kept in a Store.

One :class:`IncidentManager` per park keeps the incidents in an HA ``Store`` (saved on the next loop turn
after every change, so a crash loses nothing that was acted on), audits every step with the user who took
it, fires ``smart_park_incident_opened`` / ``_updated`` / ``_acknowledged`` / ``_closed`` events carrying the
incident (blueprints trigger on them) and tells subscribers (the open-incidents sensor, the one-key terminals,
the websocket API).

Opening is idempotent per kind and source: a second alarm from the same terminal or detector while its
incident is still open updates that incident (a repeat count and the merged detail) instead of opening
another, so the duty room sees one incident per place, not one per press. Every such update fires
``_updated``, so a notification built on the events is never silent about an alarm. The fire-bell linkage
opens one incident per alarm episode (``merge=False``: a fire after a reset is a new incident even while the
last one is open) and moves it to each new place while the alarm is latched
(:meth:`IncidentManager.update_place`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, NoReturn

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from ..audit import AuditLog, Category, Outcome, Source, source_of
from ..const import DOMAIN
from ..errors import invalid
from ..listeners import Listeners
from ..records import RecordStore
from .model import (
    CHANGE_NEW_INPUT,
    CHANGE_REPEAT,
    EVENT_INCIDENT_ACKNOWLEDGED,
    EVENT_INCIDENT_CLOSED,
    EVENT_INCIDENT_OPENED,
    EVENT_INCIDENT_UPDATED,
    Incident,
    IncidentKind,
)

if TYPE_CHECKING:
    from ..data import SmartParkConfigEntry
    from ..engine.profile import ParkProfile

# Closed incidents kept for the dashboard and the websocket API; open ones are never dropped.
MAX_CLOSED: Final = 1000
DIAGNOSTICS_CLOSED: Final = 20

# Dispatched with (manager, incident) on every change of any park's incidents: websocket subscriptions
# without a park follow parks set up or reloaded after they subscribed.
SIGNAL_INCIDENT_CHANGED: Final = f"{DOMAIN}_incident_changed"

# The actions of the duty room, also the audit actions of their steps and refusals.
SERVICE_ACKNOWLEDGE: Final = "acknowledge_incident"
SERVICE_CLOSE: Final = "close_incident"
ATTR_INCIDENT_ID: Final = "incident_id"

type IncidentListener = Callable[[Incident], None]


class IncidentManager:
    """The incidents of one park."""

    def __init__(
        self, hass: HomeAssistant, entry: SmartParkConfigEntry, profile: ParkProfile, audit: AuditLog
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.profile = profile
        self.audit = audit
        self._seq = 0
        # Insertion order is opening order; pruning drops the oldest closed ones.
        self._incidents: dict[str, Incident] = {}
        self._listeners: Listeners[[Incident]] = Listeners()
        self._store = RecordStore(hass, f"{DOMAIN}.{entry.entry_id}.incidents", "incidents")

    # --- persistence ----------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Load the stored incidents (on setup)."""
        stored = await self._store.async_load()
        self._seq = int(stored.get("seq", 0))
        for item in stored.get("incidents", []):
            incident = Incident.from_dict(item)
            self._incidents[incident.id] = incident
            self._store.put(incident.id, incident.as_dict())

    async def async_flush(self) -> None:
        """Write now (on unload)."""
        await self._store.async_flush(seq=self._seq)

    def _prune(self) -> None:
        closed = [incident.id for incident in self._incidents.values() if not incident.is_open]
        for incident_id in closed[: max(0, len(closed) - MAX_CLOSED)]:
            del self._incidents[incident_id]
            self._store.drop(incident_id)

    def _commit(self, incident: Incident) -> None:
        """Keep, save and announce a new or changed incident."""
        self._incidents[incident.id] = incident
        self._store.put(incident.id, incident.as_dict())
        self._prune()
        self._store.save(seq=self._seq)
        self._listeners.notify(incident)
        async_dispatcher_send(self.hass, SIGNAL_INCIDENT_CHANGED, self, incident)

    # --- queries --------------------------------------------------------------------------------------

    def get(self, incident_id: str) -> Incident | None:
        """An incident by id (None when unknown or pruned)."""
        return self._incidents.get(incident_id)

    def open_incidents(self) -> list[Incident]:
        """Incidents not closed yet, oldest first."""
        return [incident for incident in self._incidents.values() if incident.is_open]

    def incidents(self, include_closed: bool = True) -> list[Incident]:
        """All kept incidents (or only open ones), oldest first."""
        return list(self._incidents.values()) if include_closed else self.open_incidents()

    def find_open(self, kind: IncidentKind, source: str) -> Incident | None:
        """The open incident of a kind and source, if any."""
        for incident in self._incidents.values():
            if incident.is_open and incident.kind is kind and incident.source == source:
                return incident
        return None

    def latest(self, kind: IncidentKind, source: str) -> Incident | None:
        """The newest incident of a kind and source, open or closed."""
        for incident in reversed(self._incidents.values()):
            if incident.kind is kind and incident.source == source:
                return incident
        return None

    def describe(self, incident: Incident) -> dict[str, Any]:
        """The incident as events, the websocket API and diagnostics show it: stored fields plus names."""
        building = self.profile.buildings.get(incident.building) if incident.building else None
        enterprise = self.profile.enterprises.get(incident.enterprise) if incident.enterprise else None
        return {
            **incident.as_dict(),
            "state": incident.state.value,
            "park_id": self.profile.id,
            "building_name": building.name if building else None,
            "enterprise_name": enterprise.name if enterprise else None,
        }

    def diagnostics(self) -> dict[str, Any]:
        """Counts, every open incident and the newest closed ones."""
        closed = [incident for incident in self._incidents.values() if not incident.is_open]
        return {
            "seq": self._seq,
            "open": [self.describe(incident) for incident in self.open_incidents()],
            "closed_kept": len(closed),
            "last_closed": [self.describe(incident) for incident in closed[-DIAGNOSTICS_CLOSED:]],
        }

    @callback
    def async_subscribe(self, listener: IncidentListener) -> CALLBACK_TYPE:
        """Call ``listener`` with every opened or changed incident until the returned callback is called."""
        return self._listeners.add(listener)

    # --- changes --------------------------------------------------------------------------------------

    def _step(
        self,
        incident: Incident,
        action: str,
        event: str,
        *,
        source: Source,
        context: Context | None,
        change: str | None = None,
        **data: Any,
    ) -> Incident:
        """Keep, save and audit one step of an incident, then fire its event (``change`` for ``_updated``)."""
        self._commit(incident)
        self.audit.record(
            Category.INCIDENT,
            action,
            source=source,
            target=incident.id,
            context=context,
            kind=incident.kind.value,
            **data,
        )
        event_data = self.describe(incident)
        # Blueprints pass it on to our actions: with several parks loaded, the park the event came from.
        event_data["config_entry_id"] = self.entry.entry_id
        if change is not None:
            event_data["change"] = change
        self.hass.bus.async_fire(event, event_data, context=context)
        return incident

    @callback
    def open(
        self,
        kind: IncidentKind,
        *,
        source: str,
        building: str | None = None,
        floor: int | None = None,
        enterprise: str | None = None,
        detail: dict[str, Any] | None = None,
        context: Context | None = None,
        merge: bool = True,
    ) -> Incident:
        """Open an incident, or return the open one of this kind and source with its repeat count bumped.

        Call it when an alarm starts (an edge), not on every poll that still sees it: each repeat is audited
        and fires ``smart_park_incident_updated``. With ``merge=False`` a new incident is opened even while
        one of this source is open (a new alarm episode). Without a context the alarm was seen at a field
        device.
        """
        now = dt_util.utcnow()
        audit_source = _alarm_source(context)
        if merge and (existing := self.find_open(kind, source)) is not None:
            incident = replace(
                existing,
                repeats=existing.repeats + 1,
                updated_at=now,
                detail={**existing.detail, **(detail or {})},
            )
            return self._step(
                incident,
                "open_incident",
                EVENT_INCIDENT_UPDATED,
                source=audit_source,
                context=context,
                change=CHANGE_REPEAT,
                origin=source,
                repeats=incident.repeats,
            )
        self._seq += 1
        incident = Incident(
            id=f"{self.profile.id}-i{self._seq}",
            kind=kind,
            source=source,
            building=building,
            floor=floor,
            enterprise=enterprise,
            opened_at=now,
            updated_at=now,
            detail=dict(detail or {}),
        )
        return self._step(
            incident,
            "open_incident",
            EVENT_INCIDENT_OPENED,
            source=audit_source,
            context=context,
            origin=source,
            building=building,
            floor=floor,
            enterprise=enterprise,
        )

    @callback
    def update_place(
        self,
        incident_id: str,
        *,
        building: str | None,
        floor: int | None,
        detail: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> Incident | None:
        """Move an open incident to the place of a new input of its alarm; audited, fires ``_updated``.

        The incident's place becomes the newest one (where the fire is now); the detail keeps every input.
        Returns None (and changes nothing) when the incident is unknown or closed.
        """
        incident = self._incidents.get(incident_id)
        if incident is None or not incident.is_open:
            return None
        incident = replace(
            incident,
            building=building,
            floor=floor,
            detail={**incident.detail, **(detail or {})},
            updated_at=dt_util.utcnow(),
        )
        return self._step(
            incident,
            "update_incident",
            EVENT_INCIDENT_UPDATED,
            source=_alarm_source(context),
            context=context,
            change=CHANGE_NEW_INPUT,
            origin=incident.source,
            building=building,
            floor=floor,
        )

    def _refuse(self, action: str, incident_id: str, reason: str, context: Context | None) -> NoReturn:
        """Audit a refused action and raise its translated error (nothing else changes)."""
        self.audit.record(
            Category.INCIDENT,
            action,
            source=source_of(context),
            outcome=Outcome.REFUSED,
            target=incident_id,
            context=context,
            reason=reason,
        )
        raise invalid(reason, incident_id=incident_id)

    def _changeable(self, action: str, incident_id: str, context: Context | None) -> Incident:
        incident = self._incidents.get(incident_id)
        if incident is None:
            self._refuse(action, incident_id, "incident_not_found", context)
        if not incident.is_open:
            self._refuse(action, incident_id, "incident_already_closed", context)
        return incident

    @callback
    def acknowledge(self, incident_id: str, *, context: Context | None) -> Incident:
        """Record that the duty room took the incident on (user from ``context``)."""
        incident = self._changeable(SERVICE_ACKNOWLEDGE, incident_id, context)
        if incident.acknowledged_at is not None:
            self._refuse(SERVICE_ACKNOWLEDGE, incident_id, "incident_already_acknowledged", context)
        now = dt_util.utcnow()
        user_id = context.user_id if context else None
        incident = replace(incident, acknowledged_by=user_id, acknowledged_at=now, updated_at=now)
        return self._step(
            incident,
            SERVICE_ACKNOWLEDGE,
            EVENT_INCIDENT_ACKNOWLEDGED,
            source=source_of(context),
            context=context,
        )

    @callback
    def close(self, incident_id: str, *, context: Context | None) -> Incident:
        """Close an incident (user from ``context``); an unacknowledged one may be closed too."""
        incident = self._changeable(SERVICE_CLOSE, incident_id, context)
        now = dt_util.utcnow()
        user_id = context.user_id if context else None
        incident = replace(incident, closed_by=user_id, closed_at=now, updated_at=now)
        return self._step(
            incident, SERVICE_CLOSE, EVENT_INCIDENT_CLOSED, source=source_of(context), context=context
        )

    @callback
    def update_detail(self, incident_id: str, detail: Mapping[str, Any]) -> Incident | None:
        """Merge facts into an incident's detail (a cancel at the terminal, a lamp confirmed); not audited.

        Returns None (and changes nothing) when the incident is unknown.
        """
        incident = self._incidents.get(incident_id)
        if incident is None:
            return None
        incident = replace(incident, detail={**incident.detail, **detail}, updated_at=dt_util.utcnow())
        self._commit(incident)
        return incident


def _alarm_source(context: Context | None) -> Source:
    """Who raised an alarm: a field device without a context, else the context's user or automation."""
    return Source.FIELD if context is None else source_of(context)
