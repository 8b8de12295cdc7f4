"""HJ 212-2017 codec: the protocol note's vectors byte for byte, and rejection of bad frames."""

from __future__ import annotations

import pytest

from central import hj212_server as central_codec
from park_sync import hj212

EXAMPLE = (
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&RtdInterval=30&&1C80\r\n"
)


def test_crc_check_value_is_annex_a_not_modbus() -> None:
    assert hj212.crc16(b"123456789") == 0x2F80
    assert central_codec.crc16(b"123456789") == 0x2F80


def test_standard_example_packet_byte_exact() -> None:
    pkt = hj212.Packet(
        qn="20160801085857223",
        st="32",
        cn="1062",
        pw="100000",
        mn="010000A8900016F000169DC0",
        flag=hj212.make_flag(reply=True),
        cp="RtdInterval=30",
    )
    assert pkt.encode() == EXAMPLE
    decoded = hj212.decode(EXAMPLE)
    assert decoded == pkt
    assert decoded.wants_reply
    assert central_codec.parse(EXAMPLE).fields["MN"] == "010000A8900016F000169DC0"


def test_flag_bits() -> None:
    assert hj212.make_flag(reply=False) == 4
    assert hj212.make_flag(reply=True) == 5
    assert hj212.make_flag(reply=True, split=True) == 7
    assert hj212.flag_version(5) == hj212.VERSION_2017


def test_chinese_text_counts_utf8_bytes() -> None:
    pkt = hj212.Packet(
        qn="20240501120000000",
        st="22",
        cn="2011",
        pw="123456",
        mn="智峰园区站",
        flag=4,
        cp="DataTime=20240501120000",
    )
    frame = pkt.encode()
    segment = pkt.data_segment().encode("utf-8")
    assert len(segment) > len(pkt.data_segment())  # 5 Chinese chars = 15 bytes
    assert frame[2:6] == f"{len(segment):04d}".encode()
    assert hj212.decode(frame).mn == "智峰园区站"
    assert central_codec.parse(frame).mn == "智峰园区站"


def test_lowercase_crc_accepted() -> None:
    assert hj212.decode(EXAMPLE.replace(b"1C80", b"1c80")).cn == "1062"


def test_bad_crc_rejected_with_code_9() -> None:
    with pytest.raises(hj212.HJ212Error) as err:
        hj212.decode(EXAMPLE.replace(b"1C80", b"1C81"))
    assert err.value.field == "CRC"
    assert err.value.qn_rtn == hj212.QN_CRC_ERROR
    assert err.value.qn == "20160801085857223"


def test_bad_length_rejected() -> None:
    with pytest.raises(hj212.HJ212Error) as err:
        hj212.decode(EXAMPLE.replace(b"##0101", b"##0100"))
    assert err.value.field == "length"
    assert "101" in str(err.value)


def test_wrong_version_bits_rejected() -> None:
    seg = "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=X;Flag=1;CP=&&&&"
    with pytest.raises(hj212.HJ212Error) as err:
        hj212.decode(hj212.encode_segment(seg))
    assert err.value.field == "Flag"
    assert err.value.qn_rtn == hj212.QN_FLAG_ERROR


def test_cp_round_trip_and_limits() -> None:
    cp = hj212.format_cp([{"DataTime": "20240501120000"}, {"a21026-Rtd": "12.5", "a21026-Flag": "N"}])
    assert cp == "DataTime=20240501120000;a21026-Rtd=12.5,a21026-Flag=N"
    assert hj212.parse_cp(cp) == {"DataTime": "20240501120000", "a21026-Rtd": "12.5", "a21026-Flag": "N"}
    too_long = hj212.Packet(
        qn="20240501120000000", st="22", cn="2011", pw="123456", mn="X", flag=4, cp="x" * 951
    )
    with pytest.raises(hj212.HJ212Error, match="CP"):
        too_long.encode()
