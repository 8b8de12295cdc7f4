"""GB/T 26875.3-2011 data units (应用数据单元): type flag (1) + object count (1) + information objects.

Objects are frozen dataclasses; ``DataUnit(type_flag, objects)`` encodes to the bytes a ``Frame`` carries and
``decode_unit`` reads them back, refusing with ``FrameError`` (reason ``type``, ``unit``, ``truncated`` or
``time``). Uploads go as 发送数据 (types 1-8, 21-28); the centre's reads (61-68, 81-88) as 请求 and its
initialise (89), clock sync (90) and roll-call (91) as 控制命令. Time labels are local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, IntFlag

from .gbt26875 import FrameError, Reason

DESCRIPTION_LEN = 31  # 部件说明: GB18030, padded with 0x20 to 30 bytes and closed by 0x00
MAX_OBJECTS = 255


class UnitType(IntEnum):
    """类型标志 (table 3)."""

    SYSTEM_STATE = 1  # 上传建筑消防设施系统状态
    COMPONENT_STATE = 2  # 上传建筑消防设施部件运行状态
    COMPONENT_ANALOG = 3  # 上传建筑消防设施部件模拟量值
    OPERATION = 4  # 上传建筑消防设施操作信息
    SOFTWARE_VERSION = 5  # 上传建筑消防设施软件版本
    SYSTEM_CONFIG = 6  # 上传建筑消防设施系统配置情况
    COMPONENT_CONFIG = 7  # 上传建筑消防设施部件配置情况
    SYSTEM_TIME = 8  # 上传建筑消防设施系统时间
    UITD_STATE = 21  # 上传用户信息传输装置运行状态
    UITD_OPERATION = 24  # 上传用户信息传输装置操作信息
    UITD_VERSION = 25  # 上传用户信息传输装置软件版本
    UITD_CONFIG = 26  # 上传用户信息传输装置配置情况
    UITD_TIME = 28  # 上传用户信息传输装置系统时间
    READ_SYSTEM_STATE = 61
    READ_COMPONENT_STATE = 62
    READ_COMPONENT_ANALOG = 63
    READ_OPERATIONS = 64
    READ_SOFTWARE_VERSION = 65
    READ_SYSTEM_CONFIG = 66
    READ_COMPONENT_CONFIG = 67
    READ_SYSTEM_TIME = 68
    READ_UITD_STATE = 81
    READ_UITD_OPERATIONS = 84
    READ_UITD_VERSION = 85
    READ_UITD_CONFIG = 86
    READ_UITD_TIME = 88
    INITIALISE_UITD = 89  # 初始化用户信息传输装置
    SYNC_UITD_TIME = 90  # 同步用户信息传输装置时钟
    ROLL_CALL = 91  # 查岗命令


class SystemState(IntFlag):
    """建筑消防设施系统状态 (2 bytes, LE). NORMAL set = normal operation, clear = test."""

    NORMAL = 1 << 0
    FIRE = 1 << 1
    FAULT = 1 << 2
    DISABLED = 1 << 3  # 屏蔽
    SUPERVISORY = 1 << 4  # 监管
    STARTED = 1 << 5  # 启动 (开启)
    FEEDBACK = 1 << 6
    DELAY = 1 << 7
    MAIN_POWER_FAULT = 1 << 8
    BACKUP_POWER_FAULT = 1 << 9
    BUS_FAULT = 1 << 10
    MANUAL = 1 << 11
    CONFIG_CHANGED = 1 << 12
    RESET = 1 << 13


class ComponentState(IntFlag):
    """建筑消防设施部件状态 (2 bytes, LE). NORMAL set = normal operation, clear = test."""

    NORMAL = 1 << 0
    FIRE = 1 << 1
    FAULT = 1 << 2
    DISABLED = 1 << 3
    SUPERVISORY = 1 << 4
    STARTED = 1 << 5
    FEEDBACK = 1 << 6
    DELAY = 1 << 7
    POWER_FAULT = 1 << 8


class OperationFlag(IntFlag):
    """建筑消防设施操作信息 (1 byte)."""

    RESET = 1 << 0
    SILENCE = 1 << 1  # 消音
    MANUAL_ALARM = 1 << 2
    ALARM_CLEARED = 1 << 3  # 警情消除
    SELF_TEST = 1 << 4
    CONFIRM = 1 << 5  # 确认
    TEST = 1 << 6


class UITDState(IntFlag):
    """用户信息传输装置运行状态 (1 byte). NORMAL set = normal monitoring, clear = test."""

    NORMAL = 1 << 0
    FIRE = 1 << 1
    FAULT = 1 << 2
    MAIN_POWER_FAULT = 1 << 3
    BACKUP_POWER_FAULT = 1 << 4
    CENTRE_LINK_FAULT = 1 << 5  # 与监控中心通信信道故障
    LINE_FAULT = 1 << 6  # 监测连接线路故障


class UITDOperation(IntFlag):
    """用户信息传输装置操作信息 (1 byte)."""

    RESET = 1 << 0
    SILENCE = 1 << 1
    MANUAL_ALARM = 1 << 2
    ALARM_CLEARED = 1 << 3
    SELF_TEST = 1 << 4
    ROLL_CALL_ANSWER = 1 << 5  # 查岗应答
    TEST = 1 << 6


class SystemType(IntEnum):
    """建筑消防设施系统类型 (table 4, the ones the park uses; 128-255 are user-defined)."""

    GENERAL = 0
    FIRE_ALARM = 1  # 火灾报警系统
    LINKAGE_CONTROLLER = 10  # 消防联动控制器
    HYDRANT = 11  # 消火栓系统
    SPRINKLER = 12  # 自动喷水灭火系统
    GAS_EXTINGUISHING = 13
    SMOKE_CONTROL = 18  # 防烟排烟系统
    FIRE_DOOR_SHUTTER = 19
    ELEVATOR = 20
    BROADCAST = 21  # 消防应急广播
    EMERGENCY_LIGHTING = 22
    POWER = 23  # 消防电源
    TELEPHONE = 24


class ComponentType(IntEnum):
    """建筑消防设施部件类型 (table 5, the ones the park uses; 128-255 are user-defined)."""

    GENERAL = 0
    FIRE_ALARM_CONTROLLER = 1
    COMBUSTIBLE_GAS_DETECTOR = 10  # 可燃气体探测器
    POINT_GAS_DETECTOR = 11
    MANUAL_CALL_POINT = 23  # 手动火灾报警按钮
    HYDRANT_BUTTON = 24
    HEAT_DETECTOR = 30
    SMOKE_DETECTOR = 40  # 感烟火灾探测器
    FIRE_PUMP = 91
    FIRE_WATER_TANK = 92  # 消防水箱
    SPRINKLER_PUMP = 95
    ALARM_DEVICE = 121  # 警报装置


class AnalogType(IntEnum):
    """模拟量类型 (table 6); the scale is in ``ANALOG_SCALE``."""

    UNUSED = 0
    EVENT_COUNT = 1
    HEIGHT = 2  # 0.01 m
    TEMPERATURE = 3  # 0.1 °C
    PRESSURE_MPA = 4  # 0.1 MPa
    PRESSURE_KPA = 5  # 0.1 kPa
    GAS = 6  # 0.1 %LEL
    TIME = 7  # s
    VOLTAGE = 8  # 0.1 V
    CURRENT = 9  # 0.1 A
    FLOW = 10  # 0.1 L/s
    AIR_VOLUME = 11  # 0.1 m³/min
    WIND_SPEED = 12  # m/s


# Value of one count of the raw analogue value, in the unit named beside it.
ANALOG_SCALE: dict[AnalogType, tuple[float, str]] = {}


def component_address(zone: int, number: int) -> int:
    """The 4-byte component address as the park writes it: zone in the low word, number in the high."""
    raise NotImplementedError


def encode_description(text: str) -> bytes:
    """31 bytes: GB18030, cut on a character boundary to 30 bytes, padded with 0x20, closed by 0x00."""
    raise NotImplementedError


def decode_description(raw: bytes) -> str:
    """Text up to the first 0x00, trailing spaces dropped; undecodable bytes become U+FFFD, never an error."""
    raise NotImplementedError


# --- information objects -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SystemStatus:
    """Type 1 (and the answer to 61)."""

    system_type: int
    system_address: int
    state: SystemState
    time: datetime


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    """Type 2 (and the answer to 62)."""

    system_type: int
    system_address: int
    component_type: int
    component_address: int
    state: ComponentState
    description: str
    time: datetime

    @property
    def zone(self) -> int:
        return self.component_address & 0xFFFF

    @property
    def number(self) -> int:
        return self.component_address >> 16


@dataclass(frozen=True, slots=True)
class AnalogValue:
    """Type 3 (and the answer to 63). ``value`` is the raw signed count; ``scaled`` applies the unit."""

    system_type: int
    system_address: int
    component_type: int
    component_address: int
    analog_type: int
    value: int
    time: datetime

    @property
    def scaled(self) -> float:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Operation:
    """Type 4 (and the answer to 64)."""

    system_type: int
    system_address: int
    operation: OperationFlag
    operator: int
    time: datetime


@dataclass(frozen=True, slots=True)
class SoftwareVersion:
    """Type 5 (answer to 65)."""

    system_type: int
    system_address: int
    major: int
    minor: int


@dataclass(frozen=True, slots=True)
class SystemConfig:
    """Type 6 (answer to 66): a GB18030 text of at most 255 bytes."""

    system_type: int
    system_address: int
    config: str


@dataclass(frozen=True, slots=True)
class ComponentConfig:
    """Type 7 (answer to 67)."""

    system_type: int
    system_address: int
    component_type: int
    component_address: int
    description: str


@dataclass(frozen=True, slots=True)
class SystemTime:
    """Type 8 (answer to 68)."""

    system_type: int
    system_address: int
    time: datetime


@dataclass(frozen=True, slots=True)
class UITDStatus:
    """Type 21 (answer to 81)."""

    state: UITDState
    time: datetime


@dataclass(frozen=True, slots=True)
class UITDOperationRecord:
    """Type 24 (answer to 84); a roll-call answer has ``ROLL_CALL_ANSWER`` set."""

    operation: UITDOperation
    operator: int
    time: datetime


@dataclass(frozen=True, slots=True)
class UITDVersion:
    """Type 25 (answer to 85)."""

    major: int
    minor: int


@dataclass(frozen=True, slots=True)
class UITDConfig:
    """Type 26 (answer to 86): a GB18030 text of at most 255 bytes."""

    config: str


@dataclass(frozen=True, slots=True)
class UITDTime:
    """Type 28 (answer to 88)."""

    time: datetime


@dataclass(frozen=True, slots=True)
class ReadSystem:
    """Types 61, 65, 66, 68: read a system's state, software version, configuration or clock."""

    system_type: int
    system_address: int


@dataclass(frozen=True, slots=True)
class ReadComponent:
    """Types 62, 63, 67: read a component's state, analogue value or configuration."""

    system_type: int
    system_address: int
    component_address: int


@dataclass(frozen=True, slots=True)
class ReadOperations:
    """Type 64: the ``count`` most recent operation records of a system from ``since``."""

    system_type: int
    system_address: int
    count: int
    since: datetime


@dataclass(frozen=True, slots=True)
class ReadUITD:
    """Types 81, 85, 86, 88 (reads) and 89 (initialise): one reserved byte."""

    reserved: int = 0


@dataclass(frozen=True, slots=True)
class ReadUITDOperations:
    """Type 84: the ``count`` most recent UITD operation records from ``since``."""

    count: int
    since: datetime


@dataclass(frozen=True, slots=True)
class ClockSync:
    """Type 90: set the UITD's clock to ``time``."""

    time: datetime


@dataclass(frozen=True, slots=True)
class RollCall:
    """Type 91 (查岗): the duty room must answer within ``timeout`` minutes."""

    timeout: int


InfoObject = (
    SystemStatus
    | ComponentStatus
    | AnalogValue
    | Operation
    | SoftwareVersion
    | SystemConfig
    | ComponentConfig
    | SystemTime
    | UITDStatus
    | UITDOperationRecord
    | UITDVersion
    | UITDConfig
    | UITDTime
    | ReadSystem
    | ReadComponent
    | ReadOperations
    | ReadUITD
    | ReadUITDOperations
    | ClockSync
    | RollCall
)


@dataclass(frozen=True, slots=True)
class DataUnit:
    """A type flag and its objects (1-255 of the class the type takes; ``OBJECT_CLASS`` says which)."""

    type_flag: UnitType
    objects: tuple[InfoObject, ...]

    def encode(self) -> bytes:
        raise NotImplementedError


def unit(*objects: InfoObject, type_flag: UnitType | None = None) -> DataUnit:
    """A DataUnit of ``objects``; ``type_flag`` is needed only for classes several types share (ReadSystem,
    ReadComponent, ReadUITD)."""
    raise NotImplementedError


def decode_unit(data: bytes) -> DataUnit:
    """Read a frame's data unit. Empty data (a heartbeat, a confirm) is not a unit: check before calling."""
    raise NotImplementedError
