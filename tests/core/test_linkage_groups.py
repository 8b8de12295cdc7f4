"""Linkage groups from a profile: a controller whose bells one write cannot switch is a profile error."""

from __future__ import annotations

import pytest

from custom_components.smart_park.engine.profile import ProfileError, parse_profile
from custom_components.smart_park.linkage import Confirmation, build_groups

PROFILE = """
park: {id: p, name: P}
gateways: [{id: gw, host: 127.0.0.1, port: 502}]
buildings: [{id: b1, name: B1, floors: 3}]
devices:
  - {id: ok_bells, type: fire_bell_controller, gateway: gw, unit: 1, building: b1, channels: 3}
  - {id: split_bells, type: fire_bell_controller, gateway: gw, unit: 2, building: b1, channels: 3%s}
"""
SPLIT = ",\n     overrides: [{key: bell_2, table: coil, address: 40, writable: true, platform: none}]"


def test_groups_of_a_building() -> None:
    groups = build_groups(parse_profile(PROFILE % "", None), "building", Confirmation.SINGLE, [])
    assert list(groups) == ["b1"]
    assert [(c.id, c.address, c.bells) for c in groups["b1"].controllers] == [
        ("ok_bells", 0, 3),
        ("split_bells", 0, 3),
    ]


def test_bell_coils_not_contiguous_name_the_device() -> None:
    profile = parse_profile(PROFILE % SPLIT, None)
    with pytest.raises(ProfileError) as err:
        build_groups(profile, "building", Confirmation.SINGLE, [])
    [issue] = err.value.issues
    assert issue.path == "devices[1]"
    assert issue.code == "invalid"
    assert "split_bells" in issue.placeholders["reason"]
