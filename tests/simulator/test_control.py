"""The HTTP control API, the ctl client and the ``python -m simulator`` CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from simulator import ctl
from simulator.__main__ import build_parser, load_profile
from tests.conftest import ClientFactory, SimulatorFactory

from .common import every_type_profile

ROOT = Path(__file__).parents[2]


async def _call(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, url, json=body) as response:
        return response.status, await response.json()


async def test_control_api(park_simulator: SimulatorFactory, modbus_client: ClientFactory) -> None:
    sim = await park_simulator(every_type_profile(), control_port=0, tick=0.02)
    assert sim.control_url is not None
    api = sim.control_url + "/api"
    client = await modbus_client(sim.ports["gw1"], timeout=0.2)
    async with aiohttp.ClientSession() as http:
        status, state = await _call(http, "GET", f"{api}/state")
        assert status == 200
        assert state["gateways"]["gw1"] == {"port": sim.ports["gw1"], "up": True}
        assert state["devices"]["fire_water_tank"]["values"]["level"] == 3.5
        status, profile = await _call(http, "GET", f"{api}/profile")
        assert profile["park"]["id"] == "testpark"

        assert (await _call(http, "POST", f"{api}/devices/fire_water_tank/values/level", {"value": 0.5}))[
            0
        ] == 200
        assert sim.get_value("fire_water_tank", "low_level_alarm") is True
        assert (await _call(http, "POST", f"{api}/call_points/fire_bell_controller/2/press"))[0] == 200
        assert sim.get_value("fire_bell_controller", "call_point_2") is True
        await _call(http, "POST", f"{api}/call_points/fire_bell_controller/2/release")
        assert sim.get_value("fire_bell_controller", "call_point_2") is False
        await _call(http, "POST", f"{api}/alarms/one_key_alarm/press")
        await _call(http, "POST", f"{api}/alarms/one_key_alarm/cancel")
        assert sim.get_value("one_key_alarm", "press_count") == 1
        assert sim.get_value("one_key_alarm", "cancel_count") == 1
        await _call(http, "POST", f"{api}/gas/gas_detector/leak", {"rate": 500})
        for _ in range(100):
            if sim.get_value("gas_detector", "gas_alarm"):
                break
            await asyncio.sleep(0.02)
        assert sim.get_value("gas_detector", "gas_alarm") is True
        await _call(http, "POST", f"{api}/gas/gas_detector/clear")
        await _call(http, "POST", f"{api}/tanks/tank2/drain", {"rate_m_per_s": 1})
        assert ("gw2", "tank2") in {("gw2", k[0]) for k in sim.dynamics.ramps}
        await _call(http, "POST", f"{api}/tanks/tank2/refill")

        await _call(http, "POST", f"{api}/units/energy_meter/silence")
        assert "energy_meter" in sim.silenced
        await _call(http, "POST", f"{api}/units/energy_meter/answer")
        assert "energy_meter" not in sim.silenced
        await _call(http, "POST", f"{api}/units/energy_meter/exception", {"code": 6})
        assert int(sim.exceptions["energy_meter"]) == 6

        status, body = await _call(http, "POST", f"{api}/gateways/gw2/down")
        assert (status, body["up"]) == (200, False)
        assert not sim.gateway_is_up("gw2")
        status, body = await _call(http, "POST", f"{api}/gateways/gw2/up")
        assert body == {"ok": True, "up": True, "port": sim.ports["gw2"]}

        await client.write_coil(0, True, device_id=sim.device("io_module").unit)
        status, body = await _call(http, "GET", f"{api}/writes")
        [write] = body["writes"]
        assert (write["device_id"], write["table"], write["values"]) == ("io_module", "coil", [True])
        status, body = await _call(http, "GET", f"{api}/writes?since={write['ts']}")
        assert body["writes"] == []
        await client.write_registers(0, [3, 2, 1], device_id=sim.device("broadcast_controller").unit)
        status, body = await _call(http, "GET", f"{api}/broadcasts")
        assert body["broadcasts"][0]["zones"] == [1, 2]
        status, body = await _call(http, "GET", f"{api}/counters")
        assert body["gateways"]["gw1"]["function_codes"] == {"5": 1, "16": 1}
        assert body["total"] == 2
        await _call(http, "POST", f"{api}/counters/reset")
        assert sim.total_requests() == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/api/devices/nope/values/level", {"value": 1}, 404, "device_id"),
        ("POST", "/api/devices/fire_water_tank/values/nope", {"value": 1}, 404, "key"),
        ("POST", "/api/devices/fire_water_tank/values/level", {}, 400, "value"),
        ("POST", "/api/devices/fire_water_tank/values/level", {"value": "x"}, 400, "value"),
        ("POST", "/api/devices/fire_water_tank/values/level", {"value": 1e9}, 400, "value"),
        ("POST", "/api/call_points/fire_bell_controller/x/press", None, 400, "channel"),
        ("POST", "/api/call_points/fire_bell_controller/99/press", None, 404, "channel"),
        ("POST", "/api/alarms/gas_detector/press", None, 400, "device_id"),
        ("POST", "/api/gas/fire_water_tank/leak", None, 400, "device_id"),
        ("POST", "/api/tanks/fire_water_tank/drain", {"rate_m_per_s": 0}, 400, "rate"),
        ("POST", "/api/units/energy_meter/exception", {"code": 42}, 400, "code"),
        ("POST", "/api/units/energy_meter/explode", None, 404, "action"),
        ("POST", "/api/gateways/gw9/down", None, 404, "gateway_id"),
        ("GET", "/api/writes?since=yesterday", None, 400, "since"),
        ("GET", "/api/state?device=nope", None, 404, "device_id"),
    ],
)
async def test_control_api_errors(
    park_simulator: SimulatorFactory, method: str, path: str, body: Any, status: int, field: str
) -> None:
    sim = await park_simulator(every_type_profile(), control_port=0)
    async with aiohttp.ClientSession() as http:
        got_status, answer = await _call(http, method, f"{sim.control_url}{path}", body)
    assert (got_status, answer["field"]) == (status, field)
    assert answer["error"]


async def test_ctl_commands(park_simulator: SimulatorFactory, capsys: pytest.CaptureFixture[str]) -> None:
    sim = await park_simulator(every_type_profile(), control_port=0)
    url = ["--url", str(sim.control_url)]

    def run(*args: str) -> tuple[int, Any]:
        code = ctl.main([*url, *args])
        return code, json.loads(capsys.readouterr().out)

    assert await asyncio.to_thread(run, "press-call-point", "fire_bell_controller", "4") == (0, {"ok": True})
    assert sim.get_value("fire_bell_controller", "call_point_4") is True
    assert (await asyncio.to_thread(run, "press-alarm", "one_key_alarm"))[0] == 0
    assert sim.get_value("one_key_alarm", "alarm_active") is True
    await asyncio.to_thread(run, "silence", "water_meter")
    assert "water_meter" in sim.silenced
    await asyncio.to_thread(run, "gateway-down", "gw2")
    assert not sim.gateway_is_up("gw2")
    await asyncio.to_thread(run, "gateway-up", "gw2")
    code, state = await asyncio.to_thread(run, "state")
    assert state["gateways"]["gw2"]["up"] is True
    code, answer = await asyncio.to_thread(run, "drain-tank", "energy_meter")
    assert code == 1
    assert answer["field"] == "device_id"
    code, writes = await asyncio.to_thread(run, "writes")
    assert writes == {"writes": []}


def test_cli_ports() -> None:
    """--port numbers gateways from the first; a reference park follows --enterprises."""
    profile, ports = load_profile(build_parser().parse_args(["--enterprises", "150", "--port", "6000"]))
    assert len(profile.gateways) > 1
    assert list(ports.values()) == list(range(6000, 6000 + len(profile.gateways)))
    profile, ports = load_profile(build_parser().parse_args([]))
    assert ports == {}
    assert profile.gateways["gw1"].port == 5020


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_cli_runs_until_interrupted(socket_enabled: None, modbus_client: ClientFactory) -> None:
    """``python -m simulator`` prints where it listens, answers Modbus, and exits cleanly on Ctrl-C."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "--enterprises", "3", "--port", str(port), "--control-port", "0",
        "--no-zeroconf", "--no-dynamics",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, f"simulator exited: {(await process.communicate())[1].decode()[-2000:]}"
            lines.append(line.decode())
        assert f"tcp://127.0.0.1:{port}" in "".join(lines)
        client = await modbus_client(port)
        assert (await client.read_input_registers(0, count=1, device_id=2)).registers == [350]  # b1_tank
        client.close()
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
