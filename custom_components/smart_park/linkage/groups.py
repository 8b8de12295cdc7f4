"""The linkage groups of a park, built from its profile: each group's controllers, bells and inputs.

A group is a building with fire-bell controllers (or the whole park, by option). Its inputs are the
controllers' call points and, when the options make them triggers, the alarm points of the smoke and gas
detectors placed in it. Everything here is plain data; :mod:`.manager` keeps it up to date.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from ..engine.catalogue import Tier
from ..engine.profile import Device, ParkProfile, ProfileError, ProfileIssue
from .state import Confirmation, InputKind, LinkageGroup

PARK_GROUP: Final = "park"
CONTROLLER_TYPE: Final = "fire_bell_controller"
# Detector types whose alarm point can trigger the linkage, by input kind.
DETECTORS: Final = {
    InputKind.SMOKE: ("smoke_detector", "smoke_alarm"),
    InputKind.GAS: ("gas_detector", "gas_alarm"),
}


@dataclass(frozen=True, slots=True)
class InputRef:
    """One input of a group: a call point channel or a detector's alarm point."""

    input_id: str
    group_id: str
    kind: InputKind
    device_id: str
    key: str
    floor: int | None
    tier: Tier  # the poll that reads it: only that poll can say it is unreadable


@dataclass(slots=True)
class BellController:
    """A fire-bell controller of a group and what the linkage knows of its bells."""

    device: Device
    address: int
    bells: int
    manual: set[int] = field(default_factory=set)
    # Bell states confirmed by read-back after our last write; None when unknown or unconfirmed.
    confirmed: tuple[bool, ...] | None = None
    failures: int = 0
    retry_at: float = 0.0
    confirmed_at: float = 0.0  # monotonic time of the last confirmed write
    online: bool = True
    # What an unavailable controller did: "offline" (no answer), "invalid_reply", "exception_reply".
    unavailable: str = "offline"
    faults: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def id(self) -> str:
        """The controller's device id."""
        return self.device.id


@dataclass(slots=True)
class GroupRuntime:
    """A linkage group: its state machine with its controllers and inputs."""

    machine: LinkageGroup
    name: str
    building: str | None
    controllers: list[BellController]
    inputs: dict[str, InputRef]
    issue_faults: frozenset[str] = frozenset()

    @property
    def group(self) -> LinkageGroup:
        """The state machine under its first name (entities, the alternation and tests read ``.group``)."""
        return self.machine

    @property
    def id(self) -> str:
        """The group id: a building id, or ``park``."""
        return self.machine.group_id

    def faults(self) -> set[str]:
        """Current fault strings of every controller, e.g. ``b1_bells.mains_fault``."""
        out: set[str] = set()
        for controller in self.controllers:
            if not controller.online:
                out.add(f"{controller.id}.{controller.unavailable}")
            out |= {f"{controller.id}.{fault}" for fault in controller.faults}
            if controller.failures:
                out.add(f"{controller.id}.bells_unconfirmed")
        return out


class ControllerRef(NamedTuple):
    """A controller with the group it belongs to (``FireLinkage.controllers`` values)."""

    group: GroupRuntime
    controller: BellController


def bell_span(profile: ParkProfile, device: Device) -> tuple[int, int]:
    """Address and count of the controller's bell coils (contiguous: one write switches them all).

    The profile parser accepts overrides that move a bell coil; such a controller cannot be driven by one
    write, so the stored profile is refused as invalid, naming the device by its path in the profile.
    """
    addresses = sorted(p.address for p in device.points if p.key.startswith("bell_") and p.writable)
    if not addresses or addresses != list(range(addresses[0], addresses[0] + len(addresses))):
        # profile.devices keeps the order of the profile's devices list: the position is the list index.
        index = list(profile.devices).index(device.id)
        reason = f"the bell coils of {device.id} must be contiguous (found addresses {addresses})"
        raise ProfileError([ProfileIssue(f"devices[{index}]", "invalid", {"reason": reason})])
    return addresses[0], len(addresses)


def _floor_of(device: Device, channel: int | None) -> int | None:
    if channel is None:
        return device.floor
    placed = device.channel_map.get(channel)
    return placed.floor if placed is not None and placed.floor is not None else channel


def build_groups(
    profile: ParkProfile, scope: str, confirmation: Confirmation, triggers: Iterable[InputKind]
) -> dict[str, GroupRuntime]:
    """The linkage groups of a park: one per building with controllers, or one for the whole park.

    Raises :class:`ProfileError` for a controller whose bell coils are not contiguous.
    """
    kinds = frozenset({InputKind.CALL_POINT, *triggers})

    def group_of(device: Device) -> str:
        return device.building if scope == "building" and device.building else PARK_GROUP

    groups: dict[str, GroupRuntime] = {}
    for device in profile.devices.values():
        if device.device_type.type != CONTROLLER_TYPE:
            continue
        group_id = group_of(device)
        if group_id not in groups:
            building = profile.buildings.get(group_id)
            groups[group_id] = GroupRuntime(
                machine=LinkageGroup(group_id, confirmation=confirmation, kinds=kinds),
                name=building.name if building else profile.name,
                building=building.id if building else None,
                controllers=[],
                inputs={},
            )
        address, count = bell_span(profile, device)
        groups[group_id].controllers.append(BellController(device, address, count))
        for point in device.points:
            if point.key.startswith("call_point_"):
                ref = InputRef(
                    f"{device.id}.{point.key}",
                    group_id,
                    InputKind.CALL_POINT,
                    device.id,
                    point.key,
                    _floor_of(device, point.channel),
                    point.tier,
                )
                groups[group_id].inputs[ref.input_id] = ref
    for kind, (device_type, key) in DETECTORS.items():
        if kind not in kinds:
            continue
        for device in profile.devices.values():
            if device.device_type.type != device_type or (group_id := group_of(device)) not in groups:
                continue
            point = next(p for p in device.points if p.key == key)
            ref = InputRef(f"{device.id}.{key}", group_id, kind, device.id, key, device.floor, point.tier)
            groups[group_id].inputs[ref.input_id] = ref
    for runtime in groups.values():
        runtime.machine.declare_inputs(runtime.inputs)
    return groups
