"""GB/T 26875.3-2011 code tables: unit types, state and operation bits, system, component and analogue types.

Only the entries the park uses are named in the type enums; any value 0-255 is still carried as a plain int.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

from .gbt26875 import FrameError, Reason


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


# Value of one count of the raw (signed 16-bit) analogue value, and its unit.
ANALOG_SCALE: dict[int, tuple[float, str]] = {
    AnalogType.EVENT_COUNT: (1.0, ""),
    AnalogType.HEIGHT: (0.01, "m"),
    AnalogType.TEMPERATURE: (0.1, "°C"),
    AnalogType.PRESSURE_MPA: (0.1, "MPa"),
    AnalogType.PRESSURE_KPA: (0.1, "kPa"),
    AnalogType.GAS: (0.1, "%LEL"),
    AnalogType.TIME: (1.0, "s"),
    AnalogType.VOLTAGE: (0.1, "V"),
    AnalogType.CURRENT: (0.1, "A"),
    AnalogType.FLOW: (0.1, "L/s"),
    AnalogType.AIR_VOLUME: (0.1, "m³/min"),
    AnalogType.WIND_SPEED: (1.0, "m/s"),
}


def analog_raw(analog_type: int, value: float) -> int:
    """The raw count for ``value`` in the type's unit (2.35 m of HEIGHT -> 235); FrameError outside int16."""
    raw = round(value / ANALOG_SCALE.get(analog_type, (1.0, ""))[0])
    if not -0x8000 <= raw <= 0x7FFF:
        raise FrameError(Reason.VALUE, "value", f"{value} does not fit a signed 16-bit count")
    return raw
