"""The zeroconf advert: one _smartpark._tcp service per gateway, on loopback."""

from __future__ import annotations

import asyncio
import socket

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from custom_components.smart_park.engine.profile import parse_profile
from simulator.advertise import SERVICE_TYPE, build_service_info, instance_name
from tests.conftest import SimulatorFactory

from .common import every_type_profile


def test_service_info() -> None:
    profile = parse_profile(every_type_profile())
    info = build_service_info(profile, "gw2", 5021, "http://127.0.0.1:8780")
    assert info.type == SERVICE_TYPE
    assert info.name == f"Test Park gw2.{SERVICE_TYPE}"
    assert info.port == 5021
    assert info.addresses == [socket.inet_aton("127.0.0.1")]
    assert info.decoded_properties == {
        "park_id": "testpark",
        "park_name": "Test Park",
        "gateway": "gw2",
        "version": "1",
        "profile_url": "http://127.0.0.1:8780/api/profile",
    }
    assert "profile_url" not in build_service_info(profile, "gw1", 1, None).decoded_properties


def test_instance_name_fits_63_bytes() -> None:
    name = instance_name("智峰小微园" * 10, "gw12")
    assert len(name.encode()) <= 63
    assert name.endswith(" gw12")
    assert name.startswith("智峰小微园")


async def test_advert_found_on_loopback(park_simulator: SimulatorFactory) -> None:
    """A zeroconf browser bound to 127.0.0.1 resolves both gateways of a running simulator."""
    sim = await park_simulator(every_type_profile(), zeroconf=True, control_port=0)
    found: dict[str, AsyncServiceInfo] = {}
    browser_zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    names: asyncio.Queue[str] = asyncio.Queue()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Added:
            names.put_nowait(name)

    browser = AsyncServiceBrowser(browser_zc.zeroconf, SERVICE_TYPE, handlers=[on_change])
    try:
        while len(found) < 2:
            name = await asyncio.wait_for(names.get(), 5)
            info = AsyncServiceInfo(SERVICE_TYPE, name)
            assert await info.async_request(browser_zc.zeroconf, 3000)
            # Other parks may advertise on this host too (a running demo): keep this simulator's only.
            if info.decoded_properties["park_id"] == sim.profile.id and info.port in sim.ports.values():
                found[info.decoded_properties["gateway"] or ""] = info
    finally:
        await browser.async_cancel()
        await browser_zc.async_close()
    assert {gw: info.port for gw, info in found.items()} == sim.ports
    assert found["gw1"].decoded_properties["profile_url"] == f"{sim.control_url}/api/profile"
    assert found["gw1"].parsed_addresses() == ["127.0.0.1"]
