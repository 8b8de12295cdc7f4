from homeassistant.core import HomeAssistant


async def test_setup(hass: HomeAssistant, init_integration) -> None:
    states = hass.states.async_all()
    for s in states:
        print(s.entity_id, s.state, dict(s.attributes))
    assert states
