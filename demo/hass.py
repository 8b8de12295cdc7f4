"""Home Assistant for the demo, able to load mobile_app: ``python demo/hass.py`` + HA's own arguments.

mobile_app (the volunteers' phones) imports cloud, which imports assist_pipeline, which imports pymicro-vad
and pyspeex-noise at module level; HA's pins of those have no Python 3.14 wheels and need a compiler with
Python's headers. Nothing here uses voice, so stand-ins that fail when called take their place while the real
ones are missing, and mobile_app loads. The integration tests use the same stand-ins (tests/integration/
phones.py).
"""

from __future__ import annotations

import importlib.util
import sys
import types

# module -> the name HA imports from it
VOICE_LIBRARIES = {"pymicro_vad": "MicroVad", "pyspeex_noise": "AudioProcessor"}


def without_voice_libraries() -> list[str]:
    """Put a stand-in in ``sys.modules`` for each voice library that is not installed; returns their names."""
    missing = [m for m in VOICE_LIBRARIES if m not in sys.modules and importlib.util.find_spec(m) is None]
    for module in missing:

        def unavailable(*args: object, _module: str = module, **kwargs: object) -> None:
            raise RuntimeError(f"{_module} is not installed: voice is off in this Home Assistant")

        stand_in = types.ModuleType(module)
        setattr(stand_in, VOICE_LIBRARIES[module], unavailable)
        sys.modules[module] = stand_in
    return missing


if __name__ == "__main__":
    # Run as a file: its folder (demo/) is first on sys.path, where demo/custom_components would be found
    # before the config folder's; HA must see only what an installed HA sees.
    del sys.path[0]
    without_voice_libraries()
    from homeassistant.__main__ import main

    sys.argv[0] = "hass"
    sys.exit(main())
