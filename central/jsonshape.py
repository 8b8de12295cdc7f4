"""Checks on decoded JSON that every way in (HTTP ingest, MQTT consumers) applies: nesting depth and U+0000.

Both walk iteratively, so a hostile document cannot hit Python's recursion limit.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 32


def depth(value: Any) -> int:
    """Nesting depth of decoded JSON (stops descending past :data:`MAX_DEPTH`)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def has_nul(value: Any) -> bool:
    """Whether a U+0000 is in any string or key of decoded JSON (PostgreSQL's jsonb cannot store it)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
