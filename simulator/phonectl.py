"""``python -m simulator.phonectl``: see and answer what the demo's fake phones received.

The demo (``make demo``) runs one :class:`~simulator.phone.FakePhone` per volunteer and keeps their state in
``demo/run/phones.json`` (who, webhook id, what each phone received). This tool reads that file and answers
the newest notification as the volunteer would by tapping a button: the same webhook the app calls, so HA
sees the answer in the volunteer's own user context. The file holds no access token (the webhook needs none).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp

from .phone import FakePhone, Notification, fire_action

DEFAULT_STATE = Path(__file__).resolve().parent.parent / "demo" / "run" / "phones.json"
# Keys of a relay body that are the relay's business, not the notification's.
TRANSPORT_KEYS = ("push_token", "registration_info", "hass_confirm_id")
KEEP = 20  # notifications kept per phone in the state file


def phone_record(owner: str, phone: FakePhone, **about: Any) -> dict[str, Any]:
    """One phone in the state file: its owner, ids, paths and its newest notifications."""
    return {
        "volunteer": owner,
        **about,
        "user_id": phone.user_id,
        "device_name": phone.device_name,
        "ha_device_id": phone.ha_device_id,
        "webhook_id": phone.webhook_id,
        "relay": phone.push_url is not None,
        "local_push": phone.local_push_connected,
        "notifications": [_notification(n) for n in phone.notifications[-KEEP:]],
    }


def _notification(notification: Notification) -> dict[str, Any]:
    body = {k: v for k, v in notification.body.items() if k not in TRANSPORT_KEYS}
    received = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(notification.wall))
    return {
        "path": notification.path,
        "received": received,
        "wall": notification.wall,
        "confirmed": notification.confirmed,
        "body": body,
    }


def write_state(path: Path, ha_url: str, records: Iterable[dict[str, Any]]) -> None:
    """Replace the state file at once (readers never see half of it), readable by its owner only."""
    text = json.dumps({"ha_url": ha_url, "phones": list(records)}, ensure_ascii=False, indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".phones-")
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(tmp, path)  # mkstemp made it 0600


def read_state(path: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"no {path}: is `make demo` running?") from None
    return state


def _phones_of(state: dict[str, Any], volunteer: str | None) -> list[dict[str, Any]]:
    phones = [p for p in state["phones"] if volunteer is None or p["volunteer"] == volunteer]
    if not phones:
        known = ", ".join(sorted({p["volunteer"] for p in state["phones"]}))
        raise SystemExit(f"no phone of {volunteer!r}; volunteers: {known}")
    return phones


def _actions(body: dict[str, Any]) -> list[str]:
    actions = (body.get("data") or {}).get("actions") or []
    return [a["action"] for a in actions if isinstance(a, dict) and "action" in a]


def find_action(
    state: dict[str, Any], volunteer: str, response: str
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(phone, notification body, action id): the newest notification offering ``response`` on any phone.

    Smart Park's action ids end in the response in capitals (``SMART_PARK_<token>_ON_MY_WAY``).
    """
    suffix = "_" + response.upper()
    offers = [
        (n["wall"], phone, n["body"], action)
        for phone in _phones_of(state, volunteer)
        for n in phone["notifications"]
        for action in _actions(n["body"])
        if action.endswith(suffix)
    ]
    if not offers:
        raise SystemExit(f"no notification of {volunteer} offers {response!r} (see `list`)")
    _, phone, body, action = max(offers, key=lambda offer: offer[0])
    return phone, body, action


async def answer(state: dict[str, Any], volunteer: str, response: str) -> dict[str, Any]:
    phone, body, action = find_action(state, volunteer, response)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        status = await fire_action(session, state["ha_url"], phone["webhook_id"], action, body)
    return {"volunteer": volunteer, "device": phone["device_name"], "action": action, "status": status}


def listing(state: dict[str, Any], volunteer: str | None, count: int) -> list[dict[str, Any]]:
    """Each phone with its newest ``count`` notifications (no webhook id: it lets anyone answer)."""
    return [
        {
            "volunteer": p["volunteer"],
            **{k: p[k] for k in ("role", "device_name", "relay", "local_push") if k in p},
            "notifications": [
                {
                    "received": n["received"],
                    "path": n["path"],
                    "title": n["body"].get("title"),
                    "message": n["body"].get("message"),
                    "actions": _actions(n["body"]),
                }
                for n in p["notifications"][-count:]
            ],
        }
        for p in _phones_of(state, volunteer)
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulator.phonectl", description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="the demo's phones.json")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("list", help="the phones and what they received")
    show.add_argument("--volunteer")
    show.add_argument("--last", type=int, default=3, help="notifications per phone (default 3)")
    tap = commands.add_parser("answer", help="tap a response on the volunteer's newest notification")
    tap.add_argument("--volunteer", required=True)
    tap.add_argument("--response", required=True, help="on_my_way, cannot_come or arrived")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Prints JSON; exit status 1 when HA refused the answer, 2 when HA is unreachable."""
    args = build_parser().parse_args(argv)
    state = read_state(args.state)
    if args.command == "list":
        print(json.dumps(listing(state, args.volunteer, args.last), ensure_ascii=False, indent=2))
        return 0
    try:
        result = asyncio.run(answer(state, args.volunteer, args.response))
    except (aiohttp.ClientError, TimeoutError) as err:
        print(f"cannot reach Home Assistant at {state['ha_url']}: {err!r}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if result["status"] == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
