"""GB/T 26875.3 options: the add-on's defaults parse, addresses decimal or hex, errors name their field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from park_sync.config import OptionsError, parse_options

from .test_config import BASE

ADDON = Path(__file__).resolve().parents[2] / "addons" / "park_sync"
ENABLED = {
    "enabled": True,
    "host": "119.example.cn",
    "port": 6000,
    "source_address": "889",
    "centre_address": "0x15B38",
}


def test_addon_defaults_parse_and_leave_it_off() -> None:
    options = yaml.safe_load((ADDON / "config.yaml").read_text(encoding="utf-8"))["options"]
    opts = parse_options({**options, **BASE})
    assert opts.gbt26875.enabled is False
    assert opts.gbt26875.heartbeat == 25.0
    assert (opts.gbt26875.timeout, opts.gbt26875.retries) == (10.0, 3)


def test_addresses_decimal_or_hex() -> None:
    opts = parse_options({**BASE, "gbt26875": ENABLED}).gbt26875
    assert (opts.source_address, opts.centre_address) == (0x379, 0x15B38)
    assert (
        parse_options({**BASE, "gbt26875": {**ENABLED, "source_address": 889}}).gbt26875.source_address == 889
    )


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"host": ""}, "gbt26875.host"),
        ({"port": 0}, "gbt26875.port"),
        ({"port": 70000}, "gbt26875.port"),
        ({"source_address": "0"}, "gbt26875.source_address"),
        ({"source_address": "12ab"}, "gbt26875.source_address"),
        ({"centre_address": str(1 << 48)}, "gbt26875.centre_address"),
        ({"centre_address": "889"}, "gbt26875.centre_address"),  # the same as the device's
        ({"timeout": 30}, "gbt26875.timeout"),  # the standard's answer timeout is at most 10 s
        ({"heartbeat": 0.5}, "gbt26875.heartbeat"),
        ({"retries": -1}, "gbt26875.retries"),
        ({"timezone": "Mars/Olympus"}, "gbt26875.timezone"),
        ({"heart_beat": 20}, "gbt26875.heart_beat"),
    ],
)
def test_bad_option_names_its_field(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(OptionsError) as err:
        parse_options({**BASE, "gbt26875": {**ENABLED, **patch}})
    assert err.value.path == field


def test_addon_schema_and_translations_know_the_options() -> None:
    config = yaml.safe_load((ADDON / "config.yaml").read_text(encoding="utf-8"))
    schema = config["schema"]["gbt26875"]
    assert {k.rstrip("?") for k in schema} >= {
        "enabled",
        "host",
        "port",
        "source_address",
        "centre_address",
        "heartbeat",
    }
    for language in ("en", "zh-Hans"):
        texts = yaml.safe_load((ADDON / "translations" / f"{language}.yaml").read_text(encoding="utf-8"))
        assert texts["configuration"]["gbt26875"]["name"]
        assert texts["configuration"]["gbt26875"]["description"]
