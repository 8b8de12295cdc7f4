"""Repository metadata HACS and hassfest check: hacs.json keys, manifest key order and contents."""

from __future__ import annotations

import json
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

from awesomeversion import AwesomeVersion

ROOT = Path(__file__).resolve().parents[2]
# The fields HACS's HacsManifest reads; anything else is rejected by HACS validation.
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "render_readme",
    "country",
    "hacs",
    "homeassistant",
    "persistent_directory",
    "hide_default_branch",
}


def test_hacs_json() -> None:
    """The minimum HA HACS and the Marketplace enforce is the oldest HA the tests run on."""
    hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert set(hacs) <= HACS_KEYS, set(hacs) - HACS_KEYS
    assert hacs["name"]
    assert AwesomeVersion(hacs["homeassistant"]) == AwesomeVersion(version("homeassistant"))


def test_constraints_are_home_assistants_own() -> None:
    """constraints/ha-<version>.txt is the tested HA's package_constraints.txt, unchanged."""
    shipped = files("homeassistant").joinpath("package_constraints.txt").read_text(encoding="utf-8")
    ours = (ROOT / "constraints" / f"ha-{version('homeassistant')}.txt").read_text(encoding="utf-8")
    assert ours == shipped
    assert f"-c constraints/ha-{version('homeassistant')}.txt" in (ROOT / "requirements_test.txt").read_text()


def test_manifest_key_order_and_contents() -> None:
    manifest = json.loads(
        (ROOT / "custom_components" / "smart_park" / "manifest.json").read_text(encoding="utf-8")
    )
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), "hassfest wants domain, name, then alphabetical"
    assert manifest["domain"] == "smart_park"
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "local_polling"
    assert AwesomeVersion(manifest["version"])
    for key in (
        "codeowners",
        "documentation",
        "issue_tracker",
        "integration_type",
        "zeroconf",
        "requirements",
    ):
        assert manifest[key], key
    [pymodbus] = [r for r in manifest["requirements"] if r.startswith("pymodbus")]
    assert ">=3.11" in pymodbus  # keyword device_id= appeared in 3.10; 3.11 is our floor


def test_manifest_accepts_the_pymodbus_ha_core_pins_and_we_test_with() -> None:
    from packaging.requirements import Requirement

    manifest = json.loads(
        (ROOT / "custom_components" / "smart_park" / "manifest.json").read_text(encoding="utf-8")
    )
    [spec] = [Requirement(r) for r in manifest["requirements"] if r.startswith("pymodbus")]
    pins = [
        line
        for line in (ROOT / "requirements_test.txt").read_text().splitlines()
        if line.startswith("pymodbus")
    ]
    tested = pins[0].split("==")[1]
    assert spec.specifier.contains(tested)
    assert spec.specifier.contains("3.11.2")
    assert not spec.specifier.contains("3.9.2")


def test_brand_icon_is_png() -> None:
    icon = ROOT / "custom_components" / "smart_park" / "brand" / "icon.png"
    assert icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
