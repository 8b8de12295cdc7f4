"""Installs the blueprints shipped inside the integration into ``<config>/blueprints/<domain>/smart_park/``.

HACS installs only ``custom_components/smart_park``, and a park may have no internet, so the emergency
blueprints travel in the package (``blueprints/<domain>/smart_park/``) and are copied at set-up. A user's
copy always wins; an HA Store keeps the sha256 of each file as we last wrote it:

- missing and never installed: installed;
- present and unchanged since we installed it (or already the shipped text): updated to the shipped text;
- present and edited (or put there by the user): kept, logged once at info;
- deleted after we installed it: the user's choice, never restored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.importlib import async_import_module
from homeassistant.helpers.storage import Store
from homeassistant.util.file import write_utf8_file_atomic

from .const import DOMAIN, LOGGER

SHIPPED_DIR: Final = Path(__file__).parent / "blueprints"
BLUEPRINT_DOMAINS: Final = ("automation", "script")
STORAGE_KEY: Final = f"{DOMAIN}.blueprints"
STORAGE_VERSION: Final = 1


def sha256(content: bytes) -> str:
    """The hash the Store keeps of a file."""
    return hashlib.sha256(content).hexdigest()


def shipped_blueprints(root: Path = SHIPPED_DIR) -> dict[str, bytes]:
    """Every shipped blueprint by its path under ``blueprints/`` (``automation/smart_park/x.yaml``)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for domain in BLUEPRINT_DOMAINS
        for path in sorted((root / domain / DOMAIN).glob("*.yaml"))
    }


@dataclass(slots=True)
class InstallRecord:
    """What the Store keeps: the hash of each file as we wrote it, and the edited files already logged."""

    installed: dict[str, str] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> InstallRecord:
        """Read back the stored record (empty on the first run)."""
        data = data or {}
        return cls(installed=dict(data.get("installed", {})), kept=set(data.get("kept", [])))

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the Store."""
        return {"installed": dict(sorted(self.installed.items())), "kept": sorted(self.kept)}


@dataclass(slots=True)
class InstallResult:
    """What one run did, by path under ``blueprints/``."""

    written: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def install(blueprints_dir: Path, shipped: Mapping[str, bytes], record: InstallRecord) -> InstallResult:
    """Bring ``blueprints_dir`` up to the shipped blueprints without touching a user's copy (blocking I/O).

    ``record`` is updated in place; ``kept`` lists the edited files not logged before.
    """
    result = InstallResult()
    for name, content in shipped.items():
        target = blueprints_dir / name
        ours = sha256(content)
        previous = record.installed.get(name)
        if not target.exists():
            if previous is None:
                _write(target, content)
                record.installed[name] = ours
                result.written.append(name)
            continue  # deleted after we installed it: the user's choice
        current = sha256(target.read_bytes())
        if current == ours:
            record.installed[name] = ours
            record.kept.discard(name)
        elif current == previous:
            _write(target, content)
            record.installed[name] = ours
            result.updated.append(name)
        elif name not in record.kept:
            record.kept.add(name)
            result.kept.append(name)
    return result


def _write(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    write_utf8_file_atomic(str(target), content, mode="wb")


async def async_install_blueprints(hass: HomeAssistant) -> None:
    """Install or update the shipped blueprints once per start; a failure is logged, never fatal."""
    store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, STORAGE_KEY)
    record = InstallRecord.from_dict(await store.async_load())
    blueprints_dir = Path(hass.config.path("blueprints"))

    def run() -> InstallResult:
        return install(blueprints_dir, shipped_blueprints(), record)

    try:
        # HA copies its own example blueprints only into a domain folder that does not exist yet: let it do
        # so before ours create that folder (automation and script are after_dependencies: loaded already).
        for domain in BLUEPRINT_DOMAINS:
            helpers = await async_import_module(hass, f"homeassistant.components.{domain}.helpers")
            await helpers.async_get_blueprints(hass).async_populate()
        result = await hass.async_add_executor_job(run)
    except OSError as err:
        LOGGER.warning("Could not install the Smart Park blueprints into %s: %s", blueprints_dir, err)
        return
    await store.async_save(record.as_dict())
    if result.written or result.updated:
        # Automations HA loaded before us keep the blueprint they read until they are reloaded.
        LOGGER.info(
            "Blueprints installed: %s; updated (used after the automations' next reload): %s",
            result.written or "-",
            result.updated or "-",
        )
    for name in result.kept:
        LOGGER.info("Blueprint %s was edited here and is kept; the shipped version is not installed", name)
