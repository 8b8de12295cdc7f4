"""bus_polling.py's baseline: HA core ``modbus`` + a fire-linkage automation on the same emulated buses.

One hass with core ``modbus`` polling every point of the park, one entity per point at the fastest intervals
core offers per tier (hass_cpu.py's configuration: 1 / 1 / 5 / 60 s, whole seconds), plus one switch per
bell coil and one automation per building (linkage_latency.py's: any call point on -> ``switch.turn_on``
all its bells). The call points' binary_sensors are the whole-park ones (same names, hence the entity ids
linkage_latency.py's ``Core`` side expects), so the building's linkage rides on the polling it has to share
the bus with. The hubs are plain ``tcp``: a serial server speaks Modbus TCP on the network side.

Core reads one entity per request, so its reads are mapped to tiers by each point's own (device, table,
address, count). Its hub serves one request at a time in FIFO order, so on a bus short of time every entity
waits for all the others, and so does each bell's write: presses get :data:`CORE_TRIAL_TIMEOUT`, and the
bells are switched off at the simulator between presses (see :meth:`BusCore.settle`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._hass_runner import Hass, free_ports
from benchmarks.hass_cpu import core_park_configuration
from benchmarks.linkage_latency import TRIAL_TIMEOUT as OURS_TRIAL_TIMEOUT
from benchmarks.linkage_latency import (
    BellWatch,
    Core,
    Group,
    Trial,
    _poll_http,
    park_groups,
    wait_until,
)
from benchmarks.linkage_latency import core_configuration as linkage_configuration
from benchmarks.polling import CORE_INTERVAL, TIERS
from custom_components.smart_park.engine.catalogue import Table, Tier
from custom_components.smart_park.engine.profile import ParkProfile
from simulator.server import ParkSimulator

# Press -> bells: core sees the press within one pass of its queue, then writes the bells one at a time, each
# behind the queue again (~30 s a write on the full park at 9600 baud).
CORE_TRIAL_TIMEOUT = 600.0
CORE_SETTLE = 180.0  # core has polled the release
CORE_READY = 600.0  # every call point and bell has a state (the first round of reads drains the queue)

PointKey = tuple[str, Table, int, int]  # device id, table, address, count: one core read


def point_tiers(profile: ParkProfile) -> dict[PointKey, Tier]:
    """Each point's read as the simulator sees it when core polls it (one request per entity) -> its tier."""
    return {
        (device.id, point.table, point.address, point.count): point.tier
        for device in profile.devices.values()
        for point in device.points
    }


def core_bus_configuration(
    raw: dict[str, Any], profile: ParkProfile, http_port: int
) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, list[str]]]:
    """configuration.yaml: core polling the whole park + the bells' switches and the buildings' automations.

    Also returns building -> call-point and bell entity ids (as linkage_latency.py's ``Core`` keeps them).
    """
    configuration, _ = core_park_configuration(raw, http_port)
    linkage, calls, bells = linkage_configuration(profile, park_groups(profile), http_port, verify=False)
    hubs = {hub["name"]: hub for hub in configuration["modbus"]}
    for hub in linkage["modbus"]:  # its call-point binary_sensors duplicate the park's: only the switches
        hubs[hub["name"]].setdefault("switches", []).extend(hub.get("switches", []))
    configuration["automation"] = linkage["automation"]
    return configuration, calls, bells


@dataclass
class BusCore(Core):
    """linkage_latency.py's core side, polling the whole park, with waits sized for a bus short of time."""

    name: str = "core modbus + automation"

    async def start(self, sim: ParkSimulator, raw_profile: dict[str, Any], workdir: Path) -> str | None:
        (port,) = free_ports(1)
        configuration, self.call_entities, self.bell_entities = core_bus_configuration(
            raw_profile, sim.profile, port
        )
        self.hass = hass = Hass(workdir / "core", configuration, core_modbus_shim=True)
        started = time.monotonic()
        await hass.start()
        entities = [
            e for group in (self.call_entities, self.bell_entities) for es in group.values() for e in es
        ]
        automations = [f"automation.fire_linkage_{b}" for b in self.call_entities]

        async def ready() -> bool:
            states = await hass.states()
            calls = [e for es in self.call_entities.values() for e in es]
            return (
                all(states.get(e) == "off" for e in calls)
                and all(states.get(e) in ("on", "off") for e in entities)
                and all(states.get(e) == "on" for e in automations)
            )

        await _poll_http("core modbus entities and automations", ready, CORE_READY, 1.0)
        # Each entity reads once at start (polling.py's rule): wait for that first pass of the hub's queue.
        polled = len(point_tiers(sim.profile))
        await wait_until(
            "core's first read of every point", lambda: sim.total_requests() >= polled, CORE_READY
        )
        self.setup_s = time.monotonic() - started
        return None

    async def prepare(self, trial: Trial) -> None:
        assert self.hass is not None
        hass, entity = self.hass, self.call_entity(trial)

        async def quiet() -> bool:
            return await hass.state(entity) == "off"

        # A press core can see is a change from off: wait until core has polled the last release.
        await _poll_http(f"{entity} off", quiet, CORE_SETTLE, 0.1)

    async def settle(self, trial: Trial, group: Group, watch: BellWatch) -> None:
        # Bells off at the simulator, not through core: its switches write one at a time (PARALLEL_UPDATES
        # 1), each behind the hub's whole queue, which would cost minutes per press on the full park. A
        # switch core still shows on writes again on the next switch.turn_on (no state check).
        for device_id, keys in group.bells.items():
            for key in keys:
                watch.sim.set_value(device_id, key, False)
                watch.sim.release_value(device_id, key)


CORE_NOTES = (
    "  * core: HA core modbus on the serial run's emulated buses (same park, same simulator options), every",
    "    point an entity at core's fastest intervals, "
    + " / ".join(f"{CORE_INTERVAL[t]}" for t in TIERS)
    + " s (whole seconds), one read per entity; one",
    "    switch per bell and one automation per building (linkage_latency.py's). Its periods are the gaps",
    "    between reads of each point; its hub serves one request at a time, first come first served.",
    f"  * core presses: the first of ours', no warm-up, each allowed {CORE_TRIAL_TIMEOUT:.0f} s (ours:"
    f" {OURS_TRIAL_TIMEOUT:.0f} s);",
    "    bells reset at the simulator. Core's window is at least its presses, longer than ours: compare",
    "    periods and rates, not counts. core ÷ ours: core against ours on the same serial buses.",
)
