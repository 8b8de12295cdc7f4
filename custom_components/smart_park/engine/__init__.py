"""The park engine: profile, device catalogue, register codec and the Modbus poller, with no Home Assistant.

The integration shows what the engine reads; the simulator, the benchmarks and the tests use the engine
directly. Nothing here imports ``homeassistant`` (``tests/core/test_engine_without_ha.py`` proves it in a
virtual environment without it), so the engine could be published as its own package.
"""
