"""The enterprise registry: records, monthly figures and consumption of a park's enterprises (issue #5).

HA-free: :mod:`.model` (records, issues, figures), :mod:`.documents` (CSV/YAML files), :mod:`.importer`
(validation). With HA: :mod:`.store` (the records' Store), :mod:`.consumption` (meters), :mod:`.figures`,
:mod:`.registry` (the registry and its setup), :mod:`.files` (allowed folders), :mod:`.issues` (translated
import issues), :mod:`.actions` and :mod:`.options_flow` (the options flow's enterprise pages). What the rest
of the integration uses is re-exported here."""

from __future__ import annotations

from .actions import async_export, async_register_services
from .consumption import MeterKind, MeterMonth, month_of, previous_month
from .files import DEFAULT_EXPORT_PATH, async_read_import_file
from .issues import async_render_import_issues
from .model import EnterpriseImportError, EnterpriseRecord, EnterpriseStatus, redacted
from .registry import SIGNAL_ENTERPRISES_CHANGED, EnterpriseRegistry, async_setup_enterprises

__all__ = [
    "DEFAULT_EXPORT_PATH",
    "SIGNAL_ENTERPRISES_CHANGED",
    "EnterpriseImportError",
    "EnterpriseRecord",
    "EnterpriseRegistry",
    "EnterpriseStatus",
    "MeterKind",
    "MeterMonth",
    "async_export",
    "async_read_import_file",
    "async_register_services",
    "async_render_import_issues",
    "async_setup_enterprises",
    "month_of",
    "previous_month",
    "redacted",
]
