"""HTTP uplink: drains the outbox to the central's ingest API in signed, gzip-compressed batches.

A batch goes when it is full (records or bytes) or its oldest record has waited ``batch_max_seconds``. Records
are deleted only for ids the central lists in ``acked``. Failures back off exponentially with jitter; the link
state is logged once per transition and exposed in ``status``.

A 4xx that names bad records (``rejected`` in the body, see docs/central-api.openapi.yaml) sets exactly those
aside as dead letters and the rest go again at once: one refused record must never block the outbox. A 4xx
for the whole batch (token, signature, clock) is retried with backoff and reported as the link's error.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import hmac
import json
import logging
import random
import ssl
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from .config import Options
from .link import LinkState
from .outbox import Outbox, Stored

_LOGGER = logging.getLogger(__name__)
INGEST_PATH = "/api/v1/ingest"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 over ``<timestamp>.<body as sent>`` (see docs/central-api.openapi.yaml)."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def batch_id_for(ids: list[str]) -> str:
    """Idempotency key: the same set of records always forms the same key, across retries and restarts."""
    return "b-" + hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()[:40]


def make_ssl_context(ca_cert: str) -> ssl.SSLContext:
    """Verification is always on; a custom CA (e.g. a district's private CA) is added to the system roots."""
    ctx = ssl.create_default_context()
    if ca_cert:
        ctx.load_verify_locations(cafile=ca_cert)
    return ctx


async def wait_for_batch(outbox: Outbox, flush: asyncio.Event, max_records: int, max_seconds: float) -> None:
    """Return when a batch should go: ``max_records`` pending, a flush asked for, or the oldest pending record
    has waited ``max_seconds`` (shared by the outbox's drains: this uplink and the MQTT one)."""
    while True:
        pending = outbox.pending
        if pending >= max_records or (pending and flush.is_set()):
            return
        flush.clear()
        timeout: float | None = None
        if pending:
            oldest = await outbox.oldest_created()
            if oldest is None:
                continue
            timeout = oldest + max_seconds - time.time()
            if timeout <= 0:
                return
        outbox.changed.clear()
        waiters = [asyncio.ensure_future(outbox.changed.wait()), asyncio.ensure_future(flush.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()


class LinkDown(Exception):
    """The central did not take the batch; ``permanent``: a retry will not fix it (auth, validation)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class RecordsRejected(Exception):
    """The central refused these records by name (id -> reason); the rest of the batch was fine."""

    def __init__(self, reasons: dict[str, str]) -> None:
        super().__init__(f"{len(reasons)} record(s) refused")
        self.reasons = reasons


def rejected_reasons(status: int, doc: Any, batch: list[Stored]) -> dict[str, str]:
    """Map the central's ``rejected`` entries to our record ids, by index (the central saw our order) and,
    failing that, by id. Entries that name nothing of this batch are ignored."""
    if not isinstance(doc, dict) or not isinstance(doc.get("rejected"), list):
        return {}
    ids = {r.id for r in batch}
    out: dict[str, str] = {}
    for entry in doc["rejected"]:
        if not isinstance(entry, dict):
            continue
        index, rid = entry.get("index"), entry.get("id")
        if isinstance(index, int) and 0 <= index < len(batch) and rid in (None, batch[index].id):
            rid = batch[index].id
        if rid in ids:
            out[str(rid)] = f"HTTP {status} {entry.get('field', '?')}: {entry.get('error', '')}"[:300]
    return out


class HttpUplink(LinkState):
    label = "Central link"
    _logger = _LOGGER

    def __init__(
        self,
        options: Options,
        outbox: Outbox,
        session: aiohttp.ClientSession,
        on_acked: Callable[[], None] | None = None,
    ) -> None:
        self._o = options
        self._outbox = outbox
        self._session = session
        # Called after every batch the central acknowledged (the duty-room screen's sync heartbeat).
        self._on_acked = on_acked
        self._ssl: ssl.SSLContext | bool = (
            make_ssl_context(options.ca_cert) if options.central_url.startswith("https") else False
        )
        self._url = options.central_url + INGEST_PATH
        self._flush = asyncio.Event()
        self.state = "unknown"
        self.last_error: str | None = None
        self.down_since: float | None = None
        self.last_success: float | None = None
        self.failures = 0
        self.sent_records = 0
        self.sent_batches = 0
        self.dead_lettered = 0
        self.rejected_batches = 0

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "url": self._o.central_url,
            "last_error": self.last_error,
            "down_since": self.down_since,
            "last_success": self.last_success,
            "consecutive_failures": self.failures,
            "sent_records": self.sent_records,
            "sent_batches": self.sent_batches,
            "rejected_batches": self.rejected_batches,
        }

    def flush(self) -> None:
        """Send what is pending now instead of waiting for the batch timer."""
        self._flush.set()

    async def run(self) -> None:
        while True:
            await self._wait_for_batch()
            batch = await self._outbox.peek(self._o.batch_max_records, self._o.batch_max_bytes)
            if not batch:
                continue
            try:
                acked = await self.send(batch)
            except RecordsRejected as err:
                await self._set_aside(err.reasons)
                continue  # the rest of the batch goes again now, as a new batch
            except LinkDown as err:
                if err.permanent:
                    self.rejected_batches += 1
                self._mark_down(str(err))
                await asyncio.sleep(self._backoff(err.permanent))
                continue
            await self._outbox.ack(acked)
            self._mark_up()
            self.sent_records += len(acked)
            self.sent_batches += 1
            if self._on_acked is not None:
                self._on_acked()

    async def _set_aside(self, reasons: dict[str, str]) -> None:
        moved = await self._outbox.set_aside(reasons)
        if not moved:
            # Nothing matched any more (should not happen): back off rather than resend in a tight loop.
            self._mark_down("central refused records that are no longer in the outbox")
            await asyncio.sleep(self._backoff(True))
            return
        self.dead_lettered += moved
        for rid, reason in reasons.items():
            # Ids and the central's reason only: record bodies may hold personal data.
            _LOGGER.warning("Central refused record %s (%s); set aside as a dead letter", rid, reason)
        _LOGGER.warning(
            "%d record(s) set aside, %d dead letters in total; re-send them with POST /dead-letters/requeue",
            moved,
            self._outbox.dead,
        )

    async def _wait_for_batch(self) -> None:
        await wait_for_batch(self._outbox, self._flush, self._o.batch_max_records, self._o.batch_max_seconds)

    def encode(self, batch: list[Stored]) -> tuple[str, bytes]:
        ids = [r.id for r in batch]
        batch_id = batch_id_for(ids)
        # Records are stored as ready JSON; splice them in rather than re-serialising.
        head = json.dumps(
            {
                "park_id": self._o.park_id,
                "batch_id": batch_id,
                "sent_at": time.time(),
                "outbox": {"pending": self._outbox.pending, "thinned_telemetry": self._outbox.thinned},
            },
            separators=(",", ":"),
        )
        doc = head[:-1] + ',"records":[' + ",".join(r.body for r in batch) + "]}"
        return batch_id, gzip.compress(doc.encode("utf-8"), compresslevel=5)

    async def send(self, batch: list[Stored]) -> list[str]:
        """POST one batch; returns the acknowledged ids or raises LinkDown."""
        batch_id, body = self.encode(batch)
        timestamp = str(int(time.time()))
        headers = {
            "Authorization": f"Bearer {self._o.central_token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Idempotency-Key": batch_id,
            "X-Park-Timestamp": timestamp,
            "X-Park-Signature": sign(self._o.hmac_secret, timestamp, body),
        }
        try:
            async with self._session.post(
                self._url,
                data=body,
                headers=headers,
                ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=self._o.request_timeout_seconds),
            ) as resp:
                if resp.status == 200:
                    doc = await resp.json()
                    sent = {r.id for r in batch}
                    return [i for i in doc.get("acked", []) if i in sent]
                doc = await _error_doc(resp)
                if 400 <= resp.status < 500:
                    reasons = rejected_reasons(resp.status, doc, batch)
                    if not reasons and resp.status == 413 and len(batch) == 1:
                        # One record larger than the central takes: it can never go, and must not block.
                        reasons = {batch[0].id: "HTTP 413 body: record larger than the central accepts"}
                    if reasons:
                        raise RecordsRejected(reasons)
                raise LinkDown(f"HTTP {resp.status} {_detail(doc, resp)}", permanent=400 <= resp.status < 500)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise LinkDown(f"{type(err).__name__}: {err}") from None

    def _backoff(self, permanent: bool) -> float:
        self.failures += 1
        cap = self._o.retry_max_seconds
        if not permanent:
            cap = min(cap, self._o.retry_initial_seconds * 2 ** min(self.failures - 1, 30))
        # Equal jitter: never hammer in lock-step with other parks, never retry instantly.
        return cap / 2 + random.uniform(0, cap / 2)

    @property
    def link_url(self) -> str:
        return self._o.central_url

    def _mark_up(self) -> None:
        super()._mark_up()
        self.failures = 0
        self.last_success = time.time()


async def _error_doc(resp: aiohttp.ClientResponse) -> Any:
    with contextlib.suppress(Exception):
        return await resp.json(content_type=None)
    return None


def _detail(doc: Any, resp: aiohttp.ClientResponse) -> str:
    if isinstance(doc, dict):
        return f"{doc.get('field', '?')}: {doc.get('error', '')}"
    return resp.reason or ""
