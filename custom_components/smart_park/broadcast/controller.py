"""The broadcast controller's protocol: Modbus writes and status reads, audio URLs over its HTTP API.

``docs/broadcast-protocol.md`` describes the registers and ``PUT /audio``. :func:`take_reading` decodes the
coordinators' polls; :class:`ControllerIO` writes (verified by read-back, the command last), confirms a play
with a status read, hands URL messages out as tickets first, and plays or stops a broadcast on all its
controllers at once, failing only when none of them plays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..const import LOGGER
from ..engine.catalogue import Point, Table
from ..engine.modbus import PRIORITY, DeviceReading, GatewayClient, ModbusError
from ..errors import failed, invalid
from .model import ATTR_MESSAGE, Broadcast, BroadcastController, MessageKind

if TYPE_CHECKING:
    from ..data import ParkPolls

CMD_STOP, CMD_PRESET, CMD_URL = 0, 1, 2
STATUS_KEYS: Final = ("play_state", "current_message", "active_zones", "fetch_status")
HTTP_TIMEOUT: Final = 5.0


def take_reading(controller: BroadcastController, reading: DeviceReading) -> bool:
    """Take one tier's reading of a controller; True when what entities show changed."""
    before = (
        controller.online,
        controller.playing,
        controller.active_zones,
        dict(controller.volumes),
        controller.amplifier_fault,
    )
    controller.online = reading.available
    if reading.available:
        values = reading.values
        if "play_state" in values:
            # Decoded through the enum options: anything but idle (even an unknown state) is playing.
            controller.playing = values["play_state"] not in ("idle", 0)
        for key in ("current_message", "active_zones", "fetch_status"):
            if isinstance(values.get(key), int | float):
                setattr(controller, key, int(values[key]))
        for number in controller.zones:
            if isinstance(volume := values.get(f"zone_volume_{number}"), int | float):
                controller.volumes[number] = int(volume)
        if "amplifier_fault" in values:
            controller.amplifier_fault = bool(values["amplifier_fault"])
    return before != (
        controller.online,
        controller.playing,
        controller.active_zones,
        controller.volumes,
        controller.amplifier_fault,
    )


class ControllerIO:
    """Talks to one park's broadcast controllers through their gateways' clients."""

    def __init__(
        self, hass: HomeAssistant, polls: ParkPolls, controllers: Mapping[str, BroadcastController]
    ) -> None:
        self.hass = hass
        self.polls = polls
        self.controllers = controllers

    def _client_of(self, controller: BroadcastController) -> GatewayClient:
        return self.polls.pollers[controller.device.gateway].client

    async def async_write(self, controller: BroadcastController, values: Mapping[str, int]) -> None:
        """Write holding registers by key, contiguous runs in one request each, the command last."""
        points = sorted(
            (controller.points[key] for key in values if key in controller.points), key=lambda p: p.address
        )
        runs: list[list[Point]] = []
        for point in points:
            if runs and runs[-1][-1].end == point.address:
                runs[-1].append(point)
            else:
                runs.append([point])
        runs.sort(key=lambda run: any(p.key == "command" for p in run))
        client = self._client_of(controller)
        for run in runs:
            await client.async_write_registers(
                controller.device.unit, run[0].address, [int(values[p.key]) for p in run], verify=True
            )

    async def async_read_status(self, controller: BroadcastController) -> None:
        """Read play state, message, zones and fetch status now (one request)."""
        points = [controller.points[key] for key in STATUS_KEYS if key in controller.points]
        if not points:
            return
        start = min(p.address for p in points)
        count = max(p.end for p in points) - start
        data = await self._client_of(controller).async_read(
            controller.device.unit, Table.INPUT_REGISTER, start, count, priority=PRIORITY["write"]
        )
        raw = {p.key: int(data[p.address - start]) for p in points}
        controller.online = True
        controller.playing = raw.get("play_state", 0) != 0
        controller.current_message = raw.get("current_message", 0)
        controller.active_zones = raw.get("active_zones", 0)
        controller.fetch_status = raw.get("fetch_status", 0)

    async def _async_http_base(self, controller: BroadcastController) -> str:
        """The controller's HTTP API: the gateway's host, the port it publishes in ``http_port``."""
        gateway = self.polls.profile.gateways[controller.device.gateway]
        point = controller.points.get("http_port")
        port = 0
        if point is not None and gateway.protocol == "tcp" and gateway.host:
            data = await self._client_of(controller).async_read(
                controller.device.unit, Table.INPUT_REGISTER, point.address, 1, priority=PRIORITY["write"]
            )
            port = int(data[0])
        if not port:
            raise invalid("broadcast_no_http", field=ATTR_MESSAGE, controller=controller.device.name)
        host = gateway.host or ""
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    async def _async_hand_url(self, controller: BroadcastController, url: str) -> int:
        """Tell the controller the audio URL (``PUT /audio``); returns its ticket."""
        base = await self._async_http_base(controller)
        session = async_get_clientsession(self.hass)
        try:
            async with session.put(
                f"{base}/audio", json={"url": url}, timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT)
            ) as response:
                body = await response.json(content_type=None)
                if response.status != 201 or not isinstance(body, dict) or "ticket" not in body:
                    raise invalid(
                        "broadcast_http_failed",
                        controller=controller.device.name,
                        error=f"HTTP {response.status}: {body}",
                    )
                return int(body["ticket"])
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise invalid(
                "broadcast_http_failed",
                controller=controller.device.name,
                error=str(err) or type(err).__name__,
            ) from err

    async def async_prepare(self, broadcast: Broadcast) -> None:
        """Hand a URL message to every controller first (tickets): a refusal there leaves everything as is."""
        broadcast.failed.clear()
        broadcast.tickets.clear()
        if broadcast.message.kind is not MessageKind.URL:
            return
        controllers = [self.controllers[cid] for cid in sorted(broadcast.controllers())]
        results = await asyncio.gather(
            *(self._async_hand_url(c, broadcast.message.url or "") for c in controllers),
            return_exceptions=True,
        )
        first_error: BaseException | None = None
        for controller, result in zip(controllers, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, ModbusError | HomeAssistantError):
                    raise result
                broadcast.failed[controller.id] = str(result)
                first_error = first_error or result
            else:
                broadcast.tickets[controller.id] = result
        if not broadcast.tickets:
            if isinstance(first_error, HomeAssistantError):
                raise first_error
            raise failed("broadcast_failed", error=first_error)

    async def _async_play_on(self, broadcast: Broadcast, controller: BroadcastController) -> None:
        """Start the message on one controller and confirm it plays."""
        if broadcast.message.kind is MessageKind.URL:
            slot = broadcast.tickets[controller.id]
            command = CMD_URL
        else:
            slot = broadcast.message.slots[controller.id]
            command = CMD_PRESET
        await self.async_write(
            controller,
            {
                "zone_mask": broadcast.mask(controller.id),
                "message_slot": slot,
                "command": command,
                "volume": broadcast.volume,
                "priority": int(broadcast.priority),
                "repeat_count": broadcast.repeat,
            },
        )
        await self.async_read_status(controller)
        if not controller.playing:
            raise invalid("broadcast_not_playing", controller=controller.device.name)

    async def async_play(self, broadcast: Broadcast) -> None:
        """Play on every controller at once (after :meth:`async_prepare`); fail only when none plays."""
        controllers = [
            self.controllers[cid] for cid in sorted(broadcast.controllers()) if cid not in broadcast.failed
        ]
        results = await asyncio.gather(
            *(self._async_play_on(broadcast, c) for c in controllers), return_exceptions=True
        )
        broadcast.playing = set()
        first_error: BaseException | None = None
        for controller, result in zip(controllers, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, ModbusError | HomeAssistantError):
                    raise result
                LOGGER.warning("Broadcast %s did not start on %s: %s", broadcast.id, controller.id, result)
                broadcast.failed[controller.id] = str(result)
                first_error = first_error or result
            else:
                broadcast.playing.add(controller.id)
        if not broadcast.playing:
            if isinstance(first_error, HomeAssistantError):
                raise first_error
            raise failed("broadcast_failed", error=first_error)

    async def async_stop_on(self, controller_ids: Iterable[str]) -> None:
        """Stop whatever plays on these controllers; a controller that does not answer is logged."""

        async def stop(controller: BroadcastController) -> None:
            try:
                await self.async_write(controller, {"command": CMD_STOP})
                await self.async_read_status(controller)
            except ModbusError as err:
                LOGGER.warning("Could not stop broadcast controller %s: %s", controller.id, err)

        await asyncio.gather(*(stop(self.controllers[cid]) for cid in controller_ids))
