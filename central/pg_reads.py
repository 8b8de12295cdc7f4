"""The reads of the PostgreSQL store (storage_pg.PgStorage): the API's and the district view's, with the
same signatures and answers as storage.Storage's, plus ``devices`` and raw ``fetch`` for district queries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, LiteralString

import psycopg

_RECORD_KEYS = ("id", "park_id", "kind", "ts", "data", "batch_id")


class PgReads:
    _conn: psycopg.AsyncConnection[tuple[Any, ...]] | None
    _lock: asyncio.Lock

    # --- reads ----------------------------------------------------------------------------------------------
    async def fetch(self, query: LiteralString, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read-only SQL (psycopg placeholders ``%s``) for district queries; one statement, no commit."""
        if self._conn is None:
            raise RuntimeError("storage is not open")
        async with self._lock:
            cur = await self._conn.execute(query, params)
            return await cur.fetchall()

    async def gbt26875_rows(
        self, device: str | None = None, type_flag: int | None = None, limit: int = 100_000, after: int = 0
    ) -> list[dict[str, Any]]:
        where, params = ["seq > %s"], [after]
        if device:
            where.append("device = %s")
            params.append(device.upper())  # type: ignore[arg-type]
        if type_flag is not None:
            where.append("type = %s")
            params.append(type_flag)
        rows = await self.fetch(
            "SELECT seq, device, serial, type, record, received_at FROM gbt26875 WHERE "
            + " AND ".join(where)
            + " ORDER BY seq LIMIT %s",
            [*params, limit],
        )
        return [
            {"seq": q, "device": d, "serial": s, "type": t, "record": json.loads(r), "received_at": at}
            for q, d, s, t, r, at in rows
        ]

    async def record_ids(self) -> list[str]:
        return [r[0] for r in await self.fetch("SELECT id FROM records")]

    async def records(
        self, kind: str | None = None, limit: int = 100_000, park_id: str | None = None
    ) -> list[dict[str, Any]]:
        where, params = [], []
        if kind:
            where.append("kind = %s")
            params.append(kind)
        if park_id:
            where.append("park_id = %s")
            params.append(park_id)
        rows = await self.fetch(
            "SELECT id, park_id, kind, ts_text, data, batch_id FROM records"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY received_at, id LIMIT %s",
            [*params, limit],
        )
        return [dict(zip(_RECORD_KEYS, r, strict=True)) for r in rows]

    async def devices(self, park_id: str | None = None) -> list[dict[str, Any]]:
        """Devices announced (v1/gateway/connect) or seen in telemetry; times are unix seconds."""
        rows = await self.fetch(
            "SELECT device, park_id, type, connected_at, last_seen_at FROM devices"
            + (" WHERE park_id = %s" if park_id else "")
            + " ORDER BY device",
            [park_id] if park_id else [],
        )
        keys = ("device", "park_id", "type", "connected_at", "last_seen_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # --- district view (central/district*.py): the same signatures and answers as storage.Storage's
    async def park_ids(self) -> list[str]:
        """Every park that delivered a batch over HTTP or announced itself over MQTT, sorted."""
        rows = await self.fetch(
            "SELECT park_id FROM batches UNION SELECT park_id FROM devices ORDER BY park_id"
        )
        return [r[0] for r in rows]

    async def latest_records(
        self, kind: str, key: str | None = "id", order: str | None = "updated_at"
    ) -> list[dict[str, Any]]:
        """The newest record of each (park_id, data[key]) of one kind (key None: of each park), newest by
        data[order] (None: by ts), then ts, then arrival. Same dicts as :meth:`records`."""
        part = "park_id" + (", data->>%s" if key else "")
        rank = ("data->>%s DESC NULLS LAST, " if order else "") + "ts DESC, received_at DESC, id DESC"
        params = [*([key] if key else []), *([order] if order else []), kind]
        rows = await self.fetch(
            "SELECT id, park_id, kind, ts_text, data, batch_id FROM (SELECT *, ROW_NUMBER() OVER"
            " (PARTITION BY " + part + " ORDER BY " + rank + ") AS n FROM records WHERE kind = %s) s"
            " WHERE n = 1 ORDER BY park_id, id",
            params,
        )
        return [dict(zip(_RECORD_KEYS, r, strict=True)) for r in rows]

    async def counter_readings(self, device_class: str, since: str) -> list[dict[str, Any]]:
        """Readings of the cumulative counters (telemetry with state_class total_increasing) of one device
        class with ts >= ``since`` (ISO, UTC): park_id, entity_id, ts, state, unit, by park, entity and ts."""
        rows = await self.fetch(
            "SELECT park_id, data->>'entity_id' AS e, ts_text, data->'state',"
            " data->'attributes'->>'unit_of_measurement'"
            " FROM records WHERE kind = 'telemetry' AND ts >= %s::timestamptz"
            " AND data->'attributes'->>'device_class' = %s"
            " AND data->'attributes'->>'state_class' = 'total_increasing' ORDER BY park_id, e, ts",
            [since, device_class],
        )
        keys = ("park_id", "entity_id", "ts", "state", "unit")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    async def hj212_rows(self, cn: str | None = None) -> list[dict[str, Any]]:
        rows = await self.fetch(
            "SELECT mn, cn, data_time, qn, st, cp FROM hj212"
            + (" WHERE cn = %s" if cn else "")
            + " ORDER BY data_time",
            [cn] if cn else [],
        )
        return [dict(zip(("mn", "cn", "data_time", "qn", "st", "cp"), r, strict=True)) for r in rows]

    async def summary(self) -> dict[str, Any]:
        counters: dict[str, int] = dict(
            await self.fetch("SELECT name, SUM(value)::bigint FROM counters GROUP BY name")
        )
        by_kind = dict(await self.fetch("SELECT kind, COUNT(*) FROM records GROUP BY kind"))
        last = (await self.fetch("SELECT MAX(received_at) FROM records"))[0][0]

        def prefixed(prefix: str) -> dict[str, int]:
            return {k[len(prefix) :]: v for k, v in counters.items() if k.startswith(prefix)}

        return {
            "records": {"total": sum(by_kind.values()), "by_kind": by_kind, "last_received_at": last},
            "batches": counters.get("batches", 0),
            "batches_replayed": counters.get("batches_replayed", 0),
            "duplicates_received": counters.get("duplicates_received", 0),
            "rejected": prefixed("rejected_"),
            "mqtt": {"messages": counters.get("mqtt_messages", 0), "rejected": prefixed("mqtt_rejected_")},
            "hj212": {
                "packets": counters.get("hj212_packets", 0),
                "duplicates": counters.get("hj212_duplicates", 0),
                "by_cn": dict(await self.fetch("SELECT cn, COUNT(*) FROM hj212 GROUP BY cn")),
                "rejected": prefixed("hj212_rejected_"),
            },
            "gbt26875": {
                "records": counters.get("gbt26875_records", 0),
                "duplicates": counters.get("gbt26875_duplicates", 0),
                "heartbeats": counters.get("gbt26875_heartbeats", 0),
                "by_type": {
                    str(k): v
                    for k, v in await self.fetch("SELECT type, COUNT(*) FROM gbt26875 GROUP BY type")
                },
                "by_device": dict(await self.fetch("SELECT device, COUNT(*) FROM gbt26875 GROUP BY device")),
                "rejected": prefixed("gbt26875_rejected_"),
            },
        }
