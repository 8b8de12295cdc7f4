"""GB/T 26875.3-2011 under a real TCP stream and hostile bytes (issue #14): sticky and split frames through
park_sync's FrameReader and the central's Splitter, resynchronisation after garbage, and bounded fuzzing of
both codecs (fixed example counts and deadlines) that may only ever raise FrameError."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central import gbt26875 as cg
from park_sync import gbt26875 as g
from park_sync import gbt26875_units as u
from park_sync.gbt26875 import Frame, FrameError, FrameReader, Reason

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
