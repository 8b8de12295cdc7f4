"""District load: N simulated parks publish the ThingsBoard gateway API through mosquitto to the central's
MQTT consumers, which write PostgreSQL; the same offered load with 1, 2 and 4 consumer processes.

* Parks: each a lightweight MQTT 5 publisher (aiomqtt; all in one process, each its own connection
  ``park-sync-<id>``) sending, once a second, one QoS 1 telemetry message of ``--records`` entity states
  stamped with the publish time (epoch ms). The default rate is the reference park's: reference_profile(200)
  has 2340 entities (catalogue points that become HA entities, counted as benchmarks/sync.py counts them for
  40), and at one change per entity every 60 s (benchmarks/sync.py's --change-interval) that is 2340 / 60 =
  39 records/s per park; 300 parks offer 11 700 records/s.
* Measured over the run's window (after a warm-up): sustained records/s = rows committed in PostgreSQL per
  second; end-to-end latency = the row's ``committed_at`` (clock_timestamp() in the consumer's transaction,
  which commits right after) minus its ts (the publish time), p50/p99; consumer CPU = user+system seconds of
  all consumer processes per second of window (1.0 = one core); PostgreSQL's (postmaster and its backends)
  and mosquitto's the same way. Drain: from the publishers' exit to the last row committed (what was still
  queued). Ratios against the 1-consumer run.
* Everything shares this 2-core machine (publishers, broker, PostgreSQL, consumers): more consumers help only
  while a core is free. Figures, not asserts.

Run: ``.venv/bin/python benchmarks/district_load.py [--parks 300] [--seconds 60] [--consumers 1,2,4]``
(``--quick``: 100 parks, 15 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from benchmarks._hass_runner import process_cpu  # noqa: E402
from tests.sync.brokers import Mosquitto  # noqa: E402
from tests.sync.pg import PgCluster  # noqa: E402

REFERENCE_RECORDS_PER_S = 39  # 2340 entities of reference_profile(200), one change each per 60 s
BROKER_EXTRA = ("max_queued_messages 10000000", "max_inflight_messages 0")
WARMUP_S = 3.0


async def _park(port: int, park: str, records: int, until: float, counts: list[int]) -> None:
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier=f"park-sync-{park}", protocol=aiomqtt.ProtocolVersion.V5
    ) as client:
        await asyncio.sleep(random.random())  # parks are not in step
        seq = 0
        while time.time() < until:
            tick = time.monotonic()
            ts = int(time.time() * 1000)
            doc: dict[str, list[dict[str, object]]] = {}
            for i in range(records):
                device = f"{park}:sensor.e{i % 40:03d}_energy_meter_power"
                values = {"rid": f"{park}-{seq:09d}", "state": (seq * 7919) % 100000 / 10, "unit": "kW"}
                doc.setdefault(device, []).append({"ts": ts, "values": values})
                seq += 1
            await client.publish("v1/gateway/telemetry", json.dumps(doc, separators=(",", ":")), qos=1)
            counts[0] += records
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))


async def _publish(port: int, parks: int, records: int, seconds: float) -> None:
    until, counts = time.time() + seconds, [0]
    await asyncio.gather(*(_park(port, f"park{n:04d}", records, until, counts) for n in range(parks)))
    print(json.dumps({"published": counts[0]}), flush=True)


@dataclass
class Result:
    consumers: int
    offered: float
    published: int
    sustained: float
    p50_ms: float
    p99_ms: float
    consumer_cpu: float
    broker_cpu: float
    pg_cpu: float
    drain_s: float


def _pg_cpu(cluster: PgCluster) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster and its children (the consumers' backends)."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    total = process_cpu(postmaster)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                total += process_cpu(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return total


def _consumer(port: int, dsn: str, index: int) -> subprocess.Popen[bytes]:
    args = ["--broker", f"127.0.0.1:{port}", "--pg", dsn, "--index", str(index), "--log-level", "WARNING"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "central.mqtt_consumer", *args], cwd=ROOT, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    json.loads(proc.stdout.readline())  # ready
    return proc


def _run(pg: PgCluster, tmp: Path, n: int, ns: argparse.Namespace) -> Result:
    dsn = pg.create_db()
    with Mosquitto(tmp / f"broker{n}", extra=BROKER_EXTRA) as broker:
        assert broker.proc is not None
        consumers = [_consumer(broker.port, dsn, i + 1) for i in range(n)]
        pub = subprocess.Popen(
            [
                *(sys.executable, __file__, "--publish", str(broker.port), "--parks", str(ns.parks)),
                *("--records", str(ns.records), "--seconds", str(ns.seconds)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,  # aiomqtt logs closing sockets as 300 clients leave at once
        )
        start = time.time()
        time.sleep(WARMUP_S)
        t0, cpu0 = time.time(), sum(process_cpu(c.pid) for c in consumers)
        b0, pg0 = process_cpu(broker.proc.pid), _pg_cpu(pg)
        time.sleep(max(0.0, start + ns.seconds - time.time()))
        t1, cpu1 = time.time(), sum(process_cpu(c.pid) for c in consumers)
        b1, pg1 = process_cpu(broker.proc.pid), _pg_cpu(pg)
        out, err = pub.communicate()
        if pub.returncode:
            raise RuntimeError(f"publishers failed: {err.decode(errors='replace')[-2000:]}")
        pub_done = time.time()
        published = int(json.loads(out.decode().strip().splitlines()[-1])["published"])
        with psycopg.connect(dsn) as conn:
            while conn.execute("SELECT COUNT(*) FROM records").fetchone() != (published,):
                if time.time() > t1 + 600:
                    break
                time.sleep(0.2)
            drained = time.time()
            row = conn.execute(
                "SELECT COUNT(*) FILTER (WHERE committed_at BETWEEN to_timestamp(%s) AND to_timestamp(%s)),"
                " percentile_cont(ARRAY[0.5, 0.99])"
                " WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM committed_at - ts))"
                " FILTER (WHERE ts BETWEEN to_timestamp(%s) AND to_timestamp(%s)) FROM records",
                (t0, t1, t0, t1),
            ).fetchone()
        for c in consumers:
            c.terminate()
            c.wait(30)
    assert row is not None
    window = t1 - t0
    return Result(
        n,
        ns.parks * ns.records,
        published,
        row[0] / window,
        row[1][0] * 1000,
        row[1][1] * 1000,
        (cpu1 - cpu0) / window,
        (b1 - b0) / window,
        (pg1 - pg0) / window,
        max(0.0, drained - pub_done),
    )


def main(ns: argparse.Namespace) -> None:
    counts = [int(c) for c in ns.consumers.split(",")]
    print(
        f"district load: {ns.parks} parks x {ns.records} records/s = {ns.parks * ns.records} records/s"
        f" offered, {ns.seconds:.0f} s per run (first {WARMUP_S:.0f} s not counted), mosquitto +"
        " PostgreSQL 15 on loopback"
    )
    # Its own temp dir: as root the cluster runs as the postgres user, who must reach its data dir.
    pg_root = Path(tempfile.mkdtemp(prefix="bench-district-pg-"))
    with tempfile.TemporaryDirectory(prefix="bench-district-") as d:
        pg = PgCluster(pg_root).start()
        try:
            results = [_run(pg, Path(d), n, ns) for n in counts]
        finally:
            pg.stop()
            shutil.rmtree(pg_root, ignore_errors=True)
    base = results[0]
    print(f"{'consumers':>9} {'records/s':>10} {'x':>5} {'p50 ms':>8} {'p99 ms':>8} {'cons. CPU':>9} {'x':>5}"
          f" {'PG CPU':>6} {'broker CPU':>10} {'drain s':>7}")  # fmt: skip
    for r in results:
        print(
            f"{r.consumers:>9} {r.sustained:>10.0f} {r.sustained / base.sustained:>5.2f} {r.p50_ms:>8.0f}"
            f" {r.p99_ms:>8.0f} {r.consumer_cpu:>9.2f} {r.consumer_cpu / base.consumer_cpu:>5.2f}"
            f" {r.pg_cpu:>6.2f} {r.broker_cpu:>10.2f} {r.drain_s:>7.1f}"
        )
    print(
        "records/s: committed per second of window; CPU: cores (1.0 = one core busy); x: against 1 consumer"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parks", type=int, default=300)
    parser.add_argument("--records", type=int, default=REFERENCE_RECORDS_PER_S, help="records/s per park")
    parser.add_argument("--seconds", type=float, default=60.0, help="publishing time per run")
    parser.add_argument(
        "--consumers", default="1,2,4", help="consumer process counts, the first is the baseline"
    )
    parser.add_argument("--quick", action="store_true", help="100 parks, 15 s")
    parser.add_argument("--publish", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.parks, args.seconds = 100, 15.0
    if args.publish:
        asyncio.run(_publish(args.publish, args.parks, args.records, args.seconds))
    else:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        main(args)
