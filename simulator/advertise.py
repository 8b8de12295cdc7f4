"""Zeroconf advert: one ``_smartpark._tcp`` service per gateway, on loopback only."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

if TYPE_CHECKING:
    from custom_components.smart_park.engine.profile import ParkProfile

    from .server import ParkSimulator

SERVICE_TYPE = "_smartpark._tcp.local."
ADVERT_ADDRESS = "127.0.0.1"
# DNS-SD instance names are at most 63 bytes of UTF-8.
_MAX_INSTANCE_BYTES = 63


def instance_name(park_name: str, gateway_id: str) -> str:
    """``<park name> <gateway id>``, the park name shortened (on a character boundary) to fit 63 bytes."""
    suffix = f" {gateway_id}"
    room = _MAX_INSTANCE_BYTES - len(suffix.encode())
    name = park_name.encode()[: max(room, 0)].decode(errors="ignore")
    return f"{name}{suffix}"


def build_service_info(
    profile: ParkProfile, gateway_id: str, port: int, control_url: str | None, address: str = ADVERT_ADDRESS
) -> AsyncServiceInfo:
    """The service record of one gateway."""
    properties = {
        "park_id": profile.id,
        "park_name": profile.name,
        "gateway": gateway_id,
        "version": "1",
    }
    if control_url:
        properties["profile_url"] = f"{control_url}/api/profile"
    return AsyncServiceInfo(
        SERVICE_TYPE,
        f"{instance_name(profile.name, gateway_id)}.{SERVICE_TYPE}",
        port=port,
        addresses=[socket.inet_aton(address)],
        properties=properties,
        server=f"smartpark-{profile.id}-{gateway_id}.local.".lower(),
    )


class Advertiser:
    """Registers the simulator's gateways with zeroconf, bound to loopback so nothing leaves the host."""

    def __init__(self, sim: ParkSimulator) -> None:
        self.sim = sim
        self.zeroconf: AsyncZeroconf | None = None
        self.infos: list[AsyncServiceInfo] = []

    async def start(self) -> None:
        """Register one service per gateway."""
        self.zeroconf = AsyncZeroconf(interfaces=[ADVERT_ADDRESS], ip_version=IPVersion.V4Only)
        broadcasts = []
        for gateway_id, port in self.sim.ports.items():
            info = build_service_info(self.sim.profile, gateway_id, port, self.sim.control_url)
            # allow_name_change: two simulators of the same park on one host must not fail to start.
            broadcasts.append(await self.zeroconf.async_register_service(info, allow_name_change=True))
            self.infos.append(info)
        # Wait for the announcements so no zeroconf task outlives start() unobserved.
        await asyncio.gather(*broadcasts)

    async def stop(self) -> None:
        """Unregister and close."""
        if self.zeroconf is None:
            return
        try:
            await self.zeroconf.async_unregister_all_services()
        finally:
            await self.zeroconf.async_close()
            self.zeroconf = None
            self.infos.clear()
