"""Park profile: gateways, buildings, enterprises and devices, validated as one document.

Validation is all-or-nothing: :func:`parse_profile` either returns a complete :class:`ParkProfile` or raises
:class:`ProfileError` listing every problem, each with the path of the bad field, a translation code and its
placeholders. Nothing here touches HA, so the simulator, the demo and benchmarks share it.

This module is the entry point (:func:`load_yaml`, :func:`parse_profile`) and re-exports the model, so
importers use ``engine.profile`` only. The rest is split by concern: :mod:`.profile_model` (the dataclasses,
:class:`ProfileError`, the English messages), :mod:`.profile_schema` (each section's schema) and
:mod:`.profile_parse` (the section parsers and the issue collector).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import safe_yaml
from .profile_model import (
    ENGLISH,
    Building,
    Channel,
    Device,
    Enterprise,
    Gateway,
    ParkProfile,
    ProfileError,
    ProfileIssue,
)
from .profile_parse import (
    Collector,
    References,
    parse_buildings,
    parse_device_types,
    parse_devices,
    parse_document,
    parse_enterprises,
    parse_gateways,
)
from .profile_schema import CHANNEL_FUNCTIONS

__all__ = [
    "CHANNEL_FUNCTIONS",
    "DEFAULT_GATEWAY_ID",
    "ENGLISH",
    "MAX_PROFILE_BYTES",
    "Building",
    "Channel",
    "Device",
    "Enterprise",
    "Gateway",
    "ParkProfile",
    "ProfileError",
    "ProfileIssue",
    "load_yaml",
    "parse_profile",
]

# Pasted or fetched profile text beyond this is refused before parsing (a 1,000-enterprise park is 0.7 MB).
MAX_PROFILE_BYTES = 2 * 1024 * 1024
# Id of the gateway the config flow tested (host/port), used when the profile declares none; the flow's
# discovery and const.DEFAULT_GATEWAY_ID refer to it by this name.
DEFAULT_GATEWAY_ID = "gw1"


def load_yaml(text: str) -> Any:
    """Parse profile YAML text within the safe loader's limits; blocking (HA runs it in the executor)."""
    try:
        return safe_yaml.load(text, max_bytes=MAX_PROFILE_BYTES)
    except safe_yaml.YamlError as err:
        code = {"aliases": "yaml_aliases", "depth": "yaml_depth"}.get(err.code, err.code)
        raise ProfileError([ProfileIssue("$", code, err.placeholders)]) from None


def parse_profile(data: Any, default_gateway: Mapping[str, Any] | None = None) -> ParkProfile:
    """Validate a profile document and build the park; raise :class:`ProfileError` with every issue.

    ``default_gateway`` (from the config flow's tested host/port) is used as gateway
    :data:`DEFAULT_GATEWAY_ID` when the profile declares no gateway, and as the gateway of devices that name
    none. Sections are checked in order (device types, gateways, buildings, enterprises, devices), each
    adding its issues to one collector, so the error lists them in document order.
    """
    if isinstance(data, str):
        data = load_yaml(data)
    out = Collector()
    doc = parse_document(out, data)
    types = parse_device_types(out, doc["device_types"])
    raw_gateways = list(doc["gateways"])
    if not raw_gateways and default_gateway is not None:
        raw_gateways = [{"id": DEFAULT_GATEWAY_ID, **default_gateway}]
    gateways = parse_gateways(out, raw_gateways)
    buildings = parse_buildings(out, doc["buildings"])
    enterprises = parse_enterprises(out, doc["enterprises"], buildings)
    declared_gateways = [
        raw["id"] for raw in raw_gateways if isinstance(raw, Mapping) and isinstance(raw.get("id"), str)
    ]
    refs = References(types, declared_gateways, buildings, enterprises)
    devices = parse_devices(out, doc["devices"], refs)
    if out.issues:
        raise ProfileError(out.issues)
    park = doc["park"]
    return ParkProfile(
        id=park["id"],
        name=park["name"],
        gateways=gateways,
        buildings=buildings,
        enterprises=enterprises,
        devices=devices,
        device_types=types,
        raw=dict(data),
    )
