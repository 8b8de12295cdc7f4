"""Small JSON status endpoint (GET /status) so HA, the Supervisor watchdog and people see the link state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

StatusFn = Callable[[], dict[str, Any]]
_KEY: web.AppKey[StatusFn] = web.AppKey("status_fn")


async def _status(request: web.Request) -> web.Response:
    doc = request.app[_KEY]()
    # 503 while the central link is down so simple monitors (and curl -f) notice without parsing JSON.
    code = 503 if doc.get("central", {}).get("state") == "down" else 200
    return web.json_response(doc, status=code)


class StatusServer:
    def __init__(self, status: StatusFn) -> None:
        self._status = status
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        app = web.Application()
        app[_KEY] = self._status
        app.router.add_get("/status", _status)
        app.router.add_get("/", _status)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
