"""Piggyback: read a slower tier's points inside a faster tier's read of the same device (#16).

A device's tiers are planned apart (:func:`.planner.plan_blocks`), so a meter's energy register (normal tier)
costs its own request although the power block read four times a second (fast tier) may already cover it.
:func:`piggyback` moves such a slower block onto the faster one, so a full cycle of all tiers can take fewer
requests than the tiers planned apart:

* free: the slower block lies inside the faster block (same table): nothing more goes on the wire;
* priced: the faster block is widened over the slower one (within the planner's gap and frame limits) when
  the extra characters it then carries every faster cycle cost less line time per second than the slower
  block's own request every slower cycle; on a TCP-native gateway extra bytes cost nothing measurable, so
  widening always pays. The safety tier is never widened (its cycle is what call points wait for).

The carried points are decoded only when their own tier polls, from the faster read's latest reply (see
:class:`.modbus.GatewayPoller`), so carrying costs the faster cycle nothing but the wider read. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .bus import TIER_ORDER, Request, SerialLine
from .catalogue import MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ, Tier
from .planner import BITS_PER_REGISTER, DEFAULT_MAX_GAP, ReadBlock


@dataclass(frozen=True, slots=True)
class Carried:
    """A slower tier's block read inside a faster tier's block: ``host`` indexes the host tier's plan."""

    tier: Tier
    host_tier: Tier
    host: int
    block: ReadBlock


@dataclass(frozen=True, slots=True)
class Costs:
    """What widening is priced with: the serial line (None: TCP-native) and each tier's period."""

    line: SerialLine | None
    periods: Mapping[Tier, float]
    max_gap: int = DEFAULT_MAX_GAP
    max_registers: int = MAX_REGISTERS_PER_READ
    max_bits: int = MAX_BITS_PER_READ


def _merged(host: ReadBlock, block: ReadBlock) -> tuple[int, int]:
    start = min(host.address, block.address)
    return start, max(host.address + host.count, block.address + block.count) - start


def _widen_cost(host: ReadBlock, host_tier: Tier, block: ReadBlock, costs: Costs) -> float | None:
    """Line seconds per second carrying ``block`` in ``host`` adds (0: inside); None: not allowed."""
    if host.table is not block.table:
        return None
    start, count = _merged(host, block)
    if count == host.count:
        return 0.0
    if host_tier is Tier.SAFETY:
        return None
    limit = costs.max_bits if block.table.is_bit else costs.max_registers
    gap = max(block.address - (host.address + host.count), host.address - (block.address + block.count))
    allowed_gap = costs.max_gap * (BITS_PER_REGISTER if block.table.is_bit else 1)
    if count > limit or gap > allowed_gap:
        return None
    if costs.line is None:
        return 0.0  # TCP-native: a few more bytes cost nothing measurable next to a request's round trip
    extra = Request.read(ReadBlock(block.table, start, count, ())).sizes()[1] - Request.read(host).sizes()[1]
    return extra * costs.line.char_time / costs.periods[host_tier]


def _own_cost(block: ReadBlock, tier: Tier, costs: Costs) -> float:
    """Line seconds per second of ``block``'s own request (TCP-native: any positive figure will do)."""
    if costs.line is None:
        return 1.0
    return costs.line.transaction_time(Request.read(block)) / costs.periods[tier]


def piggyback(
    plans: Mapping[Tier, list[ReadBlock]], costs: Costs
) -> tuple[dict[Tier, list[ReadBlock]], list[Carried]]:
    """One device's plans with slower blocks moved onto faster ones; returns (new plans, what is carried).

    Host blocks keep their own points; a widened host covers the carried block's addresses. Greedy, slowest
    block first onto the cheapest faster host: each move only removes a request or widens one read.
    """
    out = {tier: list(blocks) for tier, blocks in plans.items()}
    carried: list[Carried] = []
    for position, tier in enumerate(TIER_ORDER):
        if tier is Tier.SAFETY or tier not in out:
            continue
        keep: list[ReadBlock] = []
        for block in out[tier]:
            best: tuple[float, Tier, int] | None = None
            for host_tier in TIER_ORDER[:position]:
                for index, host in enumerate(out.get(host_tier, ())):
                    cost = _widen_cost(host, host_tier, block, costs)
                    if cost is not None and (best is None or cost < best[0]):
                        best = (cost, host_tier, index)
            if best is None or best[0] >= _own_cost(block, tier, costs):
                keep.append(block)
                continue
            _, host_tier, index = best
            host = out[host_tier][index]
            start, count = _merged(host, block)
            out[host_tier][index] = ReadBlock(host.table, start, count, host.points)
            carried.append(Carried(tier, host_tier, index, block))
        out[tier] = keep
    return out, carried
