"""The centre's requests to the device: reads (61-68, 81-88) answered from the latest states, and its
initialise (89), clock sync (90) and roll-call (91), confirmed and handed to HA.

Reads go as 请求 and are answered with 应答 carrying the upload type that answers them (81 -> 21 ...), under
the request's serial; a read of something the device does not have, or a malformed one, is denied (否认).
Initialise queues every unit's current state again (the queue itself is kept: no record is lost); clock sync
is recorded (the offset in the status and HA's audit log: park_sync does not set the host's clock); a
roll-call prompts the duty room in HA, whose answer comes back through the audit stream as a type 24 record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import __version__
from .gbt26875 import Command, Frame, FrameError
from .gbt26875_codes import ComponentState, SystemState, UnitType, analog_raw
from .gbt26875_feed import Feed
from .gbt26875_objects import (
    AnalogValue,
    ClockSync,
    ComponentConfig,
    ComponentStatus,
    InfoObject,
    Operation,
    ReadComponent,
    ReadOperations,
    ReadSystem,
    ReadUITDOperations,
    RollCall,
    SoftwareVersion,
    SystemConfig,
    SystemStatus,
    SystemTime,
    UITDConfig,
    UITDOperationRecord,
    UITDStatus,
    UITDTime,
    UITDVersion,
)
from .gbt26875_store import GBT26875Store
from .gbt26875_units import CONTROL_TYPES, READ_ANSWERS, DataUnit, decode_unit, unit

_LOGGER = logging.getLogger(__name__)
T = UnitType
Report = Callable[[dict[str, Any]], None]
_MAJOR, _MINOR = (int(p) for p in __version__.split(".")[:2])
MAX_HISTORY = 40  # operation records per answer (a data unit holds at most 1024 bytes)


class CentreRequests:
    def __init__(self, feed: Feed, store: GBT26875Store, report: Report) -> None:
        self._feed = feed
        self._store = store
        self._report = report  # hands an event to HA (queued while HA is away)
        self.model = feed.model
        self.reads = 0
        self.controls = 0
        self.denied = 0
        self.clock_offset: float | None = None
        self.last_rollcall: str | None = None

    async def answer(self, frame: Frame) -> Frame:
        """The answer to one request or control frame from the centre."""
        now = self._feed.now()
        try:
            request = decode_unit(frame.data)
            if request.type_flag in CONTROL_TYPES:
                self._control(request, now)
                self.controls += 1
                return frame.answer(Command.CONFIRM, now)
            if frame.command == Command.REQUEST and request.type_flag in READ_ANSWERS:
                objects = await self._read(request, now)
                if objects:
                    self.reads += 1
                    data = unit(*objects, type_flag=READ_ANSWERS[request.type_flag]).encode()
                    return frame.answer(Command.RESPONSE, now, data)
        except FrameError as err:
            _LOGGER.warning("GB/T 26875.3 request from the centre refused: %s", err)
        self.denied += 1
        return frame.answer(Command.DENY, now)

    # --- controls -------------------------------------------------------------------------------------------
    def _control(self, request: DataUnit, now: datetime) -> None:
        obj = request.objects[0]
        if request.type_flag == T.INITIALISE_UITD:
            _LOGGER.warning("GB/T 26875.3: the centre initialised the device; every unit's state goes again")
            self._feed.everything(force=True)
            self._report({"event": "initialise"})
        elif isinstance(obj, ClockSync):
            offset = (obj.time - now).total_seconds()
            self.clock_offset = offset
            log = _LOGGER.warning if abs(offset) > 5 else _LOGGER.info
            log(
                "GB/T 26875.3: the centre's clock is %+.0f s from ours (the host's clock is not changed)",
                offset,
            )
            self._report({"event": "clock_sync", "offset": offset, "centre_time": obj.time.isoformat()})
        elif isinstance(obj, RollCall):
            self.last_rollcall = now.isoformat()
            _LOGGER.info("GB/T 26875.3: roll-call from the centre, answer within %d min", obj.timeout)
            self._report({"event": "rollcall", "minutes": obj.timeout})

    # --- reads ----------------------------------------------------------------------------------------------
    async def _read(self, request: DataUnit, now: datetime) -> list[InfoObject]:
        out: list[InfoObject] = []
        for obj in request.objects:
            if isinstance(obj, ReadSystem):
                out += self._read_system(request.type_flag, obj, now)
            elif isinstance(obj, ReadComponent):
                out += self._read_component(request.type_flag, obj, now)
            elif isinstance(obj, ReadOperations):
                out += await self._history(4, obj.count, obj.since, obj.system_address)
            elif isinstance(obj, ReadUITDOperations):
                out += await self._history(24, obj.count, obj.since, None)
            else:
                out += self._read_uitd(request.type_flag, now)
        return out

    def _read_uitd(self, type_flag: UnitType, now: datetime) -> list[InfoObject]:
        if type_flag == T.READ_UITD_STATE:
            return [UITDStatus(self._feed.uitd_state(), now)]
        if type_flag == T.READ_UITD_VERSION:
            return [UITDVersion(_MAJOR, _MINOR)]
        if type_flag == T.READ_UITD_CONFIG:
            text = f"Smart Park Hub park_sync {__version__}; park {self.model.park_id}; "
            text += f"{len(self.model.systems)} systems, {len(self.model.components)} components"
            return [UITDConfig(text)]
        return [UITDTime(now)]

    def _read_system(self, type_flag: UnitType, obj: ReadSystem, now: datetime) -> list[InfoObject]:
        system = self.model.systems.get(f"1/{obj.system_type}/{obj.system_address}")
        if system is None:
            return []
        st, sa = system.system_type, system.address
        if type_flag == T.READ_SYSTEM_STATE:
            reading = self.model.reading(system.key)
            state = SystemState(int(reading.value)) if reading else SystemState.NORMAL
            return [SystemStatus(st, sa, state, reading.time if reading else now)]
        if type_flag == T.READ_SOFTWARE_VERSION:
            return [SoftwareVersion(st, sa, _MAJOR, _MINOR)]
        if type_flag == T.READ_SYSTEM_CONFIG:
            parts = [
                c for c in self.model.components.values() if (c.system_type, c.system_address) == (st, sa)
            ]
            return [SystemConfig(st, sa, f"{system.name} 火灾报警系统 {len(parts)} 个部件")]
        return [SystemTime(st, sa, now)]

    def _read_component(self, type_flag: UnitType, obj: ReadComponent, now: datetime) -> list[InfoObject]:
        place = (obj.system_type, obj.system_address, obj.component_address)
        out: list[InfoObject] = []
        if type_flag == T.READ_COMPONENT_ANALOG:
            for a in self.model.analogues.values():
                c = a.component
                reading = self.model.reading(a.key)
                if (c.system_type, c.system_address, c.component_address) == place and reading is not None:
                    raw = analog_raw(a.analog_type, float(reading.value))
                    fields = (c.system_type, c.system_address, c.component_type, c.component_address)
                    out.append(AnalogValue(*fields, a.analog_type, raw, reading.time))
            return out
        for c in self.model.components.values():
            if (c.system_type, c.system_address, c.component_address) != place:
                continue
            fields = (c.system_type, c.system_address, c.component_type, c.component_address)
            if type_flag == T.READ_COMPONENT_CONFIG:
                out.append(ComponentConfig(*fields, c.description))
                continue
            reading = self.model.reading(c.key)
            state = ComponentState(int(reading.value)) if reading else ComponentState.NORMAL
            out.append(ComponentStatus(*fields, state, c.description, reading.time if reading else now))
        return out

    async def _history(
        self, type_flag: int, count: int, since: datetime, address: int | None
    ) -> list[InfoObject]:
        epoch = since.replace(tzinfo=self.model.tz).timestamp()
        found: list[InfoObject] = []
        for raw in await self._store.history(type_flag, epoch, min(count or MAX_HISTORY, MAX_HISTORY)):
            obj = decode_unit(bytes((type_flag, 1)) + raw).objects[0]
            if isinstance(obj, UITDOperationRecord) or (
                isinstance(obj, Operation) and address in (None, obj.system_address)
            ):
                found.append(obj)
        return found
