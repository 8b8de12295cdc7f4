"""HTTP control API of the park simulator (aiohttp): scenarios, fault injection, write log, counters."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .image import InvalidValue, NotFound, SimulatorError

if TYPE_CHECKING:
    from .server import ParkSimulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SIM_KEY: web.AppKey[ParkSimulator] = web.AppKey("simulator")


def _error(status: int, message: str, field: str) -> web.Response:
    return web.json_response({"error": message, "field": field}, status=status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Simulator errors become 404/400 JSON naming the bad field."""
    try:
        return await handler(request)
    except NotFound as err:
        return _error(404, err.message, err.field)
    except (InvalidValue, SimulatorError) as err:
        return _error(400, err.message, err.field)


def _sim(request: web.Request) -> ParkSimulator:
    return request.app[SIM_KEY]


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidValue("body is not valid JSON", "body") from None
    if not isinstance(body, dict):
        raise InvalidValue("body must be a JSON object", "body")
    return body


def _number(body: dict[str, Any], name: str, default: float | None = None) -> float | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(f"{name} must be a number", name)
    return float(value)


def _rate(body: dict[str, Any], name: str, default: float) -> float:
    value = _number(body, name, default)
    return default if value is None else value


def _ok(**extra: Any) -> web.Response:
    return web.json_response({"ok": True, **extra})


async def get_state(request: web.Request) -> web.Response:
    """GET /api/state[?device=a,b]"""
    wanted = request.query.get("device")
    sim = _sim(request)
    ids = wanted.split(",") if wanted else None
    if ids is not None:
        for device_id in ids:
            sim.image(device_id)
    return web.json_response(sim.state(ids))


async def get_profile(request: web.Request) -> web.Response:
    """GET /api/profile: the profile document the park was built from."""
    return web.json_response(dict(_sim(request).profile.raw))


async def set_value(request: web.Request) -> web.Response:
    """POST /api/devices/{device_id}/values/{key} {"value": ...} (engineering units)."""
    sim = _sim(request)
    device_id, key = request.match_info["device_id"], request.match_info["key"]
    sim.image(device_id).point(key)
    body = await _json_body(request)
    if "value" not in body:
        raise InvalidValue("value is required", "value")
    value = body["value"]
    if not isinstance(value, bool | int | float):
        raise InvalidValue("value must be a number or a boolean", "value")
    sim.set_value(device_id, key, value)
    return _ok(value=sim.get_value(device_id, key))


async def get_value(request: web.Request) -> web.Response:
    """GET /api/devices/{device_id}/values/{key}"""
    device_id, key = request.match_info["device_id"], request.match_info["key"]
    return web.json_response({"value": _sim(request).get_value(device_id, key)})


def _channel(request: web.Request) -> int:
    try:
        return int(request.match_info["channel"])
    except ValueError:
        raise InvalidValue("channel must be an integer", "channel") from None


async def call_point(request: web.Request) -> web.Response:
    """POST /api/call_points/{device_id}/{channel}/press|release"""
    sim, device_id, action = _sim(request), request.match_info["device_id"], request.match_info["action"]
    if action == "press":
        sim.press_call_point(device_id, _channel(request))
    elif action == "release":
        sim.release_call_point(device_id, _channel(request))
    else:
        raise NotFound(f"unknown action {action} (press, release)", "action")
    return _ok()


async def alarm(request: web.Request) -> web.Response:
    """POST /api/alarms/{device_id}/press|cancel"""
    sim, device_id, action = _sim(request), request.match_info["device_id"], request.match_info["action"]
    if action == "press":
        sim.press_alarm_button(device_id)
    elif action == "cancel":
        sim.cancel_alarm(device_id)
    else:
        raise NotFound(f"unknown action {action} (press, cancel)", "action")
    return _ok()


async def gas(request: web.Request) -> web.Response:
    """POST /api/gas/{device_id}/leak|clear [{"rate": %LEL/s, "peak": %LEL}]"""
    sim, device_id, action = _sim(request), request.match_info["device_id"], request.match_info["action"]
    body = await _json_body(request)
    rate = _rate(body, "rate", 10.0)
    if action == "leak":
        sim.start_gas_leak(device_id, rate=rate, peak=_number(body, "peak"))
    elif action == "clear":
        sim.stop_gas_leak(device_id, rate=rate)
    else:
        raise NotFound(f"unknown action {action} (leak, clear)", "action")
    return _ok()


async def tank(request: web.Request) -> web.Response:
    """POST /api/tanks/{device_id}/drain|refill [{"rate_m_per_s": 0.5}]"""
    sim, device_id, action = _sim(request), request.match_info["device_id"], request.match_info["action"]
    body = await _json_body(request)
    rate = _rate(body, "rate_m_per_s", 0.5)
    if action == "drain":
        sim.drain_tank(device_id, rate)
    elif action == "refill":
        sim.refill_tank(device_id, rate)
    else:
        raise NotFound(f"unknown action {action} (drain, refill)", "action")
    return _ok()


async def unit(request: web.Request) -> web.Response:
    """POST /api/units/{device_id}/silence|answer|exception|bad_reply|delay

    Bodies: exception {"code": 4 | null}; bad_reply {"mode": "empty" | "short" | "wrong_function" | null};
    delay {"seconds": 0.5 | null}.
    """
    sim, device_id, action = _sim(request), request.match_info["device_id"], request.match_info["action"]
    if action in ("silence", "answer"):
        sim.silence_unit(device_id, action == "silence")
    elif action == "exception":
        body = await _json_body(request)
        code = _number(body, "code")
        sim.set_exception(device_id, None if code is None else int(code))
    elif action == "bad_reply":
        body = await _json_body(request)
        mode = body.get("mode")
        if mode is not None and not isinstance(mode, str):
            raise InvalidValue("mode must be a string or null", "mode")
        sim.bad_reply(device_id, mode)
    elif action == "delay":
        body = await _json_body(request)
        sim.delay_replies(device_id, _number(body, "seconds"))
    else:
        raise NotFound(f"unknown action {action} (silence, answer, exception, bad_reply, delay)", "action")
    return _ok()


async def gateway(request: web.Request) -> web.Response:
    """POST /api/gateways/{gateway_id}/down|up"""
    sim, gateway_id, action = _sim(request), request.match_info["gateway_id"], request.match_info["action"]
    if action == "down":
        await sim.gateway_down(gateway_id)
    elif action == "up":
        await sim.gateway_up(gateway_id)
    else:
        raise NotFound(f"unknown action {action} (down, up)", "action")
    return _ok(up=sim.gateway_is_up(gateway_id), port=sim.ports.get(gateway_id))


async def get_writes(request: web.Request) -> web.Response:
    """GET /api/writes[?since=<unix ts>][&device=<id>]"""
    sim = _sim(request)
    since = request.query.get("since")
    try:
        records = sim.writes_since(float(since)) if since else list(sim.writes)
    except ValueError:
        raise InvalidValue("since must be a unix timestamp", "since") from None
    if device := request.query.get("device"):
        records = [r for r in records if r.device_id == device]
    return web.json_response({"writes": [r.as_dict() for r in records]})


async def get_broadcasts(request: web.Request) -> web.Response:
    """GET /api/broadcasts"""
    return web.json_response({"broadcasts": [asdict(b) for b in _sim(request).broadcasts]})


async def get_counters(request: web.Request) -> web.Response:
    """GET /api/counters: requests per gateway and function code, and per unit."""
    sim = _sim(request)
    return web.json_response(
        {
            "total": sim.total_requests(),
            "gateways": {
                gw: {
                    "total": sum(counter.values()),
                    "function_codes": {str(fc): n for fc, n in sorted(counter.items())},
                    "units": {str(u): n for u, n in sorted(sim.unit_requests[gw].items())},
                }
                for gw, counter in sim.requests.items()
            },
        }
    )


async def reset_counters(request: web.Request) -> web.Response:
    """POST /api/counters/reset"""
    _sim(request).reset_counters()
    return _ok()


def build_app(sim: ParkSimulator) -> web.Application:
    """The control application for one simulator."""
    app = web.Application(middlewares=[_errors])
    app[SIM_KEY] = sim
    app.add_routes(
        [
            web.get("/api/state", get_state),
            web.get("/api/profile", get_profile),
            web.get("/api/devices/{device_id}/values/{key}", get_value),
            web.post("/api/devices/{device_id}/values/{key}", set_value),
            web.post("/api/call_points/{device_id}/{channel}/{action}", call_point),
            web.post("/api/alarms/{device_id}/{action}", alarm),
            web.post("/api/gas/{device_id}/{action}", gas),
            web.post("/api/tanks/{device_id}/{action}", tank),
            web.post("/api/units/{device_id}/{action}", unit),
            web.post("/api/gateways/{gateway_id}/{action}", gateway),
            web.get("/api/writes", get_writes),
            web.get("/api/broadcasts", get_broadcasts),
            web.get("/api/counters", get_counters),
            web.post("/api/counters/reset", reset_counters),
        ]
    )
    return app


async def start_control_api(sim: ParkSimulator, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve the control API; returns the runner (to clean up) and the bound port (``port`` 0 = ephemeral)."""
    runner = web.AppRunner(build_app(sim), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, int(bound)
