"""Fake companion-app phones against the test hass: real mobile_app, real HTTP over loopback TCP.

``phone_factory(hass, aiohttp_client)`` (an async context) sets up mobile_app, serves ``hass.http.app`` on
an ephemeral 127.0.0.1 port (HA's own server start is disabled in tests) and makes phones; each phone gets
its own HA user and access token unless one is given. Everything is closed when the context ends. The
``phone_factory`` fixture in conftest.py wraps it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from homeassistant.auth.const import GROUP_ID_ADMIN, GROUP_ID_USER
from homeassistant.auth.models import User
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import slugify
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from demo.hass import without_voice_libraries
from simulator.phone import FakePhone, RelayMode

CLIENT_ID = "https://home-assistant.io/android"  # the companion app's OAuth client id


async def create_user(hass: HomeAssistant, name: str, *, admin: bool = False) -> tuple[User, str]:
    """An HA user and an access token for it (as after the app's login)."""
    user = await hass.auth.async_create_user(name, group_ids=[GROUP_ID_ADMIN if admin else GROUP_ID_USER])
    refresh_token = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    return user, hass.auth.async_create_access_token(refresh_token)


@dataclass
class PhoneFactory:
    """``await factory("name", relay=True, local_push=False, confirm=True, user=None, ...)`` -> a phone."""

    hass: HomeAssistant
    base_url: str
    phones: list[FakePhone] = field(default_factory=list)

    async def __call__(
        self,
        device_name: str,
        *,
        user: tuple[User, str] | None = None,
        admin: bool = False,
        relay: bool = True,
        local_push: bool = False,
        confirm: bool = True,
        relay_mode: RelayMode = RelayMode.OK,
    ) -> FakePhone:
        """Register a phone (for ``user``, a (user, token) pair; else a new user named like the phone).

        ``local_push``: also open its websocket local push channel (``confirm`` as in
        :meth:`FakePhone.connect_local_push`). Waits until HA has set the registration up.
        """
        _, token = user if user is not None else await create_user(self.hass, device_name, admin=admin)
        phone = FakePhone(relay_mode=relay_mode)
        self.phones.append(phone)
        await phone.register(self.base_url, token, device_name=device_name, relay=relay)
        await self.hass.async_block_till_done()
        if local_push:
            await phone.connect_local_push(confirm=confirm)
        return phone


@contextlib.asynccontextmanager
async def phone_factory(
    hass: HomeAssistant, aiohttp_client: ClientSessionGenerator
) -> AsyncIterator[PhoneFactory]:
    """Set up mobile_app, serve HA over loopback TCP, and yield the factory; close every phone after."""
    without_voice_libraries()  # mobile_app imports them (through cloud); see demo/hass.py
    # Loaded in a real HA (default_config): auth and config's websocket commands tell the phone its user
    # and HA device id.
    for domain in ("auth", "config"):
        assert await async_setup_component(hass, domain, {})
    assert await async_setup_component(hass, "mobile_app", {})
    await hass.async_block_till_done()
    client = await aiohttp_client(hass.http.app)
    factory = PhoneFactory(hass, str(client.make_url("")).rstrip("/"))
    try:
        yield factory
    finally:
        for phone in factory.phones:
            await phone.close()
        await hass.async_block_till_done()


def notify_service(phone: FakePhone) -> str:
    """The name of the phone's legacy notify action: ``notify.<this>`` (mobile_app_<slug of the name>)."""
    return f"mobile_app_{slugify(phone.device_name)}"
