"""Event-loop time an audit entry costs the park, with a full log: serialising on the loop vs a snapshot.

Every audit entry saves the log on the next loop turn. Before, HA's Store built the JSON of the whole log on
the event loop; now the log hands it a snapshot (a list of the entries' stored forms, made once) and the Store
serialises it in a worker thread. This times, on one thread and in one run, what each way keeps the event
loop busy per save, for logs of growing size up to the default cap (10,000 entries): the old way (every
entry's ``as_dict()`` plus HA's ``prepare_save_json``) as the baseline, the new way's snapshot as a ratio of
it. The worker thread's own serialisation is printed too (it still costs CPU, off the loop).

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

from custom_components.smart_park.audit import AuditEntry, Category, Source  # noqa: E402


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
    print("entries  old loop ms/save  new loop ms/save  new/old  (worker thread ms/save, new)")
    for size in (int(part) for part in args.sizes.split(",")):
        log = entries(size)
        dicts = deque(entry.as_dict() for entry in log)

        def old(log: deque[AuditEntry] = log, size: int = size) -> object:
            data = {"seq": size, "pruned": 0, "entries": [entry.as_dict() for entry in log]}
            return json_helper.prepare_save_json({"version": 1, "key": "audit", "data": data})

        def new_loop(dicts: deque[dict[str, object]] = dicts, size: int = size) -> object:
            return {"seq": size, "pruned": 0, "entries": list(dicts)}

        def new_worker(dicts: deque[dict[str, object]] = dicts, size: int = size) -> object:
            data = {"seq": size, "pruned": 0, "entries": list(dicts)}
            return json_helper.prepare_save_json({"version": 1, "key": "audit", "data": data})

        old_ms = median_ms(old, args.repeat)
        new_ms = median_ms(new_loop, args.repeat)
        worker_ms = median_ms(new_worker, args.repeat)
        print(f"{size:7d}  {old_ms:16.2f}  {new_ms:16.3f}  {new_ms / old_ms:7.4f}  ({worker_ms:.2f})")


if __name__ == "__main__":
    main()
