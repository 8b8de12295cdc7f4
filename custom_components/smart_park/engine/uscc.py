"""Unified social credit code (统一社会信用代码, GB 32100-2015): format and check character.

A code is 18 characters from ``0-9A-HJ-NPQRTUWXY`` (I, O, Z, S and V are never used, so that they cannot be
mistaken for digits). Each character stands for its index in that alphabet (0-30); the 18th is the check
character: ``31 - (sum of value × weight over the first 17) mod 31``, with 31 written as ``0``.

Pure: no Home Assistant. Failures carry a code and placeholders; HA renders them through the translations
``exceptions.enterprise_uscc_<code>`` (the English here is the same text, for logs and tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH: Final = 18
_VALUE: Final = {char: value for value, char in enumerate(ALPHABET)}

ENGLISH: Final = {
    "length": "a USCC has 18 characters, this one has {length}",
    "character": "character {character} at position {position} is not allowed in a USCC",
    "check": "the check character should be {expected}, found {found}",
}


class UsccError(ValueError):
    """A code that is not a valid USCC; ``code`` is ``length``, ``character`` or ``check``.

    The placeholders name at most one character of the code, never the whole code: the USCC is treated as
    personal data (``const.TO_REDACT``) and error messages end up in logs.
    """

    def __init__(self, code: str, **placeholders: str) -> None:
        self.code = code
        self.placeholders: Mapping[str, str] = placeholders
        super().__init__(ENGLISH[code].format(**placeholders))


def normalize(code: str) -> str:
    """The code as stored: surrounding space removed, letters upper-case (spreadsheets lower-case them)."""
    return code.strip().upper()


def check_character(first17: str) -> str:
    """The check character of the first 17 characters (which must be from the alphabet)."""
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate(code: str) -> str:
    """Return the normalized code, or raise :class:`UsccError` with the first reason it is invalid.

    Reasons are checked in the order a person would fix them: the length, then each character from the left
    (position 1-based), then the check character.
    """
    code = normalize(code)
    if len(code) != LENGTH:
        raise UsccError("length", length=str(len(code)))
    for position, char in enumerate(code, start=1):
        if char not in _VALUE:
            raise UsccError("character", character=char, position=str(position))
    expected = check_character(code[:17])
    if code[17] != expected:
        raise UsccError("check", expected=expected, found=code[17])
    return code


def is_valid(code: str) -> bool:
    """Whether ``code`` is a valid USCC."""
    try:
        validate(code)
    except UsccError:
        return False
    return True
