"""Copy the blueprints (``blueprints/<domain>/smart_park/``) into the integration, which ships them.

Usage: python scripts/sync_blueprints.py [--check]
The top-level ``blueprints/`` folder is the source (users import from it by URL); HACS installs only
``custom_components/smart_park``, so ``custom_components/smart_park/blueprints/`` carries byte-identical
copies, which the integration installs at set-up (``blueprint_install.py``).
``--check`` changes nothing and exits 1 when the copies differ (``tests/core/test_blueprint_copies.py`` too).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "blueprints"
SHIPPED = ROOT / "custom_components" / "smart_park" / "blueprints"
DOMAINS = ("automation", "script")


def blueprint_files(root: Path) -> dict[str, bytes]:
    """Every ``<domain>/smart_park/*.yaml`` under ``root``, by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for domain in DOMAINS
        for path in sorted((root / domain / "smart_park").glob("*.yaml"))
    }


def differences(source: Path = SOURCE, shipped: Path = SHIPPED) -> list[str]:
    """Relative paths missing, extra or different in ``shipped``."""
    want, have = blueprint_files(source), blueprint_files(shipped)
    return sorted(name for name in want.keys() | have.keys() if want.get(name) != have.get(name))


def sync(source: Path = SOURCE, shipped: Path = SHIPPED) -> list[str]:
    """Make ``shipped`` equal to ``source``; the relative paths written or removed."""
    changed = differences(source, shipped)
    want = blueprint_files(source)
    for name in changed:
        target = shipped / name
        if name in want:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(want[name])
        else:
            target.unlink()
    return changed


def main(argv: list[str]) -> int:
    """Sync, or with ``--check`` only report."""
    if argv[1:] == ["--check"]:
        changed = differences()
        for name in changed:
            print(f"differs: {name}")
        return 1 if changed else 0
    if argv[1:]:
        print(__doc__)
        return 2
    for name in sync():
        print(f"synced: {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
