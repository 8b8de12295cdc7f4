"""Outbox durability, ordering and the overflow policy."""

from __future__ import annotations

from pathlib import Path

from park_sync.outbox import Outbox, Record


def _t(i: int) -> Record:
    return Record(f"t{i:05d}", "telemetry", f"2025-05-01T00:00:{i % 60:02d}", {"i": i})


def _inc(i: int) -> Record:
    return Record(f"inc{i}", "incident", "2025-05-01T00:00:00", {"id": i, "kind": "fire"})


async def test_durable_across_reopen_and_deleted_only_on_ack(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    await box.open()
    assert await box.put([_t(1), _t(2), _t(3)]) == 3
    assert await box.put([_t(2)]) == 0  # same id: same fact, not stored twice
    await box.close()
    box = Outbox(tmp_path / "o.sqlite3")
    await box.open()
    try:
        assert box.pending == 3
        batch = await box.peek(10, 1 << 20)
        assert [r.id for r in batch] == ["t00001", "t00002", "t00003"]
        assert box.pending == 3  # peeking takes nothing away
        assert await box.ack(["t00001", "nonexistent"]) == 1
        assert await box.ids() == ["t00002", "t00003"]
    finally:
        await box.close()


async def test_incidents_go_first_and_batches_respect_byte_limit(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    await box.open()
    try:
        await box.put([_t(i) for i in range(10)])
        await box.put([_inc(1)])
        batch = await box.peek(100, 1 << 20)
        assert batch[0].id == "inc1"
        small = await box.peek(100, 200)
        assert 1 <= len(small) < 11
        assert sum(len(r.body) + 1 for r in small[:-1]) <= 200
    finally:
        await box.close()


async def test_overflow_thins_telemetry_oldest_first_and_never_drops_incidents(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", max_records=100)
    await box.open()
    try:
        await box.put([_inc(i) for i in range(30)])
        await box.put([_t(i) for i in range(120)])
        counts = await box.counts()
        assert counts == {"incident": 30, "telemetry": 70}
        assert box.thinned == 50
        ids = set(await box.ids())
        # Newest telemetry kept; the thinned ones are from the oldest stretch, every other one.
        assert {f"t{i:05d}" for i in range(100, 120)} <= ids
        assert "t00001" not in ids
        assert "t00000" in ids
        # Flood with incidents: telemetry goes entirely, incidents are all kept even over capacity.
        await box.put([_inc(i) for i in range(30, 150)])
        counts = await box.counts()
        assert counts == {"incident": 150}
        assert box.thinned == 120
    finally:
        await box.close()
    reopened = Outbox(tmp_path / "o.sqlite3", max_records=100)
    await reopened.open()
    assert reopened.thinned == 120  # the counter survives restarts
    await reopened.close()
