"""Unified social credit code (GB 32100-2015): valid codes pass; each invalid code names its reason."""

from __future__ import annotations

import pytest

from custom_components.smart_park.engine import uscc


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the example in the issue
        "91330100MA27Y5K8AA",
        "91330106MA2H3Q4B15",
        "92330100MA28FG3C5Y",  # an individual business (9 2)
        "91330100MA2AXXXX07",
    ],
)
def test_valid_codes(code: str) -> None:
    assert uscc.validate(code) == code
    assert uscc.is_valid(code)


def test_check_character_of_the_example() -> None:
    """Worked by hand: 31 - (sum of value x weight mod 31) over the first 17 characters."""
    assert uscc.check_character("91350100M000100Y4") == "3"


def test_normalized() -> None:
    """Spreadsheets lower-case and pad codes; both are undone."""
    assert uscc.validate(" 91350100m000100y43\t") == "91350100M000100Y43"


def test_check_value_31_is_written_0() -> None:
    """When the weighted sum is a multiple of 31 the check character is 0, not the 31st character."""
    # Search the 17th character so that the sum hits a multiple of 31.
    for char in uscc.ALPHABET:
        first17 = "9135010000000000" + char
        total = sum(uscc.ALPHABET.index(c) * w for c, w in zip(first17, uscc.WEIGHTS, strict=True))
        if total % 31 == 0:
            assert uscc.check_character(first17) == "0"
            assert uscc.is_valid(first17 + "0")
            return
    pytest.fail("no 17th character gives a multiple of 31")


@pytest.mark.parametrize(
    ("code", "length"),
    [("", "0"), ("91350100M000100Y4", "17"), ("91350100M000100Y430", "19")],
)
def test_length(code: str, length: str) -> None:
    with pytest.raises(uscc.UsccError) as err:
        uscc.validate(code)
    assert err.value.code == "length"
    assert err.value.placeholders == {"length": length}
    assert str(err.value) == f"a USCC has 18 characters, this one has {length}"


@pytest.mark.parametrize(
    ("code", "character", "position"),
    [
        ("91350100M000100I43", "I", "16"),  # I, O, Z, S, V are excluded from the alphabet
        ("O1350100M000100Y43", "O", "1"),
        ("91350100M0001S0Y43", "S", "14"),
        ("91350100M000100Y4Z", "Z", "18"),  # even as the check character
        ("9135010-M000100Y43", "-", "8"),
        ("91350100M000100V43", "V", "16"),
    ],
)
def test_character(code: str, character: str, position: str) -> None:
    with pytest.raises(uscc.UsccError) as err:
        uscc.validate(code)
    assert err.value.code == "character"
    assert err.value.placeholders == {"character": character, "position": position}
    assert str(err.value) == f"character {character} at position {position} is not allowed in a USCC"


@pytest.mark.parametrize(("code", "found"), [("91350100M000100Y44", "4"), ("91350100M000100Y4A", "A")])
def test_check_character(code: str, found: str) -> None:
    with pytest.raises(uscc.UsccError) as err:
        uscc.validate(code)
    assert err.value.code == "check"
    assert err.value.placeholders == {"expected": "3", "found": found}
    assert not uscc.is_valid(code)


def test_one_changed_character_is_caught() -> None:
    """The check character catches every single-character change of a valid code."""
    code = "91350100M000100Y43"
    for position in range(17):
        for char in uscc.ALPHABET:
            if char != code[position]:
                changed = code[:position] + char + code[position + 1 :]
                assert not uscc.is_valid(changed), changed


def test_message_quotes_no_whole_code() -> None:
    """Errors end up in logs; the USCC is personal data, so a message never carries the code."""
    for code in ("91350100M000100Y44", "91350100M000100I43", "91350100M000100Y4"):
        with pytest.raises(uscc.UsccError) as err:
            uscc.validate(code)
        assert code not in str(err.value)
        assert code[:10] not in str(err.value)
