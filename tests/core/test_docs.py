"""Docs that are generated from code must match it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_register_contract_is_current() -> None:
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    assert (ROOT / "docs" / "register-contract.md").read_text(encoding="utf-8") == expected, (
        "run .venv/bin/python docs/generate.py"
    )
    assert "`call_point_{n}`" in expected
