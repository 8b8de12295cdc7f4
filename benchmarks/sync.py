"""Sync benchmark: outbox enqueue rate, drain rate to the reference central, and the 24-hour backlog drain
time.

Run: ``.venv/bin/python benchmarks/sync.py``. The central runs as a separate process (``python -m central``)
on 127.0.0.1, as it would be a separate machine. Figures are printed with their baseline from the same run;
nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "addons" / "park_sync")]

from custom_components.smart_park.engine.catalogue import PointPlatform, builtin_device_types  # noqa: E402
from park_sync.config import Options, parse_options  # noqa: E402
from park_sync.outbox import Outbox, Record  # noqa: E402
from park_sync.uplink_http import HttpUplink  # noqa: E402
from simulator.reference import reference_profile  # noqa: E402

TOKEN = "bench-token-0123456789"
SECRET = "bench-hmac-secret-0123456789"


def record(i: int) -> Record:
    # Shaped like a real telemetry record from ha_source.state_record.
    return Record(
        f"st-{i:032x}",
        "telemetry",
        "2025-05-01T08:00:00.123456+00:00",
        {
            "entity_id": f"sensor.e{i % 40:03d}_energy_meter_power",
            "state": f"{(i * 7919) % 100000 / 10:.1f}",
            "last_changed": "2025-05-01T08:00:00.123456+00:00",
            "attributes": {
                "unit_of_measurement": "kW",
                "device_class": "power",
                "state_class": "measurement",
                "friendly_name": "恒达机械有限公司 Energy meter Power",
            },
        },
    )


def reference_entities() -> int:
    """Entities of the reference park (40 enterprises): catalogue points that become HA entities."""
    types = builtin_device_types()
    total = 0
    for device in reference_profile(40)["devices"]:
        points = types[device["type"]].points_for(device.get("channels"))
        total += sum(1 for p in points if p.platform != PointPlatform.NONE)
    return total


async def bench_enqueue(tmp: Path, n: int, chunk: int) -> float:
    box = Outbox(tmp / f"enqueue-{chunk}.sqlite3", max_records=10_000_000)
    await box.open()
    records = [record(i) for i in range(n)]
    start = time.perf_counter()
    for i in range(0, n, chunk):
        await box.put(records[i : i + chunk])
    elapsed = time.perf_counter() - start
    await box.close()
    return n / elapsed


async def start_central(tmp: Path) -> tuple[asyncio.subprocess.Process, str]:
    env = {**os.environ, "CENTRAL_TOKEN": TOKEN, "CENTRAL_HMAC_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "central",
        "--port",
        "0",
        "--hj212-port",
        "-1",
        "--gbt26875-port",
        "-1",
        "--db",
        str(tmp / "central.sqlite3"),
        "--log-level",
        "WARNING",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    return proc, str(json.loads(line)["url"])


def options(tmp: Path, url: str, batch: int, name: str) -> Options:
    return parse_options(
        {
            "park_id": "zhifeng",
            "central_url": url,
            "central_token": TOKEN,
            "hmac_secret": SECRET,
            "outbox_path": str(tmp / f"{name}.sqlite3"),
            "batch_max_records": batch,
            "batch_max_bytes": 4 * 1024 * 1024,
            "batch_max_seconds": 0.0,
            "status_port": 0,
            "outbox_max_records": 10_000_000,
        }
    )


async def bench_drain(tmp: Path, url: str, n: int, batch: int) -> float:
    opts = options(tmp, url, batch, f"drain-{batch}")
    box = Outbox(opts.outbox_path, opts.outbox_max_records)
    await box.open()
    offset = batch * 10_000_000  # distinct ids per run so the central does not just dedup
    await box.put([record(offset + i) for i in range(n)])
    async with aiohttp.ClientSession() as session:
        uplink = HttpUplink(opts, box, session)
        start = time.perf_counter()
        task = asyncio.create_task(uplink.run())
        while box.pending:  # noqa: ASYNC110 - polling a counter; the loop cost is part of the measurement
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - start
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await box.close()
    return n / elapsed


async def main(ns: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as d:
        tmp = Path(d)
        print("park_sync benchmark (2-core loopback; central in its own process)")
        single = await bench_enqueue(tmp, ns.single, 1)
        batched = await bench_enqueue(tmp, ns.records, 500)
        print(f"outbox enqueue, 1 record/transaction (baseline):  {single:10.0f} records/s")
        print(
            f"outbox enqueue, 500 records/transaction:          {batched:10.0f} records/s  "
            f"({batched / single:.0f}x baseline)"
        )
        proc, url = await start_central(tmp)
        try:
            one = await bench_drain(tmp, url, ns.single, 1)
            drained = await bench_drain(tmp, url, ns.records, 500)
        finally:
            proc.terminate()
            await proc.wait()
        print(f"drain to central, 1 record/request (baseline):    {one:10.0f} records/s")
        print(
            f"drain to central, 500 records/batch (gzip+HMAC):  {drained:10.0f} records/s  "
            f"({drained / one:.0f}x baseline)"
        )
        entities = reference_entities()
        backlog = entities * 86400 // ns.change_interval
        print(
            f"reference park (40 enterprises): {entities} entities; 24 h at one change per entity every "
            f"{ns.change_interval} s = {backlog} records"
        )
        print(f"  drain time of that backlog at the batched rate:      {backlog / drained:8.1f} s")
        print(f"  drain time at one record per request (baseline):     {backlog / one:8.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=50_000, help="records for the batched runs")
    parser.add_argument("--single", type=int, default=500, help="records for the one-at-a-time baselines")
    parser.add_argument(
        "--change-interval", type=int, default=60, help="seconds between state changes per entity"
    )
    asyncio.run(main(parser.parse_args()))
