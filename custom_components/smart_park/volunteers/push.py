"""Reaching volunteers' phones through HA's ``mobile_app``: local push first, confirmed; the relay otherwise.

In mainland China the Android app's relay (Firebase) is generally unreachable, so the primary path is the
app's *local push* websocket channel (``mobile_app/push_notification_channel``): with ``support_confirm`` the
phone confirms each notification, and HA falls back to the relay after 10 s without a confirmation. HA keeps
that confirmation to itself and only logs relay failures, so this module is the one place that looks inside
``mobile_app``'s runtime data: it sends on the channel itself, learns the confirmation id the channel adds to
the message, and is told when the phone confirms (or when HA gives up and falls back). It posts to the relay
itself, as ``mobile_app`` does, because ``notify.mobile_app_<device>`` only logs a relay's refusal: a failed
notification must show as failed. The tests run the real ``mobile_app`` with a fake phone on loopback, so a
change of these internals fails them rather than the duty room.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

import aiohttp
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..const import LOGGER
from .model import Delivery

# mobile_app's names (its const module cannot be imported without PyNaCl; the values are its stable keys).
MOBILE_APP: Final = "mobile_app"
DATA_CONFIG_ENTRIES: Final = "config_entries"
DATA_PUSH_CHANNEL: Final = "push_channel"
CONFIRM_ID: Final = "hass_confirm_id"
RELAY_TIMEOUT: Final = 10.0  # as mobile_app's own relay call

type DeliveryCallback = Callable[[Delivery, str], None]  # (delivery, path) as it becomes known


@dataclass(frozen=True, slots=True)
class Phone:
    """One companion-app registration of a volunteer."""

    webhook_id: str
    device_id: str | None  # the device registry id (what a volunteer's ``devices`` names)
    name: str
    relay: bool  # the registration has a relay push URL
    local: bool  # its local push channel is connected now


def _registrations(hass: HomeAssistant) -> dict[str, Any]:
    data = hass.data.get(MOBILE_APP)
    return data.get(DATA_CONFIG_ENTRIES, {}) if isinstance(data, dict) else {}


def _channels(hass: HomeAssistant) -> dict[str, Any]:
    data = hass.data.get(MOBILE_APP)
    return data.get(DATA_PUSH_CHANNEL, {}) if isinstance(data, dict) else {}


def phones_of(hass: HomeAssistant, user_id: str, device_ids: Iterable[str] = ()) -> list[Phone]:
    """The user's registered phones, or only ``device_ids`` when given."""
    wanted = set(device_ids)
    registry = dr.async_get(hass)
    channels = _channels(hass)
    phones = []
    for webhook_id, config_entry in _registrations(hass).items():
        data = config_entry.data
        device = registry.async_get_device_by_identifier(
            (MOBILE_APP, data.get("device_id", "")), config_entry.entry_id
        )
        device_id = device.id if device else None
        if wanted:
            if device_id not in wanted:
                continue
        elif data.get("user_id") != user_id:
            continue
        phones.append(
            Phone(
                webhook_id=webhook_id,
                device_id=device_id,
                name=str(data.get("device_name", webhook_id)),
                relay=bool(data.get("app_data", {}).get("push_url")),
                local=webhook_id in channels,
            )
        )
    return phones


async def _async_relay(hass: HomeAssistant, phone: Phone, payload: dict[str, Any]) -> bool:
    """POST to the registration's relay URL as ``mobile_app`` does; True only when the relay accepted it.

    Not through ``notify.mobile_app_*``: that action only logs a relay's refusal or a timeout, and the duty
    room must see a failed notification as failed (the relay is generally unreachable in mainland China).
    """
    registration = _registrations(hass).get(phone.webhook_id)
    if registration is None or not phone.relay:
        return False
    data = registration.data
    app_data = data.get("app_data", {})
    if not app_data.get("push_url"):
        return False
    info = {key: data[key] for key in ("app_id", "app_version", "webhook_id", "os_version") if key in data}
    body = {
        **{key: value for key, value in payload.items() if key != CONFIRM_ID},
        "push_token": app_data.get("push_token"),
        "registration_info": info,
    }
    try:
        async with asyncio.timeout(RELAY_TIMEOUT):
            response = await async_get_clientsession(hass).post(app_data["push_url"], json=body)
            response.release()
    except (TimeoutError, aiohttp.ClientError) as err:
        LOGGER.warning("Relay push to a volunteer's phone failed: %s", type(err).__name__)
        return False
    if response.status not in (HTTPStatus.OK, HTTPStatus.CREATED, HTTPStatus.ACCEPTED):
        LOGGER.warning("Relay push to a volunteer's phone refused: HTTP %s", response.status)
        return False
    return True


@callback
def _send_local(
    hass: HomeAssistant, phone: Phone, payload: dict[str, Any], on_delivery: DeliveryCallback
) -> bool:
    """Send on the local push channel; ``on_delivery`` hears the confirmation or the fallback's outcome."""
    channel = _channels(hass).get(phone.webhook_id)
    if channel is None:
        return False
    message = dict(payload)

    async def fallback(data: dict[str, Any]) -> None:
        # HA gave up on the confirmation (10 s) and dropped the channel: the phone did not confirm.
        on_delivery(Delivery.PENDING, "local_unconfirmed")
        relayed = await _async_relay(hass, phone, data)
        on_delivery(
            Delivery.SENT if relayed else Delivery.FAILED, "relay" if relayed else "local_unconfirmed"
        )

    channel.async_send_notification(message, fallback)
    confirm_id = message.get(CONFIRM_ID)
    pending = channel.pending_confirms.get(confirm_id) if confirm_id else None
    if pending is None:
        # A channel without confirmations: handed over, nothing more will be known.
        on_delivery(Delivery.SENT, "local")
        return True
    cancel_timeout = pending["unsub_scheduled_push_failed"]

    def confirmed() -> None:
        cancel_timeout()
        on_delivery(Delivery.CONFIRMED, "local")

    pending["unsub_scheduled_push_failed"] = confirmed
    on_delivery(Delivery.PENDING, "local")
    return True


async def async_notify(
    hass: HomeAssistant, phones: Iterable[Phone], payload: dict[str, Any], on_delivery: DeliveryCallback
) -> bool:
    """Send ``payload`` to every phone (local first); False when no phone had a path.

    ``on_delivery`` may be called several times per phone as the delivery becomes known (pending, then
    confirmed; or sent through the relay after an unconfirmed local push).
    """
    reached = False
    for phone in phones:
        if _send_local(hass, phone, payload, on_delivery):
            reached = True
        elif await _async_relay(hass, phone, payload):
            on_delivery(Delivery.SENT, "relay")
            reached = True
    if not reached:
        on_delivery(Delivery.FAILED, "none")
    return reached


async def async_clear(hass: HomeAssistant, phones: Iterable[Phone], payload: dict[str, Any]) -> None:
    """Send a command (``clear_notification``) to every phone, confirmation not followed."""
    for phone in phones:
        if (channel := _channels(hass).get(phone.webhook_id)) is not None:

            async def relay(data: dict[str, Any], phone: Phone = phone) -> None:
                await _async_relay(hass, phone, data)

            channel.async_send_notification(dict(payload), relay)
        else:
            await _async_relay(hass, phone, payload)
