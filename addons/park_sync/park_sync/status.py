"""Small JSON status endpoint (GET /status) so HA, the Supervisor watchdog and people see the link state, and
POST /dead-letters/requeue to send records the central refused once more (after the central was fixed)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

StatusFn = Callable[[], dict[str, Any]]
RequeueFn = Callable[[list[str] | None], Awaitable[int]]
_KEY: web.AppKey[StatusFn] = web.AppKey("status_fn")
_REQUEUE_KEY: web.AppKey[RequeueFn] = web.AppKey("requeue_fn")


async def _status(request: web.Request) -> web.Response:
    doc = request.app[_KEY]()
    # 503 while the central link is down so simple monitors (and curl -f) notice without parsing JSON.
    code = 503 if doc.get("central", {}).get("state") == "down" else 200
    if doc.get("tasks", {}).get("failed"):
        code = 500  # a dead uplink task: the process is about to exit non-zero
    return web.json_response(doc, status=code)


async def _requeue(request: web.Request) -> web.Response:
    """Body optional: ``{"ids": [...]}`` re-queues those, no body (or no ids) re-queues every dead letter."""
    ids: list[str] | None = None
    raw = await request.read()
    if raw.strip():
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return web.json_response({"error": "body must be JSON", "field": "body"}, status=400)
        got = doc.get("ids") if isinstance(doc, dict) else None
        if got is not None and (not isinstance(got, list) or not all(isinstance(i, str) for i in got)):
            return web.json_response({"error": "must be a list of record ids", "field": "ids"}, status=400)
        ids = got
    return web.json_response({"requeued": await request.app[_REQUEUE_KEY](ids)})


class StatusServer:
    def __init__(self, status: StatusFn, requeue: RequeueFn | None = None) -> None:
        self._status = status
        self._requeue = requeue
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        app = web.Application()
        app[_KEY] = self._status
        app.router.add_get("/status", _status)
        app.router.add_get("/", _status)
        if self._requeue is not None:
            app[_REQUEUE_KEY] = self._requeue
            app.router.add_post("/dead-letters/requeue", _requeue)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        # The one site's bound address, (host, port[, ...]): the real port when 0 asked for any free one.
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
