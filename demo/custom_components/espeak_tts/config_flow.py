"""One step: the engine needs no settings, only the espeak-ng program."""

from __future__ import annotations

import shutil
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

DOMAIN = "espeak_tts"


class EspeakConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add the engine once."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create the entry when espeak-ng is installed."""
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured()
        if shutil.which("espeak-ng") is None:
            return self.async_abort(reason="espeak_missing")
        return self.async_create_entry(title="eSpeak NG", data={})
