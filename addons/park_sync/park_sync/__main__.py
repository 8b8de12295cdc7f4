"""``python -m park_sync``: run the sync service.

In the add-on container the Supervisor provides /data/options.json and SUPERVISOR_TOKEN (HA at
http://supervisor/core). Elsewhere pass ``--options`` and ``--ha-url``, with the long-lived token in HA_TOKEN.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from dataclasses import replace

from .app import ParkSync
from .config import OptionsError, load_options
from .outbox import Outbox
from .schema import SchemaTooNew

_LOGGER = logging.getLogger("park_sync")


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m park_sync", description=__doc__)
    p.add_argument("--options", default="/data/options.json", help="options file (JSON, or YAML outside HA)")
    p.add_argument("--ha-url", default=os.environ.get("HA_URL"), help="default: Supervisor proxy or HA_URL")
    p.add_argument("--outbox", help="override outbox_path")
    p.add_argument("--status-host", default="0.0.0.0")
    p.add_argument("--status-port", type=int, help="override status_port (0 = any free port)")
    p.add_argument(
        "--requeue-dead-letters",
        nargs="*",
        metavar="ID",
        help="move dead letters (all, or these ids) back to the outbox and exit; for a stopped service "
        "(a running one: POST /dead-letters/requeue on the status port)",
    )
    return p.parse_args(argv)


async def _requeue(path: str, ids: list[str]) -> int:
    box = Outbox(path)
    await box.open()
    try:
        return await box.requeue_dead(ids or None)
    finally:
        await box.close()


async def _run(app: ParkSync) -> int:
    """Run until SIGINT/SIGTERM (exit 0) or until a supervised task dies (exit 1, so the Supervisor restarts
    the add-on; the outbox keeps every record taken so far)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    # One machine-readable line for tests and the demo (the port may have been 0).
    print(json.dumps({"status_port": app.status_server.port, "pending": app.outbox.pending}), flush=True)
    stopped, died = asyncio.ensure_future(stop.wait()), asyncio.ensure_future(app.dead.wait())
    try:
        await asyncio.wait([stopped, died], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        died.cancel()
        await app.stop()
    return 1 if app.dead.is_set() else 0


def main(argv: list[str] | None = None) -> int:
    ns = _args(argv)
    try:
        options = load_options(ns.options)
    except OptionsError as err:
        print(f"park_sync: invalid options: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"park_sync: cannot read options file {ns.options}: {err.strerror}", file=sys.stderr)
        return 2
    if ns.outbox:
        options = replace(options, outbox_path=ns.outbox)
    if ns.requeue_dead_letters is not None:
        try:
            n = asyncio.run(_requeue(options.outbox_path, ns.requeue_dead_letters))
        except SchemaTooNew as err:
            print(f"park_sync: {err}", file=sys.stderr)
            return 2
        print(json.dumps({"requeued": n}), flush=True)
        return 0
    if ns.status_port is not None:
        options = replace(options, status_port=ns.status_port)
    logging.basicConfig(
        level=options.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    supervisor_token = os.environ.get("SUPERVISOR_TOKEN")
    if ns.ha_url:
        ha_url, token = ns.ha_url, os.environ.get("HA_TOKEN", "")
    elif supervisor_token:
        ha_url, token = "http://supervisor/core", supervisor_token
    else:
        print(
            "park_sync: no Home Assistant: set --ha-url/HA_URL and HA_TOKEN, or run as an add-on",
            file=sys.stderr,
        )
        return 2
    if not token:
        print("park_sync: HA_TOKEN (long-lived access token) is not set", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(ParkSync(options, ha_url, token, ns.status_host)))
    except SchemaTooNew as err:
        # A downgrade: exit with a reason instead of a traceback; the file is left untouched.
        print(f"park_sync: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
