"""Who may command the fire-bell linkage: HA administrators, or anyone with the park's operator PIN.

The PIN is stored only as a salted scrypt hash in the entry's options. Wrong PINs lock PIN entry for a while
(admins are never locked out: they need no PIN). A refusal is returned as its reason, a translation key suffix
(``linkage_<reason>``); the manager audits it and raises the translated error.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Final

from homeassistant.core import Context, HomeAssistant

PIN_ATTEMPTS: Final = 5
PIN_LOCKOUT: Final = 300.0  # seconds a burst of PIN_ATTEMPTS wrong PINs blocks PIN entry


def hash_pin(pin: str) -> str:
    """Salted scrypt hash of a PIN, as stored in the options."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches a :func:`hash_pin` value (constant-time compare)."""
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)


@dataclass(slots=True)
class PinGuard:
    """Checks operator credentials for one park and counts recent wrong PINs (monotonic times)."""

    pin_hash: str | None
    failures: list[float] = field(default_factory=list)

    async def async_refusal(
        self, hass: HomeAssistant, context: Context | None, pin: str | None
    ) -> str | None:
        """None when the caller may command the linkage, else the reason for refusing."""
        if context is not None and context.user_id:
            user = await hass.auth.async_get_user(context.user_id)
            if user is not None and user.is_admin:
                return None
        if pin is None:
            return "admin_or_pin_required" if self.pin_hash else "admin_required"
        if self.pin_hash is None:
            return "no_pin_configured"
        now = time.monotonic()
        self.failures = [t for t in self.failures if now - t < PIN_LOCKOUT]
        if len(self.failures) >= PIN_ATTEMPTS:
            return "pin_locked"
        # scrypt takes tens of milliseconds: off the event loop.
        if not await hass.async_add_executor_job(verify_pin, pin, self.pin_hash):
            self.failures.append(now)
            return "wrong_pin"
        self.failures.clear()
        return None
