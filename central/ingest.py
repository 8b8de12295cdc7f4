"""The ingest API (docs/central-api.openapi.yaml): bearer token, HMAC-SHA256 over timestamp and body, dedup by
id.

Signature: ``X-Park-Signature: v1=<hex HMAC-SHA256(secret, "<X-Park-Timestamp>." + body as sent)>``. It covers
the body exactly as transmitted (gzip-compressed when Content-Encoding is gzip), so it is checked before
decompression.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
import zlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .jsonshape import MAX_DEPTH, has_nul
from .jsonshape import depth as _depth
from .store import CentralStore

_LOGGER = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
KINDS = frozenset({"telemetry", "incident", "audit", "enterprise", "figure", "health"})
MAX_BODY = 8 * 1024 * 1024
MAX_RECORDS = 10_000
# fullmatch, never match + "$": "$" also matches before a trailing newline, which let "r1\n" through.
_ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,200}")
# ASCII digits only: int() also takes full-width and Arabic-Indic digits, which then failed the ASCII signing.
_TS_RE = re.compile(r"[0-9]{1,12}")
LIMIT_MAX = 10_000
STORAGE_KEY: web.AppKey[CentralStore] = web.AppKey("storage")
SETTINGS_KEY: web.AppKey[IngestSettings] = web.AppKey("settings")


@dataclass(slots=True)
class IngestSettings:
    token: str
    hmac_secret: str
    max_skew: float = 300.0
    # Test/demo knob: wait after the commit before answering, to simulate an ack lost in transit.
    ack_delay: float = 0.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature the client sends; shared by the contract, not by code, with park_sync."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def _error(status: int, field: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, "field": field, **extra}, status=status)


class BodyError(ValueError):
    """Bad request body. ``rejected`` lists the bad records when the envelope itself is fine, so the client
    can set exactly those aside and send the rest again (one refused record must not block an outbox)."""

    def __init__(self, field: str, message: str, rejected: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.rejected = rejected or []


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


def _record_problem(i: int, rec: Any) -> tuple[str, str] | None:
    """(field, message) of the first problem of one record; messages never echo values (personal data)."""
    if not isinstance(rec, dict):
        return f"records[{i}]", "must be an object"
    if not _valid_id(rec.get("id")):
        return f"records[{i}].id", "required string of [A-Za-z0-9._:-], 1-200 chars"
    if rec.get("kind") not in KINDS:
        return f"records[{i}].kind", f"must be one of {sorted(KINDS)}"
    if not isinstance(rec.get("ts"), str) or not rec["ts"]:
        return f"records[{i}].ts", "required ISO 8601 timestamp string"
    if not isinstance(rec.get("data"), dict):
        return f"records[{i}].data", "required object"
    if _depth(rec["data"]) > MAX_DEPTH:
        return f"records[{i}].data", f"nested deeper than {MAX_DEPTH} levels"
    # Refused by name on every store, not a 500 from PostgreSQL that the park would retry forever.
    if "\x00" in rec["ts"] or has_nul(rec["data"]):
        return f"records[{i}].data", "contains the character U+0000, which the central cannot store"
    return None


def validate_batch(doc: Any) -> tuple[str, str, list[dict[str, Any]]]:
    """Check the whole batch before storing anything; the error names the first bad field and, for bad
    records, every bad record (index, id when it is a valid id, field, message)."""
    if not isinstance(doc, dict):
        raise BodyError("$", "body must be a JSON object")
    park_id, batch_id, records = doc.get("park_id"), doc.get("batch_id"), doc.get("records")
    if not _valid_id(park_id):
        raise BodyError("park_id", "required string of [A-Za-z0-9._:-], 1-200 chars")
    if not _valid_id(batch_id):
        raise BodyError("batch_id", "required string of [A-Za-z0-9._:-], 1-200 chars")
    if not isinstance(records, list) or not records:
        raise BodyError("records", "required non-empty array")
    if len(records) > MAX_RECORDS:
        raise BodyError("records", f"at most {MAX_RECORDS} records per batch")
    rejected: list[dict[str, Any]] = []
    for i, rec in enumerate(records):
        problem = _record_problem(i, rec)
        if problem is not None:
            rid = rec.get("id") if isinstance(rec, dict) and _valid_id(rec.get("id")) else None
            rejected.append({"index": i, "id": rid, "field": problem[0], "error": problem[1]})
    if rejected:
        first = rejected[0]
        raise BodyError(first["field"], f"{len(rejected)} bad record(s); first: {first['error']}", rejected)
    return str(park_id), str(batch_id), records


def _header(request: web.Request, name: str) -> bytes:
    # aiohttp decodes headers as UTF-8 with surrogateescape; plain .encode() raised on non-ASCII bytes (500).
    return request.headers.get(name, "").encode("utf-8", "surrogateescape")


def _bearer_ok(request: web.Request, token: str) -> bool:
    return hmac.compare_digest(_header(request, "Authorization"), f"Bearer {token}".encode())


async def ingest(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS_KEY]
    storage = request.app[STORAGE_KEY]
    if not _bearer_ok(request, settings.token):
        await storage.bump("rejected_token")
        _LOGGER.warning("Ingest rejected: bad bearer token from %s", request.remote)
        return _error(401, "Authorization", "missing or wrong bearer token")
    ts_header = request.headers.get("X-Park-Timestamp", "")
    if _TS_RE.fullmatch(ts_header) is None:
        # Bounded length too: a 400-digit number overflowed the float comparison below (500).
        await storage.bump("rejected_timestamp")
        return _error(401, "X-Park-Timestamp", "required integer unix time in seconds (ASCII digits)")
    ts = int(ts_header)
    if abs(time.time() - ts) > settings.max_skew:
        # Replay protection: a captured request stops working after max_skew seconds.
        await storage.bump("rejected_timestamp")
        _LOGGER.warning("Ingest rejected: timestamp %s outside ±%ss", ts, settings.max_skew)
        return _error(401, "X-Park-Timestamp", f"timestamp outside ±{settings.max_skew:.0f}s of server time")
    if request.content_length is not None and request.content_length > MAX_BODY:
        await storage.bump("rejected_body")
        return _error(413, "body", f"larger than {MAX_BODY} bytes")
    body = await request.read()
    expected = sign(settings.hmac_secret, ts_header, body)
    if not hmac.compare_digest(_header(request, "X-Park-Signature"), expected.encode()):
        await storage.bump("rejected_signature")
        _LOGGER.warning("Ingest rejected: bad HMAC signature from %s", request.remote)
        return _error(401, "X-Park-Signature", "HMAC-SHA256 signature does not match timestamp and body")
    try:
        park_id, batch_id, records = _read_batch(request, body)
    except BodyError as err:
        await storage.bump("rejected_body")
        _LOGGER.warning("Ingest rejected: %s: %s", err.field, err)
        if err.rejected:
            return _error(400, err.field, str(err), rejected=err.rejected)
        return _error(400, err.field, str(err))
    response = await storage.store_batch(park_id, batch_id, records)
    if settings.ack_delay:
        await asyncio.sleep(settings.ack_delay)
    return web.json_response(response)


def _read_batch(request: web.Request, body: bytes) -> tuple[str, str, list[dict[str, Any]]]:
    """The batch of an authenticated body: decoded, parsed and validated; BodyError names what is wrong."""
    encoding = request.headers.get("Content-Encoding", "identity").lower()
    if encoding == "gzip":
        raw = _gunzip_limited(body)
    elif encoding == "identity":
        raw = body
    else:
        raise BodyError("Content-Encoding", "must be gzip or identity")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BodyError("body", f"not valid JSON: {err}") from None
    except RecursionError:
        raise BodyError("body", f"JSON nested deeper than {MAX_DEPTH} levels") from None
    park_id, batch_id, records = validate_batch(doc)
    key = request.headers.get("Idempotency-Key")
    if key is not None and key != batch_id:
        raise BodyError("Idempotency-Key", "must equal batch_id")
    return park_id, batch_id, records


def _gunzip_limited(body: bytes) -> bytes:
    # Bounded decompression: a small gzip bomb must not exhaust memory.
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, MAX_BODY * 4)
    except zlib.error as err:
        raise BodyError("body", f"not valid gzip: {err}") from None
    if d.unconsumed_tail:
        raise BodyError("body", f"decompressed body larger than {MAX_BODY * 4} bytes")
    # zlib returns what it could of a cut stream; only a complete member (CRC and length checked) counts.
    if not d.eof:
        raise BodyError("body", "gzip stream is truncated (no CRC trailer)")
    if d.unused_data:
        raise BodyError("body", "data after the end of the gzip stream")
    return out


async def summary(request: web.Request) -> web.Response:
    doc = await request.app[STORAGE_KEY].summary()
    hj = request.app.get(HJ212_SUMMARY_KEY)
    if hj is not None:
        doc["hj212"]["stations"] = hj()
    gb = request.app.get(GBT26875_SUMMARY_KEY)
    if gb is not None:
        doc["gbt26875"]["devices"] = gb()
    return web.json_response(doc)


async def list_records(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS_KEY]
    if not _bearer_ok(request, settings.token):
        return _error(401, "Authorization", "missing or wrong bearer token")
    unknown = sorted(set(request.query) - {"kind", "limit"})
    if unknown:
        return _error(400, unknown[0][:64], "unknown query parameter")
    raw_limit = request.query.get("limit", "100")
    # SQLite takes LIMIT -1 as "no limit": only 1..LIMIT_MAX in ASCII digits is accepted.
    if not re.fullmatch(r"[0-9]{1,6}", raw_limit) or not 1 <= int(raw_limit) <= LIMIT_MAX:
        return _error(400, "limit", f"must be an integer 1-{LIMIT_MAX}")
    kind = request.query.get("kind")
    if kind is not None and kind not in KINDS:
        return _error(400, "kind", f"must be one of {sorted(KINDS)}")
    return web.json_response(await request.app[STORAGE_KEY].records(kind, int(raw_limit)))


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


HJ212_SUMMARY_KEY: web.AppKey[Any] = web.AppKey("hj212_summary")
GBT26875_SUMMARY_KEY: web.AppKey[Any] = web.AppKey("gbt26875_summary")


def make_app(storage: CentralStore, settings: IngestSettings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[STORAGE_KEY] = storage
    app[SETTINGS_KEY] = settings
    app.router.add_post(f"{API_PREFIX}/ingest", ingest)
    app.router.add_get(f"{API_PREFIX}/summary", summary)
    app.router.add_get(f"{API_PREFIX}/records", list_records)
    app.router.add_get("/healthz", health)
    return app


__all__ = ["IngestSettings", "make_app", "sign"]
