"""GB/T 26875.3-2011 test vectors, each checked by hand (length field, checksum, field by field) and cited.

Device (用户信息传输装置) address 0x000000000379, centre 0x000000015B38 unless noted. Every frame here was
recomputed while writing: its length field equals its data unit and its checksum equals the sum mod 256 of
bytes 3..end of the data unit.
"""

from __future__ import annotations

from datetime import datetime


def local(*parts: int) -> datetime:
    """A time label's value: naive local time, as the standard has no zone."""
    return datetime(*parts)  # noqa: DTZ001


DEVICE = 0x000000000379
CENTRE = 0x000000015B38
SENT = local(2012, 9, 26, 9, 58, 32)  # 0x20 0x3A 0x09 0x1A 0x09 0x0C
ANSWERED = local(2012, 9, 26, 9, 58, 35)  # 0x23 ...
EVENT = local(2012, 9, 26, 9, 58, 2)  # 0x02 ...


def h(*text: str) -> bytes:
    return bytes.fromhex("".join(text).replace(" ", ""))


_HEAD_UP = "40 40 01 00 01 01 20 3A 09 1A 09 0C 79 03 00 00 00 00 38 5B 01 00 00 00"  # device -> centre
_HEAD_DOWN = "40 40 01 00 01 01 20 3A 09 1A 09 0C 38 5B 01 00 00 00 79 03 00 00 00 00"  # centre -> device

# --- issue #14's three vectors ---------------------------------------------------------------------------
# Smoke detector (type 40) fire alarm, zone 10 number 2, sent 09:58:32, event 09:58:02. The description is 30
# spaces and a NUL, which is exactly what the codecs write for an empty description.
SMOKE_FIRE = (
    h(_HEAD_UP + " 30 00 02 02 01 01 01 28 0A 00 02 00 02 00")
    + b" " * 30
    + h("00 02 3A 09 1A 09 0C 46 23 23")
)
CENTRE_CONFIRM = h(
    "40 40 01 00 01 01 23 3A 09 1A 09 0C 38 5B 01 00 00 00 79 03 00 00 00 00 00 00 03 AB 23 23"
)
UITD_MAIN_POWER_FAULT = h(_HEAD_UP + " 09 00 02 15 01 08 02 3A 09 1A 09 0C 42 23 23")

# --- further public vectors ------------------------------------------------------------------------------
# Source: ActorLancer/GB-T-26875.3.2011-rs, GB26875文档.md, section "示例" (the same example set as the
# standard's worked examples; the first two are the issue's). Lengths and checksums recomputed: all agree.
CENTRE_DENY = h(
    "40 40 01 00 01 01 23 3A 09 1A 09 0C 38 5B 01 00 00 00 79 03 00 00 00 00", " 00 00 06 AE 23 23"
)
# type 24, bit 5 (查岗应答), operator 1
ROLL_CALL_ANSWER = h(_HEAD_UP + " 0A 00 02 18 01 20 01 02 3A 09 1A 09 0C 5F 23 23")
UITD_VERSION = h(_HEAD_UP + " 04 00 02 19 01 01 01 C7 23 23")  # type 25, V1.1
UITD_TIME = h(_HEAD_UP + " 08 00 02 1C 01 02 3A 09 1A 09 0C 40 23 23")  # type 28
READ_UITD_STATE = h(_HEAD_DOWN + " 03 00 04 51 01 00 FE 23 23")  # 请求, type 81, reserved 0
ANSWER_UITD_STATE = h(_HEAD_UP + " 09 00 05 15 01 08 02 3A 09 1A 09 0C 45 23 23")  # 应答, type 21
READ_UITD_VERSION = h(_HEAD_DOWN + " 03 00 04 55 01 00 02 23 23")  # type 85
ANSWER_UITD_VERSION = h(_HEAD_UP + " 04 00 05 19 01 01 01 CA 23 23")
READ_UITD_TIME = h(_HEAD_DOWN + " 03 00 04 58 01 00 05 23 23")  # type 88
ANSWER_UITD_TIME = h(_HEAD_UP + " 08 00 05 1C 01 02 3A 09 1A 09 0C 43 23 23")
INITIALISE = h(_HEAD_DOWN + " 03 00 01 59 01 00 03 23 23")  # 控制, type 89
CLOCK_SYNC = h(_HEAD_DOWN + " 08 00 01 5A 01 02 3A 09 1A 09 0C 7D 23 23")  # 控制, type 90, the time to set
ROLL_CALL = h(_HEAD_DOWN + " 03 00 01 5B 01 0A 0F 23 23")  # 控制, type 91, answer within 10 minutes
DEVICE_CONFIRM = h(
    "40 40 01 00 01 01 23 3A 09 1A 09 0C 79 03 00 00 00 00 38 5B 01 00 00 00 00 00 03 AB 23 23"
)

# Source: dgiot/dgiot, dgiot_gb26875_decoder.erl test(), also shootingfans/codec_gb26875_3_2011
# codec/reader_decoder_test.go (which decodes it to "Ａ区１层呷哺走廊", address 0x0600d9). Serial 0, source 0,
# destination 0x010203040506, sent 2020-10-22 17:13:24, event 2020-08-01 19:18:48; description NUL-padded.
NUL_PADDED = h(
    "40 40 00 00 01 01 18 0d 11 16 0a 14 00 00 00 00 00 00 06 05 04 03 02 01 30 00 02 02 01 01 03 00 d9",
    " 00 06",
    " 00 02 00 a3 c1 c7 f8 a3 b1 b2 e3 df c8 b2 b8 d7 df c0 c8",
    " 00" * 15,
    " 30 12 13 01 08 14 68 23 23",
)
# Source: dgiot/dgiot, dgiot_gb26875_decoder.erl, comment "光电探测器火警(光电感烟)": a capture from a device.
# Version bytes 0x10 0x00 (not 1.1), type 42 photoelectric smoke detector, address 01 00 01 00, description
# "1号接口板1回路1号" then a NUL and leftover bytes of an older text (ignored after the NUL).
DEVICE_CAPTURE = h(
    "40 40 14 00 10 00 05 09 09 1b 07 15 2c 31 2c 32 00 00 78 4d 07 91 8e 23 30 00 02 02 01 01 01 2a 01 00",
    " 01 00 02 00 31 ba c5 bd d3 bf da b0 e5 31 bb d8 c2 b7 31 ba c5 00 ba c5 d6 f7 bb fa f8 98 cf a0 00 00",
    " 00 25 11 03 01 06 0c 47 23 23",
)

# Data units alone. Source: shootingfans/codec_gb26875_3_2011, codec/codec_test.go (TestDecodeAppData); the
# time label 04 00 09 02 07 15 is 2021-07-02 09:00:04 (the Go test's 1625187604 in UTC+8).
T1 = local(2021, 7, 2, 9, 0, 4)
T2 = local(2021, 7, 2, 9, 0, 5)
_ROOM = " 37 c2 a5 30 32 ca d2 bb e1 d2 e9 ca d2 d1 cc b8 d0"  # "7楼02室会议室烟感" in GB18030, 17 bytes
_ROOM31 = _ROOM + " 00" * 14  # as a 31-byte description
_ROOM30 = _ROOM + " 00" * 13  # as a configuration text of length 0x1e
_T1 = " 04 00 09 02 07 15"
_T2 = " 05 00 09 02 07 15"
UNIT_SYSTEM_STATES = h("01 02 01 02 04 02" + _T1 + " 0d 03 05 01" + _T2)
UNIT_COMPONENT_STATE = h("02 01 01 02 79 01 02 03 04 04 02" + _ROOM31 + _T1)
UNIT_ANALOG = h("03 02 01 02 28 01 02 03 04 03 20 03" + _T1 + " 0d 03 79 03 04 05 06 02 01 50" + _T2)
UNIT_OPERATIONS = h("04 02 01 02 84 fa" + _T1 + " 0d 03 73 fb" + _T2)
UNIT_VERSIONS = h("05 02 01 02 03 04 0d 03 01 01")  # two objects although 8.3.1.5 says one: accepted
UNIT_SYSTEM_CONFIG = h("06 01 01 02 1e" + _ROOM30)
UNIT_COMPONENT_CONFIG = h("07 01 01 02 28 01 02 03 04" + _ROOM31)
UNIT_SYSTEM_TIME = h("08 01 01 02" + _T1)
UNIT_UITD_STATE = h("15 01 08" + _T1)
UNIT_UITD_OPERATIONS = h("18 02 31 fa" + _T1 + " 73 fb" + _T2)
UNIT_UITD_VERSION = h("19 01 03 04")
UNIT_UITD_CONFIG = h("1a 01 1e" + _ROOM30)
UNIT_UITD_TIME = h("1c 01 05 00 09 02 07 15")
MEETING_ROOM = "7楼02室会议室烟感"

ALL_FRAMES = {
    "smoke_fire": SMOKE_FIRE,
    "centre_confirm": CENTRE_CONFIRM,
    "uitd_main_power_fault": UITD_MAIN_POWER_FAULT,
    "centre_deny": CENTRE_DENY,
    "roll_call_answer": ROLL_CALL_ANSWER,
    "uitd_version": UITD_VERSION,
    "uitd_time": UITD_TIME,
    "read_uitd_state": READ_UITD_STATE,
    "answer_uitd_state": ANSWER_UITD_STATE,
    "read_uitd_version": READ_UITD_VERSION,
    "answer_uitd_version": ANSWER_UITD_VERSION,
    "read_uitd_time": READ_UITD_TIME,
    "answer_uitd_time": ANSWER_UITD_TIME,
    "initialise": INITIALISE,
    "clock_sync": CLOCK_SYNC,
    "roll_call": ROLL_CALL,
    "device_confirm": DEVICE_CONFIRM,
    "nul_padded": NUL_PADDED,
    "device_capture": DEVICE_CAPTURE,
}
