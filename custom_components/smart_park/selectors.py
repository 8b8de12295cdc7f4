"""The selectors the option pages share: a number of seconds, and a list to choose from."""

from __future__ import annotations

from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)


def seconds(minimum: float, maximum: float, step: float = 1) -> NumberSelector:
    """A box for a number of seconds."""
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX, unit_of_measurement="s"
        )
    )


def choice(
    options: list[SelectOptionDict] | list[str],
    key: str | None = None,
    *,
    multiple: bool = False,
    mode: SelectSelectorMode = SelectSelectorMode.LIST,
) -> SelectSelector:
    """A choice among ``options``, their labels translated under ``key`` when given."""
    config = SelectSelectorConfig(options=options, multiple=multiple, mode=mode)
    if key is not None:
        config["translation_key"] = key
    return SelectSelector(config)
