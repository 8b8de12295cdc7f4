"""The volunteer roster of a park: who is on the team, their phones, who is on duty and who can be reached.

Kept in an HA ``Store`` per park and audited (without the phone). Reachability is checked every
:data:`CHECK_INTERVAL` and before every dispatch, because ``mobile_app`` announces no channel connecting or
dropping: the duty room must learn *before* a fire that a phone will not ring, so a volunteer on duty with no
push path raises a repair issue until a path is back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..audit import ScopedAudit, source_of
from ..const import DOMAIN
from ..errors import invalid
from ..listeners import Listeners
from ..repairs import RepairIssues
from .model import Delivery, Volunteer
from .push import Phone, phones_of

if TYPE_CHECKING:
    from ..engine.profile import ParkProfile

STORAGE_VERSION: Final = 1
CHECK_INTERVAL: Final = timedelta(seconds=30)
ISSUE_UNREACHABLE: Final = "volunteer_unreachable"


class Roster:
    """The volunteers of one park, their phones and what the last notification to each did."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        profile: ParkProfile,
        audit: ScopedAudit,
        repairs: RepairIssues,
        *,
        relay_reachable: bool = True,
    ) -> None:
        self.hass = hass
        self.relay_reachable = relay_reachable
        self.profile = profile
        self._audit = audit
        self._repairs = repairs
        self._volunteers: dict[str, Volunteer] = {}
        # user id -> (delivery, path, when): what the latest notification to the volunteer did.
        self.last_delivery: dict[str, tuple[Delivery, str, datetime]] = {}
        self._phones: dict[str, list[Phone]] = {}
        self.listeners: Listeners[[]] = Listeners()
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.volunteers", atomic_writes=True
        )

    # --- persistence and life cycle -------------------------------------------------------------------

    async def async_load(self) -> None:
        """Load the roster (on set-up)."""
        stored = await self._store.async_load() or {}
        for item in stored.get("volunteers", []):
            volunteer = Volunteer.from_dict(item)
            self._volunteers[volunteer.user_id] = volunteer
        for user_id, (delivery, path, at) in (stored.get("last_delivery") or {}).items():
            self.last_delivery[user_id] = (Delivery(delivery), path, datetime.fromisoformat(at))

    def _data_to_save(self) -> dict[str, Any]:
        return {
            "volunteers": [v.as_dict() for v in self._volunteers.values()],
            "last_delivery": {
                user_id: [delivery.value, path, at.isoformat()]
                for user_id, (delivery, path, at) in self.last_delivery.items()
            },
        }

    def _save(self) -> None:
        self._store.async_delay_save(self._data_to_save, 0)

    async def async_flush(self) -> None:
        """Write now (on unload)."""
        await self._store.async_save(self._data_to_save())

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Check reachability now and every :data:`CHECK_INTERVAL`; returns the stop callback."""
        self.refresh()

        @callback
        def check(_now: datetime) -> None:
            self.refresh()

        return async_track_time_interval(self.hass, check, CHECK_INTERVAL)

    # --- queries --------------------------------------------------------------------------------------

    def volunteers(self) -> list[Volunteer]:
        """Every volunteer, by name."""
        return sorted(self._volunteers.values(), key=lambda v: v.name)

    def get(self, user_id: str) -> Volunteer | None:
        """A volunteer by user id."""
        return self._volunteers.get(user_id)

    def phones(self, user_id: str) -> list[Phone]:
        """The volunteer's phones as found at the last check."""
        return self._phones.get(user_id, [])

    def reachable(self, user_id: str) -> bool:
        """Whether a notification to the volunteer has a path now (as of the last check)."""
        return any(self._path(phone) for phone in self.phones(user_id))

    def _path(self, phone: Phone) -> bool:
        """A notification can take a path to ``phone`` now (the relay only where it is reachable)."""
        return phone.local or (phone.relay and self.relay_reachable)

    def on_duty(self, moment: datetime | None = None) -> list[Volunteer]:
        """The volunteers on duty at ``moment`` (now by default)."""
        local = dt_util.as_local(moment or dt_util.utcnow())
        return [v for v in self.volunteers() if v.on_duty(local)]

    def issue_id(self, user_id: str) -> str:
        """The repair issue of an unreachable volunteer (user ids are opaque, not personal data)."""
        return f"{self.profile.id}_{ISSUE_UNREACHABLE}_{user_id}"

    # --- changes --------------------------------------------------------------------------------------

    @callback
    def refresh(self) -> None:
        """Look up every volunteer's phones and paths; raise or clear the unreachable issues."""
        on_duty = {v.user_id for v in self.on_duty()}
        changed = False
        for volunteer in self._volunteers.values():
            phones = phones_of(self.hass, volunteer.user_id, volunteer.devices)
            changed |= phones != self._phones.get(volunteer.user_id)
            self._phones[volunteer.user_id] = phones
            issue_id = self.issue_id(volunteer.user_id)
            if volunteer.user_id in on_duty and not any(self._path(phone) for phone in phones):
                if not self._repairs.is_raised(issue_id):
                    self._repairs.create(
                        issue_id,
                        ISSUE_UNREACHABLE,
                        severity=ir.IssueSeverity.WARNING,
                        placeholders={"volunteer": volunteer.name, "phones": str(len(phones))},
                    )
            else:
                self._repairs.delete(issue_id)
        if changed:
            self.listeners.notify()

    @callback
    def record_delivery(self, user_id: str, delivery: Delivery, path: str) -> None:
        """Keep what the latest notification to a volunteer did (entities show it)."""
        self.last_delivery[user_id] = (delivery, path, dt_util.utcnow())
        self._save()
        self.listeners.notify()

    def validate(self, volunteer: Volunteer) -> None:
        """Refuse a volunteer naming an unknown building, enterprise or phone (translated, naming it)."""
        if volunteer.building is not None and volunteer.building not in self.profile.buildings:
            raise invalid("volunteer_unknown_building", field="building", value=volunteer.building)
        if volunteer.enterprise is not None and volunteer.enterprise not in self.profile.enterprises:
            raise invalid("volunteer_unknown_enterprise", field="enterprise", value=volunteer.enterprise)
        if volunteer.role.value == "building_leader" and volunteer.building is None:
            raise invalid("volunteer_leader_needs_building", field="building")
        known = {phone.device_id for phone in phones_of(self.hass, volunteer.user_id)}
        for device_id in volunteer.devices:
            if device_id not in known:
                raise invalid("volunteer_unknown_device", field="devices", value=device_id)

    @callback
    def set(self, volunteer: Volunteer, context: Context | None) -> None:
        """Add or change a volunteer (validated: a bad one changes nothing); audited without the phone."""
        self.validate(volunteer)
        action = "volunteer_changed" if volunteer.user_id in self._volunteers else "volunteer_added"
        self._volunteers[volunteer.user_id] = volunteer
        self._save()
        # The name under a key diagnostics redact (volunteer names are personal); never the phone.
        public = volunteer.public_dict()
        public["volunteer_name"] = public.pop("name")
        self._audit(action, source_of(context), target=volunteer.user_id, context=context, **public)
        self.refresh()
        self.listeners.notify()

    @callback
    def remove(self, user_id: str, context: Context | None) -> Volunteer:
        """Take a volunteer off the roster; audited."""
        volunteer = self._volunteers.pop(user_id, None)
        if volunteer is None:
            raise invalid("volunteer_not_found", field="user_id", value=user_id)
        self._phones.pop(user_id, None)
        self.last_delivery.pop(user_id, None)
        self._repairs.delete(self.issue_id(user_id))
        self._save()
        self._audit(
            "volunteer_removed",
            source_of(context),
            target=user_id,
            context=context,
            volunteer_name=volunteer.name,
        )
        self.listeners.notify()
        return volunteer
