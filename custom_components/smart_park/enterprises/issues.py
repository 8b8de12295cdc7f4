"""Import issues in the user's language: one line per issue, for an action error or a form.

The importer is HA-free and knows only issue codes (:data:`.model.ENGLISH`); here they become the translations
of ``exceptions.enterprise_<code>``, English when a translation is missing or broken.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.translation import async_get_translations

from ..const import DOMAIN
from ..errors import invalid
from .model import ENGLISH, EnterpriseImportError, ImportIssue


async def async_render_import_issues(
    hass: HomeAssistant, issues: Iterable[ImportIssue], *, rows: bool = True
) -> str:
    """Every issue as a line in the configured language: row, column, message (a form leaves out rows)."""
    translations = await async_get_translations(hass, hass.config.language, "exceptions", {DOMAIN})

    def text(key: str, fallback: str, **placeholders: Any) -> str:
        message = translations.get(f"component.{DOMAIN}.exceptions.{key}.message", fallback)
        try:
            return message.format(**placeholders)
        except (KeyError, IndexError):
            return fallback.format(**placeholders)

    lines = []
    for issue in issues:
        message = text(f"enterprise_{issue.code}", ENGLISH[issue.code], **issue.placeholders)
        if not rows and issue.column is not None:
            line = text("enterprise_issue_field", "{column}: {message}", column=issue.column, message=message)
        elif issue.row is None:
            line = text("enterprise_issue_file", "file: {message}", message=message)
        elif issue.column is None:
            line = text("enterprise_issue_row", "row {row}: {message}", row=issue.row, message=message)
        else:
            line = text(
                "enterprise_issue_row_column",
                "row {row}, {column}: {message}",
                row=issue.row,
                column=issue.column,
                message=message,
            )
        lines.append("- " + line)
    return "\n".join(lines)


async def import_error(hass: HomeAssistant, err: EnterpriseImportError) -> ServiceValidationError:
    """The translated action error of a refused import, listing every issue."""
    return invalid(
        "enterprise_import_invalid",
        count=len(err.issues),
        issues=await async_render_import_issues(hass, err.issues),
    )
