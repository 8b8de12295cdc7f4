"""The park simulator: one pymodbus TCP server per gateway, one unit id per device, all in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer

from custom_components.smart_park.engine.bus import Request, SerialLine
from custom_components.smart_park.engine.catalogue import Table
from custom_components.smart_park.engine.profile import Device, ParkProfile

from .audio import DEFAULT_PLAY_SECONDS, AudioSide
from .bus import BusEmulator
from .dynamics import Dynamics, Ramp
from .image import DeviceImage, InvalidValue, NotFound
from .ordered import OrderedModbusTcpServer

if TYPE_CHECKING:
    from aiohttp import web

    from .advertise import Advertiser

_LOGGER = logging.getLogger(__name__)

# Function code -> table it addresses (22 mask-write and 23 read/write-multiple work on holding registers).
_READS = (1, 2, 3, 4)
_FC_TABLE: dict[int, Table] = {
    1: Table.COIL,
    5: Table.COIL,
    15: Table.COIL,
    2: Table.DISCRETE_INPUT,
    3: Table.HOLDING_REGISTER,
    6: Table.HOLDING_REGISTER,
    16: Table.HOLDING_REGISTER,
    22: Table.HOLDING_REGISTER,
    23: Table.HOLDING_REGISTER,
    4: Table.INPUT_REGISTER,
}

# Bad-reply modes (see ParkSimulator.bad_replies): a unit that answers, but not with what was asked.
BAD_REPLY_MODES = ("empty", "short", "wrong_function")
# A read answered with the other read function code of the same kind of table.
_OTHER_READ = {1: 2, 2: 1, 3: 4, 4: 3}

BROADCAST_STOP, BROADCAST_PRESET, BROADCAST_URL = 0, 1, 2
# Default gas-leak peak: this many times the alarm threshold, so the alarm is unambiguous.
GAS_PEAK_FACTOR = 2.5


@dataclass(frozen=True, slots=True)
class WriteRecord:
    """One write request a unit received (accepted or answered with an exception)."""

    ts: float
    mono_ns: int
    gateway: str
    unit: int
    device_id: str
    table: str
    address: int
    values: list[int | bool]
    function_code: int = 0
    accepted: bool = True
    lost: bool = False  # acknowledged but not carried out (see lose_writes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BroadcastRecord:
    """A play/stop command a broadcast controller received."""

    ts: float
    mono_ns: int
    device_id: str
    command: int
    zone_mask: int
    message_slot: int
    volume: int
    priority: int
    repeat_count: int
    zones: list[int] = field(default_factory=list)
    # The audio URL a play-URL command was given (over the controller's HTTP API), if any.
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class _ServerGaveUp(Exception):
    """The emulated serial server stopped waiting for a silent unit (answered with exception 0x0B)."""


class _GatewayContext(ModbusServerContext):
    """Routes a gateway's requests to the units' images.

    pymodbus 3.13 turns ModbusDeviceContext-based contexts into its SimCore, which answers an unknown unit
    with exception 4; a real RS-485 bus stays silent. Subclassing the server context (without its __init__,
    which would do that conversion) keeps it silent: NoSuchIdException + ignore_missing_devices sends nothing.
    """

    def __init__(self, sim: ParkSimulator, gateway_id: str) -> None:  # pylint: disable=super-init-not-called
        self._sim = sim
        self._gateway = gateway_id
        self.simdevices: list[Any] = []
        self._devices: dict[int, Any] = {}

    def device_ids(self) -> list[int]:
        """Unit ids hosted on this gateway."""
        return [unit for (gateway, unit) in self._sim.units if gateway == self._gateway]

    def _image(self, unit: int) -> DeviceImage:
        device_id = self._sim.units.get((self._gateway, unit))
        if device_id is None or device_id in self._sim.silenced:
            raise NoSuchIdException(f"unit {unit} does not answer")  # type: ignore[no-untyped-call]
        return self._sim.images[device_id]

    @contextlib.asynccontextmanager
    async def _bus_time(self, unit: int, request: Request) -> AsyncIterator[None]:
        """Hold the gateway's emulated serial line for the transaction (nothing without emulation)."""
        bus = self._sim.buses.get(self._gateway)
        if bus is None:
            yield
            return
        try:
            self._image(unit)
        except NoSuchIdException:
            await bus.unanswered(request)
            if bus.server_timeout is not None:
                raise _ServerGaveUp from None
            raise
        async with bus.transaction(request):
            yield

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        if func_code not in _READS:  # the echo of a write pymodbus reads back: the write held the line
            return await self._get_values(device_id, func_code, address, count)
        try:
            async with self._bus_time(device_id, Request(func_code, count)):
                return await self._get_values(device_id, func_code, address, count)
        except _ServerGaveUp:
            return ExcCodes.GATEWAY_NO_RESPONSE

    async def _get_values(
        self, device_id: int, func_code: int, address: int, count: int
    ) -> list[int] | list[bool] | ExcCodes:
        image = self._image(device_id)
        if (code := self._sim.exceptions.get(image.device.id)) is not None:
            return code
        if (delay := self._sim.reply_delays.get(image.device.id)) is not None:
            bus = self._sim.buses.get(self._gateway)
            if bus is not None and bus.server_timeout is not None and delay > bus.server_timeout:
                # The emulated serial server stops waiting for the unit and says so.
                await bus.hold(bus.server_timeout)
                return ExcCodes.GATEWAY_NO_RESPONSE
            self._sim.replies_pending += 1
            try:
                # Stopping the simulator releases held replies: no request handler outlives it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._sim.release_replies.wait(), delay)
            finally:
                self._sim.replies_pending -= 1
        table = _FC_TABLE.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        values = image.read(table, address, count)
        return ExcCodes.ILLEGAL_ADDRESS if values is None else values

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: list[int] | list[bool]
    ) -> None | ExcCodes:
        try:
            async with self._bus_time(device_id, Request(func_code, len(values))):
                image = self._image(device_id)
                return self._sim._apply_write(self._gateway, image, func_code, address, list(values))
        except _ServerGaveUp:
            return ExcCodes.GATEWAY_NO_RESPONSE


class ParkSimulator:
    """A whole park's Modbus devices, with dynamics, fault injection, a write log and a control API."""

    def __init__(
        self,
        profile: ParkProfile,
        *,
        host: str = "127.0.0.1",
        port_override: dict[str, int] | None = None,
        seed: int = 0,
        dynamics: bool = True,
        tick: float = 1.0,
        zeroconf: bool = False,
        control_port: int | None = None,
        broadcast_seconds: float = DEFAULT_PLAY_SECONDS,
        http_audio: bool = False,
        emulate_buses: bool = False,
    ) -> None:
        self.profile = profile
        self.host = host
        self.port_override = dict(port_override or {})
        self.seed = seed
        self.tick = tick
        self.zeroconf = zeroconf
        self.control_port = control_port
        self.ports: dict[str, int] = {}
        self.control_url: str | None = None
        # Serial gateways' lines when emulating buses (simulator/bus.py); none: every gateway answers at once.
        # The serial server's response timeout is the profile's gateway timeout (what that field describes).
        self.buses: dict[str, BusEmulator] = {
            gw_id: BusEmulator(line, lambda: self.release_replies, gateway.timeout)
            for gw_id, gateway in profile.gateways.items()
            if emulate_buses and (line := SerialLine.of(gateway)) is not None
        }
        self.images: dict[str, DeviceImage] = {d.id: DeviceImage(d) for d in profile.devices.values()}
        self.units: dict[tuple[str, int], str] = {(d.gateway, d.unit): d.id for d in profile.devices.values()}
        self.dynamics = Dynamics(self.images, random.Random(seed), enabled=dynamics)
        self.dynamics.initialise()
        self.silenced: set[str] = set()
        self.exceptions: dict[str, ExcCodes] = {}
        # Units whose read replies are malformed (mode per device, one of BAD_REPLY_MODES).
        self.bad_replies: dict[str, str] = {}
        # Units that answer reads only after this many seconds (a slow bus), and how many such reads wait now.
        self.reply_delays: dict[str, float] = {}
        self.replies_pending = 0
        self.release_replies = asyncio.Event()
        # Writes a unit acknowledges but does not carry out (a stuck relay), per device.
        self.lost_writes: dict[str, int] = {}
        self.writes: list[WriteRecord] = []
        self.broadcasts: list[BroadcastRecord] = []
        # Broadcast controllers' HTTP APIs, URL fetches and playback (simulator/audio.py).
        # With http_audio each controller serves its HTTP API and publishes its port (else http_port stays 0).
        self.audio = AudioSide(self, broadcast_seconds)
        self.http_audio = http_audio
        self.on_write: list[Callable[[WriteRecord], None]] = []
        self.requests: dict[str, Counter[int]] = {gw: Counter() for gw in profile.gateways}
        self.unit_requests: dict[str, Counter[int]] = {gw: Counter() for gw in profile.gateways}
        self._write_event = asyncio.Event()
        self._servers: dict[str, ModbusTcpServer | None] = {}
        self._contexts = {gw: _GatewayContext(self, gw) for gw in profile.gateways}
        self._placeholders: dict[str, socket.socket] = {}
        self._tick_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._advertiser: Advertiser | None = None
        self.started = False

    # --- lifecycle ------------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on every gateway's port, start the dynamics, the control API and the zeroconf advert."""
        if self.started:
            return
        self.started = True
        self._write_event = asyncio.Event()
        self.release_replies = asyncio.Event()
        try:
            for gateway_id, gateway in self.profile.gateways.items():
                port = self.port_override.get(gateway_id, gateway.port)
                self.ports[gateway_id] = await self._listen(gateway_id, port)
            if self.http_audio:
                await self.audio.start(self.host)
            if self.control_port is not None:
                from .control import start_control_api

                self._runner, port = await start_control_api(self, self.host, self.control_port)
                self.control_url = f"http://{_url_host(self.host)}:{port}"
            if self.zeroconf:
                from .advertise import Advertiser

                self._advertiser = Advertiser(self)
                await self._advertiser.start()
        except BaseException:
            await self.stop()
            raise
        self._tick_task = asyncio.create_task(self._tick_loop(), name="park simulator dynamics")

    async def stop(self) -> None:
        """Stop everything started; safe to call twice."""
        self.release_replies.set()
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
            self._tick_task = None
        if self._advertiser is not None:
            await self._advertiser.stop()
            self._advertiser = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.audio.stop()
        for gateway_id in list(self._servers):
            await self._close_server(gateway_id)
        self._servers.clear()
        for sock in self._placeholders.values():
            sock.close()
        self._placeholders.clear()
        self.started = False

    async def _listen(self, gateway_id: str, port: int) -> int:
        server = OrderedModbusTcpServer(
            self._contexts[gateway_id],
            address=(self.host, port),
            ignore_missing_devices=True,  # an absent or silenced unit must not answer at all
            trace_pdu=self._tracer(gateway_id),
        )
        try:
            await server.serve_forever(background=True)
        except RuntimeError as err:
            raise OSError(f"gateway {gateway_id}: cannot listen on {self.host}:{port}") from err
        self._servers[gateway_id] = server
        sockets = getattr(server.transport, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else port

    async def _close_server(self, gateway_id: str) -> None:
        server = self._servers.get(gateway_id)
        if server is None:
            return
        self._servers[gateway_id] = None
        listener = server.transport
        # shutdown() closes the listener and every established connection of this gateway.
        await server.shutdown()  # type: ignore[no-untyped-call]
        if isinstance(listener, asyncio.Server):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.wait_closed(), 2)

    def _tracer(self, gateway_id: str) -> Callable[[bool, ModbusPDU], ModbusPDU]:
        requests = self.requests[gateway_id]
        unit_requests = self.unit_requests[gateway_id]

        def trace(sending: bool, pdu: ModbusPDU) -> ModbusPDU:
            if not sending:
                requests[pdu.function_code] += 1
                unit_requests[pdu.dev_id] += 1
                return pdu
            device_id = self.units.get((gateway_id, pdu.dev_id))
            if device_id is not None and (mode := self.bad_replies.get(device_id)) is not None:
                _garble(pdu, mode)
            return pdu

        return trace

    async def _tick_loop(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.tick)
            now = time.monotonic()
            try:
                self.dynamics.step(now - last)
            except Exception:
                _LOGGER.exception("dynamics step failed")
            last = now

    # --- gateways -------------------------------------------------------------------------------------

    def _gateway(self, gateway_id: str) -> str:
        if gateway_id not in self.profile.gateways:
            raise NotFound(f"no gateway {gateway_id}", "gateway_id")
        return gateway_id

    def connection_ids(self, gateway_id: str) -> set[str]:
        """Ids of the client connections the gateway holds now (a client's reconnect gets a new id)."""
        server = self._servers.get(self._gateway(gateway_id))
        return set(server.active_connections) if server is not None else set()

    def gateway_is_up(self, gateway_id: str) -> bool:
        """Whether the gateway is listening."""
        return self._servers.get(self._gateway(gateway_id)) is not None

    async def gateway_down(self, gateway_id: str) -> None:
        """Close the gateway's listener and drop its connections; the port stays reserved for gateway_up."""
        self._gateway(gateway_id)
        if self._servers.get(gateway_id) is None:
            return
        await self._close_server(gateway_id)
        port = self.ports[gateway_id]
        # A bound, non-listening socket keeps the port ours and makes connects fail with "refused".
        with contextlib.suppress(OSError):
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, port))
            except OSError:
                sock.close()
                raise
            self._placeholders[gateway_id] = sock

    async def gateway_up(self, gateway_id: str) -> None:
        """Listen again on the same port."""
        self._gateway(gateway_id)
        if not self.started or self._servers.get(gateway_id) is not None:
            return
        if (sock := self._placeholders.pop(gateway_id, None)) is not None:
            sock.close()
        await self._listen(gateway_id, self.ports[gateway_id])

    # --- values ---------------------------------------------------------------------------------------

    def device(self, device_id: str) -> Device:
        """A device of the profile."""
        return self.image(device_id).device

    def image(self, device_id: str) -> DeviceImage:
        """A device's register image."""
        try:
            return self.images[device_id]
        except KeyError:
            raise NotFound(f"no device {device_id}", "device_id") from None

    def set_value(self, device_id: str, key: str, value: float | bool) -> None:
        """Set a point in engineering units (encoded by the codec); noise points hold it until released."""
        self.image(device_id).set_value(key, value)
        self.dynamics.value_set(device_id, key)

    def release_value(self, device_id: str, key: str) -> None:
        """Hand a point that :meth:`set_value` pinned back to its dynamics."""
        self.image(device_id).point(key)
        self.dynamics.release(device_id, key)

    def get_value(self, device_id: str, key: str) -> float | int | bool:
        """A point's engineering value."""
        return self.image(device_id).get_value(key)

    def _set_raw(self, device_id: str, key: str, raw: float | bool) -> None:
        image = self.image(device_id)
        image.set_raw(image.point(key), raw)
        self.dynamics.value_set(device_id, key)

    # --- scenarios ------------------------------------------------------------------------------------

    def _channel_key(self, device_id: str, prefix: str, channel: int) -> str:
        key = f"{prefix}_{channel}"
        if key not in self.image(device_id).points:
            raise NotFound(f"device {device_id} has no channel {channel} ({key})", "channel")
        return key

    def press_call_point(self, device_id: str, channel: int) -> None:
        """Press a floor's manual call point (discrete input call_point_<channel>)."""
        self._set_raw(device_id, self._channel_key(device_id, "call_point", channel), True)

    def release_call_point(self, device_id: str, channel: int) -> None:
        """Reset a call point."""
        self._set_raw(device_id, self._channel_key(device_id, "call_point", channel), False)

    def _alarm_image(self, device_id: str) -> DeviceImage:
        image = self.image(device_id)
        if not {"alarm_active", "press_count", "cancel_count"} <= image.points.keys():
            raise InvalidValue(f"device {device_id} is not a one-key alarm terminal", "device_id")
        return image

    def _bump(self, device_id: str, key: str) -> None:
        raw = self.image(device_id).get_raw(self.image(device_id).point(key))
        self._set_raw(device_id, key, (int(raw) + 1) & 0xFFFF)  # a 16-bit counter wraps like the real one

    def press_alarm_button(self, device_id: str) -> None:
        """One-key alarm pressed: alarm_active=1, press_count += 1."""
        self._alarm_image(device_id)
        self._set_raw(device_id, "alarm_active", True)
        self._bump(device_id, "press_count")

    def cancel_alarm(self, device_id: str) -> None:
        """One-key alarm cancelled at the terminal: alarm_active=0, cancel_count += 1."""
        self._alarm_image(device_id)
        self._set_raw(device_id, "alarm_active", False)
        self._bump(device_id, "cancel_count")

    def _threshold_source(self, device_id: str, model: str, what: str) -> tuple[str, float]:
        """The point an above/below alarm bit watches and its threshold (catalogue, not key names)."""
        for rule in self.dynamics.derived.get(self.image(device_id).device.id, ()):
            if rule.above == (model == "above"):
                return rule.source.key, rule.threshold
        raise InvalidValue(f"device {device_id} is not a {what}", "device_id")

    def start_gas_leak(self, device_id: str, rate: float = 10.0, peak: float | None = None) -> None:
        """Concentration ramps up at ``rate`` engineering units/s (%LEL/s) past the alarm threshold."""
        key, threshold = self._threshold_source(device_id, "above", "gas detector")
        point = self.image(device_id).point(key)
        target = (
            threshold * GAS_PEAK_FACTOR if peak is None else self.image(device_id).raw_from_value(key, peak)
        )
        self._ramp(device_id, key, float(target), rate / abs(point.scale), release=False)

    def stop_gas_leak(self, device_id: str, rate: float = 10.0) -> None:
        """The leak is stopped: concentration falls back to its base, then its noise resumes."""
        key, _ = self._threshold_source(device_id, "above", "gas detector")
        point = self.image(device_id).point(key)
        self._ramp(device_id, key, self.dynamics.base(device_id, key), rate / abs(point.scale), release=True)

    def drain_tank(self, device_id: str, rate_m_per_s: float = 0.5) -> None:
        """The level falls at ``rate_m_per_s`` to empty; the low-level alarm follows."""
        key, _ = self._threshold_source(device_id, "below", "tank")
        point = self.image(device_id).point(key)
        empty = float(point.simulate.get("min", 0))
        self._ramp(device_id, key, empty, rate_m_per_s / abs(point.scale), release=False)

    def refill_tank(self, device_id: str, rate_m_per_s: float = 0.5) -> None:
        """The level rises back to its base, then drifts again."""
        key, _ = self._threshold_source(device_id, "below", "tank")
        point = self.image(device_id).point(key)
        self._ramp(
            device_id, key, self.dynamics.base(device_id, key), rate_m_per_s / abs(point.scale), release=True
        )

    def _ramp(self, device_id: str, key: str, target: float, rate: float, *, release: bool) -> None:
        if rate <= 0:
            raise InvalidValue("rate must be positive", "rate")
        self.dynamics.start_ramp(device_id, key, Ramp(target, rate, release))

    # --- fault injection ------------------------------------------------------------------------------

    def silence_unit(self, device_id: str, silent: bool = True) -> None:
        """The unit stops answering at all (the client times out); other units keep answering."""
        self.image(device_id)
        if silent:
            self.silenced.add(device_id)
        else:
            self.silenced.discard(device_id)

    def set_exception(self, device_id: str, code: int | None) -> None:
        """The unit answers every request with exception ``code`` (e.g. 4 device failure); None clears."""
        self.image(device_id)
        if code is None:
            self.exceptions.pop(device_id, None)
            return
        try:
            self.exceptions[device_id] = ExcCodes(code)
        except ValueError:
            valid = ", ".join(str(int(c)) for c in ExcCodes)
            raise InvalidValue(f"exception code {code} is not one of {valid}", "code") from None

    def bad_reply(self, device_id: str, mode: str | None) -> None:
        """The unit answers reads with malformed replies; None answers properly again.

        ``empty``: a well-formed reply with no data (byte count 0); ``short``: one byte (bits) or one register
        fewer than asked; ``wrong_function``: the data under the other read function code (coils <-> discrete
        inputs, holding <-> input registers). Writes and exception replies are not touched.
        """
        self.image(device_id)
        if mode is None:
            self.bad_replies.pop(device_id, None)
        elif mode in BAD_REPLY_MODES:
            self.bad_replies[device_id] = mode
        else:
            raise InvalidValue(f"bad reply mode {mode!r} is not one of {', '.join(BAD_REPLY_MODES)}", "mode")

    def delay_replies(self, device_id: str, seconds: float | None) -> None:
        """The unit answers reads after ``seconds`` (requests stay in flight that long); None: at once."""
        self.image(device_id)
        if seconds is None:
            self.reply_delays.pop(device_id, None)
        elif seconds < 0:
            raise InvalidValue("seconds must not be negative", "seconds")
        else:
            self.reply_delays[device_id] = seconds

    def lose_writes(self, device_id: str, count: int) -> None:
        """The unit acknowledges its next ``count`` writes without carrying them out (a stuck relay)."""
        self.image(device_id)
        self.lost_writes[device_id] = count

    # --- writes ---------------------------------------------------------------------------------------

    def _apply_write(
        self, gateway_id: str, image: DeviceImage, func_code: int, address: int, values: list[int | bool]
    ) -> ExcCodes | None:
        table = _FC_TABLE.get(func_code)
        code = self.exceptions.get(image.device.id)
        if code is None and table is None:
            code = ExcCodes.ILLEGAL_FUNCTION
        lost = code is None and self.lost_writes.get(image.device.id, 0) > 0
        if lost:
            self.lost_writes[image.device.id] -= 1
        elif code is None and table is not None and not image.write(table, address, values):
            code = ExcCodes.ILLEGAL_ADDRESS
        record = WriteRecord(
            ts=time.time(),
            mono_ns=time.monotonic_ns(),
            gateway=gateway_id,
            unit=image.device.unit,
            device_id=image.device.id,
            table=str(table) if table is not None else str(func_code),
            address=address,
            values=[bool(v) for v in values]
            if table is not None and table.is_bit
            else [int(v) for v in values],
            function_code=func_code,
            accepted=code is None,
            lost=lost,
        )
        if (
            code is None
            and table is Table.HOLDING_REGISTER
            and image.device.device_type.type == "broadcast_controller"
        ):
            self._broadcast_write(image, address, len(values), record)
        self._record(record)
        return code

    def _record(self, record: WriteRecord) -> None:
        self.writes.append(record)
        for callback in list(self.on_write):
            try:
                callback(record)
            except Exception:
                _LOGGER.exception("on_write callback failed")
        self._write_event.set()
        self._write_event = asyncio.Event()

    def _broadcast_write(self, image: DeviceImage, address: int, count: int, record: WriteRecord) -> None:
        def written(key: str) -> bool:
            point = image.points.get(key)
            return point is not None and address <= point.address < address + count

        def raw(key: str) -> int:
            return int(image.get_raw(image.point(key))) if key in image.points else 0

        device_id = image.device.id
        player = self.audio.controllers[device_id]
        if not written("command"):
            if written("zone_mask"):
                player.zones_changed(raw("zone_mask"))
            return
        command, zone_mask, slot = raw("command"), raw("zone_mask"), raw("message_slot")
        url = player.command(command, zone_mask, slot, raw("repeat_count"))
        self.broadcasts.append(
            BroadcastRecord(
                ts=record.ts,
                mono_ns=record.mono_ns,
                device_id=device_id,
                command=command,
                zone_mask=zone_mask,
                message_slot=slot,
                volume=raw("volume"),
                priority=raw("priority"),
                repeat_count=raw("repeat_count"),
                zones=[bit + 1 for bit in range(16) if zone_mask >> bit & 1] if command else [],
                url=url,
            )
        )

    async def wait_for_write(
        self,
        predicate: Callable[[WriteRecord], bool] | None = None,
        *,
        device_id: str | None = None,
        table: str | None = None,
        address: int | None = None,
        after: int = 0,
        timeout: float = 5.0,
    ) -> WriteRecord:
        """The first write (from index ``after`` of :attr:`writes`) matching the filters; waits for one."""

        def matches(record: WriteRecord) -> bool:
            return (
                (device_id is None or record.device_id == device_id)
                and (table is None or record.table == table)
                and (address is None or record.address == address)
                and (predicate is None or predicate(record))
            )

        async def scan() -> WriteRecord:
            index = after
            while True:
                for record in self.writes[index:]:
                    if matches(record):
                        return record
                index = max(index, len(self.writes))
                await self._write_event.wait()

        return await asyncio.wait_for(scan(), timeout)

    def writes_since(self, ts: float) -> list[WriteRecord]:
        """Writes with a wall-clock timestamp after ``ts``."""
        return [record for record in self.writes if record.ts > ts]

    # --- counters -------------------------------------------------------------------------------------

    def total_requests(self, gateway: str | None = None) -> int:
        """Requests received (all function codes), on one gateway or the whole park."""
        if gateway is not None:
            return sum(self.requests[self._gateway(gateway)].values())
        return sum(sum(counter.values()) for counter in self.requests.values())

    def reset_counters(self) -> None:
        """Zero the request counters."""
        for counter in (*self.requests.values(), *self.unit_requests.values()):
            counter.clear()

    # --- state ----------------------------------------------------------------------------------------

    def device_state(self, device_id: str) -> dict[str, Any]:
        """One device as JSON-ready data."""
        image = self.image(device_id)
        device = image.device
        code = self.exceptions.get(device_id)
        return {
            "id": device.id,
            "name": device.name,
            "type": device.device_type.type,
            "gateway": device.gateway,
            "unit": device.unit,
            "building": device.building,
            "floor": device.floor,
            "enterprise": device.enterprise,
            "silenced": device_id in self.silenced,
            "exception": int(code) if code is not None else None,
            "bad_reply": self.bad_replies.get(device_id),
            "reply_delay": self.reply_delays.get(device_id),
            "values": image.values(),
        }

    def state(self, device_ids: Sequence[str] | None = None) -> dict[str, Any]:
        """The park as JSON-ready data: gateways with ports and status, devices with values."""
        return {
            "park": {"id": self.profile.id, "name": self.profile.name},
            "gateways": {
                gw: {"port": self.ports.get(gw), "up": self._servers.get(gw) is not None}
                for gw in self.profile.gateways
            },
            "devices": {
                d: self.device_state(d) for d in (device_ids if device_ids is not None else self.images)
            },
        }


def _garble(pdu: ModbusPDU, mode: str) -> None:
    """Make a read reply malformed in place (see :meth:`ParkSimulator.bad_reply`)."""
    if pdu.function_code not in _OTHER_READ:
        return
    if mode == "empty":
        pdu.bits, pdu.registers = [], []
    elif mode == "short":
        if pdu.function_code in (1, 2):
            pdu.bits = pdu.bits[: max(0, (len(pdu.bits) + 7) // 8 - 1) * 8]
        else:
            pdu.registers = pdu.registers[:-1]
    elif mode == "wrong_function":
        pdu.function_code = _OTHER_READ[pdu.function_code]


def _url_host(host: str) -> str:
    """A host to put in a URL for a bind address (a wildcard bind is reachable on loopback)."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def simulator_for_enterprises(enterprises: int, **kwargs: Any) -> ParkSimulator:
    """A simulator of a reference park of ``enterprises`` enterprises (see :mod:`simulator.reference`)."""
    from custom_components.smart_park.engine.profile import parse_profile

    from .reference import reference_profile

    return ParkSimulator(parse_profile(reference_profile(enterprises)), **kwargs)
