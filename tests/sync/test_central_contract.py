"""The central answers as docs/central-api.openapi.yaml says, checked by schemathesis against a real central
process (bounded: a few examples per operation, well under a minute)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode

from .conftest import SECRET, TOKEN

SPEC = Path(__file__).parents[2] / "docs" / "central-api.openapi.yaml"


@pytest.fixture
def central_url(tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "CENTRAL_TOKEN": TOKEN, "CENTRAL_HMAC_SECRET": SECRET}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "central",
            "--port",
            "0",
            "--hj212-port",
            "-1",
            "--gbt26875-port",
            "-1",
            "--db",
            str(tmp_path / "db"),
        ],
        cwd=Path(__file__).parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())["url"]
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("operation_id", ["ingest", "summary", "listRecords", "health"])
@pytest.mark.parametrize("authorized", [True, False], ids=["token", "no-token"])
def test_responses_conform_to_openapi(central_url: str, operation_id: str, authorized: bool) -> None:
    schema = schemathesis.openapi.from_path(SPEC)
    operation = schema.find_operation_by_id(operation_id)
    headers = {"Authorization": f"Bearer {TOKEN}"} if authorized else {}
    seen: list[int] = []

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=st.one_of(
            operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
        )
    )
    def check(case: Case[Any]) -> None:
        # Checks: no 5xx, status documented, body matches the documented schema, content type as declared.
        response = case.call_and_validate(base_url=central_url, headers=headers, timeout=10)
        seen.append(response.status_code)

    check()
    assert seen, "no request was made"
