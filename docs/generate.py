"""Regenerate docs/register-contract.md from the device catalogue (a test keeps the two in step).

Run: .venv/bin/python docs/generate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.smart_park.engine.catalogue import DeviceType, builtin_device_types

OUT = Path(__file__).parent / "register-contract.md"

HEADER = """\
# Register contract

Generated from `custom_components/smart_park/engine/device_types/*.yaml` by `docs/generate.py`; do not edit by hand.

Every device answers Modbus (TCP, or RTU behind a gateway) on its own unit id (1–247 per gateway). Addresses are
0-based protocol addresses (register 30001 in "Modicon" numbering is input register 0). Multi-register values are
big-endian words, high word first, unless the map says `word_order: little`. Engineering value = raw × scale +
offset. Tiers: **fast** is polled every 0.25 s by default (safety inputs), **normal** every 5 s, **slow** every 60 s.

## Mapping a real device

A vendor's device that differs from these maps needs no Python. In the park profile either override points of
one device:

```yaml
devices:
  - {id: tank_b2, type: fire_water_tank, gateway: gw1, unit: 12, building: b2,
     overrides: [{key: level, address: 100, scale: 0.001}]}
```

or declare a type once and use it for many devices (`extends` copies a built-in map; list only what differs,
or give a full map without `extends`):

```yaml
device_types:
  - type: acme_tank
    extends: fire_water_tank
    manufacturer: ACME
    model: LT-200
    points:
      - {key: level, address: 100, data_type: uint32, scale: 0.001}
      - {key: temperature, table: input_register, address: 110, data_type: int16, scale: 0.1, unit: "°C",
         device_class: temperature, state_class: measurement}
```

Point fields: `key`, `table` (coil, discrete_input, holding_register, input_register), `address`, `data_type`
(bool, uint16, int16, uint32, int32, float32, uint64), `word_order`, `scale`, `offset`, `precision`, `unit`,
`device_class`, `state_class`, `entity_category`, `platform` (sensor, binary_sensor, none), `tier`, `writable`,
`repeat`/`stride` (one point per channel: `key` contains `{n}`), `options` (enum: raw value → state).
Overlapping addresses within a table are refused with the path of the bad field.
"""


def _type_section(device_type: DeviceType) -> str:
    lines = [
        f"## `{device_type.type}` — {device_type.name}",
        "",
        f"Channels: {device_type.channels} by default, at most {device_type.max_channels}."
        if device_type.max_channels > 1
        else "",
        "",
        "| key | table | address | type | scale | unit | tier | access | HA |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in device_type.points:
        address = str(p.address)
        if p.repeat > 1:
            stride = p.stride or p.count
            address = f"{p.address} + {stride}×(n−1), n = 1…{p.repeat}"
        ha = p.platform.value
        if p.device_class:
            ha += f" ({p.device_class})"
        if p.options:
            ha += ": " + ", ".join(f"{k}={v}" for k, v in p.options.items())
        lines.append(
            f"| `{p.key}` | {p.table.value} | {address} | {p.data_type.value} | {p.scale:g} | {p.unit or ''} | "
            f"{p.tier.value} | {'read/write' if p.writable else 'read'} | {ha} |"
        )
    return "\n".join(line for line in lines if line is not None) + "\n"


def render() -> str:
    """The whole document."""
    sections = [HEADER] + [_type_section(t) for t in builtin_device_types().values()]
    return "\n".join(sections)


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
