"""Believable value changes driven by the catalogue's ``simulate`` hints, plus scripted ramps (leaks, drains).

Hints are in raw register units: ``drift`` (bounded random walk), ``noise`` (base ± span), ``counter``
(rate per tick, optionally proportional to another point via ``follows``), ``below``/``above`` (a bit from
another point against a threshold). Random models only run when enabled; ramps and derived bits always
run, so scenarios (gas leak, tank drain) also work in a frozen, deterministic park.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from custom_components.smart_park.engine.catalogue import Point

from .image import DeviceImage, clamp_raw

PointRef = tuple[str, str]  # (device id, point key)


@dataclass(slots=True)
class Ramp:
    """Move a point towards ``target`` at ``rate`` raw units/s; ``release`` resumes its model at the end."""

    target: float
    rate: float
    release: bool = False


@dataclass(frozen=True, slots=True)
class Derived:
    """A bit that follows another point of the same device against a threshold."""

    bit: Point
    source: Point
    threshold: float
    above: bool


def _hint(point: Point, name: str, default: float) -> float:
    value: Any = point.simulate.get(name, default)
    return float(value)


def initial_raw(point: Point) -> float | bool:
    """Start value: ``simulate.base`` raw, 0 without a hint."""
    if point.table.is_bit:
        return bool(point.simulate.get("base", False))
    return float(point.simulate.get("base", 0))


class Dynamics:
    """Applies models, ramps and derived bits to every unit's image."""

    def __init__(self, images: Mapping[str, DeviceImage], rng: random.Random, *, enabled: bool) -> None:
        self.images = images
        self.rng = rng
        self.enabled = enabled
        # Continuous raw state of drift/counter/ramped points: registers hold integers, a 0.2/tick walk can't.
        self.state: dict[PointRef, float] = {}
        self.held: set[PointRef] = set()
        self.ramps: dict[PointRef, Ramp] = {}
        self.derived: dict[str, list[Derived]] = {}
        for device_id, image in images.items():
            for point in image.points.values():
                model = point.simulate.get("model")
                if model in ("below", "above") and (
                    source := image.points.get(point.simulate.get("point", ""))
                ):
                    self.derived.setdefault(device_id, []).append(
                        Derived(point, source, _hint(point, "threshold", 0), model == "above")
                    )

    def initialise(self) -> None:
        """Put every point at its base value and settle the derived bits."""
        for device_id, image in self.images.items():
            for point in image.points.values():
                raw = initial_raw(point)
                image.set_raw(point, raw)
                if not isinstance(raw, bool):
                    self.state[(device_id, point.key)] = raw
            self.update_derived(device_id)

    def base(self, device_id: str, key: str) -> float:
        """The base raw value of a point (where refill/clear ramps return to)."""
        return float(initial_raw(self.images[device_id].point(key)))

    def value_set(self, device_id: str, key: str) -> None:
        """A value was set from outside: models with memory continue from it, memoryless ones hold it."""
        image = self.images[device_id]
        point = image.point(key)
        ref = (device_id, key)
        self.ramps.pop(ref, None)
        raw = image.get_raw(point)
        if not isinstance(raw, bool):
            self.state[ref] = float(raw)
        if point.simulate.get("model") not in ("drift", "counter"):
            self.held.add(ref)
        self.update_derived(device_id)

    def release(self, device_id: str, key: str) -> None:
        """Give a held point back to its model."""
        self.held.discard((device_id, key))
        self.update_derived(device_id)

    def start_ramp(self, device_id: str, key: str, ramp: Ramp) -> None:
        """Drive a point towards a target (replaces any hold)."""
        ref = (device_id, key)
        self.held.discard(ref)
        image = self.images[device_id]
        raw = image.get_raw(image.point(key))
        self.state[ref] = float(raw)
        self.ramps[ref] = ramp

    def step(self, dt: float) -> None:
        """One tick: models (if enabled), ramps over ``dt`` seconds, then derived bits."""
        for device_id, image in self.images.items():
            for point in image.points.values():
                ref = (device_id, point.key)
                if ref in self.ramps:
                    self._ramp(image, point, ref, dt)
                elif self.enabled and ref not in self.held:
                    self._model(image, point, ref)
            self.update_derived(device_id)

    def _ramp(self, image: DeviceImage, point: Point, ref: PointRef, dt: float) -> None:
        ramp = self.ramps[ref]
        current = self.state.get(ref, 0.0)
        delta = ramp.target - current
        move = ramp.rate * dt
        value = ramp.target if abs(delta) <= move else current + (move if delta > 0 else -move)
        self.state[ref] = clamp_raw(point, value)
        image.set_raw(point, self.state[ref])
        if value == ramp.target and ramp.release:
            del self.ramps[ref]

    def _model(self, image: DeviceImage, point: Point, ref: PointRef) -> None:
        hints = point.simulate
        model = hints.get("model")
        if model is None or point.table.is_bit:
            return
        base = _hint(point, "base", 0)
        span = _hint(point, "span", 0)
        low = _hint(point, "min", float("-inf"))
        high = _hint(point, "max", float("inf"))
        current = self.state.get(ref, base)
        if model == "noise":
            value = base + self.rng.uniform(-span, span)
        elif model == "drift":
            rate = _hint(point, "rate", 1)
            value = current + self.rng.uniform(-rate, rate)
            # Pull back into base ± span, so a set or refilled value wanders home instead of jumping.
            if span and value > base + span:
                value -= rate
            elif span and value < base - span:
                value += rate
        elif model == "counter":
            increment = _hint(point, "rate", 1)
            follows = image.points.get(str(hints.get("follows", "")))
            if follows is not None:
                follow_base = _hint(follows, "base", 0)
                follow_raw = image.get_raw(follows)
                if follow_base > 0 and not isinstance(follow_raw, bool):
                    increment *= max(float(follow_raw), 0.0) / follow_base
            value = current + increment
        else:
            return
        value = clamp_raw(point, min(max(value, low), high))
        self.state[ref] = value
        image.set_raw(point, value)

    def update_derived(self, device_id: str) -> None:
        """Recompute below/above bits of one device (immediately after any change of their source)."""
        image = self.images[device_id]
        for rule in self.derived.get(device_id, ()):
            if (device_id, rule.bit.key) in self.held:
                continue
            raw = image.get_raw(rule.source)
            value = float(raw)
            image.set_raw(rule.bit, value > rule.threshold if rule.above else value < rule.threshold)
