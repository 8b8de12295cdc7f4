"""Who may import and export enterprise records, and where files may be (issue #11 items 6 and 7).

A non-admin wrote phone numbers and USCCs to www/leak.csv (served at /local/), and importing secrets.yaml
returned "unknown column db_password: hunter2-very-secret".
"""

# The park fixtures are shared with test_enterprises by import, which ruff sees as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smart_park.const import DOMAIN
from custom_components.smart_park.coordinator import SmartParkConfigEntry

from .test_enterprises import E001_USCC, ent_entry, ent_park, ent_simulator  # noqa: F401

pytestmark = pytest.mark.usefixtures("socket_enabled")

SECRET = "hunter2-very-secret"


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("export_enterprises", {"path": "smart_park/leak.csv"}),
        ("import_enterprises", {"content": "id,name\ne9,新锐\n"}),
    ],
)
async def test_non_admin_refused(
    hass: HomeAssistant,
    ent_park: SmartParkConfigEntry,
    hass_read_only_user: User,
    service: str,
    data: dict[str, str],
) -> None:
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN, service, data, blocking=True, context=Context(user_id=hass_read_only_user.id)
        )
    assert not (Path(hass.config.config_dir) / "smart_park" / "leak.csv").exists()
    assert "e9" not in ent_park.runtime_data.enterprises.records


async def test_non_admin_refused_over_websocket(
    hass: HomeAssistant,
    ent_park: SmartParkConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """The way the reported leak happened: a dashboard user calling the action."""
    client = await hass_ws_client(hass, hass_read_only_access_token)
    await client.send_json_auto_id(
        {
            "type": "call_service",
            "domain": DOMAIN,
            "service": "export_enterprises",
            "service_data": {"path": "www/leak.csv"},
        }
    )
    result = await client.receive_json()
    assert not result["success"]
    # HA's websocket reports an action's Unauthorized as a failed call with that message.
    assert result["error"]["message"] == "Unauthorized"
    assert not (Path(hass.config.config_dir) / "www" / "leak.csv").exists()


async def test_admin_may_import_and_export(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry, hass_admin_user: User
) -> None:
    context = Context(user_id=hass_admin_user.id)
    response = await hass.services.async_call(
        DOMAIN, "export_enterprises", {}, blocking=True, return_response=True, context=context
    )
    assert response is not None
    assert E001_USCC.encode() in Path(str(response["path"])).read_bytes()
    response = await hass.services.async_call(
        DOMAIN,
        "import_enterprises",
        {"path": "smart_park/enterprises.csv"},
        blocking=True,
        return_response=True,
        context=context,
    )
    assert response == {"added": [], "updated": [], "unchanged": 3, "dry_run": False}


@pytest.mark.parametrize(
    "path",
    ["www/leak.csv", "leak.csv", "../leak.csv", "/tmp/leak.csv", "smart_park", "smart_park/../www/x.csv"],
)
async def test_export_only_into_the_smart_park_folder(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry, path: str
) -> None:
    """Not www/ (public at /local/), not the config dir's root, nothing outside it."""
    (Path(hass.config.config_dir) / "www").mkdir()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "export_enterprises", {"path": path}, blocking=True)
    assert err.value.translation_key == "export_path_not_allowed"
    assert err.value.translation_placeholders == {"path": path, "folder": "smart_park"}
    assert not list((Path(hass.config.config_dir) / "www").iterdir())


async def test_export_through_a_symlink_into_www_refused(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry
) -> None:
    config = Path(hass.config.config_dir)
    (config / "www").mkdir()
    (config / "smart_park").mkdir()
    (config / "smart_park" / "public").symlink_to(config / "www")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "export_enterprises", {"path": "smart_park/public/leak.csv"}, blocking=True
        )
    assert err.value.translation_key == "export_path_not_allowed"
    assert not (config / "www" / "leak.csv").exists()


async def test_import_of_config_files_refused_without_echo(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry
) -> None:
    config = Path(hass.config.config_dir)
    (config / "secrets.yaml").write_text(f"db_password: {SECRET}\n", encoding="utf-8")
    (config / ".storage").mkdir(exist_ok=True)
    (config / ".storage" / "auth").write_text('{"data": {"users": []}}', encoding="utf-8")
    for path in ("secrets.yaml", ".storage/auth", "smart_park/../secrets.yaml", str(config / "secrets.yaml")):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, "import_enterprises", {"path": path, "format": "csv"}, blocking=True
            )
        assert err.value.translation_key == "path_not_allowed"
        assert SECRET not in str(err.value.translation_placeholders)
    # Even a copy placed in the import folder is not quoted back.
    (config / "smart_park").mkdir()
    (config / "smart_park" / "secrets.csv").write_text(f"db_password: {SECRET}\n", encoding="utf-8")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "import_enterprises", {"path": "smart_park/secrets.csv"}, blocking=True
        )
    assert err.value.translation_key == "enterprise_import_invalid"
    issues = (err.value.translation_placeholders or {})["issues"]
    assert SECRET not in issues
    assert issues.splitlines()[0] == "- row 1: column 1 has an unknown header"


async def test_import_from_allowlisted_external_dir(
    hass: HomeAssistant, ent_park: SmartParkConfigEntry, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A folder the admin listed in allowlist_external_dirs may be read from (e.g. a network share)."""
    share = tmp_path_factory.mktemp("share")
    (share / "new.csv").write_text("id,name\ne9,新锐\n", encoding="utf-8")
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "import_enterprises", {"path": str(share / "new.csv")}, blocking=True
        )
    hass.config.allowlist_external_dirs = {str(share)}
    response = await hass.services.async_call(
        DOMAIN, "import_enterprises", {"path": str(share / "new.csv")}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["added"] == ["e9"]
