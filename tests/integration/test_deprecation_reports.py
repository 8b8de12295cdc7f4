"""The deprecation guard counts HA's reports made on our behalf, not only those naming smart_park."""

from __future__ import annotations

import logging

import pytest

from .conftest import is_deprecation_report


def record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
    """A log record as HA's frame helper writes it."""
    return logging.LogRecord("homeassistant.helpers.frame", level, __file__, 1, message, None, None)


@pytest.mark.parametrize(
    "message",
    [
        # Entity.group read by the sensor platform: HA names the core platform, not us (HA 2026.4+).
        "Detected that integration 'sensor' sets a `group` attribute on entity sensor.fire_bell_linkage_b1 "
        "which is not a `Group` instance at homeassistant/helpers/entity.py, line 1594: report_usage(. "
        "This will stop working in Home Assistant 2027.2, please create a bug report",
        "Detected that custom integration 'smart_park' calls `device_registry.async_get_or_create` with a "
        "deprecated `via_device` argument. This will stop working in Home Assistant 2027.8.0",
        "UnitOfDensity.MICROGRAMS_PER_CUBIC_METER was used from smart_park, this is a deprecated constant",
    ],
)
def test_reports_are_caught(message: str) -> None:
    """Each shape of report fails a test."""
    assert is_deprecation_report(record(message))


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("Detected that integration 'sensor' sets a `group` attribute", logging.DEBUG),
        ("Gateway gw1 cannot be reached: connection lost", logging.ERROR),
    ],
)
def test_other_lines_pass(message: str, level: int) -> None:
    """Debug lines and ordinary errors are not deprecation reports."""
    assert not is_deprecation_report(record(message, level))
