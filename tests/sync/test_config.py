"""Options validation: every error names the bad field, and the process refuses to start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from park_sync.__main__ import main
from park_sync.config import OptionsError, parse_options

BASE: dict[str, Any] = {
    "park_id": "zhifeng",
    "central_url": "https://central.example",
    "central_token": "t",
    "hmac_secret": "0123456789abcdef",
}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"central_url": "ftp://x"}, "central_url"),
        ({"hmac_secret": "short"}, "hmac_secret"),
        ({"park_id": "bad id!"}, "park_id"),
        ({"batch_max_records": 0}, "batch_max_records"),
        ({"entity_filter": {"integrations": [""]}}, "entity_filter.integrations[0]"),
        ({"entity_filter": {"entity_ids": ["nodot"]}}, "entity_filter.entity_ids[0]"),
        ({"hj212": {"enabled": True, "host": "h", "port": 99999}}, "hj212.port"),
        ({"hj212": {"enabled": True, "host": "h", "port": 1, "mn": "m", "pw": "12"}}, "hj212.pw"),
        ({"hj212": {"pollutants": [{"code": "SO2", "entity_id": "sensor.so2"}]}}, "hj212.pollutants[0].code"),
        ({"retry_max_seconds": 0.01, "retry_initial_seconds": 1}, "retry_max_seconds"),
        ({"typo_option": 1}, "typo_option"),
    ],
)
def test_bad_option_names_its_field(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(OptionsError) as err:
        parse_options({**BASE, **patch})
    assert err.value.path == field


def test_defaults() -> None:
    opts = parse_options(BASE)
    assert opts.entity_filter.integrations == ("smart_park",)
    assert opts.hj212.timeout == 10.0
    assert opts.hj212.retries == 3


def test_cli_refuses_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "options.json"
    path.write_text(json.dumps({**BASE, "central_token": "secret-token-value", "batch_max_seconds": "soon"}))
    assert main(["--options", str(path), "--ha-url", "http://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "batch_max_seconds" in err
    assert "secret-token-value" not in err
