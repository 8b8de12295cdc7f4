"""Add-on options: loaded from /data/options.json (Supervisor) or a JSON/YAML file, validated with named
fields.

Bad input raises OptionsError naming the field path (``hj212.port: must be an integer 1-65535``) and nothing
starts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .hj212 import FIELD_RE
from .options_reader import OptionsError, Reader

# OptionsError is re-exported: callers catch it from here.
__all__ = [
    "EntityFilter",
    "GBT26875Options",
    "HJ212Options",
    "MQTTOptions",
    "Options",
    "OptionsError",
    "load_options",
    "parse_options",
]


@dataclass(slots=True, frozen=True)
class EntityFilter:
    integrations: tuple[str, ...] = ("smart_park",)
    entity_ids: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class HJ212Options:
    enabled: bool = False
    host: str = ""
    port: int = 0
    mn: str = ""
    pw: str = "123456"
    st: str = "22"
    timeout: float = 10.0
    retries: int = 3
    realtime_seconds: float = 60.0
    minute_interval: int = 10
    history_days: int = 30
    timezone: str = "Asia/Shanghai"
    # pollutant code (a21026...) -> entity_id
    pollutants: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class GBT26875Options:
    """The GB/T 26875.3 link to the fire remote monitoring centre (park_sync as the park's UITD)."""

    enabled: bool = False
    host: str = ""
    port: int = 0
    source_address: int = 0  # this device's address (6 bytes)
    centre_address: int = 0
    heartbeat: float = 25.0  # an empty send-data after this long without traffic; 0 = none
    timeout: float = 10.0  # the standard's answer timeout is at most 10 s
    retries: int = 3
    reconnect_max_seconds: float = 60.0
    deny_limit: int = 3  # denials of a record before it is set aside as a dead letter
    timezone: str = "Asia/Shanghai"
    history_days: int = 30


MQTT_PROTOCOLS = ("3.1.1", "5")


@dataclass(slots=True, frozen=True)
class MQTTOptions:
    """The MQTT uplink in the ThingsBoard gateway shape (docs/mqtt.md); when enabled it drains the outbox
    instead of the HTTP uplink."""

    enabled: bool = False
    host: str = ""
    port: int = 0  # 0: 8883 with TLS, else 1883
    token: str = ""  # the park's access token, sent as the MQTT user name
    tls: bool = False
    ca_cert: str = ""
    keepalive: int = 60
    # ThingsBoard's MQTT transport refuses larger messages by default (NETTY_MAX_PAYLOAD_SIZE 65536).
    max_message_bytes: int = 65536
    # "5": a PUBACK saying "no matching subscribers" (or an error) keeps the records (docs/mqtt.md).
    protocol: str = "3.1.1"

    @property
    def effective_port(self) -> int:
        return self.port or (8883 if self.tls else 1883)


@dataclass(slots=True, frozen=True)
class Options:
    park_id: str
    central_url: str
    central_token: str
    hmac_secret: str
    ca_cert: str = ""
    entity_filter: EntityFilter = EntityFilter()
    batch_max_records: int = 500
    batch_max_bytes: int = 256 * 1024
    batch_max_seconds: float = 5.0
    outbox_path: str = "/data/outbox.sqlite3"
    outbox_max_records: int = 500_000
    retry_initial_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    request_timeout_seconds: float = 30.0
    status_port: int = 8099
    log_level: str = "info"
    # USCC, contact names and phones go to the central only when the operator opts in (data minimisation).
    send_personal_data: bool = False
    hj212: HJ212Options = HJ212Options()
    gbt26875: GBT26875Options = GBT26875Options()
    mqtt: MQTTOptions = MQTTOptions()


_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
_POLLUTANT_RE = re.compile(r"^[a-z]\d{5}$")
_LOG_LEVELS = ("debug", "info", "warning", "error")


def parse_options(raw: Any) -> Options:
    r = Reader(raw, "")
    # With the MQTT uplink on, it drains the outbox and the HTTP central's settings become optional.
    mqtt = _parse_mqtt(r.sub("mqtt"))
    url = r.text("central_url", "" if mqtt.enabled else None)
    parsed = urlparse(url)
    if (url or not mqtt.enabled) and (parsed.scheme not in ("http", "https") or not parsed.hostname):
        raise OptionsError("central_url", "must be an http:// or https:// URL with a host")
    ca_cert = r.text("ca_cert", "")
    if ca_cert and not Path(ca_cert).is_file():
        raise OptionsError("ca_cert", "file not found")
    ef = r.sub("entity_filter")
    entity_filter = EntityFilter(ef.str_list("integrations", ("smart_park",)), ef.str_list("entity_ids", ()))
    for i, eid in enumerate(entity_filter.entity_ids):
        if "." not in eid:
            raise OptionsError(f"entity_filter.entity_ids[{i}]", "must be an entity id like sensor.x")
    ef.done()
    token = r.text("central_token", "" if mqtt.enabled else None)
    secret = r.text("hmac_secret", "" if mqtt.enabled else None)
    if not mqtt.enabled or url:
        if not token:
            raise OptionsError("central_token", "required")
        if len(secret) < 16:
            raise OptionsError("hmac_secret", "must be at least 16 characters")
    level = r.text("log_level", "info").lower()
    if level not in _LOG_LEVELS:
        raise OptionsError("log_level", f"must be one of {', '.join(_LOG_LEVELS)}")
    opts = Options(
        park_id=r.text("park_id", pattern=_ID_RE),
        central_url=url.rstrip("/"),
        central_token=token,
        hmac_secret=secret,
        ca_cert=ca_cert,
        entity_filter=entity_filter,
        batch_max_records=r.integer("batch_max_records", 500, 1, 10_000),
        batch_max_bytes=r.integer("batch_max_bytes", 256 * 1024, 1024, 8 * 1024 * 1024),
        batch_max_seconds=r.number("batch_max_seconds", 5.0, 0.0, 3600.0),
        outbox_path=r.text("outbox_path", "/data/outbox.sqlite3"),
        outbox_max_records=r.integer("outbox_max_records", 500_000, 10, 50_000_000),
        retry_initial_seconds=r.number("retry_initial_seconds", 1.0, 0.01, 3600.0),
        retry_max_seconds=r.number("retry_max_seconds", 300.0, 0.01, 86400.0),
        request_timeout_seconds=r.number("request_timeout_seconds", 30.0, 1.0, 600.0),
        status_port=r.integer("status_port", 8099, 0, 65535),
        log_level=level,
        send_personal_data=r.boolean("send_personal_data", False),
        hj212=_parse_hj212(r.sub("hj212")),
        gbt26875=_parse_gbt26875(r.sub("gbt26875")),
        mqtt=mqtt,
    )
    if opts.retry_max_seconds < opts.retry_initial_seconds:
        raise OptionsError("retry_max_seconds", "must not be less than retry_initial_seconds")
    if mqtt.enabled and ":" in opts.park_id:
        # Device names are <park_id>:<device>: the platform splits them at the first colon.
        raise OptionsError("park_id", "must not contain ':' when mqtt.enabled")
    r.done()
    return opts


_HOST_RE = re.compile(r"^[A-Za-z0-9._\-]{1,253}$|^\[?[0-9A-Fa-f:.]{2,45}\]?$")


def _parse_mqtt(m: Reader) -> MQTTOptions:
    opts = MQTTOptions(
        enabled=m.boolean("enabled", False),
        host=m.text("host", ""),
        port=m.integer("port", 0, 0, 65535),
        token=m.text("token", ""),
        tls=m.boolean("tls", False),
        ca_cert=m.text("ca_cert", ""),
        keepalive=m.integer("keepalive", 60, 5, 3600),
        max_message_bytes=m.integer("max_message_bytes", 65536, 1024, 256 * 1024 * 1024),
        protocol=m.text("protocol", "3.1.1"),
    )
    m.done()
    if opts.protocol not in MQTT_PROTOCOLS:
        raise OptionsError("mqtt.protocol", f"must be one of {', '.join(MQTT_PROTOCOLS)}")
    if opts.host and not _HOST_RE.match(opts.host):
        raise OptionsError("mqtt.host", "must be a host name or IP address (no scheme, no port)")
    if opts.ca_cert:
        if not opts.tls:
            raise OptionsError("mqtt.ca_cert", "needs mqtt.tls: true")
        if not Path(opts.ca_cert).is_file():
            raise OptionsError("mqtt.ca_cert", "file not found")
    if opts.token and any(c.isspace() or not c.isprintable() for c in opts.token):
        raise OptionsError("mqtt.token", "must not contain spaces or control characters")
    if opts.enabled:
        for name in ("host", "token"):
            if not getattr(opts, name):
                raise OptionsError(f"mqtt.{name}", "required when mqtt.enabled")
    return opts


def _parse_hj212(h: Reader) -> HJ212Options:
    enabled = h.boolean("enabled", False)
    pollutants = _parse_pollutants(h)
    tz = h.text("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise OptionsError("hj212.timezone", f"unknown time zone {tz!r}") from None
    opts = HJ212Options(
        enabled=enabled,
        host=h.text("host", ""),
        port=h.integer("port", 0, 0, 65535),
        mn=h.text("mn", ""),
        pw=h.text("pw", "123456"),
        st=h.text("st", "22", pattern=re.compile(r"^\d{2}$")),
        timeout=h.number("timeout", 10.0, 0.05, 600.0),
        retries=h.integer("retries", 3, 0, 20),
        realtime_seconds=h.number("realtime_seconds", 60.0, 0.1, 86400.0),
        minute_interval=h.integer("minute_interval", 10, 1, 60),
        history_days=h.integer("history_days", 30, 1, 3650),
        timezone=tz,
        pollutants=pollutants,
    )
    h.done()
    # Separators in MN/PW would let a configured value forge packet fields (frame injection).
    for name, value in (("mn", opts.mn), ("pw", opts.pw)):
        if value and not FIELD_RE.fullmatch(value):
            raise OptionsError(f"hj212.{name}", "must not contain ; = , & spaces or control characters")
    if enabled:
        _check_hj212_uplink(opts)
    return opts


ADDRESS_MAX = (1 << 48) - 1
_ADDRESS_RE = re.compile(r"0[xX][0-9A-Fa-f]{1,12}|[0-9]{1,15}")


def _address(g: Reader, key: str) -> int:
    """A 6-byte address: an integer, or a string of decimal digits or 0x + hex digits."""
    value = g._get(key, 0)
    if isinstance(value, str) and _ADDRESS_RE.fullmatch(value):
        value = int(value, 0) if value[:2].lower() == "0x" else int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= ADDRESS_MAX:
        raise OptionsError(g._p(key), f"must be an address 0-{ADDRESS_MAX} (decimal, or hex as 0x...)")
    return int(value)


def _parse_gbt26875(g: Reader) -> GBT26875Options:
    tz = g.text("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise OptionsError("gbt26875.timezone", f"unknown time zone {tz!r}") from None
    heartbeat = g.number("heartbeat", 25.0, 0.0, 600.0)
    opts = GBT26875Options(
        enabled=g.boolean("enabled", False),
        host=g.text("host", ""),
        port=g.integer("port", 0, 0, 65535),
        source_address=_address(g, "source_address"),
        centre_address=_address(g, "centre_address"),
        heartbeat=heartbeat,
        timeout=g.number("timeout", 10.0, 0.05, 10.0),
        retries=g.integer("retries", 3, 0, 10),
        reconnect_max_seconds=g.number("reconnect_max_seconds", 60.0, 0.1, 3600.0),
        deny_limit=g.integer("deny_limit", 3, 1, 20),
        timezone=tz,
        history_days=g.integer("history_days", 30, 1, 3650),
    )
    g.done()
    if 0 < heartbeat < 1:
        raise OptionsError("gbt26875.heartbeat", "must be 0 (off) or at least 1 second")
    if opts.enabled:
        for name in ("host", "port", "source_address", "centre_address"):
            if not getattr(opts, name):
                raise OptionsError(f"gbt26875.{name}", "required when gbt26875.enabled")
        if opts.source_address == opts.centre_address:
            raise OptionsError("gbt26875.centre_address", "must differ from source_address")
    return opts


def _parse_pollutants(h: Reader) -> dict[str, str]:
    """Pollutant code -> the entity it is read from; codes are unique."""
    pollutants_raw = h._get("pollutants", [])
    if not isinstance(pollutants_raw, list):
        raise OptionsError("hj212.pollutants", "must be a list of {code, entity_id}")
    pollutants: dict[str, str] = {}
    for i, item in enumerate(pollutants_raw):
        p = Reader(item, f"hj212.pollutants[{i}]")
        code = p.text("code", pattern=_POLLUTANT_RE)
        if code in pollutants:
            raise OptionsError(f"hj212.pollutants[{i}].code", f"duplicate code {code}")
        eid = p.text("entity_id")
        if "." not in eid:
            raise OptionsError(f"hj212.pollutants[{i}].entity_id", "must be an entity id like sensor.x")
        p.done()
        pollutants[code] = eid
    return pollutants


def _check_hj212_uplink(opts: HJ212Options) -> None:
    """An enabled uplink needs a station to send to and an MN/PW the platform accepts."""
    if not opts.host:
        raise OptionsError("hj212.host", "required when hj212.enabled")
    if not opts.port:
        raise OptionsError("hj212.port", "required when hj212.enabled")
    if not opts.mn or len(opts.mn.encode()) > 24:
        raise OptionsError("hj212.mn", "required, at most 24 characters")
    if len(opts.pw) != 6:
        raise OptionsError("hj212.pw", "must be 6 characters")
    if 60 % opts.minute_interval:
        raise OptionsError("hj212.minute_interval", "must divide 60")


def load_options(path: str | Path) -> Options:
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith((".yaml", ".yml")):
        import yaml  # only for running outside the container; Supervisor writes JSON

        raw = yaml.safe_load(text)
    else:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise OptionsError("$", f"not valid JSON: {err}") from None
    return parse_options(raw)
