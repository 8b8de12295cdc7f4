"""Run Home Assistant (``python -m homeassistant`` arguments) with a CPU-time profiler switched by signals.

SIGUSR1 starts cProfile timed by ``time.thread_time`` (CPU seconds, so a thread waiting on a socket or
preempted by the simulator costs nothing), SIGUSR2 stops it and dumps the stats to the file named by the
``SMART_PARK_PROFILE_OUT`` environment variable. ``benchmarks/hass_cpu.py --profile`` brackets its measured
window with them. cProfile's own overhead inflates Python-heavy calls: read the shares, not the seconds.
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys
import time
from types import FrameType

_profiler: cProfile.Profile | None = None


def _start(_signum: int, _frame: FrameType | None) -> None:
    global _profiler  # noqa: PLW0603 - one profiler per process, driven by signals
    _profiler = cProfile.Profile(time.thread_time)
    _profiler.enable()


def _stop(_signum: int, _frame: FrameType | None) -> None:
    if _profiler is not None:
        _profiler.disable()
        _profiler.dump_stats(os.environ["SMART_PARK_PROFILE_OUT"])


def main() -> int:
    """Install the signal handlers, then run Home Assistant's own entry point."""
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
    from homeassistant.__main__ import main as ha_main

    return ha_main()


if __name__ == "__main__":
    sys.exit(main())
