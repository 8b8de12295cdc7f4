"""Park profile schemas: the shape of each section (gateways, buildings, enterprises, devices, channels).

Only field types, ranges and defaults live here; cross-references (a device's gateway, building, floor,
enterprise; channel functions against the device's points) are checked by :mod:`.profile_parse`.
"""

from __future__ import annotations

from collections.abc import Mapping

import probatio as vol

from .catalogue import strict_int

_ID = vol.All(
    str, vol.Length(min=1, max=64), vol.Match(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$", msg="letters, digits, _ or -")
)
_NAME = vol.All(str, vol.Length(min=1, max=100))
_PORT = vol.All(strict_int, vol.Range(min=1, max=65535))
# Channel numbers: ints in YAML, digit strings once the profile went through JSON (the config entry).
_CHANNEL_NUMBER = vol.Any(strict_int, vol.All(vol.Match(r"^\d{1,3}$"), vol.Coerce(int)))
TRANSPORTS = ("tcp", "serial_over_tcp", "rtu")
_BAUDRATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]

GATEWAY_SCHEMA = vol.Schema(
    {
        vol.Required("id"): _ID,
        vol.Optional("name"): _NAME,
        vol.Optional("protocol", default="tcp"): vol.In(["tcp", "rtu"]),
        vol.Optional("host"): str,
        vol.Optional("port", default=502): _PORT,
        vol.Optional("serial_port"): str,
        vol.Optional("baudrate", default=9600): vol.All(strict_int, vol.In(_BAUDRATES)),
        vol.Optional("parity", default="N"): vol.In(["N", "E", "O"]),
        vol.Optional("stopbits", default=1): vol.All(strict_int, vol.In([1, 2])),
        vol.Optional("bytesize", default=8): vol.All(strict_int, vol.In([7, 8])),
        vol.Optional("timeout", default=1.0): vol.All(vol.Coerce(float), vol.Range(min=0.05, max=30)),
        # The bus behind the gateway (engine/bus.py times it): tcp (no serial bus, the default),
        # serial_over_tcp (Modbus TCP to a serial server, RTU on the line) or rtu (a local serial port).
        # Absent: not declared, polled as before (no bus time). The line: baudrate/parity/stopbits/bytesize.
        vol.Optional("transport"): vol.In(TRANSPORTS),
        # Device turnaround (request received -> reply starts), ms; the engine's default when absent.
        vol.Optional("turnaround"): vol.All(vol.Coerce(float), vol.Range(min=0, max=1000)),
        # Silent interval between frames, ms; absent: 3.5 characters (1.75 ms above 19200 baud).
        vol.Optional("frame_gap"): vol.All(vol.Coerce(float), vol.Range(min=0, max=100)),
        # Largest RTU frame the serial server or devices take, bytes (the standard's 256 when absent).
        vol.Optional("max_frame"): vol.All(strict_int, vol.Range(min=16, max=256)),
    }
)
BUILDING_SCHEMA = vol.Schema(
    {
        vol.Required("id"): _ID,
        vol.Optional("name"): _NAME,
        vol.Required("floors"): vol.All(strict_int, vol.Range(min=1, max=120)),
        vol.Optional("basements", default=0): vol.All(strict_int, vol.Range(min=0, max=10)),
    }
)
# The profile declares which enterprise ids devices may serve. The records themselves (USCC, contact, figures,
# ...) live in the enterprise registry (enterprises.py), which the profile's entries only seed: all of them on
# the first setup, later only ids the registry does not know. Extra fields are kept here as they are and
# validated by the registry when it takes them.
ENTERPRISE_SCHEMA = vol.Schema(
    {
        vol.Required("id"): _ID,
        vol.Required("name"): _NAME,
        vol.Optional("building"): _ID,
        vol.Optional("floor"): strict_int,
    },
    extra=vol.ALLOW_EXTRA,
)
# What a channel of a multi-channel device may serve, and the points (templates) each function needs there.
CHANNEL_FUNCTIONS: Mapping[str, tuple[str, ...]] = {"one_key_alarm": ("input_{n}", "output_{n}")}
CHANNEL_SCHEMA = vol.Schema(
    {
        vol.Optional("name"): _NAME,
        vol.Optional("floor"): strict_int,
        vol.Optional("enterprise"): _ID,
        # Checked against CHANNEL_FUNCTIONS below, so that an unknown value gets its own translated message.
        vol.Optional("function"): str,
        # A channel in another building than its device, e.g. a broadcast zone of a park-wide controller.
        vol.Optional("building"): _ID,
    }
)
DEVICE_SCHEMA = vol.Schema(
    {
        vol.Required("id"): _ID,
        vol.Required("type"): str,
        vol.Optional("gateway"): _ID,
        vol.Required("unit"): strict_int,
        vol.Optional("name"): _NAME,
        vol.Optional("building"): _ID,
        vol.Optional("floor"): strict_int,
        vol.Optional("enterprise"): _ID,
        vol.Optional("channels"): vol.All(strict_int, vol.Range(min=1, max=256)),
        vol.Optional("channel_map"): {_CHANNEL_NUMBER: CHANNEL_SCHEMA},
        vol.Optional("overrides"): [dict],
    }
)
PARK_SCHEMA = vol.Schema({vol.Required("id"): _ID, vol.Required("name"): _NAME}, extra=vol.ALLOW_EXTRA)
PROFILE_SCHEMA = vol.Schema(
    {
        vol.Required("park"): PARK_SCHEMA,
        vol.Optional("gateways", default=list): list,
        vol.Optional("buildings", default=list): list,
        vol.Optional("enterprises", default=list): list,
        vol.Optional("devices", default=list): list,
        vol.Optional("device_types", default=list): list,
    }
)
