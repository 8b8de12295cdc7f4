"""``python -m central``: run the reference central platform.

Secrets come from the environment (CENTRAL_TOKEN, CENTRAL_HMAC_SECRET) so they do not show in the process
list. On start it prints one JSON line with the bound ports, which the demo and tests read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys

from .ingest import IngestSettings
from .server import Central


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m central", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8300, help="ingest API port (0 = any free port)")
    p.add_argument("--hj212-port", type=int, default=8212, help="HJ 212 TCP port (-1 = off, 0 = any)")
    p.add_argument(
        "--gbt26875-port", type=int, default=8875, help="GB/T 26875.3 TCP port (-1 = off, 0 = any)"
    )
    p.add_argument(
        "--gbt26875-address",
        type=lambda v: int(v, 0),
        default=0x15B38,
        help="this centre's GB/T 26875.3 address (decimal or 0x hex)",
    )
    p.add_argument(
        "--gbt26875-confirm-delay",
        type=float,
        default=0.0,
        help="test knob: delay each GB/T 26875.3 confirm (s)",
    )
    p.add_argument("--db", default="central.sqlite3")
    p.add_argument(
        "--pg",
        metavar="DSN",
        help="store in PostgreSQL (libpq DSN or URL; as the MQTT consumers) instead of the SQLite --db",
    )
    p.add_argument("--max-skew", type=float, default=300.0, help="accepted clock difference, seconds")
    p.add_argument(
        "--ack-delay", type=float, default=0.0, help="test knob: delay each ack by this many seconds"
    )
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument(
        "--hj212-station",
        action="append",
        default=[],
        metavar="MN=PW",
        help="accepted HJ 212 station and password (repeatable; none = accept all)",
    )
    p.add_argument(
        "--hj212-idle-timeout",
        type=float,
        default=900.0,
        help="close an HJ 212 connection silent this long (s)",
    )
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


async def _run(ns: argparse.Namespace) -> None:
    token = os.environ.get("CENTRAL_TOKEN")
    secret = os.environ.get("CENTRAL_HMAC_SECRET")
    if not token or not secret:
        raise SystemExit("CENTRAL_TOKEN and CENTRAL_HMAC_SECRET must be set in the environment")
    ctx = None
    if ns.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(ns.tls_cert, ns.tls_key)
    stations = {}
    for item in ns.hj212_station:
        mn, sep, pw = item.partition("=")
        if not sep or not mn or len(pw) != 6:
            raise SystemExit(f"--hj212-station: expected MN=PW with a 6-character PW, got {item!r}")
        stations[mn] = pw
    central = Central(
        ns.db,
        IngestSettings(token, secret, ns.max_skew, ns.ack_delay),
        hj212_passwords=stations,
        ssl_context=ctx,
        hj212_idle_timeout=ns.hj212_idle_timeout,
        gbt26875_address=ns.gbt26875_address,
        pg_dsn=ns.pg,
    )
    central.gbt26875.confirm_delay = ns.gbt26875_confirm_delay
    await central.start(
        ns.host,
        ns.port,
        None if ns.hj212_port < 0 else ns.hj212_port,
        None if ns.gbt26875_port < 0 else ns.gbt26875_port,
    )
    ports = {"http_port": central.http_port, "hj212_port": central.hj212_port}
    print(json.dumps({**ports, "gbt26875_port": central.gbt26875_port, "url": central.url}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await central.stop()


def main(argv: list[str] | None = None) -> None:
    ns = _args(argv)
    logging.basicConfig(
        level=ns.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    asyncio.run(_run(ns))


if __name__ == "__main__":
    main()
