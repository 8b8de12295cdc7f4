"""The volunteers' entities: each volunteer's reachability and last notification; the team's figures.

The duty room must see *before* a fire that a phone will not ring: a connectivity binary sensor per volunteer
(a push path now: the local push channel connected, or a relay URL) and the outcome of the last notification
(confirmed by the phone, only handed over, failed). Park-wide: volunteers on duty now, and this month's
medians of the time from an alarm to the first volunteer on the way and to the first arrival (the seeds'
"within three minutes"). Volunteers joining later get their entities when they join; those leaving lose them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.util import dt as dt_util

from .. import ids
from ..const import DOMAIN
from ..engine.profile import ParkProfile
from ..entity import async_register_device, device_identifier, park_info
from . import VolunteerTeam
from .model import Delivery, Response, Volunteer, month_median


def volunteer_info(profile: ParkProfile, volunteer: Volunteer) -> DeviceInfo:
    """The HA device of a volunteer, under the park."""
    return DeviceInfo(
        identifiers={ids.volunteer_device(profile.id, volunteer.user_id)},
        name=volunteer.name,
        manufacturer="Smart Park Hub",
        model=f"Volunteer ({volunteer.role.value})",
    )


@callback
def async_register_volunteer_devices(
    hass: HomeAssistant, entry_id: str, team: VolunteerTeam
) -> set[tuple[str, str]]:
    """Register every volunteer's device under the park; the identifiers the entry wants kept."""
    profile = team.roster.profile
    wanted = set()
    for volunteer in team.roster.volunteers():
        async_register_device(
            hass, entry_id, volunteer_info(profile, volunteer), via=device_identifier(profile, "park")
        )
        wanted.add(ids.volunteer_device(profile.id, volunteer.user_id))
    return wanted


class _TeamEntity(Entity):
    """Follows the roster (and the roll-calls, for the figures)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, team: VolunteerTeam) -> None:
        self.team = team

    async def async_added_to_hass(self) -> None:
        """Write the state on every roster or roll-call change."""
        self.async_on_remove(self.team.roster.listeners.add(self.async_write_ha_state))
        self.async_on_remove(self.team.rollcalls.listeners.add(lambda _r: self.async_write_ha_state()))


class VolunteerEntity(_TeamEntity):
    """An entity of one volunteer."""

    def __init__(self, team: VolunteerTeam, volunteer: Volunteer, key: str) -> None:
        super().__init__(team)
        self.user_id = volunteer.user_id
        profile = team.roster.profile
        self._attr_translation_key = key
        self._attr_unique_id = ids.volunteer_entity(profile.id, volunteer.user_id, key)
        self._attr_device_info = DeviceInfo(identifiers={ids.volunteer_device(profile.id, volunteer.user_id)})

    @property
    def available(self) -> bool:
        """Unavailable once the volunteer left the roster (until the entity is removed)."""
        return self.team.roster.get(self.user_id) is not None


class PushPathSensor(VolunteerEntity, BinarySensorEntity):
    """Whether a notification can reach the volunteer now."""

    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, team: VolunteerTeam, volunteer: Volunteer) -> None:
        super().__init__(team, volunteer, "volunteer_push_path")

    @property
    def is_on(self) -> bool:
        """A local push channel is connected or a relay URL is registered."""
        return self.team.roster.reachable(self.user_id)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Phones, and which paths each has."""
        phones = self.team.roster.phones(self.user_id)
        return {
            "phones": len(phones),
            "local_push": sum(1 for p in phones if p.local),
            "relay_push": sum(1 for p in phones if p.relay),
        }


class LastDeliverySensor(VolunteerEntity, SensorEntity):
    """What the last notification to the volunteer did."""

    _attr_device_class = SensorDeviceClass.ENUM

    def __init__(self, team: VolunteerTeam, volunteer: Volunteer) -> None:
        super().__init__(team, volunteer, "volunteer_last_delivery")
        self._attr_options = [d.value for d in Delivery]

    _attr_entity_category = EntityCategory.DIAGNOSTIC

    @property
    def native_value(self) -> str:
        """Confirmed, sent, pending, failed, or none yet."""
        last = self.team.roster.last_delivery.get(self.user_id)
        return last[0].value if last else Delivery.NONE.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The path and time of the last notification."""
        last = self.team.roster.last_delivery.get(self.user_id)
        return {"path": last[1], "at": last[2].isoformat()} if last else {}


class TeamSensor(_TeamEntity, SensorEntity):
    """A park-wide figure of the volunteer team."""

    def __init__(
        self, team: VolunteerTeam, key: str, value: Callable[[VolunteerTeam], float | int | None]
    ) -> None:
        super().__init__(team)
        profile = team.roster.profile
        self._value = value
        self._attr_translation_key = key
        self._attr_unique_id = ids.park_sensor(profile.id, key)
        self._attr_device_info = park_info(profile)

    @property
    def native_value(self) -> float | int | None:
        """The figure now."""
        return self._value(self.team)


def _month(team: VolunteerTeam, *, response: Response) -> float | None:
    now = dt_util.now()
    return month_median(team.rollcalls.rollcalls(), response, (now.year, now.month))


def team_sensors(team: VolunteerTeam) -> list[SensorEntity]:
    """Volunteers on duty, and the month's median times to the first on the way and the first arrival."""
    on_duty = TeamSensor(team, "volunteers_on_duty", lambda t: len(t.roster.on_duty()))
    on_duty._attr_state_class = SensorStateClass.MEASUREMENT
    sensors: list[SensorEntity] = [on_duty]
    for key, response in (
        ("first_response_median", Response.ON_MY_WAY),
        ("first_arrival_median", Response.ARRIVED),
    ):
        sensor = TeamSensor(team, key, partial(_month, response=response))
        sensor._attr_device_class = SensorDeviceClass.DURATION
        sensor._attr_native_unit_of_measurement = UnitOfTime.SECONDS
        sensor._attr_suggested_display_precision = 0
        sensors.append(sensor)
    return sensors


@callback
def async_follow_roster(
    hass: HomeAssistant,
    entry_id: str,
    team: VolunteerTeam,
    build: Callable[[VolunteerTeam, Volunteer], Iterable[Entity]],
    add: Callable[[Iterable[Entity]], None],
) -> Callable[[], None]:
    """Add each volunteer's entities now and as volunteers join; remove a leaver's device and entities."""
    known: set[str] = set()
    profile = team.roster.profile

    @callback
    def sync() -> None:
        current = {v.user_id: v for v in team.roster.volunteers()}
        for user_id in set(current) - known:
            async_register_device(
                hass,
                entry_id,
                volunteer_info(profile, current[user_id]),
                via=device_identifier(profile, "park"),
            )
            add(build(team, current[user_id]))
            known.add(user_id)
        for user_id in known - set(current):
            known.discard(user_id)
            device = dr.async_get(hass).async_get_device_by_identifier(
                ids.volunteer_device(profile.id, user_id), entry_id
            )
            if device is not None:
                registry = er.async_get(hass)
                for entity in er.async_entries_for_device(
                    registry, device.id, include_disabled_entities=True
                ):
                    if entity.platform == DOMAIN:
                        registry.async_remove(entity.entity_id)
                dr.async_get(hass).async_remove_device(device.id)

    sync()
    return team.roster.listeners.add(sync)
