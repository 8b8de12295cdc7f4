"""`make demo-scale` (``python -m demo --scale``): the demo on the district architecture.

park_sync reports over MQTT (the ThingsBoard gateway API) to Debian's mosquitto; two central MQTT consumers
(``python -m central.mqtt_consumer``, one shared subscription group) write PostgreSQL 15, and the central runs
with ``--pg`` so its HTTP ingest, summary and TCP receivers use the same database. All on loopback, children
of the demo (stopped with it); data under demo/run/.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import psycopg

from tests.sync.pg import PgCluster

HOST = "127.0.0.1"
MQTT_PORT = 1883
PG_PORT = 5433  # beside a system cluster on 5432
CONSUMERS = 2
PARK_TOKEN = "demo-park-access-token"  # the park's MQTT user name (mosquitto here lets anyone in)


class Spawner(Protocol):
    def spawn(
        self, name: str, args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path = ...
    ) -> Any: ...


def ports() -> dict[int, str]:
    return {MQTT_PORT: "MQTT broker (mosquitto)", PG_PORT: "PostgreSQL"}


def dsn() -> str:
    return f"postgresql://postgres@{HOST}:{PG_PORT}/postgres"


def _pg_probe() -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        try:
            conn = await psycopg.AsyncConnection.connect(dsn(), connect_timeout=2)
        except psycopg.OperationalError:
            return False
        await conn.close()
        return True

    return probe


def _mqtt_probe() -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        _, writer = await asyncio.wait_for(asyncio.open_connection(HOST, MQTT_PORT), 5)
        writer.close()
        await writer.wait_closed()
        return True

    return probe


def _mosquitto_config(run: Path) -> Path:
    folder = run / "mosquitto"
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "mosquitto.conf"
    conf.write_text(
        "\n".join(
            [
                f"listener {MQTT_PORT} {HOST}",
                "allow_anonymous true",
                "user root",
                "persistence true",
                f"persistence_location {folder}/",
                "autosave_interval 5",
                # Room for what the consumers' sessions collect while one is away (the default keeps 1000).
                "max_queued_messages 1000000",
                "log_dest stdout",
                "",
            ]
        )
    )
    return conf


async def start_stack(
    demo: Spawner,
    run: Path,
    wait_until: Callable[[str, Callable[[], Awaitable[bool]], Any, float], Awaitable[None]],
) -> str:
    """PostgreSQL, mosquitto and the consumers, each up before the next; returns the DSN for the central."""
    cluster = PgCluster(run / "postgres", port=PG_PORT)
    await asyncio.to_thread(cluster.initdb)
    demo.spawn("postgresql", cluster.server_args(), run / "postgresql.log")
    await wait_until("PostgreSQL", _pg_probe(), demo, 60)
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    demo.spawn("mosquitto", [mosquitto, "-c", str(_mosquitto_config(run))], run / "mosquitto.log")
    await wait_until("MQTT broker", _mqtt_probe(), demo, 30)
    for i in range(1, CONSUMERS + 1):
        args = [
            sys.executable,
            "-m",
            "central.mqtt_consumer",
            "--broker",
            f"{HOST}:{MQTT_PORT}",
            "--pg",
            dsn(),
        ]
        demo.spawn(f"mqtt consumer {i}", [*args, "--index", str(i)], run / f"consumer{i}.log")
    return dsn()


def park_sync_mqtt() -> dict[str, Any]:
    """park_sync's ``mqtt`` options: the MQTT uplink drains the outbox instead of the HTTP one.

    MQTT 5, so a message mosquitto drops for want of subscribers (its consumers resubscribing after a restart)
    is acknowledged as such and sent again (docs/mqtt.md).
    """
    return {"enabled": True, "host": HOST, "port": MQTT_PORT, "token": PARK_TOKEN, "protocol": "5"}


def banner() -> str:
    return f"""  Scale mode       park_sync -> MQTT {HOST}:{MQTT_PORT} -> {CONSUMERS} consumers -> PostgreSQL
                   psql {dsn()} -c 'SELECT kind, COUNT(*) FROM records GROUP BY kind'
                   logs: demo/run/consumer*.log, mosquitto.log, postgresql.log
"""
