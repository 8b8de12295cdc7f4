"""GB/T 26875.3-2011 codecs (issue #14): the issue's and public vectors byte for byte in park_sync's codec and
the central's independent one, both ways; round trips and cross-codec; GB18030 descriptions. Refusals are in
test_gbt26875_hardening."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import pytest

from central import gbt26875 as cg
from park_sync import gbt26875 as g
from park_sync import gbt26875_units as u
from park_sync.gbt26875 import Command, Frame, FrameError, Reason

from . import gbt26875_vectors as v


def _frame(command: Command, data: bytes = b"", *, up: bool = True, when: datetime = v.SENT) -> Frame:
    src, dst = (v.DEVICE, v.CENTRE) if up else (v.CENTRE, v.DEVICE)
    return Frame(serial=1, time=when, source=src, destination=dst, command=command, data=data)


def _central(command: int, unit: bytes = b"", *, up: bool = True, when: datetime = v.SENT) -> cg.Packet:
    src, dst = (v.DEVICE, v.CENTRE) if up else (v.CENTRE, v.DEVICE)
    return cg.Packet(1, when, src, dst, command, unit)


# --- the issue's vectors ---
SMOKE = u.ComponentStatus(
    system_type=u.SystemType.FIRE_ALARM,
    system_address=1,
    component_type=u.ComponentType.SMOKE_DETECTOR,
    component_address=u.component_address(zone=10, number=2),
    state=u.ComponentState.FIRE,
    description="",
    time=v.EVENT,
)


def test_smoke_detector_fire_alarm_decodes_to_its_fields() -> None:
    frame = g.decode_frame(v.SMOKE_FIRE)
    assert (frame.serial, frame.version, frame.time) == (1, (1, 1), v.SENT)
    assert (frame.source, frame.destination, frame.command) == (0x379, 0x15B38, Command.SEND_DATA)
    assert len(frame.data) == 48
    assert u.decode_unit(frame.data) == u.DataUnit(u.UnitType.COMPONENT_STATE, (SMOKE,))
    assert (SMOKE.zone, SMOKE.number, SMOKE.component_address) == (10, 2, 0x0002000A)
    assert v.SMOKE_FIRE[-3] == 0x46


def test_smoke_detector_fire_alarm_encodes_byte_exact() -> None:
    assert _frame(Command.SEND_DATA, u.unit(SMOKE).encode()).encode() == v.SMOKE_FIRE


def test_centre_confirm_echoes_serial_and_swaps_addresses() -> None:
    alarm = g.decode_frame(v.SMOKE_FIRE)
    assert alarm.answer(Command.CONFIRM, v.ANSWERED).encode() == v.CENTRE_CONFIRM
    confirm = g.decode_frame(v.CENTRE_CONFIRM)
    assert (confirm.serial, confirm.source, confirm.destination) == (1, v.CENTRE, v.DEVICE)
    assert (confirm.command, confirm.data, confirm.time) == (Command.CONFIRM, b"", v.ANSWERED)


def test_uitd_main_power_fault_both_ways() -> None:
    status = u.UITDStatus(u.UITDState.MAIN_POWER_FAULT, v.EVENT)
    assert u.decode_unit(g.decode_frame(v.UITD_MAIN_POWER_FAULT).data).objects == (status,)
    assert _frame(Command.SEND_DATA, u.unit(status).encode()).encode() == v.UITD_MAIN_POWER_FAULT


def test_issue_vectors_in_the_central_codec() -> None:
    alarm = cg.parse(v.SMOKE_FIRE)
    kind, records = cg.decode_records(alarm.unit)
    assert (kind, alarm.serial, alarm.source, alarm.destination, alarm.command) == (
        2,
        1,
        v.DEVICE,
        v.CENTRE,
        2,
    )
    assert records == [asdict(SMOKE)]
    assert _central(cg.SEND, cg.encode_records(2, records)).encode() == v.SMOKE_FIRE
    assert alarm.reply(cg.CONFIRM, v.ANSWERED).encode() == v.CENTRE_CONFIRM
    fault = cg.parse(v.UITD_MAIN_POWER_FAULT)
    assert cg.decode_records(fault.unit) == (21, [{"state": 8, "time": v.EVENT}])
    assert _central(cg.SEND, cg.encode_records(21, [{"state": 8, "time": v.EVENT}])).encode() == (
        v.UITD_MAIN_POWER_FAULT
    )


# --- further public vectors: (frame, command, up, unit or None) ---
READ = u.ReadUITD()
PUBLIC: dict[str, tuple[bytes, Command, bool, u.DataUnit | None, datetime]] = {
    "centre_deny": (v.CENTRE_DENY, Command.DENY, False, None, v.ANSWERED),
    "device_confirm": (v.DEVICE_CONFIRM, Command.CONFIRM, True, None, v.ANSWERED),
    "roll_call_answer": (
        v.ROLL_CALL_ANSWER,
        Command.SEND_DATA,
        True,
        u.unit(u.UITDOperationRecord(u.UITDOperation.ROLL_CALL_ANSWER, 1, v.EVENT)),
        v.SENT,
    ),
    "uitd_version": (v.UITD_VERSION, Command.SEND_DATA, True, u.unit(u.UITDVersion(1, 1)), v.SENT),
    "uitd_time": (v.UITD_TIME, Command.SEND_DATA, True, u.unit(u.UITDTime(v.EVENT)), v.SENT),
    "read_uitd_state": (
        v.READ_UITD_STATE,
        Command.REQUEST,
        False,
        u.unit(READ, type_flag=u.UnitType.READ_UITD_STATE),
        v.SENT,
    ),
    "answer_uitd_state": (
        v.ANSWER_UITD_STATE,
        Command.RESPONSE,
        True,
        u.unit(u.UITDStatus(u.UITDState.MAIN_POWER_FAULT, v.EVENT)),
        v.SENT,
    ),
    "read_uitd_version": (
        v.READ_UITD_VERSION,
        Command.REQUEST,
        False,
        u.unit(READ, type_flag=u.UnitType.READ_UITD_VERSION),
        v.SENT,
    ),
    "answer_uitd_version": (
        v.ANSWER_UITD_VERSION,
        Command.RESPONSE,
        True,
        u.unit(u.UITDVersion(1, 1)),
        v.SENT,
    ),
    "read_uitd_time": (
        v.READ_UITD_TIME,
        Command.REQUEST,
        False,
        u.unit(READ, type_flag=u.UnitType.READ_UITD_TIME),
        v.SENT,
    ),
    "answer_uitd_time": (v.ANSWER_UITD_TIME, Command.RESPONSE, True, u.unit(u.UITDTime(v.EVENT)), v.SENT),
    "initialise": (
        v.INITIALISE,
        Command.CONTROL,
        False,
        u.unit(READ, type_flag=u.UnitType.INITIALISE_UITD),
        v.SENT,
    ),
    "clock_sync": (v.CLOCK_SYNC, Command.CONTROL, False, u.unit(u.ClockSync(v.EVENT)), v.SENT),
    "roll_call": (v.ROLL_CALL, Command.CONTROL, False, u.unit(u.RollCall(timeout=10)), v.SENT),
}


@pytest.mark.parametrize("name", PUBLIC)
def test_public_vector_both_ways_in_park_sync(name: str) -> None:
    raw, command, up, unit, when = PUBLIC[name]
    frame = g.decode_frame(raw)
    assert frame.command == command
    assert (frame.source, frame.destination) == ((v.DEVICE, v.CENTRE) if up else (v.CENTRE, v.DEVICE))
    assert (u.decode_unit(frame.data) if frame.data else None) == unit
    data = unit.encode() if unit else b""
    assert _frame(command, data, up=up, when=when).encode() == raw
    if unit is not None and command != Command.RESPONSE:
        assert (
            u.command_for(unit.type_flag) == command
        )  # reads go as 请求, 89-91 as 控制, uploads as 发送数据


@pytest.mark.parametrize("name", PUBLIC)
def test_public_vector_both_ways_in_the_central(name: str) -> None:
    raw, command, up, unit, when = PUBLIC[name]
    packet = cg.parse(raw)
    assert packet.command == command
    if unit is None:
        assert packet.unit == b""
        return
    kind, records = cg.decode_records(packet.unit)
    assert kind == unit.type_flag
    assert records == [asdict(obj) for obj in unit.objects]
    assert _central(command, cg.encode_records(kind, records), up=up, when=when).encode() == raw


def test_reads_are_answered_with_the_matching_upload_type() -> None:
    for read, answer in (
        ("read_uitd_state", "answer_uitd_state"),
        ("read_uitd_version", "answer_uitd_version"),
    ):
        read_unit, answer_unit = PUBLIC[read][3], PUBLIC[answer][3]
        assert read_unit is not None
        assert answer_unit is not None
        assert u.READ_ANSWERS[read_unit.type_flag] == answer_unit.type_flag


def test_denial_built_from_a_refused_frame_is_the_public_vector() -> None:
    corrupt = bytearray(v.SMOKE_FIRE)
    corrupt[-3] ^= 0xFF
    with pytest.raises(FrameError) as err:
        g.decode_frame(bytes(corrupt))
    assert (err.value.reason, err.value.serial, err.value.source) == (Reason.CHECKSUM, 1, v.DEVICE)
    deny = g.deny_for(err.value, v.ANSWERED, local=v.CENTRE)
    assert deny is not None
    assert deny.encode() == v.CENTRE_DENY
    with pytest.raises(cg.FrameError) as cerr:
        cg.parse(bytes(corrupt))
    assert (cerr.value.kind, cerr.value.serial, cerr.value.source) == ("checksum", 1, v.DEVICE)


def test_nul_padded_description_from_another_codec() -> None:
    frame = g.decode_frame(v.NUL_PADDED)
    assert (frame.serial, frame.source, frame.destination) == (0, 0, 0x010203040506)
    assert frame.time == v.local(2020, 10, 22, 17, 13, 24)
    (obj,) = u.decode_unit(frame.data).objects
    assert isinstance(obj, u.ComponentStatus)
    assert (obj.system_address, obj.component_address, obj.state) == (3, 0x0600D9, u.ComponentState.FIRE)
    assert obj.description == "Ａ区１层呷哺走廊"
    assert obj.time == v.local(2020, 8, 1, 19, 18, 48)
    assert frame.encode() == v.NUL_PADDED
    # Re-encoded, the description is padded our way; it reads back the same.
    assert u.decode_unit(u.unit(obj).encode()).objects == (obj,)
    assert cg.decode_records(cg.parse(v.NUL_PADDED).unit)[1] == [asdict(obj)]


def test_device_capture_with_version_bytes_and_leftovers_after_the_nul() -> None:
    frame = g.decode_frame(v.DEVICE_CAPTURE)
    assert (frame.serial, frame.version) == (0x14, (0x10, 0x00))
    (obj,) = u.decode_unit(frame.data).objects
    assert isinstance(obj, u.ComponentStatus)
    assert obj.component_type == 42  # point photoelectric smoke detector
    assert (obj.zone, obj.number) == (1, 1)
    assert obj.description == "1号接口板1回路1号"
    assert frame.encode() == v.DEVICE_CAPTURE
    packet = cg.parse(v.DEVICE_CAPTURE)
    assert packet.version == (0x10, 0x00)
    assert packet.encode() == v.DEVICE_CAPTURE
    assert cg.decode_records(packet.unit)[1] == [asdict(obj)]


UNITS: dict[str, tuple[bytes, list[Any]]] = {
    "system_states": (
        v.UNIT_SYSTEM_STATES,
        [
            u.SystemStatus(1, 2, u.SystemState.FAULT | u.SystemState.BACKUP_POWER_FAULT, v.T1),
            u.SystemStatus(13, 3, u.SystemState(0x0105), v.T2),
        ],
    ),
    "component_state": (
        v.UNIT_COMPONENT_STATE,
        [u.ComponentStatus(1, 2, 121, 0x04030201, u.ComponentState(0x0204), v.MEETING_ROOM, v.T1)],
    ),
    "analog": (
        v.UNIT_ANALOG,
        [
            u.AnalogValue(1, 2, 40, 0x04030201, u.AnalogType.TEMPERATURE, 800, v.T1),
            u.AnalogValue(13, 3, 121, 0x06050403, u.AnalogType.HEIGHT, 0x5001, v.T2),
        ],
    ),
    "operations": (
        v.UNIT_OPERATIONS,
        [
            u.Operation(1, 2, u.OperationFlag(0x84), 0xFA, v.T1),
            u.Operation(13, 3, u.OperationFlag(0x73), 0xFB, v.T2),
        ],
    ),
    "versions": (v.UNIT_VERSIONS, [u.SoftwareVersion(1, 2, 3, 4), u.SoftwareVersion(13, 3, 1, 1)]),
    "system_config": (v.UNIT_SYSTEM_CONFIG, [u.SystemConfig(1, 2, v.MEETING_ROOM)]),
    "component_config": (v.UNIT_COMPONENT_CONFIG, [u.ComponentConfig(1, 2, 40, 0x04030201, v.MEETING_ROOM)]),
    "system_time": (v.UNIT_SYSTEM_TIME, [u.SystemTime(1, 2, v.T1)]),
    "uitd_state": (v.UNIT_UITD_STATE, [u.UITDStatus(u.UITDState.MAIN_POWER_FAULT, v.T1)]),
    "uitd_operations": (
        v.UNIT_UITD_OPERATIONS,
        [
            u.UITDOperationRecord(u.UITDOperation(0x31), 0xFA, v.T1),
            u.UITDOperationRecord(u.UITDOperation(0x73), 0xFB, v.T2),
        ],
    ),
    "uitd_version": (v.UNIT_UITD_VERSION, [u.UITDVersion(3, 4)]),
    "uitd_config": (v.UNIT_UITD_CONFIG, [u.UITDConfig(v.MEETING_ROOM)]),
    "uitd_time": (v.UNIT_UITD_TIME, [u.UITDTime(v.T2)]),
}


@pytest.mark.parametrize("name", UNITS)
def test_public_data_units_decode_alike_in_both_codecs(name: str) -> None:
    raw, expected = UNITS[name]
    unit = u.decode_unit(raw)
    assert list(unit.objects) == expected
    kind, records = cg.decode_records(raw)
    assert (kind, records) == (unit.type_flag, [asdict(obj) for obj in expected])
    # Our own encoding pads descriptions and texts differently; it reads back the same in both codecs.
    assert u.decode_unit(unit.encode()) == unit
    assert cg.decode_records(unit.encode()) == (kind, records)


def test_analog_scale_and_raw() -> None:
    level = u.AnalogValue(
        1, 1, u.ComponentType.FIRE_WATER_TANK, 7, u.AnalogType.HEIGHT, u.analog_raw(2, 2.35), v.T1
    )
    assert level.value == 235
    assert level.scaled == pytest.approx(2.35)
    assert u.analog_raw(u.AnalogType.GAS, 12.5) == 125  # 0.1 %LEL
    assert u.analog_raw(u.AnalogType.PRESSURE_MPA, 0.4) == 4  # 0.1 MPa
    assert u.analog_raw(200, 17) == 17  # user-defined types carry raw counts
    assert u.decode_unit(u.unit(u.AnalogValue(1, 1, 92, 7, 3, -150, v.T1)).encode()).objects[0].value == -150


# --- round trips, every object class, and across the codecs ---
EXAMPLES: list[tuple[u.UnitType, Any]] = [
    (u.UnitType.SYSTEM_STATE, u.SystemStatus(1, 0, u.SystemState.NORMAL | u.SystemState.FIRE, v.T1)),
    (
        u.UnitType.COMPONENT_STATE,
        u.ComponentStatus(
            1, 2, 23, u.component_address(3, 12), u.ComponentState.FIRE, "3号楼 5层 智峰科技", v.T1
        ),
    ),
    (u.UnitType.COMPONENT_ANALOG, u.AnalogValue(11, 1, 92, 1, u.AnalogType.HEIGHT, -32768, v.T2)),
    (u.UnitType.OPERATION, u.Operation(1, 1, u.OperationFlag.SILENCE | u.OperationFlag.RESET, 255, v.T1)),
    (u.UnitType.SOFTWARE_VERSION, u.SoftwareVersion(1, 1, 0, 255)),
    (u.UnitType.SYSTEM_CONFIG, u.SystemConfig(1, 1, "回路 1-4，共 412 个点")),
    (u.UnitType.COMPONENT_CONFIG, u.ComponentConfig(1, 1, 40, 0xFFFFFFFF, "走廊")),
    (u.UnitType.SYSTEM_TIME, u.SystemTime(1, 1, v.local(2255, 12, 31, 23, 59, 59))),
    (u.UnitType.UITD_STATE, u.UITDStatus(u.UITDState.NORMAL | u.UITDState.CENTRE_LINK_FAULT, v.T1)),
    (u.UnitType.UITD_OPERATION, u.UITDOperationRecord(u.UITDOperation.ROLL_CALL_ANSWER, 7, v.T1)),
    (u.UnitType.UITD_VERSION, u.UITDVersion(0, 1)),
    (u.UnitType.UITD_CONFIG, u.UITDConfig("Smart Park Hub park_sync 0.1")),
    (u.UnitType.UITD_TIME, u.UITDTime(v.local(2000, 1, 1))),
    (u.UnitType.READ_SYSTEM_STATE, u.ReadSystem(1, 1)),
    (u.UnitType.READ_COMPONENT_STATE, u.ReadComponent(1, 1, u.component_address(10, 2))),
    (u.UnitType.READ_COMPONENT_ANALOG, u.ReadComponent(11, 1, 5)),
    (u.UnitType.READ_OPERATIONS, u.ReadOperations(1, 1, 10, v.T1)),
    (u.UnitType.READ_SOFTWARE_VERSION, u.ReadSystem(1, 1)),
    (u.UnitType.READ_SYSTEM_CONFIG, u.ReadSystem(1, 1)),
    (u.UnitType.READ_COMPONENT_CONFIG, u.ReadComponent(1, 1, 9)),
    (u.UnitType.READ_SYSTEM_TIME, u.ReadSystem(1, 1)),
    (u.UnitType.READ_UITD_STATE, u.ReadUITD()),
    (u.UnitType.READ_UITD_OPERATIONS, u.ReadUITDOperations(102, v.T1)),
    (u.UnitType.READ_UITD_VERSION, u.ReadUITD()),
    (u.UnitType.READ_UITD_CONFIG, u.ReadUITD()),
    (u.UnitType.READ_UITD_TIME, u.ReadUITD()),
    (u.UnitType.INITIALISE_UITD, u.ReadUITD()),
    (u.UnitType.SYNC_UITD_TIME, u.ClockSync(v.T2)),
    (u.UnitType.ROLL_CALL, u.RollCall(timeout=10)),
]


def test_every_unit_type_has_an_example() -> None:
    assert {t for t, _ in EXAMPLES} == set(u.UnitType) == set(u.OBJECT_CLASS)


@pytest.mark.parametrize(("type_flag", "obj"), EXAMPLES, ids=[t.name for t, _ in EXAMPLES])
def test_round_trip_and_cross_codec(type_flag: u.UnitType, obj: Any) -> None:
    unit = u.DataUnit(type_flag, (obj, obj))
    data = unit.encode()
    assert u.decode_unit(data) == unit
    frame = _frame(u.command_for(type_flag), data)
    assert g.decode_frame(frame.encode()) == frame
    # park_sync encodes, the central decodes ...
    packet = cg.parse(frame.encode())
    assert (packet.serial, packet.command, packet.unit) == (1, frame.command, data)
    assert cg.decode_records(packet.unit) == (type_flag, [asdict(obj)] * 2)
    # ... and back: the central encodes the same bytes from the records, park_sync decodes them.
    assert cg.encode_records(type_flag, [asdict(obj)] * 2) == data
    assert _central(packet.command, data).encode() == frame.encode()


def test_unit_infers_its_type_except_for_shared_classes() -> None:
    assert u.unit(u.RollCall(3)).type_flag == u.UnitType.ROLL_CALL
    with pytest.raises(FrameError) as err:
        u.unit(u.ReadUITD())
    assert err.value.reason == Reason.TYPE
    assert u.unit(u.ReadUITD(), type_flag=u.UnitType.READ_UITD_CONFIG).encode() == bytes((86, 1, 0))


# --- GB18030 descriptions ---
def test_chinese_description_is_gb18030_padded_with_spaces_and_a_nul() -> None:
    text = "3号楼 5层 智峰科技"
    raw = u.encode_description(text)
    assert len(raw) == 31
    assert raw == text.encode("gb18030").ljust(30, b" ") + b"\x00"
    assert raw.startswith(bytes.fromhex("33 ba c5 c2 a5"))  # 3 号 楼 in GB18030, not UTF-8
    assert u.decode_description(raw) == text
    assert cg.text31(text) == raw
    assert cg.untext(raw) == text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("智" * 16, "智" * 15),  # 32 bytes: the 16th character does not fit
        ("a" + "智" * 15, "a" + "智" * 14),  # 31 bytes: cut before the character, never inside it
        ("火警" * 7 + "🔥", "火警" * 7),  # 28 + a 4-byte GB18030 character: 32
        ("x" * 26 + "🔥", "x" * 26 + "🔥"),  # exactly 30
        ("x" * 27 + "🔥", "x" * 27),
    ],
)
def test_description_truncated_on_a_character_boundary(text: str, kept: str) -> None:
    raw = u.encode_description(text)
    assert len(raw) == 31
    assert raw[-1] == 0
    assert u.decode_description(raw) == kept
    assert cg.text31(text) == raw


def test_description_decoding_never_fails() -> None:
    assert u.decode_description(b"\x81" + b" " * 29 + b"\x00") == "\ufffd"
    assert u.decode_description(b"\x00" * 31) == ""
    assert u.decode_description("走廊".encode("gb18030") + b"\x00junk") == "走廊"
    assert cg.untext(b"\x81" + b" " * 29 + b"\x00") == "\ufffd"


def test_config_text_is_length_prefixed_and_truncated_to_255_bytes() -> None:
    data = u.unit(u.UITDConfig("配" * 200)).encode()
    assert data[2] == 254  # 127 whole characters of 2 bytes
    assert u.decode_unit(data).objects == (u.UITDConfig("配" * 127),)
    assert cg.encode_records(26, [{"config": "配" * 200}]) == data
