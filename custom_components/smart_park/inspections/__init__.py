"""Fire inspections: one to-do list per building for the monthly self-inspection and cross-inspection.

- :mod:`.model`: the item (due, who ticked it off), the overdue event's name;
- :mod:`.manager`: :class:`InspectionLists`, the lists of one park (Store, audit, overdue events).

The lists are shown (and edited) by the integration's ``todo`` platform. What the rest of the integration
uses is re-exported here.
"""

from __future__ import annotations

from .manager import InspectionLists, async_setup_inspections
from .model import EVENT_INSPECTION_OVERDUE, InspectionItem, ItemStatus

__all__ = [
    "EVENT_INSPECTION_OVERDUE",
    "InspectionItem",
    "InspectionLists",
    "ItemStatus",
    "async_setup_inspections",
]
