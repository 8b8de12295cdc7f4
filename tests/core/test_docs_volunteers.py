"""The volunteer guide (docs/volunteers.md and its zh-Hans twin) must stay true to the code.

Every action it names is registered, every YAML example passes the action's real schema, the events, option
keys and defaults, entity and option-page names, the answer buttons and links are the code's and the
translations' own, so a rename in the code fails here instead of misleading the duty room.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from custom_components.smart_park.incidents import (
    EVENT_INCIDENT_ACKNOWLEDGED,
    EVENT_INCIDENT_CLOSED,
    EVENT_INCIDENT_OPENED,
    EVENT_INCIDENT_UPDATED,
)
from custom_components.smart_park.volunteers import actions, messages, options
from custom_components.smart_park.volunteers.model import (
    EVENT_DISPATCHED,
    EVENT_ENDED,
    EVENT_ESCALATED,
    EVENT_RESPONDED,
    Response,
    Role,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
COMPONENT = ROOT / "custom_components" / "smart_park"
GUIDES = {"en": DOCS / "volunteers.md", "zh-Hans": DOCS / "volunteers.zh-Hans.md"}
TRANSLATIONS = {"en": COMPONENT / "strings.json", "zh-Hans": COMPONENT / "translations" / "zh-Hans.json"}
SCHEMAS = {
    actions.SERVICE_SET: actions.SET_SCHEMA,
    actions.SERVICE_REMOVE: actions.REMOVE_SCHEMA,
    actions.SERVICE_DISPATCH: actions.DISPATCH_SCHEMA,
    actions.SERVICE_RECORD: actions.RECORD_SCHEMA,
    actions.SERVICE_NOTIFY: actions.NOTIFY_SCHEMA,
}
EVENTS = {
    EVENT_DISPATCHED,
    EVENT_RESPONDED,
    EVENT_ESCALATED,
    EVENT_ENDED,
    EVENT_INCIDENT_OPENED,
    EVENT_INCIDENT_UPDATED,
    EVENT_INCIDENT_ACKNOWLEDGED,
    EVENT_INCIDENT_CLOSED,
}
ENTITY_KEYS = {
    "binary_sensor": ("volunteer_push_path",),
    "sensor": (
        "volunteer_last_delivery",
        "volunteers_on_duty",
        "first_response_median",
        "first_arrival_median",
    ),
}
# How each guide writes a switch that is on, and an incident id in a tag.
ON = {"en": "on", "zh-Hans": "开"}
INCIDENT_ID = {"en": "<incident id>", "zh-Hans": "<事件 ID>"}


def guide(language: str) -> str:
    return GUIDES[language].read_text(encoding="utf-8")


def translations(language: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TRANSLATIONS[language].read_text(encoding="utf-8"))
    return data


def yaml_examples(text: str) -> list[Any]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)]


@pytest.mark.parametrize("language", GUIDES)
def test_every_action_named_is_registered(language: str) -> None:
    registered = set(yaml.safe_load((COMPONENT / "services.yaml").read_text(encoding="utf-8")))
    named = set(re.findall(r"\bsmart_park\.([a-z_]+)", guide(language)))
    assert {"set_volunteer", "notify_volunteers", "record_response"} <= named
    assert named <= registered, f"not registered: {sorted(named - registered)}"


@pytest.mark.parametrize("language", GUIDES)
def test_every_example_passes_the_actions_schema(language: str) -> None:
    checked = 0
    for example in yaml_examples(guide(language)):
        action = str(example.get("action", "")) if isinstance(example, dict) else ""
        if action.startswith("smart_park."):
            SCHEMAS[action.removeprefix("smart_park.")](example["data"])
            checked += 1
        for trigger in example.get("triggers", []) if isinstance(example, dict) else []:
            assert trigger["event_type"] in EVENTS
    assert checked >= 6


@pytest.mark.parametrize("language", GUIDES)
def test_events_named_exist(language: str) -> None:
    named = set(re.findall(r"\bsmart_park_(?:rollcall|volunteer|incident)_[a-z_]+", guide(language)))
    assert {EVENT_DISPATCHED, EVENT_RESPONDED, EVENT_ESCALATED, EVENT_ENDED} <= named
    assert named <= EVENTS, f"no such event: {sorted(named - EVENTS)}"


@pytest.mark.parametrize("language", GUIDES)
def test_option_keys_and_defaults(language: str) -> None:
    text = guide(language)
    keys = {value for name, value in vars(options).items() if name.startswith("CONF_")}
    # The settings table names each option key in brackets after its label.
    assert set(re.findall(r"[(（]`(volunteer_[a-z_]+)`[)）]", text)) == keys
    table = [line for line in text.splitlines() if line.startswith("| ")]
    rows = {key: next(line for line in table if f"`{key}`" in line) for key in keys}
    assert f"| {options.DEFAULT_QUORUM} |" in rows[options.CONF_QUORUM]
    assert f"| {options.DEFAULT_REPEAT_AFTER:.0f} " in rows[options.CONF_REPEAT_AFTER]
    assert f"| {options.DEFAULT_ESCALATE_AFTER:.0f} " in rows[options.CONF_ESCALATE_AFTER]
    defaults = options.RollCallOptions.from_options({})
    for key, default in (
        (options.CONF_HELP_BROADCAST, defaults.help_broadcast),
        (options.CONF_RELAY_REACHABLE, defaults.relay_reachable),
    ):
        assert (f"| {ON[language]} |" in rows[key]) is default, rows[key]
    assert f"{messages.TAG_PREFIX}notice" in text


@pytest.mark.parametrize("language", GUIDES)
def test_tags_and_action_fields(language: str) -> None:
    text = guide(language)
    # The call-out's tag, and the call for help's (the phones' notice and HA's notification id).
    assert f"`{messages.tag(INCIDENT_ID[language])}`" in text
    assert f"`{messages.help_tag(INCIDENT_ID[language])}`" in text
    # Every field of the roster and notice actions is named (`users`, `critical: true`) or in an example.
    examples = yaml_examples(text)
    for service in (actions.SERVICE_SET, actions.SERVICE_NOTIFY):
        shown = {
            field
            for example in examples
            if isinstance(example, dict) and example.get("action") == f"smart_park.{service}"
            for field in example["data"]
        }
        missing = [
            field
            for field in map(str, SCHEMAS[service].schema)
            if field not in shown and not re.search(rf"`{field}[`:]", text)
        ]
        assert not missing, f"{GUIDES[language].name} does not explain {service}: {missing}"


@pytest.mark.parametrize("language", GUIDES)
def test_ui_names_are_the_translations(language: str) -> None:
    text = guide(language)
    strings = translations(language)
    names: list[str] = []
    for platform, keys in ENTITY_KEYS.items():
        for key in keys:
            entity = strings["entity"][platform][key]
            names += [entity["name"], *entity.get("state", {}).values()]
    step = strings["options"]["step"]
    names += [step["init"]["menu_options"]["volunteers"]]
    names += step["volunteers"]["menu_options"].values()
    names += step["volunteer_settings"]["data"].values()
    names += step["volunteer_form"]["data"].values()
    names += strings["selector"]["volunteer_role"]["options"].values()
    issue = strings["issues"]["volunteer_unreachable"]["title"]
    names += [part.strip() for part in issue.split("{volunteer}") if part.strip()]
    missing = [name for name in names if name not in text]
    assert not missing, f"{GUIDES[language].name} does not use these names: {missing}"


@pytest.mark.parametrize("language", GUIDES)
def test_answer_buttons_and_roles(language: str) -> None:
    text = guide(language)
    for shown in {language, "zh-Hans"}:  # the English guide shows the Chinese buttons too
        for response in Response:
            assert messages.text(shown, response.value) in text
    for role in Role:
        assert f"`{role.value}`" in text
    assert messages.alarm_fields("t")["channel"] in text


@pytest.mark.parametrize("language", GUIDES)
def test_links_resolve(language: str) -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", guide(language)):
        if not re.match(r"[a-z]+://", target):
            assert (DOCS / target).is_file(), target


def test_readme_links_both_guides() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/volunteers.md)" in readme
    assert "(docs/volunteers.zh-Hans.md)" in readme
