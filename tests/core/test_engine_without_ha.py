"""The engine, the simulator and the central work without Home Assistant installed.

A child interpreter refuses every ``homeassistant`` import (as a virtual environment without it would) and
then imports every engine module, parses the reference park and starts the simulator.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import asyncio, importlib, pkgutil, sys

    class NoHomeAssistant:
        def find_spec(self, name, path=None, target=None):
            if name == "homeassistant" or name.startswith("homeassistant."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
            return None

    sys.meta_path.insert(0, NoHomeAssistant())
    import custom_components.smart_park.engine as engine

    for module in pkgutil.iter_modules(engine.__path__):
        importlib.import_module(f"{engine.__name__}.{module.name}")
    from custom_components.smart_park.engine.profile import parse_profile
    from simulator.reference import reference_profile
    from simulator.server import ParkSimulator
    import central.server

    profile = parse_profile(reference_profile(3))

    async def main():
        sim = ParkSimulator(profile, port_override=dict.fromkeys(profile.gateways, 0), dynamics=False)
        await sim.start()
        await sim.stop()

    asyncio.run(main())
    assert not [m for m in sys.modules if m.split(".")[0] == "homeassistant"]
    print("engine ok", len(profile.devices))
    """
)


def test_engine_imports_and_runs_without_home_assistant() -> None:
    """Every engine module imports, the reference park parses and the simulator runs, with HA blocked."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("engine ok")


def test_the_block_works() -> None:
    """The child really cannot import Home Assistant (else the test above proves nothing)."""
    child = CHILD.split("import custom_components")[0] + "import homeassistant.core\n"
    result = subprocess.run(
        [sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "blocked" in result.stderr
