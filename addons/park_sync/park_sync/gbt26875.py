"""GB/T 26875.3-2011 framing: the control unit, checksum, time labels and a streaming reader.

A frame is ``@@`` | serial (2, LE) | version main, user (1, 1) | time label (6) | source (6, LE) |
destination (6, LE) | data-unit length (2, LE, <= 1024, the command byte not counted) | command (1) |
data unit | checksum (1) | ``##``. The checksum is the sum mod 256 of every byte from the serial to the end of
the data unit. Data units (type flag, object count, objects) are in ``gbt26875_units``.

Every rejection is a ``FrameError`` naming the field, so a receiver can deny (否认) the frame and count why;
nothing in here raises anything else on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

START = b"@@"
END = b"##"
HEADER_LEN = 27  # start .. command byte
MIN_FRAME = HEADER_LEN + 3  # + checksum + end
MAX_DATA = 1024
MAX_FRAME = MIN_FRAME + MAX_DATA
VERSION = (1, 1)  # main version 1 is fixed by the standard; the user version is ours to choose
ADDRESS_MAX = (1 << 48) - 1
SERIAL_MAX = 0xFFFF
_LEN_AT = 24  # offset of the data-unit length


class Command(IntEnum):
    """The command byte (命令字节, table 2)."""

    CONTROL = 1  # 控制命令: the centre's initialise / clock sync / roll-call
    SEND_DATA = 2  # 发送数据: uploads, answered by CONFIRM or DENY; empty data = heartbeat
    CONFIRM = 3  # 确认
    REQUEST = 4  # 请求: the centre's reads (61-68, 81-88)
    RESPONSE = 5  # 应答
    DENY = 6  # 否认


class Reason(StrEnum):
    """Why a frame (or a value to encode) was refused."""

    START = "start"  # no @@ where a frame begins
    END = "end"  # no ## after the checksum
    CHECKSUM = "checksum"
    LENGTH = "length"  # data-unit length over 1024 or not matching the bytes
    COMMAND = "command"  # command byte not 1-6
    TRUNCATED = "truncated"  # fewer bytes than the frame or unit needs
    TIME = "time"  # a time label that is not a date
    TYPE = "type"  # unknown data-unit type flag
    UNIT = "unit"  # a data unit whose size does not fit its type and object count
    VALUE = "value"  # (encoding) a field out of its range


class FrameError(ValueError):
    """A frame or unit that cannot be accepted. ``field`` names the part; ``serial``, ``source`` and
    ``destination`` are set when the header could be read, so the receiver can address its denial."""

    def __init__(
        self,
        reason: Reason,
        field: str,
        message: str,
        *,
        serial: int | None = None,
        source: int | None = None,
        destination: int | None = None,
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.reason = reason
        self.field = field
        self.serial = serial
        self.source = source
        self.destination = destination


def checksum(data: bytes | bytearray) -> int:
    """Sum of the bytes mod 256 (pass the serial .. end of the data unit)."""
    return sum(data) & 0xFF


def encode_time(when: datetime, field: str = "time") -> bytes:
    """Six bytes: second, minute, hour, day, month, year - 2000 (local time, no zone)."""
    if not 2000 <= when.year <= 2255:
        raise FrameError(Reason.VALUE, field, f"year {when.year} is outside 2000-2255")
    return bytes((when.second, when.minute, when.hour, when.day, when.month, when.year - 2000))


def decode_time(raw: bytes, field: str = "time") -> datetime:
    if len(raw) != 6:
        raise FrameError(Reason.TRUNCATED, field, f"a time label is 6 bytes, got {len(raw)}")
    sec, minute, hour, day, month, year = raw
    try:
        return datetime(2000 + year, month, day, hour, minute, sec)  # noqa: DTZ001 - the label is local time
    except ValueError:
        raise FrameError(Reason.TIME, field, f"{raw.hex(' ')} is not a date and time") from None


def _check_range(field: str, value: int, top: int) -> None:
    if not 0 <= value <= top:
        raise FrameError(Reason.VALUE, field, f"{value} is outside 0-{top}")


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame; ``data`` is the raw data unit (``gbt26875_units.decode_unit`` reads it)."""

    serial: int
    time: datetime
    source: int
    destination: int
    command: Command
    data: bytes = b""
    version: tuple[int, int] = VERSION

    @property
    def is_heartbeat(self) -> bool:
        """An empty 发送数据 (vendors send one every 20-30 s to keep the link)."""
        return self.command == Command.SEND_DATA and not self.data

    def encode(self) -> bytes:
        _check_range("serial", self.serial, SERIAL_MAX)
        _check_range("source", self.source, ADDRESS_MAX)
        _check_range("destination", self.destination, ADDRESS_MAX)
        _check_range("version", self.version[0], 0xFF)
        _check_range("version", self.version[1], 0xFF)
        if self.command not in Command.__members__.values():
            raise FrameError(Reason.COMMAND, "command", f"{int(self.command)} is not 1-6")
        if len(self.data) > MAX_DATA:
            raise FrameError(
                Reason.LENGTH, "length", f"data unit of {len(self.data)} bytes, limit {MAX_DATA}"
            )
        body = (
            self.serial.to_bytes(2, "little")
            + bytes(self.version)
            + encode_time(self.time)
            + self.source.to_bytes(6, "little")
            + self.destination.to_bytes(6, "little")
            + len(self.data).to_bytes(2, "little")
            + bytes((self.command,))
            + self.data
        )
        return START + body + bytes((checksum(body),)) + END

    def answer(self, command: Command, time: datetime, data: bytes = b"") -> Frame:
        """The answer to this frame (确认, 否认, 应答): serial echoed, addresses swapped, same version."""
        return Frame(self.serial, time, self.destination, self.source, command, data, self.version)


def deny_for(error: FrameError, time: datetime, local: int) -> Frame | None:
    """A 否认 for a refused frame whose header could be read (None when it could not: nothing to echo)."""
    if error.serial is None or error.source is None:
        return None
    return Frame(error.serial, time, local, error.source, Command.DENY)


def _header_ids(raw: bytes | bytearray) -> dict[str, int]:
    return {
        "serial": int.from_bytes(raw[2:4], "little"),
        "source": int.from_bytes(raw[12:18], "little"),
        "destination": int.from_bytes(raw[18:24], "little"),
    }


def decode_frame(raw: bytes) -> Frame:
    """Exactly one frame, start to end marker."""
    if not raw.startswith(START):
        if START.startswith(raw):
            raise FrameError(Reason.TRUNCATED, "frame", f"{len(raw)} bytes, a frame has at least {MIN_FRAME}")
        raise FrameError(Reason.START, "start", f"a frame starts with @@, got {raw[:2].hex(' ')}")
    if len(raw) < MIN_FRAME:
        raise FrameError(Reason.TRUNCATED, "frame", f"{len(raw)} bytes, a frame has at least {MIN_FRAME}")
    ids = _header_ids(raw)
    length = int.from_bytes(raw[_LEN_AT : _LEN_AT + 2], "little")
    if length > MAX_DATA:
        raise FrameError(Reason.LENGTH, "length", f"data unit of {length} bytes, limit {MAX_DATA}", **ids)
    if len(raw) < MIN_FRAME + length:
        message = f"{len(raw)} bytes, the header says {MIN_FRAME + length}"
        raise FrameError(Reason.TRUNCATED, "frame", message, **ids)
    if len(raw) > MIN_FRAME + length:
        message = f"the header says {length}, the frame holds {len(raw) - MIN_FRAME}"
        raise FrameError(Reason.LENGTH, "length", message, **ids)
    return _parse(raw, length, ids)


def _parse(raw: bytes, length: int, ids: dict[str, int]) -> Frame:
    """``raw`` holds exactly ``MIN_FRAME + length`` bytes starting with @@."""
    end = HEADER_LEN + length
    if raw[end + 1 : end + 3] != END:
        raise FrameError(
            Reason.END, "end", f"expected ## after the checksum, got {raw[end + 1 :].hex()}", **ids
        )
    computed = checksum(raw[2:end])
    if raw[end] != computed:
        raise FrameError(Reason.CHECKSUM, "checksum", f"got {raw[end]:02X}, computed {computed:02X}", **ids)
    command = raw[HEADER_LEN - 1]
    if command not in Command.__members__.values():
        raise FrameError(Reason.COMMAND, "command", f"{command} is not 1-6", **ids)
    try:
        when = decode_time(raw[6:12], "time")
    except FrameError as err:
        raise FrameError(err.reason, err.field, str(err).partition(": ")[2], **ids) from None
    return Frame(
        serial=ids["serial"],
        time=when,
        source=ids["source"],
        destination=ids["destination"],
        command=Command(command),
        data=bytes(raw[HEADER_LEN:end]),
        version=(raw[4], raw[5]),
    )


class FrameReader:
    """Cuts a TCP byte stream into frames: several in one read (粘包), one over several reads (半包), and
    garbage between them skipped. ``feed`` returns each complete frame, or the ``FrameError`` of a frame that
    was cut out whole but refused (bad checksum, unknown command, bad time) so the caller can deny it."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0  # bytes skipped while looking for @@ (garbage, false starts)

    @property
    def pending(self) -> int:
        """Bytes held for a frame not yet complete."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame | FrameError]:
        self._buf += data
        out: list[Frame | FrameError] = []
        while self._next(out):
            pass
        return out

    def _skip(self, count: int) -> None:
        self.discarded += count
        del self._buf[:count]

    def _whole_frame_after(self) -> int | None:
        """Offset of the first later @@ that begins a complete frame with a right checksum, if any."""
        buf = self._buf
        at = buf.find(START, 1)
        while at >= 0:
            length = int.from_bytes(buf[at + _LEN_AT : at + _LEN_AT + 2], "little")
            end = at + MIN_FRAME + length
            if (
                len(buf) - at >= MIN_FRAME
                and length <= MAX_DATA
                and end <= len(buf)
                and buf[end - 2 : end] == END
                and buf[end - 3] == checksum(buf[at + 2 : end - 3])
            ):
                return at
            at = buf.find(START, at + 1)
        return None

    def _next(self, out: list[Frame | FrameError]) -> bool:
        """Take one frame or one refusal off the buffer; False when more bytes are needed."""
        buf = self._buf
        start = buf.find(START)
        if start < 0:
            self._skip(len(buf) - (1 if buf.endswith(b"@") else 0))  # a lone @ may start the next @@
            return False
        self._skip(start)
        if len(buf) < HEADER_LEN:
            return False
        ids = _header_ids(buf)
        length = int.from_bytes(buf[_LEN_AT : _LEN_AT + 2], "little")
        if length > MAX_DATA:
            # A corrupt header or an @@ inside garbage: look for the next start from the following byte.
            out.append(FrameError(Reason.LENGTH, "length", f"data unit of {length} bytes", **ids))
            self._skip(1)
            return True
        total = MIN_FRAME + length
        if len(buf) < total:
            # Wait for the rest, unless a whole frame already follows: then this start was a stray @@ or a
            # frame cut short (its sender reconnected); waiting for its length would hold back a fire alarm.
            later = self._whole_frame_after()
            if later is None:
                return False
            out.append(
                FrameError(Reason.TRUNCATED, "frame", f"cut short: a whole frame follows at {later}", **ids)
            )
            self._skip(later)
            return True
        raw = bytes(buf[:total])
        try:
            out.append(_parse(raw, length, ids))
        except FrameError as err:
            out.append(err)
            if err.reason == Reason.END:  # the length did not lead to ##: not a frame boundary we can trust
                self._skip(1)
                return True
        del buf[:total]
        return True
