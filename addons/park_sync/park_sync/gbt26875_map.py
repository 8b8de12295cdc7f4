"""Which of the park's records become which GB/T 26875.3 units: the mapping, declared as data.

The park's layout comes from HA (``smart_park/centre/layout``: each point's entity and its building, floor and
enterprise). ``gbt26875_park`` applies the tables below to HA's states and audit entries; docs/gbt26875.md
shows them as a table. Change a row here and the documentation's table must follow (a test compares them).

Addresses. System address = the building's number (its position in the profile, from 1; 0 for what has no
building). Component address = zone (low word) the building's number, number (high word) = floor code x 100
+ the component's position on that floor (profile order, 1-99: a read names a component by its address
alone, so it is unique in the building whatever the component type). Floor code: the
floor (1..), 100 + n for basement n, 0 when the device has no floor. The description (31 bytes GB18030) is
"<building><floor>层 <enterprise or the component's label>".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from .gbt26875_codes import (
    AnalogType,
    ComponentState,
    ComponentType,
    OperationFlag,
    SystemState,
    SystemType,
    UITDOperation,
)

C, S = ComponentState, SystemState


@dataclass(frozen=True, slots=True)
class ComponentRule:
    """Points of a device type that make one component (``{n}``: one component per channel)."""

    device_type: str
    anchor: str  # the point whose entity must exist for the component to exist
    component_type: ComponentType
    system_type: SystemType
    label: str  # in the description when the component serves no enterprise
    bits: dict[str, ComponentState] = field(default_factory=dict)  # point key -> bit while the point is on


@dataclass(frozen=True, slots=True)
class AnalogueRule:
    """A sensor point sent as an analogue value (type 3) of its device's component."""

    device_type: str
    key: str
    analog_type: AnalogType
    deadband: float  # a new value goes when it moved at least this much (in HA's unit) ...
    scale: float = 1.0  # HA's unit -> the analogue type's unit (kPa -> kPa: 1)


# Type 2 (component state). A point that is "on" sets its bit; a device that does not answer (its entities
# unavailable) sets FAULT on every component it carries.
COMPONENTS: Final[tuple[ComponentRule, ...]] = (
    ComponentRule(
        "fire_bell_controller",
        "call_point_{n}",
        ComponentType.MANUAL_CALL_POINT,
        SystemType.FIRE_ALARM,
        "手动报警按钮",
        {"call_point_{n}": C.FIRE},
    ),
    ComponentRule(
        "fire_bell_controller",
        "bell_{n}",
        ComponentType.ALARM_DEVICE,
        SystemType.FIRE_ALARM,
        "警铃",
        {"bell_{n}": C.STARTED, "bell_circuit_fault_{n}": C.FAULT},
    ),
    ComponentRule(
        "smoke_detector",
        "smoke_alarm",
        ComponentType.SMOKE_DETECTOR,
        SystemType.FIRE_ALARM,
        "感烟探测器",
        {"smoke_alarm": C.FIRE, "fault": C.FAULT},
    ),
    ComponentRule(
        "gas_detector",
        "gas_alarm",
        ComponentType.COMBUSTIBLE_GAS_DETECTOR,
        SystemType.FIRE_ALARM,
        "可燃气体探测器",
        {"gas_alarm": C.FIRE, "fault": C.FAULT},
    ),
    ComponentRule(
        "fire_water_tank",
        "level",
        ComponentType.FIRE_WATER_TANK,
        SystemType.HYDRANT,
        "消防水箱",
        {"low_level_alarm": C.SUPERVISORY, "sensor_fault": C.FAULT},
    ),
)

# Type 3 (analogue value), of the component of the same device. HA's tank pressure is in kPa: it goes as
# PRESSURE_KPA (0.1 kPa) so nothing is rounded away (PRESSURE_MPA counts 0.1 MPa = 100 kPa).
ANALOGUES: Final[tuple[AnalogueRule, ...]] = (
    AnalogueRule("fire_water_tank", "level", AnalogType.HEIGHT, deadband=0.05),
    AnalogueRule("fire_water_tank", "pressure", AnalogType.PRESSURE_KPA, deadband=5.0),
    AnalogueRule("gas_detector", "gas_concentration", AnalogType.GAS, deadband=1.0),
)
# An unchanged analogue value is sent again after this long, so the centre sees the tank is still watched.
ANALOGUE_REFRESH: Final = 600.0

# Type 1 (system state) of each building's fire alarm system (system type 1, address = building number),
# from its fire-bell linkage group's state sensor ...
LINKAGE_STATES: Final[dict[str, SystemState]] = {
    "normal": S(0),
    "pre_alarm": S.FIRE,  # two-signal rule: one input seen, the bells wait for a second
    "alarm": S.FIRE | S.STARTED,  # the bells ring: the linkage started
    "silenced": S.FIRE,  # still latched, bells silenced
    "fault": S.FAULT,
    "disabled": S.DISABLED,
}
# ... plus: bells sounding while the state is normal (a bell test) = test mode (NORMAL bit clear) + STARTED;
# the group's fault entity on = FAULT; the controllers' points:
CONTROLLER_FAULTS: Final[dict[str, SystemState]] = {
    "mains_fault": S.MAIN_POWER_FAULT,
    "battery_fault": S.BACKUP_POWER_FAULT,
}
# ... and BUS_FAULT while every device of one of its gateways (the building's RS-485 bus) is unavailable;
# RESET on the first state after an operator's reset.

# Audit entries (outcome ok) -> operation records. Type 4 goes to the system of the linkage group's building.
FACILITY_OPERATIONS: Final[dict[tuple[str, str], OperationFlag]] = {
    ("linkage", "silence"): OperationFlag.SILENCE,
    ("linkage", "reset"): OperationFlag.RESET,
    ("linkage", "test"): OperationFlag.TEST,
    ("incident", "acknowledge_incident"): OperationFlag.CONFIRM,
}
# Type 24: the duty room's own operations (HA is the device's console).
UITD_OPERATIONS: Final[dict[tuple[str, str], UITDOperation]] = {
    ("centre", "rollcall_answered"): UITDOperation.ROLL_CALL_ANSWER,
    ("incident", "close_incident"): UITDOperation.ALARM_CLEARED,
}
# Incident kinds whose acknowledge/close are fire-facility operations (a one-key alarm is not).
FIRE_INCIDENT_KINDS: Final = frozenset({"fire", "gas"})

# Queue priorities: fire alarms ahead of everything, analogue values last.
PRIORITY_FIRE: Final = 0
PRIORITY_STATE: Final = 1
PRIORITY_ANALOGUE: Final = 2


def floor_code(floor: int | None) -> int:
    """1.. for floors, 100 + n for basement n (floor -n), 0 for no floor."""
    if floor is None or floor == 0:
        return 0
    return floor if floor > 0 else 100 - floor


def floor_text(floor: int | None) -> str:
    if floor is None or floor == 0:
        return ""
    return f"{floor}层" if floor > 0 else f"地下{-floor}层"


def describe(building: str | None, floor: int | None, what: str) -> str:
    """'1号楼3层 恒达机械有限公司' (cut to 30 bytes by the codec)."""
    place = f"{building or ''}{floor_text(floor)}"
    return f"{place} {what}".strip()


def expand(pattern: str, channel: int | None) -> str:
    return pattern.replace("{n}", str(channel)) if channel is not None else pattern


def pattern_of(key: str, channel: int | None) -> str:
    """``call_point_3`` (channel 3) -> ``call_point_{n}``; plain keys as they are."""
    suffix = f"_{channel}"
    if channel is not None and key.endswith(suffix):
        return key[: -len(suffix)] + "_{n}"
    return key
