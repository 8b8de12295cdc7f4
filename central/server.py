"""The central as one object: storage + ingest HTTP API + HJ 212 and GB/T 26875.3 TCP servers, startable
in-process or from the CLI.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from aiohttp import web

from . import district_api
from .gbt26875_server import CENTRE_ADDRESS, GBT26875Server, add_routes
from .hj212_server import HJ212Server
from .ingest import GBT26875_SUMMARY_KEY, HJ212_SUMMARY_KEY, IngestSettings, make_app
from .storage import Storage
from .store import CentralStore


def _pg_storage(dsn: str) -> CentralStore:
    from .storage_pg import PgStorage  # psycopg only when asked for

    return PgStorage(dsn)


class Central:
    def __init__(
        self,
        db_path: str | Path,
        settings: IngestSettings,
        *,
        hj212_passwords: dict[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        hj212_idle_timeout: float = 900.0,
        gbt26875_address: int = CENTRE_ADDRESS,
        pg_dsn: str | None = None,
    ) -> None:
        # PostgreSQL (the scale-out store the MQTT consumers share) when a DSN is given, else SQLite.
        self.storage: CentralStore = Storage(db_path) if pg_dsn is None else _pg_storage(pg_dsn)
        self.settings = settings
        self.hj212 = HJ212Server(self.storage, hj212_passwords, idle_timeout=hj212_idle_timeout)
        self.gbt26875 = GBT26875Server(self.storage, gbt26875_address)
        self._ssl = ssl_context
        self._runner: web.AppRunner | None = None
        self.http_port = 0
        self.hj212_port = 0
        self.gbt26875_port = 0

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://127.0.0.1:{self.http_port}"

    async def start(
        self,
        host: str = "127.0.0.1",
        http_port: int = 0,
        hj212_port: int | None = 0,
        gbt26875_port: int | None = 0,
    ) -> None:
        await self.storage.open()
        app = make_app(self.storage, self.settings)
        app[HJ212_SUMMARY_KEY] = self.hj212.summary
        app[GBT26875_SUMMARY_KEY] = self.gbt26875.summary
        add_routes(app, self.gbt26875, self.settings.token)
        district_api.add_routes(app)
        # The signature covers the body as sent (gzip), so aiohttp must hand it over undecompressed.
        self._runner = web.AppRunner(app, access_log=None, auto_decompress=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, http_port, ssl_context=self._ssl).start()
        # The one site's bound address, (host, port[, ...]): the real port when 0 asked for any free one.
        self.http_port = int(self._runner.addresses[0][1])
        if hj212_port is not None:
            self.hj212_port = await self.hj212.start(host, hj212_port)
        if gbt26875_port is not None:
            self.gbt26875_port = await self.gbt26875.start(host, gbt26875_port)

    async def stop(self) -> None:
        await self.hj212.stop()
        await self.gbt26875.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.storage.close()
