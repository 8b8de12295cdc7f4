"""Coordinators: one per gateway and poll tier, fed by the Modbus engine's poller."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .data import SmartParkConfigEntry, SmartParkData
from .engine.catalogue import Tier
from .engine.modbus import DeviceReading, GatewayOfflineError, GatewayPoller
from .engine.profile import ParkProfile
from .repairs import RepairIssues

# Tiers that carry safety inputs (call points; one-key, gas and smoke alarms).
SAFETY_INPUT_TIERS = frozenset({Tier.SAFETY, Tier.FAST})

# The entry type's old home: files not yet moved to ``.data`` import it from here.
__all__ = [
    "OfflineIssues",
    "PollKey",
    "ReadingsHook",
    "SmartParkConfigEntry",
    "SmartParkCoordinator",
    "SmartParkData",
]


class OfflineIssues:
    """A repair issue for a gateway or device offline longer than the threshold, removed on recovery.

    Shared by all coordinators of an entry: a device polled in two tiers must raise one issue, not two.
    """

    def __init__(self, repairs: RepairIssues, profile: ParkProfile, threshold: float) -> None:
        self.repairs = repairs
        self.profile = profile
        self.threshold = timedelta(seconds=threshold)
        self.gateway_offline_since: dict[str, datetime] = {}

    def _issue_id(self, kind: str, object_id: str) -> str:
        return f"{self.profile.id}_{kind}_{object_id}_offline"

    @callback
    def gateway_offline(self, gateway_id: str) -> None:
        """Record a failed poll of a gateway."""
        since = self.gateway_offline_since.setdefault(gateway_id, dt_util.utcnow())
        gateway = self.profile.gateways[gateway_id]
        where = gateway.serial_port if gateway.protocol == "rtu" else f"{gateway.host}:{gateway.port}"
        self._raise_if_due(
            self._issue_id("gateway", gateway_id),
            "gateway_offline",
            since,
            {"gateway": gateway.name, "address": where or "?"},
        )

    @callback
    def gateway_online(self, gateway_id: str, readings: dict[str, DeviceReading]) -> None:
        """Record a successful poll: clear the gateway's issue and check its devices."""
        if self.gateway_offline_since.pop(gateway_id, None) is not None:
            self.repairs.delete(self._issue_id("gateway", gateway_id))
        for device_id, reading in readings.items():
            issue_id = self._issue_id("device", device_id)
            if reading.available or reading.offline_since is None:
                self.repairs.delete(issue_id)
                continue
            device = self.profile.devices[device_id]
            self._raise_if_due(
                issue_id,
                "device_offline",
                reading.offline_since,
                {"device": device.name, "gateway": device.gateway, "unit": str(device.unit)},
            )

    def _raise_if_due(self, issue_id: str, key: str, since: datetime, placeholders: dict[str, str]) -> None:
        if self.repairs.is_raised(issue_id) or dt_util.utcnow() - since < self.threshold:
            return
        self.repairs.create(
            issue_id,
            key,
            severity=ir.IssueSeverity.ERROR,
            placeholders={**placeholders, "since": dt_util.as_local(since).isoformat(timespec="seconds")},
        )


# A coordinator: (gateway id, tier).
type PollKey = tuple[str, Tier]
type ReadingsHook = Callable[[str, Tier, dict[str, DeviceReading]], Awaitable[None]]

# How long a stopping poll may take to end after its cancellation, before its connection is closed (and
# again after that). A request is cancelled at once; this only bounds a library that swallows it.
STOP_GRACE = 0.5


async def _async_wait(task: asyncio.Task[None], timeout: float) -> bool:
    """Wait for ``task`` to end, at most ``timeout`` s; True when it did. Does not cancel it."""
    done, _pending = await asyncio.wait({task}, timeout=timeout)
    return bool(done)


class SmartParkCoordinator(DataUpdateCoordinator[dict[str, DeviceReading]]):
    """Polls one tier of one gateway; data is device id -> reading.

    The coordinator runs its own fixed-rate loop (:meth:`async_start`) instead of HA's ``update_interval``:
    HA schedules refreshes on whole seconds plus an offset, so a 0.1 s or 0.25 s interval would in fact poll
    back to back for part of each second and not at all for the rest. Hooks (the fire-bell linkage, the
    one-key alarms) run inside the poll, in the same task that read the inputs, before entities are told.
    """

    config_entry: SmartParkConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartParkConfigEntry,
        *,
        poller: GatewayPoller,
        gateway_id: str,
        tier: Tier,
        interval: float,
        issues: OfflineIssues,
    ) -> None:
        """Initialise the coordinator."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{entry.title} {gateway_id} {tier}",
            update_interval=None,
            # Readings compare by value: unchanged polls (most fast-tier polls) write no states.
            always_update=False,
        )
        self.poller = poller
        self.gateway_id = gateway_id
        self.tier = tier
        self.interval = interval
        self.hooks: list[ReadingsHook] = []
        # Hooks told of one changed device at once, inside the poll (the linkage on the safety tier): they
        # take a reading dict of that device alone, and the whole poll's dict again at its end.
        self.early_hooks: list[ReadingsHook] = []
        # When the running (or last) poll started: hooks use it to ignore read-backs older than their writes.
        self.poll_started = 0.0
        self._loop_task: asyncio.Task[None] | None = None
        self._issues = issues

    def async_start(self) -> None:
        """Start polling at a fixed rate until the entry unloads."""
        self._loop_task = self.config_entry.async_create_background_task(
            self.hass, self._async_poll_loop(), f"{DOMAIN} poll {self.gateway_id} {self.tier}"
        )

    async def async_stop(self) -> None:
        """Stop the loop and wait, bounded, for a running poll to end (before the connections close).

        Never waits forever: unload, reload and HA's shutdown run through here, and a hung stop leaves the
        entry in ``unload_in_progress`` with no linkage at all. A poll that does not end on cancellation
        within :data:`STOP_GRACE` has its gateway connection closed, which ends any request. The caller's
        own cancellation propagates.
        """
        task, self._loop_task = self._loop_task, None
        if task is not None and not task.done():
            task.cancel()
            if not await _async_wait(task, STOP_GRACE):
                LOGGER.warning(
                    "Poll %s did not stop within %s s: closing its gateway connection", self.name, STOP_GRACE
                )
                self.poller.client.disconnect()
                task.cancel()
                if not await _async_wait(task, STOP_GRACE):
                    LOGGER.error("Poll %s is still running; leaving it behind", self.name)
        if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
            LOGGER.error("Poll %s had ended with an error", self.name, exc_info=task.exception())
        await self.async_shutdown()

    async def _async_poll_loop(self) -> None:
        loop = asyncio.get_running_loop()
        # The set-up's first refresh ran before the hooks were attached: a safety-input tier with hooks (the
        # linkage, alarms) polls again at once, or a call point pressed during a reload waits one more
        # interval. Measurement tiers keep their period (a meter's hook counts consumption, not alarms).
        urgent = self.hooks and self.tier in SAFETY_INPUT_TIERS
        due = loop.time() + (0.0 if urgent else self.interval)
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            await self.async_refresh()
            # Fixed rate at the period the bus scheduler keeps (the configured one unless the bus is short
            # of time); after an overrun start again now rather than bursting to catch up.
            due = max(due + self.poller.period(self.tier), loop.time())

    async def _async_update_data(self) -> dict[str, DeviceReading]:
        """Poll the tier."""
        self.poll_started = time.monotonic()
        try:
            readings = await self.poller.async_poll(
                self.tier, self._async_early if self.early_hooks else None
            )
        except GatewayOfflineError as err:
            self._issues.gateway_offline(self.gateway_id)
            # Hooks learn that every device of the tier is unreachable (the linkage shows a fault).
            await self._async_run_hooks(
                {device_id: DeviceReading(False, error=str(err)) for device_id in self.poller.plan(self.tier)}
            )
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="gateway_offline",
                translation_placeholders={"gateway": self.gateway_id, "error": str(err)},
            ) from err
        self._issues.gateway_online(self.gateway_id, readings)
        await self._async_run_hooks(readings)
        return readings

    async def _async_early(self, device_id: str, reading: DeviceReading) -> None:
        for hook in self.early_hooks:
            try:
                await hook(self.gateway_id, self.tier, {device_id: reading})
            except Exception:
                LOGGER.exception("Error handling an early %s reading of %s", self.tier, device_id)

    async def _async_run_hooks(self, readings: dict[str, DeviceReading]) -> None:
        for hook in self.hooks:
            try:
                await hook(self.gateway_id, self.tier, readings)
            except Exception:
                # A fault in one capability must not blind the entities of the others.
                LOGGER.exception("Error handling %s readings of gateway %s", self.tier, self.gateway_id)
