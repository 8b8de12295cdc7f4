"""The demo's volunteer team: three HA users, each with a fake companion-app phone, set up with set_volunteer.

Each volunteer logs in as the app does (HA's login flow, their own user), registers a :class:`FakePhone`
with mobile_app and, for local push, keeps the websocket channel open; the duty room's admin then makes them
volunteers with ``smart_park.set_volunteer``. The phones live in the demo's process; what they receive goes
to ``demo/run/phones.json`` for ``python -m simulator.phonectl`` (no token in it: the webhook needs none).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from simulator import phonectl
from simulator.phone import FakePhone


@dataclass(frozen=True)
class Member:
    """One volunteer of the demo and how their phone is reached."""

    name: str
    username: str
    role: str
    relay: bool  # the app's full build (Firebase relay): a push_url
    local_push: bool  # persistent connection on: the websocket local push channel
    leads_first_building: bool = False

    @property
    def paths(self) -> str:
        return " + ".join(p for p, on in (("local push", self.local_push), ("relay", self.relay)) if on)


TEAM = (
    # The full build with the persistent connection: local push, the relay when a push is not confirmed.
    Member("王伟", "wangwei", "captain", relay=True, local_push=True),
    # The build without Google services, common in China: local push only.
    Member("李娜", "lina", "building_leader", relay=False, local_push=True, leads_first_building=True),
    # Persistent connection off: the relay only.
    Member("陈刚", "chengang", "volunteer", relay=True, local_push=False),
)


class DemoVolunteerError(Exception):
    """HA refused a step of setting up the team."""


class Team:
    """The team's phones, kept in the demo's process; their state file follows every notification."""

    def __init__(self, ha_url: str, state: Path) -> None:
        self.ha_url = ha_url
        self.state = state
        self.members: list[tuple[Member, FakePhone]] = []

    def save(self, *_: object) -> None:
        records = [phonectl.phone_record(m.name, phone, role=m.role) for m, phone in self.members]
        phonectl.write_state(self.state, self.ha_url, records)

    async def start(
        self, session: aiohttp.ClientSession, admin_token: str, client_id: str, building: str
    ) -> None:
        """Create the users, register and connect their phones, make them volunteers (closed on failure)."""
        try:
            await self._start(session, admin_token, client_id, building)
        except BaseException:
            await self.close()
            raise

    async def _start(
        self, session: aiohttp.ClientSession, admin_token: str, client_id: str, building: str
    ) -> None:
        for member in TEAM:
            password = secrets.token_urlsafe(16)  # nobody logs in as them but their phone, once
            created = await _ws_call(
                session,
                self.ha_url,
                admin_token,
                {"type": "config/auth/create", "name": member.name, "group_ids": ["system-users"]},
            )
            await _ws_call(
                session,
                self.ha_url,
                admin_token,
                {
                    "type": "config/auth_provider/homeassistant/create",
                    "user_id": created["user"]["id"],
                    "username": member.username,
                    "password": password,
                },
            )
            token = await _login(session, self.ha_url, client_id, member.username, password)
            phone = FakePhone(on_notification=self.save)
            self.members.append((member, phone))
            await phone.register(
                self.ha_url,
                token,
                device_name=f"{member.name}的手机",
                relay=member.relay,
                local_push=member.local_push,
            )
            if member.local_push:
                await phone.connect_local_push(confirm=True)
            volunteer: dict[str, Any] = {
                "user_id": phone.user_id,
                "name": member.name,
                "role": member.role,
                "language": "zh-Hans",
            }
            if member.leads_first_building:
                volunteer["building"] = building
            await _ws_call(
                session,
                self.ha_url,
                admin_token,
                {
                    "type": "call_service",
                    "domain": "smart_park",
                    "service": "set_volunteer",
                    "service_data": volunteer,
                },
            )
        self.save()

    async def close(self) -> None:
        for _, phone in self.members:
            await phone.close()


async def _ws_call(session: aiohttp.ClientSession, ha_url: str, token: str, command: dict[str, Any]) -> Any:
    """One websocket command as ``token``'s user; its result."""
    async with session.ws_connect(f"{ha_url}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise DemoVolunteerError("HA refused the admin token")
        await ws.send_json({"id": 1, **command})
        reply = await ws.receive_json()
    if not reply.get("success"):
        raise DemoVolunteerError(f"{command['type']} failed: {reply.get('error')}")
    return reply.get("result")


async def _login(
    session: aiohttp.ClientSession, ha_url: str, client_id: str, username: str, password: str
) -> str:
    """Log in as the app does (HA's login flow with the user's password): an access token."""
    async with session.post(
        f"{ha_url}/auth/login_flow",
        json={"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id},
    ) as resp:
        flow = await resp.json()
    async with session.post(
        f"{ha_url}/auth/login_flow/{flow['flow_id']}",
        json={"client_id": client_id, "username": username, "password": password},
    ) as resp:
        result = await resp.json()
    if result.get("type") != "create_entry":
        raise DemoVolunteerError(f"HA refused the login of {username}: {result.get('errors')}")
    async with session.post(
        f"{ha_url}/auth/token",
        data={"grant_type": "authorization_code", "code": result["result"], "client_id": client_id},
    ) as resp:
        resp.raise_for_status()
        token: str = (await resp.json())["access_token"]
    return token
