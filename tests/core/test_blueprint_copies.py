"""The blueprints the integration ships are byte-identical to the top-level ones users import by URL."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def sync_module() -> ModuleType:
    """scripts/sync_blueprints.py (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("sync_blueprints", ROOT / "scripts" / "sync_blueprints.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("sync_blueprints", module)
    spec.loader.exec_module(module)
    return module


def test_shipped_copies_are_byte_identical() -> None:
    """Run ``python scripts/sync_blueprints.py`` after editing a blueprint in blueprints/."""
    sync = sync_module()
    source = sync.blueprint_files(sync.SOURCE)
    assert len(source) == 10, sorted(source)
    assert sync.blueprint_files(sync.SHIPPED) == source, sync.differences()


def test_sync_copies_changes_and_removes_extras(tmp_path: Path) -> None:
    """The script makes the shipped folder equal to the source: new, changed and removed files."""
    sync = sync_module()
    source, shipped = tmp_path / "blueprints", tmp_path / "shipped"
    (source / "automation" / "smart_park").mkdir(parents=True)
    (source / "automation" / "smart_park" / "a.yaml").write_bytes(b"a: 1\n")
    (shipped / "script" / "smart_park").mkdir(parents=True)
    (shipped / "script" / "smart_park" / "gone.yaml").write_bytes(b"old\n")
    changed = ["automation/smart_park/a.yaml", "script/smart_park/gone.yaml"]
    assert sync.differences(source, shipped) == changed
    assert sync.sync(source, shipped) == changed
    assert sync.blueprint_files(shipped) == {"automation/smart_park/a.yaml": b"a: 1\n"}
    assert sync.differences(source, shipped) == []
