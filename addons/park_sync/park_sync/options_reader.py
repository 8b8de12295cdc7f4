"""Reading one options mapping with named fields: every error names the path of the bad value
(``hj212.port: must be an integer 0-65535``) and unknown keys are refused (a typo is no silent default)."""

from __future__ import annotations

import re
from typing import Any


class OptionsError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class Reader:
    def __init__(self, raw: Any, path: str) -> None:
        if not isinstance(raw, dict):
            raise OptionsError(path or "$", "must be a mapping")
        self.raw: dict[str, Any] = raw
        self.path = path
        self.known: set[str] = set()

    def _p(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, default: Any) -> Any:
        self.known.add(key)
        value = self.raw.get(key, default)
        return default if value is None else value

    def text(self, key: str, default: str | None = None, *, pattern: re.Pattern[str] | None = None) -> str:
        value = self._get(key, default)
        if value is None:
            raise OptionsError(self._p(key), "required")
        if not isinstance(value, str):
            raise OptionsError(self._p(key), "must be a string")
        if pattern is not None and not pattern.match(value):
            raise OptionsError(self._p(key), f"must match {pattern.pattern}")
        return value

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise OptionsError(self._p(key), f"must be an integer {lo}-{hi}")
        return int(value)

    def number(self, key: str, default: float, lo: float, hi: float) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            raise OptionsError(self._p(key), f"must be a number {lo}-{hi}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise OptionsError(self._p(key), "must be true or false")
        return value

    def str_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(key, list(default))
        if not isinstance(value, list):
            raise OptionsError(self._p(key), "must be a list of strings")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise OptionsError(f"{self._p(key)}[{i}]", "must be a non-empty string")
        return tuple(value)

    def sub(self, key: str) -> Reader:
        return Reader(self._get(key, {}), self._p(key))

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.known)
        if unknown:
            raise OptionsError(self._p(unknown[0]), "unknown option")
