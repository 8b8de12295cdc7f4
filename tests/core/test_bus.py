"""Bus-time model (engine/bus.py) against figures computed by hand from Modbus over Serial Line V1.02."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.smart_park.engine.bus import (
    BusModel,
    Request,
    SerialLine,
    capacity_report,
    frame_limits,
)
from custom_components.smart_park.engine.catalogue import Table, Tier
from custom_components.smart_park.engine.modbus import GatewayClient, GatewayPoller
from custom_components.smart_park.engine.planner import ReadBlock
from custom_components.smart_park.engine.profile import ParkProfile, ProfileError, parse_profile


def _profile(**gateway: Any) -> ParkProfile:
    return parse_profile(
        {
            "park": {"id": "p1", "name": "Park"},
            "gateways": [{"id": "gw1", "host": "127.0.0.1", **gateway}],
        }
    )


def _issues(**gateway: Any) -> list[tuple[str, str]]:
    with pytest.raises(ProfileError) as err:
        _profile(**gateway)
    return [(issue.path, issue.code) for issue in err.value.issues]


def _blocks(n: int, count: int, table: Table = Table.HOLDING_REGISTER) -> list[ReadBlock]:
    return [ReadBlock(table, i * 200, count, ()) for i in range(n)]


def test_9600_8n1_character_and_gap() -> None:
    line = SerialLine(9600)
    assert line.char_time == pytest.approx(1.0417e-3, rel=1e-4)  # 10 bits / 9600
    assert line.gap == pytest.approx(3.6458e-3, rel=1e-4)  # 3.5 characters


def test_parity_and_two_stop_bits_add_a_bit_each() -> None:
    assert SerialLine(9600, parity="E").char_time == pytest.approx(11 / 9600)
    assert SerialLine(9600, stopbits=2).char_time == pytest.approx(11 / 9600)
    assert SerialLine(9600, bytesize=7, parity="O", stopbits=2).char_time == pytest.approx(11 / 9600)


def test_gap_is_fixed_above_19200_baud() -> None:
    assert SerialLine(19200).gap == pytest.approx(3.5 * 10 / 19200)
    assert SerialLine(38400).gap == pytest.approx(1.75e-3)
    assert SerialLine(9600, frame_gap=0.005).gap == 0.005


def test_frame_sizes() -> None:
    assert Request(3, 10).sizes() == (8, 25)  # reply: address, function, byte count, 20 data bytes, CRC
    assert Request(4, 1).sizes() == (8, 7)
    assert Request(1, 20).sizes() == (8, 8)  # 20 coils in 3 bytes
    assert Request(2, 16).sizes() == (8, 7)
    assert Request(6, 1).sizes() == (8, 8)  # echo
    assert Request(16, 2).sizes() == (13, 8)  # address, count, byte count, 4 data bytes
    assert Request(15, 9).sizes() == (11, 8)
    assert Request.read(ReadBlock(Table.INPUT_REGISTER, 0, 10, ())) == Request(4, 10)


def test_read_of_ten_registers_at_9600() -> None:
    # (8 + 25) chars x 1.0417 ms + 2 x 3.6458 ms + 10 ms turnaround = 34.375 + 7.292 + 10 = 51.667 ms
    assert SerialLine(9600).transaction_time(Request(3, 10)) == pytest.approx(51.667e-3, rel=1e-4)
    # One register: 15 chars = 15.625 ms + 7.292 + 10 = 32.917 ms, within the 25-40 ms seen on real buses
    assert SerialLine(9600).transaction_time(Request(3, 1)) == pytest.approx(32.917e-3, rel=1e-4)
    # 115200 8N1, no turnaround: 33 x 86.8 us + 2 x 1.75 ms = 6.365 ms
    line = SerialLine(115200, turnaround=0.0)
    assert line.transaction_time(Request(3, 10)) == pytest.approx(6.3646e-3, rel=1e-4)


def test_measurements_scale_the_model() -> None:
    model = BusModel(SerialLine(9600))
    request = Request(3, 10)
    modelled = model.estimate(request)
    model.record(request, 2 * modelled)  # the first sample sets the ratio
    assert model.estimate(request) == pytest.approx(2 * modelled)
    model.record(request, modelled)  # then weighted: 2 + 0.2 x (1 - 2) = 1.8
    assert model.ratio == pytest.approx(1.8)
    # The ratio carries over to other shapes, and one wild sample moves it only within bounds.
    one = SerialLine(9600).transaction_time(Request(3, 1))
    assert model.estimate(Request(3, 1)) == pytest.approx(1.8 * one)
    model.record(request, 1000.0)
    assert model.ratio == pytest.approx(1.8 + 0.2 * (10 - 1.8))


def test_tcp_gateway_has_no_line_and_learns_a_mean() -> None:
    model = BusModel.of(_profile().gateways["gw1"])
    assert model.line is None
    assert model.estimate(Request(3, 10)) == 0.0
    model.record(Request(3, 10), 0.004)
    model.record(Request(3, 10), 0.002)
    assert model.estimate(Request(3, 1)) == pytest.approx(0.004 + 0.2 * (0.002 - 0.004))


def test_capacity_report_by_hand() -> None:
    gateway = _profile(transport="serial_over_tcp", baudrate=9600).gateways["gw1"]
    plans = {Tier.SAFETY: _blocks(4, 1), Tier.FAST: _blocks(20, 10), Tier.SLOW: _blocks(1, 10)}
    periods = {Tier.SAFETY: 1.0, Tier.FAST: 0.25, Tier.NORMAL: 5.0, Tier.SLOW: 60.0}
    report = capacity_report(gateway, plans, periods)
    safety, fast, slow = report.tiers
    assert [t.tier for t in report.tiers] == [Tier.SAFETY, Tier.FAST, Tier.SLOW]
    # safety: 4 x 32.917 ms = 131.67 ms per cycle, 13.2 % of the line at 1 s; it keeps its period
    assert safety.cycle == pytest.approx(0.13167, rel=1e-3)
    assert safety.utilisation == pytest.approx(0.13167, rel=1e-3)
    assert safety.achieved == 1.0
    assert not safety.late
    # fast: 20 x 51.667 ms = 1.0333 s per cycle against 0.25 s. Slow (51.667 ms per 60 s, 0.09 % of the
    # line) is under its 2 % floor share, so the scheduler keeps all it asks; fast gets what safety and slow
    # leave: 0.9 - 0.1317 - 0.0009 = 0.7675 of the line, every 1.0333 / 0.7675 = 1.346 s, which is also
    # the period that fits with safety and slow kept
    assert fast.cycle == pytest.approx(1.0333, rel=1e-3)
    assert fast.requests == 20
    assert fast.utilisation == pytest.approx(4.1333, rel=1e-3)
    assert fast.achieved == pytest.approx(1.3464, rel=1e-3)
    assert fast.fits == pytest.approx(1.3464, rel=1e-3)
    assert fast.late
    # slow is not starved: it keeps its period
    assert slow.achieved == pytest.approx(60.0)
    assert not slow.late
    assert not report.fits
    assert report.first_late() is fast
    # at the period that fits, everything does
    fitted = capacity_report(gateway, plans, {**periods, Tier.FAST: 1.35})
    assert fitted.fits
    assert fitted.first_late() is None


def test_tcp_gateway_always_fits_until_measured() -> None:
    gateway = _profile().gateways["gw1"]
    report = capacity_report(gateway, {Tier.FAST: _blocks(500, 10)}, {Tier.FAST: 0.25})
    assert not report.serial
    assert report.fits


def test_transport_fields_parse_with_defaults() -> None:
    plain = _profile().gateways["gw1"]
    assert (plain.transport, plain.serial, plain.turnaround, plain.max_frame) == (None, False, None, None)
    assert not _profile(transport="tcp").gateways["gw1"].serial
    gw = _profile(transport="serial_over_tcp", baudrate=19200, parity="E", turnaround=5, max_frame=64)
    line = SerialLine.of(gw.gateways["gw1"])
    assert line == SerialLine(19200, parity="E", turnaround=0.005)
    # 64-byte frames: replies of at most 29 registers or 472 bits
    assert frame_limits(gw.gateways["gw1"]) == {"max_registers": 29, "max_bits": 472}

    def rtu(**transport: str) -> bool:
        gateway = {"id": "bus", "protocol": "rtu", "serial_port": "/dev/ttyUSB0", **transport}
        return (
            parse_profile({"park": {"id": "p1", "name": "Park"}, "gateways": [gateway]})
            .gateways["bus"]
            .serial
        )

    # A local serial port is timed once declared; undeclared, it is polled as before.
    assert rtu(transport="rtu")
    assert not rtu()


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"transport": "udp"}, "gateways[0].transport"),
        ({"transport": "rtu"}, "gateways[0].transport"),
        ({"protocol": "rtu", "serial_port": "/dev/ttyS0", "transport": "tcp"}, "gateways[0].transport"),
        (
            {"protocol": "rtu", "serial_port": "/dev/ttyS0", "transport": "serial_over_tcp"},
            "gateways[0].transport",
        ),
        ({"baudrate": 9601}, "gateways[0].baudrate"),
        ({"parity": "none"}, "gateways[0].parity"),
        ({"turnaround": -1}, "gateways[0].turnaround"),
        ({"turnaround": "soon"}, "gateways[0].turnaround"),
        ({"frame_gap": 500}, "gateways[0].frame_gap"),
        ({"max_frame": 300}, "gateways[0].max_frame"),
        ({"max_frame": 8}, "gateways[0].max_frame"),
    ],
)
def test_bad_transport_fields_name_the_field(fields: dict[str, Any], path: str) -> None:
    assert _issues(**fields) == [(path, "invalid")]


async def test_max_frame_shortens_the_pollers_reads() -> None:
    def plans(**gateway: Any) -> list[ReadBlock]:
        profile = parse_profile(
            {
                "park": {"id": "p1", "name": "Park"},
                "gateways": [{"id": "gw1", "host": "127.0.0.1", **gateway}],
                "devices": [{"id": "bc", "type": "broadcast_controller", "unit": 1}],
            }
        )
        poller = GatewayPoller(GatewayClient(profile.gateways["gw1"]), profile.devices.values())
        return [block for tier in poller.tiers() for block in poller.plan(tier)["bc"]]

    default = plans()
    short = plans(max_frame=16)  # 11 data bytes: at most 5 registers per read
    assert max(block.count for block in default) > 5
    assert max(block.count for block in short) <= 5
    assert len(short) > len(default)


def test_reply_timeout_is_sized_from_the_measured_line() -> None:
    model = BusModel(SerialLine(9600))
    request = Request(3, 10)  # ~52 ms at 9600 baud
    assert model.timeout(request, 1.0) == 1.0  # the profile's until the line is measured
    for _ in range(20):
        model.record(request, model.modelled(request))
    # four times the expected ~52 ms plus 0.1 s
    assert model.timeout(request, 1.0) == pytest.approx(4 * model.modelled(request) + 0.1)
    assert model.timeout(Request(3, 1), 1.0) == pytest.approx(0.3)  # never below the floor
    assert model.timeout(request, 0.2) == 0.2  # never above the profile's
    slow = BusModel(SerialLine(1200))  # a slow line: 8 x the time, still capped by the profile
    for _ in range(20):
        slow.record(Request(3, 125), slow.modelled(Request(3, 125)))
    assert slow.timeout(Request(3, 125), 1.0) == 1.0
