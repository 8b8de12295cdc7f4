"""Constants of the Smart Park integration."""

from __future__ import annotations

import logging
from typing import Final

from .engine import modbus as _modbus
from .engine import profile as _profile
from .engine.catalogue import Tier

DOMAIN: Final = "smart_park"
LOGGER = logging.getLogger(__package__)

CONF_PROFILE: Final = "profile"
CONF_PROFILE_YAML: Final = "profile_yaml"
CONF_PROFILE_PATH: Final = "profile_path"
CONF_MAX_GAP: Final = "max_gap"
CONF_OFFLINE_THRESHOLD: Final = "offline_threshold"
CONF_OFFLINE_RETRY: Final = "offline_retry"
CONF_AUDIT_SIZE: Final = "audit_size"
# Fire-bell linkage options (see linkage/).
CONF_LINKAGE_SCOPE: Final = "linkage_scope"
CONF_LINKAGE_CONFIRMATION: Final = "linkage_confirmation"
CONF_LINKAGE_TRIGGERS: Final = "linkage_triggers"
CONF_LINKAGE_PIN_HASH: Final = "linkage_pin_hash"
CONF_LINKAGE_TEST_DURATION: Final = "linkage_test_duration"
# Emergency broadcast options: bells/message alternation in a fire alarm (broadcast/alternation.py).
CONF_BROADCAST_ALTERNATION: Final = "broadcast_alternation"
CONF_BROADCAST_BELL_SECONDS: Final = "broadcast_bell_seconds"
CONF_BROADCAST_MESSAGE_REPEATS: Final = "broadcast_message_repeats"
CONF_BROADCAST_EVACUATION_SLOT: Final = "broadcast_evacuation_slot"
# Options key of each tier's poll interval, in seconds.
CONF_INTERVAL: Final[dict[Tier, str]] = {
    Tier.SAFETY: "safety_interval",
    Tier.FAST: "fast_interval",
    Tier.NORMAL: "normal_interval",
    Tier.SLOW: "slow_interval",
}

DEFAULT_PORT: Final = 502
# The engine (it runs without HA) owns the default gateway id, max gap and offline retry; aliased here.
DEFAULT_GATEWAY_ID: Final = _profile.DEFAULT_GATEWAY_ID
DEFAULT_INTERVAL: Final[dict[Tier, float]] = {
    Tier.SAFETY: 0.1,
    Tier.FAST: 0.25,
    Tier.NORMAL: 5.0,
    Tier.SLOW: 60.0,
}
MIN_INTERVAL: Final = 0.1
DEFAULT_MAX_GAP: Final = _modbus.DEFAULT_MAX_GAP
MAX_MAX_GAP: Final = 100
DEFAULT_OFFLINE_THRESHOLD: Final = 300.0
DEFAULT_OFFLINE_RETRY: Final = _modbus.DEFAULT_OFFLINE_RETRY
DEFAULT_AUDIT_SIZE: Final = 10000
DEFAULT_LINKAGE_SCOPE: Final = "building"
DEFAULT_LINKAGE_CONFIRMATION: Final = "single"
DEFAULT_LINKAGE_TEST_DURATION: Final = 10.0
# GB 50116-2013 §4.8.6/§4.8.9: bells 8-20 s, then the evacuation message once or twice.
DEFAULT_BROADCAST_BELL_SECONDS: Final = 10.0
DEFAULT_BROADCAST_MESSAGE_REPEATS: Final = 2
DEFAULT_BROADCAST_EVACUATION_SLOT: Final = 1

# Zeroconf TXT properties of a park gateway's advert.
TXT_PARK_ID: Final = "park_id"
TXT_PARK_NAME: Final = "park_name"
TXT_GATEWAY: Final = "gateway"
TXT_PROFILE_URL: Final = "profile_url"

# Personal and secret data never leaves diagnostics unredacted.
TO_REDACT: Final = frozenset(
    {
        "contact",
        "contact_name",
        "contact_phone",
        "volunteer_name",
        "phone",
        "mobile",
        "email",
        "uscc",
        "id_number",
        "token",
        "access_token",
        "password",
        "pin",
        "linkage_pin_hash",
        "secret",
        "api_key",
    }
)
