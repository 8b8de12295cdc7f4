"""The runtime data of a park entry, built once at the end of its set-up.

Two layers, so nothing is read before it exists: :class:`ParkPolls` is what the first polls leave (profile,
connections, coordinators) and is handed to the capabilities as they are set up; :class:`SmartParkData` adds
the capabilities themselves and becomes ``entry.runtime_data`` only once every one of them is set up, the
platforms' way in. Every field is required: an unset one is a type error, not an AttributeError at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:  # annotations only: the capabilities import this module for the entry type
    from .audit import AuditLog
    from .broadcast import BroadcastManager
    from .coordinator import OfflineIssues, PollKey, SmartParkCoordinator
    from .engine.modbus import GatewayClient, GatewayPoller
    from .engine.profile import ParkProfile
    from .enterprises import EnterpriseRegistry
    from .incidents import IncidentManager, OneKeyAlarms
    from .inspections import InspectionLists
    from .linkage import FireLinkage
    from .patrols import PatrolManager
    from .volunteers import VolunteerTeam


@dataclass(kw_only=True)
class ParkPolls:
    """The park's profile, gateway connections and coordinators, after their first polls."""

    profile: ParkProfile
    clients: dict[str, GatewayClient]
    pollers: dict[str, GatewayPoller]
    coordinators: dict[PollKey, SmartParkCoordinator]
    issues: OfflineIssues


@dataclass(kw_only=True)
class SmartParkData(ParkPolls):
    """Runtime data of a park entry: the polls plus every capability."""

    audit: AuditLog
    enterprises: EnterpriseRegistry
    incidents: IncidentManager
    one_key: OneKeyAlarms
    linkage: FireLinkage
    broadcast: BroadcastManager
    patrols: PatrolManager
    inspections: InspectionLists
    volunteers: VolunteerTeam


type SmartParkConfigEntry = ConfigEntry[SmartParkData]
