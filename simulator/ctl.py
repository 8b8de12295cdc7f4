"""``python -m simulator.ctl``: drive a running simulator through its control API."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8780"

# command -> (HTTP method, path template, positional argument names)
# Arguments sent in the JSON body (with their type), not in the path.
BODY_ARGS: dict[str, type] = {"value": float, "mode": str, "seconds": float}

COMMANDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "press-call-point": ("POST", "/api/call_points/{device}/{channel}/press", ("device", "channel")),
    "release-call-point": ("POST", "/api/call_points/{device}/{channel}/release", ("device", "channel")),
    "press-alarm": ("POST", "/api/alarms/{device}/press", ("device",)),
    "cancel-alarm": ("POST", "/api/alarms/{device}/cancel", ("device",)),
    "gas-leak": ("POST", "/api/gas/{device}/leak", ("device",)),
    "gas-clear": ("POST", "/api/gas/{device}/clear", ("device",)),
    "drain-tank": ("POST", "/api/tanks/{device}/drain", ("device",)),
    "refill-tank": ("POST", "/api/tanks/{device}/refill", ("device",)),
    "silence": ("POST", "/api/units/{device}/silence", ("device",)),
    "answer": ("POST", "/api/units/{device}/answer", ("device",)),
    "bad-reply": ("POST", "/api/units/{device}/bad_reply", ("device", "mode")),
    "delay-replies": ("POST", "/api/units/{device}/delay", ("device", "seconds")),
    "gateway-down": ("POST", "/api/gateways/{gateway}/down", ("gateway",)),
    "gateway-up": ("POST", "/api/gateways/{gateway}/up", ("gateway",)),
    "set-value": ("POST", "/api/devices/{device}/values/{key}", ("device", "key", "value")),
    "writes": ("GET", "/api/writes", ()),
    "broadcasts": ("GET", "/api/broadcasts", ()),
    "counters": ("GET", "/api/counters", ()),
    "reset-counters": ("POST", "/api/counters/reset", ()),
    "state": ("GET", "/api/state", ()),
}


def build_parser() -> argparse.ArgumentParser:
    """Sub-commands, one per control action."""
    parser = argparse.ArgumentParser(prog="python -m simulator.ctl", description="Control a park simulator")
    parser.add_argument("--url", default=DEFAULT_URL, help=f"control API (default {DEFAULT_URL})")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (_, _, arg_names) in COMMANDS.items():
        sub = commands.add_parser(name)
        for arg in arg_names:
            sub.add_argument(arg, type=int if arg == "channel" else BODY_ARGS.get(arg, str))
        if name == "writes":
            sub.add_argument("--since", type=float, help="only writes after this unix timestamp")
    return parser


def request(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One call to the control API: status and decoded JSON."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url.rstrip("/") + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def main(argv: list[str] | None = None) -> int:
    """Entry point: prints the JSON answer; exit status 1 on an error answer, 2 if the API is unreachable."""
    args = build_parser().parse_args(argv)
    method, template, arg_names = COMMANDS[args.command]
    path = template.format(**{name: getattr(args, name) for name in arg_names if name not in BODY_ARGS})
    # "none" clears a fault: bad-reply DEVICE none.
    body = {
        name: None if getattr(args, name) == "none" else getattr(args, name)
        for name in arg_names
        if name in BODY_ARGS
    } or None
    if args.command == "writes" and args.since is not None:
        path += f"?since={args.since}"
    try:
        status, answer = request(args.url, method, path, body)
    except urllib.error.URLError as err:
        print(f"cannot reach {args.url}: {err.reason}", file=sys.stderr)
        return 2
    print(json.dumps(answer, ensure_ascii=False, indent=2))
    return 0 if status < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
