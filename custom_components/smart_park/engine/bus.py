"""Bus time: how long a Modbus transaction holds a gateway's serial line, and whether the tiers fit on it.

Most field devices hang on RS-485 behind a serial server, where a request costs milliseconds of line time
(9600 baud: ~1 ms per character), not the microseconds of loopback. :class:`SerialLine` times one RTU
transaction from its frame sizes (Modbus over Serial Line V1.02: start bit, data bits, parity, stop bits per
character; 3.5 characters of silence after each frame, 1.75 ms above 19200 baud; the device's turnaround
between request and reply). :class:`BusModel` keeps that estimate honest with the measured durations the
poller feeds it, and :func:`capacity_report` says per tier what one cycle costs, whether the tiers fit, and
what would. No I/O and no Home Assistant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .catalogue import MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ, Table, Tier
from .planner import ReadBlock
from .profile_model import Gateway
from .schedule import FLOOR_SHARES, Lane

# A device's turnaround (request received -> reply's first character). The standard leaves it to the
# device; datasheets of meters, detectors and I/O modules give a few ms to ~20 ms. 10 ms puts a one-register
# read at 9600 baud at ~33 ms, inside the 25-40 ms measured on real buses.
DEFAULT_TURNAROUND_MS = 10.0
# Above 19200 baud the standard fixes the inter-frame silence at 1.75 ms instead of 3.5 characters.
FAST_BAUD = 19200
FAST_FRAME_GAP = 0.00175
MAX_RTU_FRAME = 256
# Share of the line the polls may plan for: writes (bells, broadcasts) and retries need the rest.
USABLE_SHARE = 0.9
# Weight of a new measurement in the measured/modelled ratio, and the bounds one sample may move it to.
EWMA_ALPHA = 0.2
RATIO_BOUNDS = (0.5, 10.0)
# Priority order: a tier is served after every tier before it (the gateway client's request priorities).
TIER_ORDER = (Tier.SAFETY, Tier.FAST, Tier.NORMAL, Tier.SLOW)
# A request's reply timeout once the line is measured: a few times its expected duration, never below a
# floor that an event-loop stall of the host cannot reach (a false timeout marks a working unit offline).
TIMEOUT_FACTOR = 4.0
TIMEOUT_MARGIN = 0.1
MIN_TIMEOUT = 0.3
MIN_TIMEOUT_SAMPLES = 20

_READ_FUNCTION = {
    Table.COIL: 1,
    Table.DISCRETE_INPUT: 2,
    Table.HOLDING_REGISTER: 3,
    Table.INPUT_REGISTER: 4,
}


@dataclass(frozen=True, slots=True)
class Request:
    """One Modbus transaction's shape: function code and the registers (or bits) it carries."""

    function: int
    count: int

    @classmethod
    def read(cls, block: ReadBlock) -> Request:
        """The read of one planned block."""
        return cls(_READ_FUNCTION[block.table], block.count)

    @property
    def bits(self) -> bool:
        """Whether it carries bits (coils, discrete inputs), packed eight to a byte."""
        return self.function in (1, 2, 5, 15)

    def _data_bytes(self) -> int:
        return (self.count + 7) // 8 if self.bits else 2 * self.count

    def sizes(self) -> tuple[int, int]:
        """RTU request and reply sizes in bytes (address + function + data + CRC).

        Reads: 8-byte request (address, count), reply with a byte count and the data. Single writes (5, 6)
        echo their 8 bytes; multiple writes (15, 16) carry address, count, byte count and data, and are
        answered with 8 bytes.
        """
        if self.function in (1, 2, 3, 4):
            return 8, 5 + self._data_bytes()
        if self.function in (15, 16):
            return 9 + self._data_bytes(), 8
        return 8, 8


@dataclass(frozen=True, slots=True)
class SerialLine:
    """One serial line's character framing and timing; times are in seconds."""

    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1
    turnaround: float = DEFAULT_TURNAROUND_MS / 1000
    # None: 3.5 characters, or 1.75 ms above 19200 baud.
    frame_gap: float | None = None

    @classmethod
    def of(cls, gateway: Gateway) -> SerialLine | None:
        """The gateway's line, or None for a TCP-native gateway (no serial bus to share)."""
        if not gateway.serial:
            return None
        turnaround = gateway.turnaround if gateway.turnaround is not None else DEFAULT_TURNAROUND_MS
        return cls(
            baudrate=gateway.baudrate,
            bytesize=gateway.bytesize,
            parity=gateway.parity,
            stopbits=gateway.stopbits,
            turnaround=turnaround / 1000,
            frame_gap=gateway.frame_gap / 1000 if gateway.frame_gap is not None else None,
        )

    @property
    def char_time(self) -> float:
        """One character: start bit, data bits, parity bit (unless none), stop bits."""
        bits = 1 + self.bytesize + (0 if self.parity == "N" else 1) + self.stopbits
        return bits / self.baudrate

    @property
    def gap(self) -> float:
        """The silence that ends a frame."""
        if self.frame_gap is not None:
            return self.frame_gap
        return FAST_FRAME_GAP if self.baudrate > FAST_BAUD else 3.5 * self.char_time

    def transaction_time(self, request: Request) -> float:
        """Request frame + gap + turnaround + reply frame + gap: the line is busy that long."""
        sent, received = request.sizes()
        return (sent + received) * self.char_time + 2 * self.gap + self.turnaround


def frame_limits(gateway: Gateway) -> dict[str, int]:
    """Read limits a declared ``max_frame`` sets (reply = 5 bytes + data), as plan_blocks keywords."""
    if gateway.max_frame is None:
        return {}
    data = gateway.max_frame - 5
    return {
        "max_registers": max(1, min(MAX_REGISTERS_PER_READ, data // 2)),
        "max_bits": max(8, min(MAX_BITS_PER_READ, data * 8)),
    }


class BusModel:
    """One gateway's transaction times: the line's model, scaled by what was measured.

    The ratio measured/modelled (an exponentially weighted mean) absorbs what the model cannot see: the
    serial server's own delay, a slower device, the network. A TCP-native gateway has no line model; its
    estimate is the weighted mean of the measured durations (0 until the first).
    """

    def __init__(self, line: SerialLine | None, *, alpha: float = EWMA_ALPHA) -> None:
        self.line = line
        self.alpha = alpha
        self.ratio = 1.0
        self.mean = 0.0
        self.samples = 0

    @classmethod
    def of(cls, gateway: Gateway) -> BusModel:
        """The model of a profile's gateway."""
        return cls(SerialLine.of(gateway))

    def modelled(self, request: Request) -> float:
        """The line model's figure alone (0 without a serial line)."""
        return self.line.transaction_time(request) if self.line is not None else 0.0

    def estimate(self, request: Request) -> float:
        """Expected duration of one transaction, in seconds."""
        if self.line is None:
            return self.mean
        return self.modelled(request) * self.ratio

    def timeout(self, request: Request, ceiling: float) -> float:
        """Reply timeout for ``request``: sized from the measured line, at most ``ceiling`` (the profile's).

        A unit that does not answer then costs the line this long instead of the profile's whole timeout.
        Until :data:`MIN_TIMEOUT_SAMPLES` replies were measured the profile's timeout holds.
        """
        if self.samples < MIN_TIMEOUT_SAMPLES:
            return ceiling
        return min(ceiling, max(MIN_TIMEOUT, TIMEOUT_FACTOR * self.estimate(request) + TIMEOUT_MARGIN))

    def record(self, request: Request, seconds: float) -> None:
        """Feed one answered transaction's measured duration (timeouts say nothing about the line)."""
        if seconds < 0:
            return
        first = self.samples == 0
        self.samples += 1
        self.mean = seconds if first else self.mean + self.alpha * (seconds - self.mean)
        if (modelled := self.modelled(request)) > 0:
            low, high = RATIO_BOUNDS
            sample = min(max(seconds / modelled, low), high)
            self.ratio = sample if first else self.ratio + self.alpha * (sample - self.ratio)

    def cycle_time(self, blocks: Iterable[ReadBlock]) -> float:
        """Bus time of one full cycle of a tier's planned reads."""
        return sum(self.estimate(Request.read(block)) for block in blocks)


def stretched_periods(
    cycles: Mapping[Tier, float], periods: Mapping[Tier, float], *, capacity: float = USABLE_SHARE
) -> dict[Tier, float]:
    """The periods the bus scheduler keeps when the tiers' cycles (line seconds each) share one line.

    The safety tier keeps its period if its cycle fits in what the other tiers' floor shares leave, else runs
    as fast as that allows. The measurement tiers share the rest: when they do not fit at their periods, all
    stretch by one common factor (graceful and even), except that none gets less than its floor share.
    """
    floors = {tier: FLOOR_SHARES[Lane[tier.name]] for tier in TIER_ORDER[1:] if tier in cycles}
    out: dict[Tier, float] = {}
    left = capacity
    if (safety := cycles.get(Tier.SAFETY)) is not None:
        out[Tier.SAFETY] = max(periods[Tier.SAFETY], safety / max(capacity - sum(floors.values()), 1e-9))
        left -= safety / out[Tier.SAFETY]
    demand = {tier: cycles[tier] / periods[tier] for tier in floors}
    stretch = 1.0
    while demand:
        stretch = max(1.0, sum(demand.values()) / max(left, 1e-9))
        # A tier whose stretched share falls below its floor gets the floor (or its whole demand, if that is
        # less: a floor never runs a tier faster than configured); the rest share what is left.
        kept = {tier: min(floors[tier], use) for tier, use in demand.items()}
        starved = [tier for tier, use in demand.items() if use / stretch < kept[tier] - 1e-12]
        if not starved or stretch == 1.0:
            break
        for tier in starved:
            out[tier] = cycles[tier] / kept[tier]
            left -= kept[tier]
            del demand[tier]
    for tier in demand:
        out[tier] = periods[tier] * stretch
    return out


@dataclass(frozen=True, slots=True)
class TierLoad:
    """One tier on one bus.

    ``achieved``: the period the bus scheduler keeps for it (:func:`stretched_periods`).
    ``fits``: the shortest period it could have with every other tier at its period (None: none fits).
    """

    tier: Tier
    period: float
    cycle: float
    requests: int
    achieved: float | None
    fits: float | None

    @property
    def utilisation(self) -> float:
        """Share of the line one tier's cycles take at its configured period."""
        return self.cycle / self.period if self.period > 0 else 0.0

    @property
    def late(self) -> bool:
        """Whether it cannot keep its configured period."""
        return self.achieved is None or self.achieved > self.period * (1 + 1e-9)


@dataclass(frozen=True, slots=True)
class CapacityReport:
    """Whether a gateway's tiers fit its bus, tier by tier in priority order."""

    gateway: str
    serial: bool
    baudrate: int
    capacity: float
    tiers: tuple[TierLoad, ...]

    @property
    def utilisation(self) -> float:
        """Share of the line all tiers take at their periods."""
        return sum(load.utilisation for load in self.tiers)

    @property
    def fits(self) -> bool:
        """Whether every tier keeps its period within the usable share."""
        return self.utilisation <= self.capacity

    def tier(self, tier: Tier) -> TierLoad | None:
        """The load of ``tier``, if the gateway has points in it."""
        return next((load for load in self.tiers if load.tier is tier), None)

    def first_late(self) -> TierLoad | None:
        """The first tier, in priority order, that runs late."""
        return next((load for load in self.tiers if load.late), None)


def capacity_report(
    gateway: Gateway,
    plans: Mapping[Tier, Iterable[ReadBlock]],
    periods: Mapping[Tier, float],
    *,
    model: BusModel | None = None,
    capacity: float = USABLE_SHARE,
) -> CapacityReport:
    """Per tier with planned reads: configured period, cycle time on this bus, achieved period, what fits.

    ``plans`` holds each tier's read blocks (every device's, as the poller plans them); ``periods`` the
    configured intervals in seconds. "Achieved" is what the bus scheduler keeps (the safety tier first, the
    others stretched evenly); "what fits" keeps every other tier (the safety tier first) at its period.
    """
    model = model or BusModel.of(gateway)
    cycles: dict[Tier, tuple[float, int]] = {}
    for tier in TIER_ORDER:
        blocks = list(plans.get(tier, ()))
        if blocks:
            cycles[tier] = (model.cycle_time(blocks), len(blocks))
    use = {tier: cycle / periods[tier] for tier, (cycle, _) in cycles.items()}
    seconds = {tier: cycle for tier, (cycle, _) in cycles.items()}
    achieved = stretched_periods(seconds, periods, capacity=capacity)
    loads: list[TierLoad] = []
    for tier, (cycle, requests) in cycles.items():
        others = capacity - (sum(use.values()) - use[tier])
        fits = cycle / others if others > 0 else None
        loads.append(TierLoad(tier, periods[tier], cycle, requests, achieved[tier], fits))
    return CapacityReport(gateway.id, gateway.serial, gateway.baudrate, capacity, tuple(loads))
