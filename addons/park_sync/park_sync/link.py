"""An uplink's link state, logged once per transition: the HTTP and MQTT uplinks share it.

A link is ``unknown`` until the first attempt, then ``up`` or ``down``. Going down logs one warning with the
reason and how many records the outbox keeps; every retry while down logs at debug level only; coming back up
logs how long it was down. The state, ``down_since`` and ``last_error`` are what ``/status`` shows.
"""

from __future__ import annotations

import logging
import time

from .outbox import Outbox


class LinkState:
    """Mixed into an uplink: set ``label`` (for the log), ``_logger``, ``_outbox`` and ``link_url``."""

    label = "Link"
    _logger: logging.Logger
    _outbox: Outbox
    state: str = "unknown"
    down_since: float | None = None
    last_error: str | None = None

    @property
    def link_url(self) -> str:
        raise NotImplementedError

    def _mark_down(self, reason: str) -> None:
        self.last_error = reason
        if self.state != "down":
            self.state = "down"
            self.down_since = time.time()
            self._logger.warning(
                "%s DOWN (%s): %s; %d records kept in the outbox, retrying with backoff",
                self.label,
                self.link_url,
                reason,
                self._outbox.pending,
            )
        else:
            self._logger.debug("%s still down: %s", self.label, reason)

    def _mark_up(self) -> None:
        if self.state == "down" and self.down_since is not None:
            self._logger.warning(
                "%s UP again after %.1f s; %d records left to drain",
                self.label,
                time.time() - self.down_since,
                self._outbox.pending,
            )
        elif self.state == "unknown":
            self._logger.info("%s up (%s)", self.label, self.link_url)
        self.state = "up"
        self.down_since = None
        self.last_error = None
