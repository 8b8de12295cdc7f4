"""CPU per Modbus read on loopback, by layer: the floor under hass's per-request cost (#16).

The reference park's simulator runs in a subprocess; this process reads one holding register block of one
unit, one request at a time, through three clients on the same connection target:

* ``raw``: a bare asyncio protocol that frames Modbus TCP itself (MBAP header, function 3, a future per
  transaction id, a timer per request). Not used by the integration: it is the floor, what a request costs
  in system calls and event-loop work before any library;
* ``pymodbus``: pymodbus's ``AsyncModbusTcpClient.read_holding_registers``, as the engine configures it;
* ``GatewayClient``: the engine's ``GatewayClient.async_read`` (bus scheduler slot, timeouts, reply checks,
  pymodbus underneath): what every poll of the integration pays per request.

CPU = ``time.process_time()`` over N sequential reads, repeated ``--repeat`` times; min and median per layer,
and ÷ raw. Wall time per request is printed for reference (it includes the simulator's turn).

Run: ``.venv/bin/python benchmarks/request_cost.py [--requests N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import yaml
from pymodbus.client import AsyncModbusTcpClient

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the repository's packages importable
    sys.path.insert(0, str(ROOT))

from benchmarks._hass_runner import HOST, child, free_ports  # noqa: E402
from custom_components.smart_park.engine.catalogue import Table, Tier  # noqa: E402
from custom_components.smart_park.engine.client import PRIORITY, GatewayClient  # noqa: E402
from custom_components.smart_park.engine.profile import parse_profile  # noqa: E402
from simulator.reference import reference_profile  # noqa: E402

MBAP = struct.Struct(">HHH")
READ_REQUEST = struct.Struct(">HHHBBHH")  # MBAP + unit, function, address, count


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class RawModbus(asyncio.Protocol):
    """The floor: Modbus TCP reads framed by hand, one future per transaction id."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._tid = 0
        self._waiting: dict[int, asyncio.Future[bytes]] = {}
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        while len(buffer) >= MBAP.size:
            tid, _protocol, length = MBAP.unpack_from(buffer)
            if len(buffer) < MBAP.size + length:
                break
            frame, buffer = buffer[MBAP.size : MBAP.size + length], buffer[MBAP.size + length :]
            future = self._waiting.pop(tid, None)
            if future is not None and not future.done():
                future.set_result(frame)
        self._buffer = buffer

    async def read_holding(self, unit: int, address: int, count: int, timeout: float = 1.0) -> list[int]:
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        self._tid = (self._tid + 1) & 0xFFFF
        future: asyncio.Future[bytes] = loop.create_future()
        self._waiting[self._tid] = future
        self._transport.write(READ_REQUEST.pack(self._tid, 0, 6, unit, 3, address, count))
        timer = loop.call_later(timeout, _expire, future)
        try:
            frame = await future
        finally:
            timer.cancel()
        if frame[1] != 3 or frame[2] != 2 * count:
            raise ValueError(f"unexpected reply {frame!r}")
        return list(struct.unpack_from(f">{count}H", frame, 3))


async def measure(
    read: Callable[[], Awaitable[object]], requests: int, repeat: int
) -> tuple[list[float], float]:
    """CPU µs per request of each repetition, and the median wall µs per request."""
    for _ in range(200):  # connect, warm caches
        await read()
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(repeat):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(requests):
            await read()
        cpu.append(1e6 * (time.process_time() - cpu0) / requests)
        wall.append(1e6 * (time.perf_counter() - wall0) / requests)
    return cpu, statistics.median(wall)


async def run_layers(raw_profile: dict[str, object], requests: int, repeat: int) -> list[str]:
    """Measure the three layers against the running simulator; the report lines."""
    profile = parse_profile(raw_profile)
    gateway = next(iter(profile.gateways.values()))
    device, point = next(
        (d, p)
        for d in profile.devices.values()
        if d.gateway == gateway.id
        for p in d.points
        if p.table is Table.HOLDING_REGISTER
    )
    unit, address, count = device.unit, point.address, point.count
    assert gateway.host is not None
    loop = asyncio.get_running_loop()
    transport, raw = await loop.create_connection(RawModbus, gateway.host, gateway.port)
    library = AsyncModbusTcpClient(gateway.host, port=gateway.port, timeout=1.0, retries=0, reconnect_delay=0)
    await library.connect()
    engine = GatewayClient(gateway)
    layers: dict[str, Callable[[], Awaitable[object]]] = {
        "raw": lambda: raw.read_holding(unit, address, count),
        "pymodbus": lambda: library.read_holding_registers(address, count=count, device_id=unit),
        "GatewayClient": lambda: engine.async_read(
            unit, Table.HOLDING_REGISTER, address, count, priority=PRIORITY[Tier.FAST]
        ),
    }
    results: dict[str, tuple[list[float], float]] = {}
    try:
        for name, read in layers.items():
            print(f"{name} ...", flush=True)
            results[name] = await measure(read, requests, repeat)
    finally:
        transport.close()
        library.close()
        await engine.async_close()
    floor = min(results["raw"][0])
    lines = [
        f"One read of {count} holding register(s) of unit {unit} on {gateway.id}, sequential, "
        f"{repeat} x {requests} requests per layer",
        "",
        f"{'layer':<15}{'CPU µs min':>11}{'median':>9}{'÷ raw':>8}{'wall µs':>9}",
    ]
    for name, (cpu, wall) in results.items():
        lines.append(
            f"{name:<15}{min(cpu):>11.1f}{statistics.median(cpu):>9.1f}{min(cpu) / floor:>7.2f}x{wall:>9.0f}"
        )
    lines += [
        "",
        "  * CPU = this process's process_time() per request (user + system: send, epoll, recv, wake-ups).",
        "  * The host is shared: read min and ratios; the simulator is another process.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Start the simulator, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="requests per repetition (default 2000)")
    parser.add_argument("--repeat", type=int, default=7, help="repetitions per layer (default 7)")
    args = parser.parse_args(argv)
    raw_profile = reference_profile(40)
    control_port, *ports = free_ports(len(raw_profile["gateways"]) + 1)
    for gateway, port in zip(raw_profile["gateways"], ports, strict=True):
        gateway["port"] = port
        gateway["host"] = HOST
    with tempfile.TemporaryDirectory(prefix="smart_park_request_cost_") as tmp:
        profile_file = Path(tmp) / "profile.yaml"
        profile_file.write_text(yaml.safe_dump(raw_profile, allow_unicode=True, sort_keys=False))
        args_sim = [sys.executable, "-m", "simulator", "--profile", str(profile_file)]
        args_sim += ["--control-port", str(control_port), "--no-zeroconf"]
        with child(args_sim, Path(tmp) / "simulator.out", ROOT):
            time.sleep(3)  # the simulator's listeners
            lines = asyncio.run(run_layers(raw_profile, args.requests, args.repeat))
    print()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
