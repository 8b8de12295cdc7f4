"""GB/T 26875.3-2011 under a real TCP stream and hostile bytes (issue #14): sticky and split frames through
park_sync's FrameReader and the central's Splitter, resynchronisation after garbage, every refusal with the
field it names, and bounded fuzzing of both codecs (fixed example counts and deadlines) that may only ever
raise FrameError."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central import gbt26875 as cg
from park_sync import gbt26875 as g
from park_sync import gbt26875_units as u
from park_sync.gbt26875 import Command, Frame, FrameError, FrameReader, Reason

from . import gbt26875_vectors as v

STREAM = [
    v.SMOKE_FIRE,
    v.CENTRE_CONFIRM,
    v.UITD_MAIN_POWER_FAULT,
    v.ROLL_CALL,
    v.NUL_PADDED,
    v.CLOCK_SYNC,
    v.DEVICE_CAPTURE,
]
JOINED = b"".join(STREAM)
FUZZ = settings(
    max_examples=300,
    deadline=500,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _chunks(data: bytes, rng: random.Random) -> list[bytes]:
    out, at = [], 0
    while at < len(data):
        size = rng.randint(1, 80)
        out.append(data[at : at + size])
        at += size
    return out


def _read(
    chunks: list[bytes],
) -> tuple[list[Frame | FrameError], list[cg.Packet | cg.FrameError], FrameReader]:
    reader, splitter = FrameReader(), cg.Splitter()
    ours: list[Frame | FrameError] = []
    theirs: list[cg.Packet | cg.FrameError] = []
    for chunk in chunks:
        ours += reader.feed(chunk)
        theirs += splitter.push(chunk)
    return ours, theirs, reader


def _frames(items: list[Frame | FrameError]) -> list[bytes]:
    return [item.encode() for item in items if isinstance(item, Frame)]


def _packets(items: list[cg.Packet | cg.FrameError]) -> list[bytes]:
    return [item.encode() for item in items if isinstance(item, cg.Packet)]


def test_sticky_frames_in_one_read() -> None:
    ours, theirs, reader = _read([JOINED])
    assert _frames(ours) == STREAM
    assert _packets(theirs) == STREAM
    assert (reader.pending, reader.discarded) == (0, 0)


def test_split_frames_fed_byte_by_byte() -> None:
    reader = FrameReader()
    got: list[Frame | FrameError] = []
    for index in range(len(JOINED)):
        items = reader.feed(JOINED[index : index + 1])
        got += items
        # A frame comes out exactly when its last byte arrives, never earlier.
        ends = {sum(map(len, STREAM[: n + 1])) - 1 for n in range(len(STREAM))}
        assert bool(items) == (index in ends)
    assert _frames(got) == STREAM
    assert reader.pending == 0
    assert _packets(_read([JOINED[i : i + 1] for i in range(len(JOINED))])[1]) == STREAM


@pytest.mark.parametrize("seed", range(20))
def test_random_chunks(seed: int) -> None:
    ours, theirs, reader = _read(_chunks(JOINED * 3, random.Random(seed)))
    assert _frames(ours) == STREAM * 3
    assert _packets(theirs) == STREAM * 3
    assert not [item for item in ours if isinstance(item, FrameError)]
    assert reader.pending == 0


@pytest.mark.parametrize("seed", range(20))
def test_resynchronises_after_garbage(seed: int) -> None:
    rng = random.Random(seed)
    stream = b""
    for raw in STREAM:
        garbage = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
        stream += garbage + rng.choice([b"", b"@", b"@@", b"##", b"@@\x01\x00"]) + raw
    ours, theirs, reader = _read(_chunks(stream, rng))
    assert _frames(ours) == STREAM
    assert _packets(theirs) == STREAM
    assert reader.discarded > 0
    assert reader.pending == 0


def test_half_a_frame_waits_but_never_holds_back_a_whole_one() -> None:
    reader, splitter = FrameReader(), cg.Splitter()
    assert reader.feed(v.SMOKE_FIRE[:40]) == []
    assert splitter.push(v.SMOKE_FIRE[:40]) == []
    assert reader.pending == 40
    # The sender gave up on that frame (reconnect, restart) and sends a short one, which ends before the half
    # frame's declared length: it comes out at once, after a refusal of the half frame.
    items = reader.feed(v.CENTRE_CONFIRM)
    assert [type(i) for i in items] == [FrameError, Frame]
    assert isinstance(items[0], FrameError)
    assert (items[0].reason, items[0].serial) == (Reason.TRUNCATED, 1)
    assert _frames(items) == [v.CENTRE_CONFIRM]
    assert reader.pending == 0
    assert _packets(splitter.push(v.CENTRE_CONFIRM)) == [v.CENTRE_CONFIRM]


@pytest.mark.parametrize("stray", [b"@", b"@@", b"@@\x00\x00", b"\x00@@" + bytes(20) + b"\x00\x04"])
def test_a_stray_start_before_the_last_frame_does_not_hold_it_back(stray: bytes) -> None:
    ours, theirs, reader = _read([v.SMOKE_FIRE + stray + v.ROLL_CALL])
    assert _frames(ours) == [v.SMOKE_FIRE, v.ROLL_CALL]
    assert _packets(theirs) == [v.SMOKE_FIRE, v.ROLL_CALL]
    assert reader.pending == 0


def test_bad_checksum_frame_is_handed_back_for_denial_and_the_next_frames_still_come() -> None:
    # Source of the idea: shootingfans/codec_gb26875_3_2011 reader_decoder_test.go writes the same frame first
    # with checksum 0x63 (wrong), then with 0x68.
    bad = v.NUL_PADDED[:-3] + b"\x63##"
    ours, theirs, _ = _read([bad + v.NUL_PADDED * 3])
    assert isinstance(ours[0], FrameError)
    assert (ours[0].reason, ours[0].serial, ours[0].source) == (Reason.CHECKSUM, 0, 0)
    assert _frames(ours) == [v.NUL_PADDED] * 3
    assert isinstance(theirs[0], cg.FrameError)
    assert theirs[0].kind == "checksum"
    assert _packets(theirs) == [v.NUL_PADDED] * 3


@pytest.mark.parametrize(("command", "reason"), [(7, Reason.COMMAND), (0, Reason.COMMAND)])
def test_unknown_command_is_refused_whole_and_the_stream_goes_on(command: int, reason: Reason) -> None:
    odd = bytearray(v.CENTRE_CONFIRM)
    odd[26] = command
    odd[-3] = sum(odd[2:-3]) % 256
    ours, theirs, _ = _read([bytes(odd) + v.SMOKE_FIRE])
    assert isinstance(ours[0], FrameError)
    assert ours[0].reason == reason
    assert g.deny_for(ours[0], v.ANSWERED, local=v.DEVICE) is not None
    assert _frames(ours) == [v.SMOKE_FIRE]
    assert _packets(theirs) == [v.SMOKE_FIRE]


def test_an_overlong_length_does_not_stall_the_reader() -> None:
    bogus = b"@@" + b"\x00" * 22 + (4000).to_bytes(2, "little") + b"\x02"
    ours, theirs, reader = _read([bogus + v.SMOKE_FIRE])
    assert [i.reason for i in ours if isinstance(i, FrameError)] == [Reason.LENGTH]
    assert _frames(ours) == [v.SMOKE_FIRE]
    assert _packets(theirs) == [v.SMOKE_FIRE]
    assert reader.pending == 0


SMOKE = u.ComponentStatus(
    1, 1, u.ComponentType.SMOKE_DETECTOR, 0x0002000A, u.ComponentState.FIRE, "", v.EVENT
)


# --- refusals: every reason, with the field it names ---
def _with(raw: bytes, at: int, value: int, *, fix_sum: bool = True) -> bytes:
    out = bytearray(raw)
    out[at] = value
    if fix_sum:
        out[-3] = sum(out[2:-3]) % 256
    return bytes(out)


SF = v.SMOKE_FIRE
FRAME_REFUSALS: list[tuple[str, bytes, Reason, str]] = [
    ("no_start", b"##" + SF[2:], Reason.START, "start"),
    ("one_at", b"@", Reason.TRUNCATED, "frame"),
    ("empty", b"", Reason.TRUNCATED, "frame"),
    ("short_header", SF[:20], Reason.TRUNCATED, "frame"),
    ("cut", SF[:-1], Reason.TRUNCATED, "frame"),
    ("over_1024", SF[:24] + (1025).to_bytes(2, "little") + SF[26:], Reason.LENGTH, "length"),
    ("longer_than_declared", SF + b"\x00", Reason.LENGTH, "length"),
    ("bad_end", SF[:-2] + b"#$", Reason.END, "end"),
    ("bad_checksum", _with(SF, -3, SF[-3] ^ 1, fix_sum=False), Reason.CHECKSUM, "checksum"),
    ("command_0", _with(SF, 26, 0), Reason.COMMAND, "command"),
    ("command_7", _with(SF, 26, 7), Reason.COMMAND, "command"),
    ("month_13", _with(SF, 10, 13), Reason.TIME, "time"),
    ("hour_24", _with(SF, 8, 24), Reason.TIME, "time"),
]


@pytest.mark.parametrize(
    ("raw", "reason", "field"), [r[1:] for r in FRAME_REFUSALS], ids=[r[0] for r in FRAME_REFUSALS]
)
def test_frame_refusals_name_the_field_in_both_codecs(raw: bytes, reason: Reason, field: str) -> None:
    with pytest.raises(FrameError) as err:
        g.decode_frame(raw)
    assert (err.value.reason, err.value.field) == (reason, field)
    assert str(err.value).startswith(f"{field}: ")
    with pytest.raises(cg.FrameError) as cerr:
        cg.parse(raw)
    assert cerr.value.kind == reason.value
    if len(raw) >= g.HEADER_LEN and reason != Reason.START:  # the header was read: a denial can be addressed
        assert (err.value.serial, err.value.source, err.value.destination) == (1, v.DEVICE, v.CENTRE)
        assert cerr.value.serial == 1


def _unit(*hexes: str) -> bytes:
    return bytes.fromhex("".join(hexes))


UNIT_REFUSALS: list[tuple[str, bytes, Reason, str]] = [
    ("empty", b"", Reason.TRUNCATED, "unit"),
    ("type_only", b"\x02", Reason.TRUNCATED, "unit"),
    ("reserved_type", _unit("09 01 00"), Reason.TYPE, "type"),
    ("user_type", _unit("80 01 00"), Reason.TYPE, "type"),
    ("no_objects", _unit("15 00"), Reason.UNIT, "count"),
    ("count_says_two", _unit("15 02 08 02 3A 09 1A 09 0C"), Reason.TRUNCATED, "objects[1].state"),
    ("cut_time", _unit("15 01 08 02 3A 09"), Reason.TRUNCATED, "objects[0].time"),
    ("stray_bytes", _unit("15 01 08 02 3A 09 1A 09 0C FF"), Reason.UNIT, "unit"),
    ("bad_event_time", _unit("15 01 08 02 3A 09 00 09 0C"), Reason.TIME, "objects[0].time"),
    ("text_past_end", _unit("1a 01 05 41 42"), Reason.TRUNCATED, "objects[0].config"),
]


@pytest.mark.parametrize(
    ("data", "reason", "field"), [r[1:] for r in UNIT_REFUSALS], ids=[r[0] for r in UNIT_REFUSALS]
)
def test_unit_refusals_name_the_field_in_both_codecs(data: bytes, reason: Reason, field: str) -> None:
    with pytest.raises(FrameError) as err:
        u.decode_unit(data)
    assert (err.value.reason, err.value.field) == (reason, field)
    with pytest.raises(cg.FrameError) as cerr:
        cg.decode_records(data)
    assert cerr.value.kind == reason.value


ENCODE_REFUSALS: list[tuple[str, Any, Reason, str]] = [
    ("serial", lambda: Frame(0x10000, v.SENT, 1, 2, Command.CONFIRM), Reason.VALUE, "serial"),
    ("source", lambda: Frame(1, v.SENT, 1 << 48, 2, Command.CONFIRM), Reason.VALUE, "source"),
    ("destination", lambda: Frame(1, v.SENT, 1, -1, Command.CONFIRM), Reason.VALUE, "destination"),
    ("year", lambda: Frame(1, v.local(1999, 12, 31), 1, 2, Command.CONFIRM), Reason.VALUE, "time"),
    ("too_long", lambda: Frame(1, v.SENT, 1, 2, Command.SEND_DATA, b"\x00" * 1025), Reason.LENGTH, "length"),
]


@pytest.mark.parametrize(
    ("build", "reason", "field"), [r[1:] for r in ENCODE_REFUSALS], ids=[r[0] for r in ENCODE_REFUSALS]
)
def test_frame_encode_refusals(build: Any, reason: Reason, field: str) -> None:
    with pytest.raises(FrameError) as err:
        build().encode()
    assert (err.value.reason, err.value.field) == (reason, field)


def test_unit_encode_refusals() -> None:
    cases: list[tuple[u.DataUnit, Reason, str]] = [
        (u.unit(u.SystemStatus(256, 0, u.SystemState.FIRE, v.T1)), Reason.VALUE, "objects[0].system_type"),
        (u.unit(u.AnalogValue(1, 1, 92, 1, 2, 40000, v.T1)), Reason.VALUE, "objects[0].value"),
        (
            u.unit(u.ReadComponent(1, 1, 1 << 32), type_flag=u.UnitType.READ_COMPONENT_STATE),
            Reason.VALUE,
            "objects[0].component_address",
        ),
        (u.unit(u.UITDTime(v.local(1999, 1, 1))), Reason.VALUE, "objects[0].time"),
        (u.DataUnit(u.UnitType.ROLL_CALL, ()), Reason.UNIT, "count"),
        (u.DataUnit(u.UnitType.ROLL_CALL, (u.ClockSync(v.T1),)), Reason.UNIT, "objects[0]"),
        (
            u.DataUnit(u.UnitType.COMPONENT_STATE, (SMOKE,) * 23),
            Reason.LENGTH,
            "length",
        ),  # 2 + 23 * 46 > 1024
    ]
    for unit, reason, field in cases:
        with pytest.raises(FrameError) as err:
            unit.encode()
        assert (err.value.reason, err.value.field) == (reason, field), unit
    assert (
        len(u.DataUnit(u.UnitType.COMPONENT_STATE, (SMOKE,) * 22).encode()) == 1014
    )  # the standard's n <= 22
    with pytest.raises(FrameError) as zerr:
        u.component_address(65536, 0)
    assert zerr.value.field == "zone"
    with pytest.raises(FrameError):
        u.analog_raw(u.AnalogType.HEIGHT, 400)  # 40000 counts of 0.01 m


# --- bounded fuzzing -------------------------------------------------------------------------------------
_frame_like = st.one_of(
    st.binary(max_size=1100),
    st.binary(max_size=80).map(lambda tail: b"@@" + tail),
    # Mutations of real vectors: the shapes a codec sees from a buggy or hostile peer.
    st.tuples(
        st.sampled_from(list(v.ALL_FRAMES.values())),
        st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4),
    ).map(lambda pair: _mutate(*pair)),
)


def _mutate(raw: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(raw)
    for at, value in edits:
        if at < len(out):
            out[at] = value
    return bytes(out)


def _outcome(fn: object, raw: bytes) -> str:
    try:
        fn(raw)  # type: ignore[operator]
    except (FrameError, cg.FrameError) as err:
        return err.reason.value if isinstance(err, FrameError) else err.kind
    return "ok"


@FUZZ
@given(raw=_frame_like)
def test_fuzz_frame_decoders_agree_and_only_raise_frame_error(raw: bytes) -> None:
    ours, theirs = _outcome(g.decode_frame, raw), _outcome(cg.parse, raw)
    assert ours == theirs
    if ours == "ok":
        assert g.decode_frame(raw).encode() == raw
        assert cg.parse(raw).encode() == raw


_unit_like = st.one_of(
    st.binary(max_size=300),
    st.tuples(st.sampled_from(sorted(u.UnitType)), st.integers(0, 4), st.binary(max_size=200)).map(
        lambda t: bytes((t[0], t[1])) + t[2]
    ),
)


@FUZZ
@given(data=_unit_like)
def test_fuzz_unit_decoders_agree_and_only_raise_frame_error(data: bytes) -> None:
    ours, theirs = _outcome(u.decode_unit, data), _outcome(cg.decode_records, data)
    assert ours == theirs
    if ours == "ok":
        unit = u.decode_unit(data)
        assert u.decode_unit(unit.encode()).type_flag == unit.type_flag


@FUZZ
@given(chunks=st.lists(_frame_like, max_size=8))
def test_fuzz_readers_never_raise_and_stay_bounded(chunks: list[bytes]) -> None:
    reader, splitter = FrameReader(), cg.Splitter()
    for chunk in [*chunks, v.SMOKE_FIRE]:
        for item in reader.feed(chunk):
            assert isinstance(item, Frame | FrameError)
        for packet in splitter.push(chunk):
            assert isinstance(packet, cg.Packet | cg.FrameError)
        assert reader.pending <= g.MAX_FRAME
        assert len(splitter.buffer) <= g.MAX_FRAME
