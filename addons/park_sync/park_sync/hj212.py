"""HJ 212-2017 codec: packet framing, CRC (Annex A), data-segment and CP parsing.

Everything version-specific (flag bits, limits, reply codes) lives here so that HJ 212-2025 can be added in
one place. Lengths are counted in UTF-8 bytes because the standard counts bytes and station names may be
Chinese.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

# --- version-specific constants -----------------------------------------------------------------------------
VERSION_2017 = 0b000001
FLAG_REPLY = 0b01  # A bit: the receiver must answer (9014 for data, 9011/9012 for requests)
FLAG_SPLIT = 0b10  # D bit: PNUM/PNO present
MAX_DATA_LEN = 1024
MAX_CP_LEN = 950
HEADER = "##"
TRAILER = "\r\n"

# System codes (ST) and command numbers (CN) used here.
ST_AIR = "22"
ST_SYSTEM = "91"
CN_REALTIME = "2011"
CN_MINUTE = "2051"
CN_HOURLY = "2061"
CN_DAILY = "2031"
CN_SET_TIMEOUT = "1000"
CN_GET_TIME = "1011"
CN_SET_TIME = "1012"
CN_REQUEST_REPLY = "9011"  # QnRtn
CN_EXEC_RESULT = "9012"  # ExeRtn
CN_NOTIFY_REPLY = "9013"
CN_DATA_REPLY = "9014"
DATA_CNS = frozenset({CN_REALTIME, CN_MINUTE, CN_HOURLY, CN_DAILY})

# QnRtn codes (request reply) and ExeRtn codes (execution result).
QN_READY = "1"
QN_REJECTED = "2"
QN_PW_ERROR = "3"
QN_MN_ERROR = "4"
QN_ST_ERROR = "5"
QN_FLAG_ERROR = "6"
QN_QN_ERROR = "7"
QN_CN_ERROR = "8"
QN_CRC_ERROR = "9"
QN_UNKNOWN = "100"
EXE_OK = "1"
EXE_FAILED = "2"
EXE_NO_DATA = "100"

TIME_FORMAT = "%Y%m%d%H%M%S"
_QN_RE = re.compile(r"^\d{17}$")
# Values of the header fields must not hold the data segment's separators: MN "M1;CN=9014" would turn a data
# packet into a forged 9014. Checked at configuration and again whenever a packet is encoded.
FIELD_RE = re.compile(r"[^;=,&\s\x00-\x1f\x7f]+")
_HEADER_PATTERNS = {
    "QN": re.compile(r"[0-9]{17}"),
    "ST": re.compile(r"[0-9]{2}"),
    "CN": re.compile(r"[0-9]{4}"),
    "PW": FIELD_RE,
    "MN": FIELD_RE,
}
_FRAME_RE = re.compile(rb"^##(\d{4})(.*)([0-9A-Fa-f]{4})\r\n$", re.DOTALL)


class HJ212Error(ValueError):
    """A packet that cannot be accepted; ``qn_rtn`` is the reply code, ``field`` names the bad part."""

    def __init__(
        self, field_name: str, message: str, qn_rtn: str = QN_UNKNOWN, qn: str | None = None
    ) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.qn_rtn = qn_rtn
        self.qn = qn


def crc16(data: bytes) -> int:
    """CRC of Annex A (not CRC-16/MODBUS): b'123456789' -> 0x2F80."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def make_flag(reply: bool, split: bool = False, version: int = VERSION_2017) -> int:
    return (version << 2) | (FLAG_SPLIT if split else 0) | (FLAG_REPLY if reply else 0)


def flag_wants_reply(flag: int) -> bool:
    return bool(flag & FLAG_REPLY)


def flag_version(flag: int) -> int:
    return flag >> 2


def make_qn(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S") + f"{when.microsecond // 1000:03d}"


def format_time(when: datetime) -> str:
    return when.strftime(TIME_FORMAT)


def parse_time(text: str, field_name: str = "DataTime") -> datetime:
    try:
        return datetime.strptime(text, TIME_FORMAT)  # noqa: DTZ007 - HJ 212 times are naive local station time
    except ValueError:
        raise HJ212Error(f"CP.{field_name}", f"expected YYYYMMDDhhmmss, got {text!r}", QN_REJECTED) from None


def format_cp(items: Iterable[Mapping[str, str]]) -> str:
    """Items separated by ';', the values of one item by ','."""
    return ";".join(",".join(f"{k}={v}" for k, v in item.items()) for item in items)


def parse_cp(cp: str) -> dict[str, str]:
    """Flatten CP into key -> value (keys such as ``a21026-Rtd`` are unique within a packet)."""
    out: dict[str, str] = {}
    if not cp:
        return out
    for item in cp.split(";"):
        for pair in item.split(","):
            if not pair:
                continue
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise HJ212Error("CP", f"item {pair!r} is not key=value", QN_REJECTED)
            out[key] = value
    return out


@dataclass(slots=True)
class Packet:
    """One HJ 212 data segment. ``cp`` is the raw CP text between ``&&`` markers."""

    qn: str
    st: str
    cn: str
    pw: str
    mn: str
    flag: int
    cp: str = ""
    pnum: int | None = None
    pno: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def wants_reply(self) -> bool:
        return flag_wants_reply(self.flag)

    def cp_fields(self) -> dict[str, str]:
        return parse_cp(self.cp)

    def check(self) -> None:
        """Refuse values that would change the packet's structure; the message never echoes them (PW)."""
        for name, value in (
            ("QN", self.qn),
            ("ST", self.st),
            ("CN", self.cn),
            ("PW", self.pw),
            ("MN", self.mn),
        ):
            if not _HEADER_PATTERNS[name].fullmatch(value):
                raise HJ212Error(
                    name, "empty, or holds ; = , & whitespace or control characters", QN_REJECTED
                )
        if "&&" in self.cp or "\r" in self.cp or "\n" in self.cp:
            raise HJ212Error("CP", "must not contain && or line breaks", QN_REJECTED, self.qn)

    def data_segment(self) -> str:
        self.check()
        parts = [f"QN={self.qn}", f"ST={self.st}", f"CN={self.cn}", f"PW={self.pw}", f"MN={self.mn}"]
        parts.append(f"Flag={self.flag}")
        if self.pnum is not None and self.pno is not None:
            parts += [f"PNUM={self.pnum}", f"PNO={self.pno}"]
        return ";".join(parts) + f";CP=&&{self.cp}&&"

    def encode(self) -> bytes:
        if len(self.cp.encode("utf-8")) > MAX_CP_LEN:
            raise HJ212Error("CP", f"longer than {MAX_CP_LEN} bytes", QN_REJECTED, self.qn)
        return encode_segment(self.data_segment())


def encode_segment(segment: str) -> bytes:
    data = segment.encode("utf-8")
    if len(data) > MAX_DATA_LEN:
        raise HJ212Error("length", f"data segment is {len(data)} bytes, limit {MAX_DATA_LEN}", QN_REJECTED)
    return f"{HEADER}{len(data):04d}".encode("ascii") + data + f"{crc16(data):04X}{TRAILER}".encode("ascii")


def _guess_qn(segment: bytes) -> str | None:
    match = re.search(rb"QN=(\d{17})", segment)
    return match.group(1).decode("ascii") if match else None


def decode(frame: bytes) -> Packet:
    """Check framing, length and CRC, then parse. HJ212Error carries the reply code and the QN if found."""
    match = _FRAME_RE.match(frame)
    if match is None:
        raise HJ212Error("frame", "expected ##dddd<data><crc4>\\r\\n", QN_REJECTED, _guess_qn(frame))
    declared = int(match.group(1))
    segment = match.group(2)
    qn = _guess_qn(segment)
    if declared != len(segment):
        raise HJ212Error(
            "length", f"header says {declared} bytes, data segment has {len(segment)}", QN_REJECTED, qn
        )
    if int(match.group(3), 16) != crc16(segment):
        raise HJ212Error(
            "CRC", f"got {match.group(3).decode()}, computed {crc16(segment):04X}", QN_CRC_ERROR, qn
        )
    try:
        text = segment.decode("utf-8")
    except UnicodeDecodeError:
        raise HJ212Error("data", "not UTF-8", QN_REJECTED, qn) from None
    return parse_segment(text)


def parse_segment(text: str) -> Packet:
    head, sep, rest = text.partition("CP=&&")
    qn_guess = _guess_qn(text.encode("utf-8"))
    if not sep or not rest.endswith("&&"):
        raise HJ212Error("CP", "missing CP=&&...&&", QN_REJECTED, qn_guess)
    cp = rest[:-2]
    fields: dict[str, str] = {}
    for part in head.split(";"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq:
            raise HJ212Error("data", f"field {part!r} is not key=value", QN_REJECTED, qn_guess)
        fields[key] = value
    qn = fields.pop("QN", "")
    if not _QN_RE.match(qn):
        raise HJ212Error("QN", f"expected 17 digits, got {qn!r}", QN_QN_ERROR)
    checks = (("ST", QN_ST_ERROR), ("CN", QN_CN_ERROR), ("PW", QN_PW_ERROR), ("MN", QN_MN_ERROR))
    for name, code in checks:
        if not fields.get(name):
            raise HJ212Error(name, "missing", code, qn)
    try:
        flag = int(fields.pop("Flag"))
    except (KeyError, ValueError):
        raise HJ212Error("Flag", "missing or not a number", QN_FLAG_ERROR, qn) from None
    if flag_version(flag) != VERSION_2017:
        raise HJ212Error(
            "Flag", f"version bits {flag_version(flag):06b} are not 2017 (000001)", QN_FLAG_ERROR, qn
        )
    pnum = pno = None
    if flag & FLAG_SPLIT:
        try:
            pnum, pno = int(fields.pop("PNUM")), int(fields.pop("PNO"))
        except (KeyError, ValueError):
            raise HJ212Error("PNUM", "split flag set but PNUM/PNO missing", QN_FLAG_ERROR, qn) from None
    st, cn, pw, mn = fields.pop("ST"), fields.pop("CN"), fields.pop("PW"), fields.pop("MN")
    return Packet(qn=qn, st=st, cn=cn, pw=pw, mn=mn, flag=flag, cp=cp, pnum=pnum, pno=pno, extra=fields)


def reply(request: Packet, cn: str, cp: str, pw: str | None = None) -> Packet:
    """A system-interaction reply (ST=91) echoing the request's QN/MN, no reply wanted."""
    return Packet(
        qn=request.qn, st=ST_SYSTEM, cn=cn, pw=pw or request.pw, mn=request.mn, flag=make_flag(False), cp=cp
    )


async def read_frame(reader: asyncio.StreamReader, limit: int = MAX_DATA_LEN + 16) -> bytes:
    """One frame up to and including CRLF; asyncio.IncompleteReadError when the peer closes."""
    data = await reader.readuntil(b"\r\n")
    if len(data) > limit:
        raise HJ212Error(
            "length", f"frame of {len(data)} bytes exceeds {limit}", QN_REJECTED, _guess_qn(data)
        )
    return data
