"""Deep-merge a fragment into strings.json, translations/en.json, translations/zh-Hans.json and icons.json.

Usage: python scripts/add_strings.py FRAGMENT.json
FRAGMENT is {"en": {...}, "zh-Hans": {...}, "icons": {...}}. English goes to strings.json and en.json (custom
integrations load en.json; the two must be equal). The files are rewritten under a lock so that several people
adding strings at once do not lose each other's keys.
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path
from typing import Any

INTEGRATION = Path(__file__).resolve().parents[1] / "custom_components" / "smart_park"


def merge(into: dict[str, Any], fragment: dict[str, Any]) -> None:
    """Merge ``fragment`` into ``into``; a fragment's leaf replaces the existing one."""
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def _update(path: Path, fragment: dict[str, Any]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    merge(data, fragment)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    """Apply each fragment file named on the command line."""
    if len(argv) < 2:
        print(__doc__)
        return 2
    with (INTEGRATION / ".strings.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name in argv[1:]:
            fragment = json.loads(Path(name).read_text(encoding="utf-8"))
            unknown = set(fragment) - {"en", "zh-Hans", "icons"}
            if unknown:
                print(f"{name}: unknown keys {sorted(unknown)}")
                return 1
            for target in ("strings.json", "translations/en.json"):
                _update(INTEGRATION / target, fragment.get("en", {}))
            _update(INTEGRATION / "translations/zh-Hans.json", fragment.get("zh-Hans", {}))
            _update(INTEGRATION / "icons.json", fragment.get("icons", {}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
