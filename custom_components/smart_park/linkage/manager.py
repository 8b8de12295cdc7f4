"""The fire-bell linkage of one park in HA: :class:`FireLinkage` and :func:`async_setup_linkage`.

:class:`FireLinkage` is :class:`.core.LinkageCore` (groups fed from the polls, bells driven, transitions
audited and persisted) plus the operator commands: silence, reset, disable, test and manual bells. They need
an HA admin or the configured PIN (:mod:`.auth`); a command for several groups is all or nothing, and every
command and refusal is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ServiceValidationError
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from ..audit import AuditLog, Outcome, source_of
from ..const import (
    CONF_LINKAGE_PIN_HASH,
    CONF_LINKAGE_TEST_DURATION,
    DEFAULT_LINKAGE_TEST_DURATION,
    DOMAIN,
)
from ..engine.profile import ProfileError
from ..errors import invalid
from ..incidents import IncidentManager
from ..repairs import RepairIssues
from .auth import PinGuard
from .core import LinkageCore
from .groups import GroupRuntime
from .state import LinkageGroup, LinkageRefused, Transition

if TYPE_CHECKING:
    from ..data import ParkPolls, SmartParkConfigEntry

# What a command does to one group's state machine: (machine, now, user id) -> its transitions.
type Apply = Callable[[LinkageGroup, datetime, str | None], list[Transition]]


class FireLinkage(LinkageCore):
    """Every linkage group of one park, with the commands people give it."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartParkConfigEntry,
        polls: ParkPolls,
        *,
        incidents: IncidentManager,
        audit: AuditLog,
        repairs: RepairIssues,
    ) -> None:
        super().__init__(hass, entry, polls, incidents=incidents, audit=audit, repairs=repairs)
        options = entry.options
        self.test_duration = float(options.get(CONF_LINKAGE_TEST_DURATION, DEFAULT_LINKAGE_TEST_DURATION))
        self._pins = PinGuard(options.get(CONF_LINKAGE_PIN_HASH))
        self._test_timer: CALLBACK_TYPE | None = None

    @property
    def pin_hash(self) -> str | None:
        """The stored hash of the operator PIN, None when no PIN is configured."""
        return self._pins.pin_hash

    @callback
    def async_stop(self) -> None:
        """Stop the test timer (on unload); the bells stay as they are."""
        if self._test_timer is not None:
            self._test_timer()
            self._test_timer = None

    # --- authorisation --------------------------------------------------------------------------------

    def _refuse(
        self,
        target_group: GroupRuntime | None,
        command: str,
        reason: str,
        context: Context | None,
        **placeholders: str,
    ) -> ServiceValidationError:
        self._audit(
            target_group,
            command,
            source_of(context),
            Outcome.REFUSED,
            context=context,
            reason=reason,
            **placeholders,
        )
        return invalid(f"linkage_{reason}", command=command, **placeholders)

    async def async_authorise(
        self, command: str, group: GroupRuntime | None, context: Context | None, pin: str | None
    ) -> None:
        """Allow HA admins, or anyone with the right PIN; audit and raise a translated refusal otherwise."""
        if (reason := await self._pins.async_refusal(self.hass, context, pin)) is not None:
            raise self._refuse(group, command, reason, context)

    def resolve_groups(
        self, group_id: str | None, command: str, context: Context | None
    ) -> list[GroupRuntime]:
        """The named group, or every group; a translated error for an unknown one."""
        if group_id is None:
            return list(self.groups.values())
        if group_id not in self.groups:
            raise self._refuse(
                None, command, "unknown_group", context, group=group_id, groups=", ".join(self.groups)
            )
        return [self.groups[group_id]]

    # --- operator commands ----------------------------------------------------------------------------

    async def _async_command(
        self,
        command: str,
        groups: list[GroupRuntime],
        context: Context | None,
        pin: str | None,
        apply: Apply,
        *,
        skip: Callable[[LinkageGroup], bool] | None = None,
    ) -> None:
        await self.async_authorise(command, groups[0] if len(groups) == 1 else None, context, pin)
        user_id = context.user_id if context else None
        # Check every group first: a command refused for one group changes none (all or nothing).
        chosen = [g for g in groups if skip is None or not skip(g.machine)] if len(groups) > 1 else groups
        if not chosen:
            raise self._refuse(None, command, "nothing_to_do", context)
        now = dt_util.utcnow()
        snapshots = [(g, g.machine.as_dict(), g.machine.testing_until) for g in chosen]
        results: list[tuple[GroupRuntime, list[Transition]]] = []
        try:
            for group in chosen:
                results.append((group, apply(group.machine, now, user_id)))
        except LinkageRefused as err:
            for group, data, testing in snapshots:
                group.machine.restore(data)
                group.machine.testing_until = testing
            failed = chosen[len(results)]
            raise self._refuse(
                failed, command, err.reason, context, group=failed.name, **err.placeholders
            ) from None
        for group, transitions in results:
            if command in ("silence", "reset"):
                self._drive.paused.discard(group.id)
            if transitions and all(t.old is t.new for t in transitions):
                # A test changes no state but is still recorded.
                self._audit(
                    group,
                    command,
                    source_of(context),
                    context=context,
                    until=str(group.machine.testing_until),
                )
            else:
                self._after(group, transitions, source_of(context), context)
        await self.async_drive(chosen)
        self._notify()

    async def async_silence(self, group_id: str | None, context: Context | None, pin: str | None) -> None:
        """Stop the bells of the sounding groups (or one group); alarms stay latched."""
        groups = self.resolve_groups(group_id, "silence", context)
        await self._async_command(
            "silence",
            groups,
            context,
            pin,
            lambda g, now, user: g.silence(now, user),
            skip=lambda g: not g.bells_on(dt_util.utcnow()) or not g.latched,
        )

    async def async_reset(self, group_id: str | None, context: Context | None, pin: str | None) -> None:
        """Return latched groups to normal; refused while an input is active or unreadable."""
        groups = self.resolve_groups(group_id, "reset", context)
        await self._async_command(
            "reset",
            groups,
            context,
            pin,
            lambda g, now, user: g.reset(now, user),
            skip=lambda g: not g.latched and not g.seen,
        )

    async def async_test(
        self, group_id: str | None, duration: float | None, context: Context | None, pin: str | None
    ) -> None:
        """Sound the bells for ``duration`` seconds (a drill or a check)."""
        groups = self.resolve_groups(group_id, "test", context)
        seconds = self.test_duration if duration is None else duration
        until = dt_util.utcnow() + timedelta(seconds=seconds)
        await self._async_command(
            "test",
            groups,
            context,
            pin,
            lambda g, now, user: g.start_test(until, now, user),
            skip=lambda g: g.latched or g.disabled,
        )
        if self._test_timer is not None:
            self._test_timer()
        self._test_timer = async_call_later(self.hass, seconds, self._async_test_ended)

    async def _async_test_ended(self, _now: datetime) -> None:
        self._test_timer = None
        await self.async_drive()
        self._notify()

    async def async_set_disabled(
        self, group_id: str, disabled: bool, context: Context | None, pin: str | None = None
    ) -> None:
        """Disable (maintenance) or enable a group's linkage."""
        groups = self.resolve_groups(group_id, "disable" if disabled else "enable", context)
        await self._async_command(
            "disable" if disabled else "enable",
            groups,
            context,
            pin,
            lambda g, now, user: g.set_disabled(disabled, now, user),
        )

    async def async_set_manual(
        self, controller_id: str, channel: int, on: bool, context: Context | None
    ) -> None:
        """Sound or stop one bell by hand; stopping a bell the alarm sounds is refused (silence instead)."""
        group, controller = self.controllers[controller_id]
        command = "bell_on" if on else "bell_off"
        # Sounding one bell is a test of it: the same people as for a bell test.
        await self.async_authorise(command, group, context, None)
        if not on and group.machine.bells_on(dt_util.utcnow()):
            raise self._refuse(group, command, "bells_sounding", context, group=group.name)
        (controller.manual.add if on else controller.manual.discard)(channel)
        self._audit(
            group, command, source_of(context), context=context, controller=controller_id, channel=channel
        )
        self._save()
        await self.async_drive([group])
        self._notify()

    def diagnostics(self) -> dict[str, Any]:
        """Each group's state and each controller's bells, for diagnostics (no PIN, not even its hash)."""
        return {
            "pin_configured": self.pin_hash is not None,
            "groups": {
                group_id: {
                    **group.machine.as_dict(),
                    "state": group.machine.state.value,
                    "active": sorted(group.machine.active),
                    "unreadable": sorted(group.machine.unreadable),
                    "faults": sorted(group.faults()),
                    "paused": group_id in self._drive.paused,
                    "inputs": len(group.inputs),
                    "controllers": {
                        c.id: {
                            "confirmed": list(c.confirmed) if c.confirmed is not None else None,
                            "failures": c.failures,
                            "manual": sorted(c.manual),
                            "online": c.online,
                        }
                        for c in group.controllers
                    },
                }
                for group_id, group in self.groups.items()
            },
        }


async def async_setup_linkage(
    hass: HomeAssistant,
    entry: SmartParkConfigEntry,
    polls: ParkPolls,
    *,
    incidents: IncidentManager,
    audit: AuditLog,
    repairs: RepairIssues,
) -> FireLinkage:
    """Create the park's linkage, restore it and re-assert the bells.

    A profile whose controllers cannot be driven (bell coils not contiguous) fails the setup with the same
    translated error as any other stored profile that is no longer valid.
    """
    try:
        linkage = FireLinkage(hass, entry, polls, incidents=incidents, audit=audit, repairs=repairs)
    except ProfileError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="stored_profile_invalid",
            translation_placeholders={"error": str(err)},
        ) from err
    await linkage.async_load()
    await linkage.async_start()
    entry.async_on_unload(linkage.async_stop)
    return linkage
