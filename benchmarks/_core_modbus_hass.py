"""Run Home Assistant (``python -m homeassistant`` arguments) with core ``modbus`` working on pymodbus 3.13.

HA 2025.4.4's ``modbus`` integration pins pymodbus 3.8.3 and passes the unit as ``slave=``; pymodbus 3.10+
renamed that keyword to ``device_id=``. This shim translates the keyword on the client request methods and
changes nothing else, so the requests core issues are exactly the ones it would issue on its pinned pymodbus.
Used by ``benchmarks/polling.py`` for the baseline.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from pymodbus.client.mixin import ModbusClientMixin

# Every request method core's ModbusHub looks up by name (homeassistant/components/modbus/modbus.py PB_CALL).
_METHODS = (
    "read_coils",
    "read_discrete_inputs",
    "read_holding_registers",
    "read_input_registers",
    "write_coil",
    "write_coils",
    "write_register",
    "write_registers",
)


def _translate(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if "slave" in kwargs:
            kwargs["device_id"] = kwargs.pop("slave")
        return method(self, *args, **kwargs)

    return call


def patch_pymodbus() -> None:
    """Accept ``slave=`` as the pre-3.10 name of ``device_id=`` (idempotent)."""
    for name in _METHODS:
        method = getattr(ModbusClientMixin, name)
        if not getattr(method, "_slave_shim", False):
            wrapped = _translate(method)
            wrapped._slave_shim = True  # type: ignore[attr-defined]
            setattr(ModbusClientMixin, name, wrapped)


def main() -> int:
    """Patch, then run Home Assistant's own entry point with this process's arguments."""
    patch_pymodbus()
    from homeassistant.__main__ import main as ha_main

    return ha_main()


if __name__ == "__main__":
    sys.exit(main())
