"""The folders enterprise files may be read from and written to, inside HA's config dir.

Imports come from ``<config>/smart_park/`` or a folder of ``allowlist_external_dirs``; exports go to
``<config>/smart_park/`` only, as ``.csv``. Never www/: HA serves it to anyone at /local/, and exports hold
phone numbers and USCCs. Anything else (secrets.yaml, .storage/) is refused before it is opened, so no error
can quote it. The blocking parts run in the executor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from homeassistant.core import HomeAssistant

from ..errors import failed, invalid
from .documents import MAX_BYTES

FILES_DIR: Final = "smart_park"
DEFAULT_EXPORT_PATH: Final = f"{FILES_DIR}/enterprises.csv"


def _resolve(hass: HomeAssistant, path: str) -> Path:
    """``path`` (relative to the config dir, or absolute) with every symlink resolved; blocking."""
    return (Path(hass.config.config_dir) / path.strip()).resolve()


def _in_files_dir(hass: HomeAssistant, file: Path) -> bool:
    root = (Path(hass.config.config_dir) / FILES_DIR).resolve()
    return file.is_relative_to(root) and file != root


def _import_file(hass: HomeAssistant, path: str) -> Path:
    """An import file in ``<config>/smart_park/`` or a folder of ``allowlist_external_dirs``; blocking."""
    file = _resolve(hass, path)
    if path.strip() and (_in_files_dir(hass, file) or hass.config.is_allowed_path(str(file))):
        return file
    raise invalid("path_not_allowed", path=path, folder=FILES_DIR)


def _export_file(hass: HomeAssistant, path: str) -> Path:
    """An export file: a ``.csv`` in ``<config>/smart_park/`` only (HA's allowlisted dirs include www/)."""
    file = _resolve(hass, path)
    if not path.strip() or not _in_files_dir(hass, file):
        raise invalid("export_path_not_allowed", path=path, folder=FILES_DIR)
    if file.suffix.lower() != ".csv":
        # Never overwrite a YAML or any other file by a typo.
        raise invalid("export_not_csv", path=path)
    return file


def _read_bytes(file: Path) -> bytes:
    with file.open("rb") as handle:
        # One byte more than allowed lets the validator say "too large" without reading a huge file.
        return handle.read(MAX_BYTES + 1)


def _write_bytes(file: Path, data: bytes) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(file.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(file)


async def async_read_import_file(hass: HomeAssistant, path: str) -> bytes:
    """The bytes of an import file in the allowed folders, or a translated error."""
    file = await hass.async_add_executor_job(_import_file, hass, path)
    try:
        return await hass.async_add_executor_job(_read_bytes, file)
    except OSError as err:
        raise invalid("file_not_readable", path=path) from err


async def async_export_file(hass: HomeAssistant, path: str) -> Path:
    """Where an export to ``path`` goes, or a translated error (checked before the CSV is built)."""
    return await hass.async_add_executor_job(_export_file, hass, path)


async def async_write_export_file(hass: HomeAssistant, file: Path, path: str, data: bytes) -> None:
    """Write an export atomically (a temporary file, then a rename); a translated error names ``path``."""
    try:
        await hass.async_add_executor_job(_write_bytes, file, data)
    except OSError as err:
        raise failed("file_not_writable", path=path, error=err.strerror or str(err)) from err
