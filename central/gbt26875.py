"""GB/T 26875.3-2011 codec of the reference centre (监控中心), written apart from park_sync's on purpose.

Two implementations agreeing on the public vectors check each other better than one agreeing with itself, so
this one shares no code with ``park_sync.gbt26875``: the control unit is a ``struct`` layout, data units are
dicts (what the centre stores as JSON) laid out by per-type ``struct`` formats.

Frame: ``@@`` serial<H version<BB time(6) source(6) destination(6) length<H command<B | unit | sum | ``##``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any

HEAD = struct.Struct("<2sHBB6s6s6sHB")  # start .. command byte: 27 bytes
MAX_UNIT = 1024
COMMANDS = range(1, 7)  # 控制 发送数据 确认 请求 应答 否认
CONTROL, SEND, CONFIRM, REQUEST, RESPONSE, DENY = COMMANDS


class FrameError(ValueError):
    """``kind``: start, end, checksum, length, command, truncated, time, type, unit or value. ``serial`` and
    ``source`` are known when the control unit could be read (the denial echoes them)."""

    def __init__(self, kind: str, message: str, serial: int | None = None, source: int | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.serial = serial
        self.source = source


def _time_bytes(when: datetime) -> bytes:
    if not 2000 <= when.year < 2256:
        raise FrameError("value", f"year {when.year} cannot be labelled")
    return struct.pack("6B", when.second, when.minute, when.hour, when.day, when.month, when.year - 2000)


def _time_of(raw: bytes) -> datetime:
    sec, mnt, hour, day, month, year = struct.unpack("6B", raw)
    try:
        return datetime(year + 2000, month, day, hour, mnt, sec)  # noqa: DTZ001 - labels carry no zone
    except ValueError:
        raise FrameError("time", f"label {raw.hex()} is no date") from None


@dataclass(slots=True)
class Packet:
    serial: int
    sent: datetime
    source: int
    destination: int
    command: int
    unit: bytes = b""
    version: tuple[int, int] = (1, 1)

    def encode(self) -> bytes:
        if len(self.unit) > MAX_UNIT:
            raise FrameError("length", f"{len(self.unit)} bytes of data unit")
        if self.command not in COMMANDS:
            raise FrameError("command", f"{self.command}")
        try:
            head = HEAD.pack(
                b"@@",
                self.serial,
                *self.version,
                _time_bytes(self.sent),
                self.source.to_bytes(6, "little"),
                self.destination.to_bytes(6, "little"),
                len(self.unit),
                self.command,
            )
        except (struct.error, OverflowError) as err:
            raise FrameError("value", str(err)) from None
        body = head[2:] + self.unit
        return b"@@" + body + bytes([sum(body) % 256]) + b"##"

    def reply(self, command: int, sent: datetime, unit: bytes = b"") -> Packet:
        return Packet(self.serial, sent, self.destination, self.source, command, unit, self.version)


def parse(raw: bytes) -> Packet:
    """One whole frame."""
    if not raw.startswith(b"@@") and not b"@@".startswith(raw):
        raise FrameError("start", "no @@")
    if len(raw) < HEAD.size + 3:
        raise FrameError("truncated", f"{len(raw)} bytes")
    _, serial, major, minor, sent, src, dst, length, command = HEAD.unpack_from(raw)
    source = int.from_bytes(src, "little")
    if length > MAX_UNIT:
        raise FrameError("length", f"{length} bytes of data unit declared", serial, source)
    size = HEAD.size + length + 3
    if len(raw) != size:
        kind = "truncated" if len(raw) < size else "length"
        raise FrameError(kind, f"declared {size} bytes, got {len(raw)}", serial, source)
    if raw[-2:] != b"##":
        raise FrameError("end", "no ##", serial, source)
    if sum(raw[2:-3]) % 256 != raw[-3]:
        raise FrameError("checksum", f"{raw[-3]:#04x} != {sum(raw[2:-3]) % 256:#04x}", serial, source)
    if command not in COMMANDS:
        raise FrameError("command", f"{command}", serial, source)
    try:
        when = _time_of(sent)
    except FrameError as err:
        raise FrameError("time", str(err), serial, source) from None
    return Packet(
        serial,
        when,
        source,
        int.from_bytes(dst, "little"),
        command,
        raw[HEAD.size : HEAD.size + length],
        (major, minor),
    )


class Splitter:
    """Frames out of a TCP stream. ``push`` returns parsed packets and FrameErrors of whole-but-bad frames."""

    def __init__(self) -> None:
        self.buffer = b""
        self.skipped = 0

    def _next_whole_frame(self) -> int | None:
        for at in range(1, len(self.buffer) - HEAD.size - 2):
            if self.buffer[at : at + 2] != b"@@":
                continue
            size = HEAD.size + int.from_bytes(self.buffer[at + 24 : at + 26], "little") + 3
            try:
                parse(self.buffer[at : at + size])
            except FrameError:
                continue
            return at
        return None

    def push(self, chunk: bytes) -> list[Packet | FrameError]:
        self.buffer += chunk
        found: list[Packet | FrameError] = []
        while True:
            at = self.buffer.find(b"@@")
            if at == -1:
                keep = self.buffer[-1:] == b"@"
                self.skipped += len(self.buffer) - keep
                self.buffer = self.buffer[-1:] if keep else b""
                return found
            self.skipped += at
            self.buffer = self.buffer[at:]
            if len(self.buffer) < HEAD.size:
                return found
            length = int.from_bytes(self.buffer[24:26], "little")
            size = HEAD.size + length + 3
            if length <= MAX_UNIT and len(self.buffer) < size:
                later = self._next_whole_frame()
                if later is None:
                    return found
                # A whole frame follows a start that never completed: drop the stray start, don't wait on it.
                serial = int.from_bytes(self.buffer[2:4], "little")
                source = int.from_bytes(self.buffer[12:18], "little")
                found.append(FrameError("truncated", "frame cut short by the next one", serial, source))
                self.skipped += later
                self.buffer = self.buffer[later:]
                continue
            if length > MAX_UNIT or self.buffer[size - 2 : size] != b"##":
                # No frame boundary here (garbage holding @@, or a corrupt header): report, go one byte on.
                serial = int.from_bytes(self.buffer[2:4], "little")
                source = int.from_bytes(self.buffer[12:18], "little")
                kind = "length" if length > MAX_UNIT else "end"
                found.append(FrameError(kind, f"no frame of {length} bytes of unit here", serial, source))
                self.skipped += 1
                self.buffer = self.buffer[1:]
                continue
            try:
                found.append(parse(self.buffer[:size]))
            except FrameError as err:
                found.append(err)
            self.buffer = self.buffer[size:]


# --- data units ----------------------------------------------------------------------------------------
# type -> (struct format of the body before the time label, field names, key of the time label or "")
_B = ("system_type", "system_address")
LAYOUT: dict[int, tuple[str, tuple[str, ...], str]] = {
    1: ("<BBH", (*_B, "state"), "time"),
    2: ("<BBBIH31s", (*_B, "component_type", "component_address", "state", "description"), "time"),
    3: ("<BBBIBh", (*_B, "component_type", "component_address", "analog_type", "value"), "time"),
    4: ("<BBBB", (*_B, "operation", "operator"), "time"),
    5: ("<BBBB", (*_B, "major", "minor"), ""),
    6: ("<BB", _B, ""),  # + length-prefixed text
    7: ("<BBBI31s", (*_B, "component_type", "component_address", "description"), ""),
    8: ("<BB", _B, "time"),
    21: ("<B", ("state",), "time"),
    24: ("<BB", ("operation", "operator"), "time"),
    25: ("<BB", ("major", "minor"), ""),
    26: ("<", (), ""),  # length-prefixed text only
    28: ("<", (), "time"),
    61: ("<BB", _B, ""),
    62: ("<BBI", (*_B, "component_address"), ""),
    63: ("<BBI", (*_B, "component_address"), ""),
    64: ("<BBB", (*_B, "count"), "since"),
    65: ("<BB", _B, ""),
    66: ("<BB", _B, ""),
    67: ("<BBI", (*_B, "component_address"), ""),
    68: ("<BB", _B, ""),
    81: ("<B", ("reserved",), ""),
    84: ("<B", ("count",), "since"),
    85: ("<B", ("reserved",), ""),
    86: ("<B", ("reserved",), ""),
    88: ("<B", ("reserved",), ""),
    89: ("<B", ("reserved",), ""),
    90: ("<", (), "time"),
    91: ("<B", ("timeout",), ""),
}
_TEXT_TYPES = (6, 26)


def text31(text: str) -> bytes:
    """A 31-byte description: GB18030 of at most 30 bytes (whole characters), spaces, one NUL."""
    while len(text.encode("gb18030", "replace")) > 30:
        text = text[:-1]
    return text.encode("gb18030", "replace").ljust(30) + b"\0"


def untext(raw: bytes) -> str:
    return raw.partition(b"\0")[0].decode("gb18030", "replace").rstrip(" ")


def decode_records(unit: bytes) -> tuple[int, list[dict[str, Any]]]:
    """(type flag, one dict per object); the time label, if any, under ``time`` (``since`` for 64 and 84)."""
    if len(unit) < 2:
        raise FrameError("truncated", "a data unit needs a type flag and a count")
    kind, count = unit[0], unit[1]
    if kind not in LAYOUT:
        raise FrameError("type", f"type flag {kind}")
    if count == 0:
        raise FrameError("unit", "no objects")
    fmt, names, timed = LAYOUT[kind]
    body = struct.Struct(fmt)
    records: list[dict[str, Any]] = []
    pos = 2
    for _ in range(count):
        if pos + body.size > len(unit):
            raise FrameError("truncated", f"object {len(records)} runs past the unit")
        record = dict(zip(names, body.unpack_from(unit, pos), strict=True))
        pos += body.size
        if kind in _TEXT_TYPES:
            if pos >= len(unit) or pos + 1 + unit[pos] > len(unit):
                raise FrameError("truncated", f"object {len(records)}: text runs past the unit")
            record["config"] = unit[pos + 1 : pos + 1 + unit[pos]].decode("gb18030", "replace").rstrip("\0 ")
            pos += 1 + unit[pos]
        if "description" in record:
            record["description"] = untext(record["description"])
        if timed:
            if pos + 6 > len(unit):
                raise FrameError("truncated", f"object {len(records)}: time label runs past the unit")
            record[timed] = _time_of(unit[pos : pos + 6])
            pos += 6
        records.append(record)
    if pos != len(unit):
        raise FrameError("unit", f"{len(unit) - pos} stray bytes")
    return kind, records


def encode_records(kind: int, records: list[dict[str, Any]]) -> bytes:
    """The inverse of ``decode_records``."""
    if kind not in LAYOUT or not 1 <= len(records) <= 255:
        raise FrameError("unit", f"type {kind} with {len(records)} objects")
    fmt, names, timed = LAYOUT[kind]
    out = bytes([kind, len(records)])
    for record in records:
        values = [text31(record[n]) if n == "description" else record[n] for n in names]
        try:
            out += struct.pack(fmt, *values)
        except struct.error as err:
            raise FrameError("value", str(err)) from None
        if kind in _TEXT_TYPES:
            text = record["config"]
            while len(text.encode("gb18030", "replace")) > 255:
                text = text[:-1]
            data = text.encode("gb18030", "replace")
            out += bytes([len(data)]) + data
        if timed:
            out += _time_bytes(record[timed])
    if len(out) > MAX_UNIT:
        raise FrameError("length", f"{len(out)} bytes")
    return out
