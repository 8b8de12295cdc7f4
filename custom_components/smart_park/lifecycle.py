"""Home Assistant's entry points of the integration: set-up and unload of the park (one config entry each).

The package's ``__init__`` hands these to HA's loader on first use, so the HA-free engine below it can be
imported without Home Assistant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import partial
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType

from . import websocket_api
from .audit import AuditLog
from .blueprint_install import async_install_blueprints
from .broadcast import async_setup_broadcast
from .bus_capacity import BusCapacityMonitor
from .const import (
    CONF_AUDIT_SIZE,
    CONF_INTERVAL,
    CONF_MAX_GAP,
    CONF_OFFLINE_RETRY,
    CONF_OFFLINE_THRESHOLD,
    CONF_PROFILE,
    DEFAULT_AUDIT_SIZE,
    DEFAULT_INTERVAL,
    DEFAULT_MAX_GAP,
    DEFAULT_OFFLINE_RETRY,
    DEFAULT_OFFLINE_THRESHOLD,
    DOMAIN,
    LOGGER,
)
from .coordinator import OfflineIssues, SmartParkCoordinator
from .data import ParkPolls, SmartParkConfigEntry, SmartParkData
from .engine.catalogue import Tier
from .engine.modbus import GatewayClient, GatewayOfflineError, GatewayPoller, async_close_all
from .engine.profile import ParkProfile, ProfileError, parse_profile
from .enterprises import async_setup_enterprises
from .entity import (
    async_register_device,
    building_identifier,
    building_info,
    device_identifier,
    enterprise_identifier,
    gateway_device_info,
    linkage_group_identifier,
    linkage_group_info,
    park_device_info,
    park_device_parent,
)
from .incidents import async_setup_incidents, async_setup_one_key
from .inspections import async_setup_inspections
from .linkage import async_setup_linkage
from .patrols import async_setup_patrols
from .repairs import RepairIssues
from .screen import async_setup_screen
from .services import async_setup_services
from .volunteers import async_setup_volunteers
from .volunteers.entities import async_register_volunteer_devices

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.MEDIA_PLAYER,
    Platform.SENSOR,
    Platform.SIREN,
    Platform.SWITCH,
    Platform.TODO,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions and websocket commands once, whatever parks are loaded; install the blueprints."""
    async_setup_services(hass)
    websocket_api.async_setup(hass)
    await async_install_blueprints(hass)
    await async_setup_screen(hass)
    return True


def default_gateway(data: Mapping[str, Any]) -> dict[str, Any]:
    """The tested host/port of the entry, used when the profile declares no gateway."""
    return {"host": data[CONF_HOST], "port": data[CONF_PORT]}


async def async_setup_entry(hass: HomeAssistant, entry: SmartParkConfigEntry) -> bool:
    """Set up a park: profile, connections and first polls, capabilities, devices, platforms, poll loops.

    Every resource is released through ``entry.async_on_unload`` as soon as it exists, and every failure
    leaves here as a translated ``ConfigEntryError``/``ConfigEntryNotReady``: HA runs the on-unload callbacks
    for those (not for other exceptions), so a failed set-up leaks no connection, timer or repair issue.
    """
    profile = await _async_load_profile(hass, entry)
    repairs = RepairIssues(hass)
    entry.async_on_unload(repairs.async_clear_all)
    try:
        polls = await _async_first_polls(hass, entry, profile, repairs)
        audit = AuditLog(
            hass, entry.entry_id, profile.id, int(entry.options.get(CONF_AUDIT_SIZE, DEFAULT_AUDIT_SIZE))
        )
        await audit.async_load()
        runtime = await _async_setup_capabilities(hass, entry, polls, audit, repairs)
    except (ConfigEntryError, ConfigEntryNotReady):
        raise
    except Exception as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="setup_failed",
            translation_placeholders={"error": str(err) or type(err).__name__},
        ) from err
    entry.runtime_data = runtime
    _async_register_devices(hass, entry, runtime)

    async def _async_close_on_stop(_event: Event) -> None:
        await _async_stop_polling(runtime)

    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_close_on_stop))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for coordinator in runtime.coordinators.values():
        coordinator.async_start()
    return True


async def _async_load_profile(hass: HomeAssistant, entry: SmartParkConfigEntry) -> ParkProfile:
    """The stored profile, parsed; a translated error when an update made it invalid."""
    try:
        # parse_profile reads the built-in catalogue from disk on first use.
        return await hass.async_add_executor_job(
            parse_profile, entry.data[CONF_PROFILE], default_gateway(entry.data)
        )
    except ProfileError as err:
        # The flows only store valid profiles; a catalogue change in an update can still break one.
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="stored_profile_invalid",
            translation_placeholders={"error": str(err)},
        ) from err


async def _async_first_polls(
    hass: HomeAssistant, entry: SmartParkConfigEntry, profile: ParkProfile, repairs: RepairIssues
) -> ParkPolls:
    """Connect the gateways and poll every tier once; the connections close on unload or failure.

    One dead gateway must not keep the rest of the park dark: set up when any gateway answers; the dead
    one's entities start unavailable and its coordinators reconnect with backoff.
    """
    options = entry.options
    clients = {gw_id: GatewayClient(gateway) for gw_id, gateway in profile.gateways.items()}
    entry.async_on_unload(partial(async_close_all, clients.values()))
    offline: dict[str, GatewayOfflineError] = {}
    for gw_id, client in clients.items():
        try:
            await client.async_connect()
        except GatewayOfflineError as err:
            offline[gw_id] = err
    if len(offline) == len(clients):
        first_id, first_error = next(iter(offline.items()))
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="gateway_offline",
            translation_placeholders={"gateway": first_id, "error": str(first_error)},
        ) from first_error
    periods = {tier: float(options.get(CONF_INTERVAL[tier], DEFAULT_INTERVAL[tier])) for tier in Tier}
    pollers = {
        gw_id: GatewayPoller(
            client,
            (device for device in profile.devices.values() if device.gateway == gw_id),
            max_gap=int(options.get(CONF_MAX_GAP, DEFAULT_MAX_GAP)),
            offline_retry=float(options.get(CONF_OFFLINE_RETRY, DEFAULT_OFFLINE_RETRY)),
            periods=periods,
        )
        for gw_id, client in clients.items()
    }
    # Modelled now; re-checked from the measured transaction times as they come (bus_capacity.py).
    monitor = BusCapacityMonitor(hass, repairs, profile, pollers, periods)
    entry.async_on_unload(monitor.async_start())
    issues = OfflineIssues(
        repairs, profile, float(options.get(CONF_OFFLINE_THRESHOLD, DEFAULT_OFFLINE_THRESHOLD))
    )
    coordinators = {
        (gw_id, tier): SmartParkCoordinator(
            hass,
            entry,
            poller=poller,
            gateway_id=gw_id,
            tier=tier,
            interval=periods[tier],
            issues=issues,
        )
        for gw_id, poller in pollers.items()
        for tier in sorted(poller.tiers(), key=list(Tier).index)
    }
    # Wait for every first refresh before acting on a failure, so none still polls a closed client.
    results = await asyncio.gather(
        *(
            coordinator.async_refresh()
            if gw_id in offline
            else coordinator.async_config_entry_first_refresh()
            for (gw_id, _tier), coordinator in coordinators.items()
        ),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return ParkPolls(
        profile=profile, clients=clients, pollers=pollers, coordinators=coordinators, issues=issues
    )


async def _async_setup_capabilities(
    hass: HomeAssistant, entry: SmartParkConfigEntry, polls: ParkPolls, audit: AuditLog, repairs: RepairIssues
) -> SmartParkData:
    """Set up each capability after the first polls and before the platforms, handing it what it uses.

    The order is the arguments': the enterprise registry creates the park's device before the field devices
    reached through it; incidents come before the linkage, the one-key terminals and the gas detectors that
    open them; broadcast after the linkage (fire priority uses its PIN, the alternation pauses its bells);
    volunteers last (their roll-calls follow incidents and call for help on the broadcast).
    """
    enterprises = await async_setup_enterprises(hass, entry, polls, audit)
    incidents = await async_setup_incidents(hass, entry, polls, audit)
    one_key = await async_setup_one_key(hass, entry, polls, incidents, audit)
    linkage = await async_setup_linkage(hass, entry, polls, incidents=incidents, audit=audit, repairs=repairs)
    broadcast = await async_setup_broadcast(hass, entry, polls, linkage=linkage, audit=audit, repairs=repairs)
    patrols = await async_setup_patrols(hass, entry, polls.profile, audit)
    inspections = await async_setup_inspections(hass, entry, polls.profile, audit)
    volunteers = await async_setup_volunteers(
        hass, entry, polls, incidents=incidents, broadcast=broadcast, audit=audit, repairs=repairs
    )
    return SmartParkData(
        profile=polls.profile,
        clients=polls.clients,
        pollers=polls.pollers,
        coordinators=polls.coordinators,
        issues=polls.issues,
        audit=audit,
        enterprises=enterprises,
        incidents=incidents,
        one_key=one_key,
        linkage=linkage,
        broadcast=broadcast,
        patrols=patrols,
        inspections=inspections,
        volunteers=volunteers,
    )


def _async_register_devices(hass: HomeAssistant, entry: SmartParkConfigEntry, runtime: SmartParkData) -> None:
    """Register gateways, field devices and linkage groups, parents first; remove devices no longer listed.

    Runs after the enterprise registry (park and enterprise devices) and the linkage (its groups), so every
    device the entry shows is wanted here: a device kept keeps its area, its user-given name and its entities'
    ids across reloads.
    """
    profile = runtime.profile
    park = device_identifier(profile, "park")
    wanted: set[tuple[str, str]] = {park}
    # Enterprise devices (created by the registry) stay, moved-out ones too: they keep their history.
    wanted |= {enterprise_identifier(profile, e_id) for e_id in runtime.enterprises.records}
    for building in profile.buildings.values():
        async_register_device(hass, entry.entry_id, building_info(profile, building), via=park)
        wanted.add(building_identifier(profile, building.id))
    for gateway in profile.gateways.values():
        async_register_device(hass, entry.entry_id, gateway_device_info(profile, gateway))
        wanted.add(device_identifier(profile, gateway.id))
    for device in profile.devices.values():
        info = park_device_info(profile, device)
        async_register_device(hass, entry.entry_id, info, via=park_device_parent(profile, device))
        wanted.add(device_identifier(profile, device.id))
    for group in runtime.linkage.groups.values():
        async_register_device(hass, entry.entry_id, linkage_group_info(profile, group), via=park)
        wanted.add(linkage_group_identifier(profile, group.id))
    wanted |= async_register_volunteer_devices(hass, entry.entry_id, runtime.volunteers)
    registry = dr.async_get(hass)
    for device_entry in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not device_entry.identifiers & wanted:
            registry.async_remove_device(device_entry.id)


async def _async_stop_polling(runtime: SmartParkData) -> None:
    """Stop every poll loop, all at once and each bounded, then close the connections.

    Polls stop first: closing a connection under a running poll logs it as a failure. Concurrently, so a
    reload's blind window does not grow with the number of coordinators.
    """
    await asyncio.gather(*(coordinator.async_stop() for coordinator in runtime.coordinators.values()))
    await async_close_all(runtime.clients.values())


async def async_unload_entry(hass: HomeAssistant, entry: SmartParkConfigEntry) -> bool:
    """Unload a park and close its gateway connections."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        runtime = entry.runtime_data
        # A write that fails (a full disk) is logged and must not keep the park half-unloaded: polls and
        # connections are stopped whatever happens, and the audit journal still holds every entry.
        for flush in (runtime.audit.async_flush, runtime.enterprises.async_flush):
            try:
                await flush()
            except Exception:
                LOGGER.exception("Saving %s of park %s on unload failed", flush.__qualname__, entry.title)
        await _async_stop_polling(runtime)
    return unloaded
