"""Who may play where: priorities, preemption, the queue's order and when a broadcast has finished.

Pure rules over the model, no Home Assistant and no I/O, so they read (and test) on their own. A controller
plays one message at a time, so a broadcast needs every controller of its zones: fire > emergency > drill >
notice; a higher priority preempts what holds those controllers, a lower or equal one is blocked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .model import Broadcast, BroadcastController, EndReason, MessageKind, Priority


def blockers(broadcast: Broadcast, active: Iterable[Broadcast]) -> list[Broadcast]:
    """Active broadcasts on its controllers with the same or a higher priority: it may not start."""
    needed = broadcast.controllers()
    return [
        other
        for other in active
        if other is not broadcast and other.priority >= broadcast.priority and other.controllers() & needed
    ]


def victims(broadcast: Broadcast, active: Iterable[Broadcast]) -> list[Broadcast]:
    """Active broadcasts on its controllers with a lower priority: it preempts them when it starts."""
    needed = broadcast.controllers()
    return [other for other in active if other.priority < broadcast.priority and other.controllers() & needed]


def queue_order(queue: Iterable[Broadcast]) -> list[Broadcast]:
    """The order queued broadcasts get their turn: the highest priority first, then the oldest."""
    return sorted(queue, key=lambda b: (-b.priority, b.created_at))


def default_volume(priority: Priority) -> int:
    """Emergencies play at full volume (forced, as broadcast hosts do); others at each zone's volume (0)."""
    return 100 if priority >= Priority.EMERGENCY else 0


def settle(
    active: Iterable[Broadcast], controllers: Mapping[str, BroadcastController], idle: set[str]
) -> list[Broadcast]:
    """Take the controllers confirmed idle out of the broadcasts on them; those now playing nowhere.

    A URL message whose controller reports a failed fetch is recorded as failed there.
    """
    finished: list[Broadcast] = []
    for broadcast in list(active):
        for controller_id in idle & broadcast.playing:
            controller = controllers[controller_id]
            if controller.playing:
                continue
            broadcast.playing.discard(controller_id)
            if broadcast.message.kind is MessageKind.URL and controller.fetch_failed():
                broadcast.failed[controller_id] = f"fetch status {controller.fetch_status}"
            if not broadcast.playing:
                finished.append(broadcast)
    return finished


def end_reason(broadcast: Broadcast) -> EndReason:
    """How a finished broadcast ended: failed only when it failed on every controller."""
    return EndReason.FAILED if len(broadcast.failed) == len(broadcast.controllers()) else EndReason.COMPLETED
