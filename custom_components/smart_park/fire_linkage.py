"""Old import path of the fire-bell linkage, now the :mod:`.linkage` package.

Kept only so that a commit of the package imports while ``__init__``, ``coordinator`` and ``config_flow``
(edited in the working tree by their owners' pending changes) still import from here at HEAD; delete it once
they are committed importing from :mod:`.linkage`.
"""

from __future__ import annotations

from .linkage import FireLinkage, async_setup_linkage, hash_pin

__all__ = ["FireLinkage", "async_setup_linkage", "hash_pin"]
