"""Event-loop time an audit entry costs the park with a full log: the whole log per entry vs a journal line.

Every audit entry must reach disk at once (a crash loses nothing acted on). HA's Store used to serialise the
whole log for every entry, on the event loop: with the default cap (10,000 entries) tens of milliseconds per
entry, about five per alarm, in the fire-bell linkage's tail. Even in a worker thread that serialisation holds
the GIL. Now an entry is one journal line (its JSON made on the loop, appended in a worker thread), and the
whole log is serialised in a worker thread only every ``SNAPSHOT_EVERY`` entries. This times, on one thread
and in one run, for logs of growing size: the old per-entry cost (every entry's ``as_dict()`` plus HA's
``prepare_save_json``) as the baseline, the journal line's cost as a ratio of it, and the snapshot (in the
worker thread, once per ``SNAPSHOT_EVERY`` entries) spread over those entries.

Run: ``.venv/bin/python benchmarks/audit_save.py [--sizes 1000,10000] [--repeat 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from homeassistant.helpers import json as json_helper  # noqa: E402

from custom_components.smart_park.audit import SNAPSHOT_EVERY, AuditEntry, Category, Source  # noqa: E402


def entries(count: int) -> deque[AuditEntry]:
    """A log like a busy park's: incident, linkage and volunteer steps with a few data fields each."""
    now = datetime.now(UTC)
    return deque(
        AuditEntry(
            id=f"park-a{seq}",
            seq=seq,
            at=now,
            category=Category.INCIDENT if seq % 2 else Category.VOLUNTEER,
            action="open_incident" if seq % 2 else "notification_confirmed",
            source=Source.FIELD if seq % 2 else Source.SYSTEM,
            user_id=None,
            target=f"park-i{seq // 10}",
            context_id=None,
            data={"kind": "fire", "building": "b1", "floor": seq % 12, "origin": "linkage:b1"},
        )
        for seq in range(1, count + 1)
    )


def median_ms(func: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``func`` in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    """Print the loop time per save for each log size, old and new, and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    print("entries  old ms/entry (loop)  journal ms/entry (loop)  journal/old  snapshot ms/entry (worker)")
    for size in (int(part) for part in args.sizes.split(",")):
        log = entries(size)
        dicts = deque(entry.as_dict() for entry in log)

        def old(log: deque[AuditEntry] = log, size: int = size) -> object:
            data = {"seq": size, "pruned": 0, "entries": [entry.as_dict() for entry in log]}
            return json_helper.prepare_save_json({"version": 1, "key": "audit", "data": data})

        def journal_line(log: deque[AuditEntry] = log) -> object:
            return json_helper.json_bytes(log[-1].as_dict()) + b"\n"

        def snapshot(dicts: deque[dict[str, object]] = dicts, size: int = size) -> object:
            data = {"seq": size, "pruned": 0, "entries": list(dicts)}
            return json_helper.prepare_save_json({"version": 1, "key": "audit", "data": data})

        old_ms = median_ms(old, args.repeat)
        line_ms = median_ms(journal_line, args.repeat * 10)
        spread_ms = median_ms(snapshot, args.repeat) / SNAPSHOT_EVERY
        print(f"{size:7d}  {old_ms:18.2f}  {line_ms:22.4f}  {line_ms / old_ms:11.5f}  {spread_ms:26.4f}")


if __name__ == "__main__":
    main()
