"""MQTT uplink over TLS (mosquitto with a certificate from a private CA made here), and a record too large
for any message set aside instead of blocking the outbox. The uplink runs in process on a real outbox."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from park_sync.config import Options
from park_sync.outbox import Outbox, Record
from park_sync.uplink_mqtt import MQTTUplink

from .brokers import Mosquitto, Recorder
from .conftest import free_port, make_options, wait_for

PARK = "zhifeng"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca_and_server(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 / localhost it signed: (ca, cert, key) files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("District test CA"))
        .issuer_name(_name("District test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@contextlib.asynccontextmanager
async def running(options: Options, records: list[Record]) -> AsyncIterator[tuple[MQTTUplink, Outbox]]:
    outbox = Outbox(options.outbox_path)
    await outbox.open()
    await outbox.put(records)
    uplink = MQTTUplink(options, outbox, lambda: {"park_id": PARK})
    task = asyncio.create_task(uplink.run())
    try:
        yield uplink, outbox
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await outbox.close()


def _figures(n: int, size: int = 10) -> list[Record]:
    return [
        Record(f"fig-{i}", "figure", "2026-11-29T05:00:00+00:00", {"n": i, "pad": "x" * size})
        for i in range(n)
    ]


def _options(tmp_path: Path, port: int, **mqtt: Any) -> Options:
    return make_options(
        tmp_path,
        "",
        mqtt={"enabled": True, "host": "127.0.0.1", "port": port, "token": "tls-token", **mqtt},
        request_timeout_seconds=5,
    )


async def test_tls_with_a_private_ca(tmp_path: Path) -> None:
    ca, cert, key = make_ca_and_server(tmp_path)
    tls_port = free_port()
    extra = (f"listener {tls_port} 127.0.0.1", f"certfile {cert}", f"keyfile {key}")
    with Mosquitto(tmp_path, extra=extra) as broker:
        recorder = await Recorder(broker.port, "v1/gateway/telemetry").start()  # on the plain listener
        try:
            # No CA given: the broker's certificate is not trusted, nothing is sent, the records stay.
            options = _options(tmp_path / "a", tls_port, tls=True)
            async with running(options, _figures(5)) as (uplink, outbox):

                async def refused() -> bool:
                    return uplink.state == "down"

                await wait_for(refused, what="the untrusted broker refused")
                assert "CERTIFICATE_VERIFY_FAILED" in (uplink.last_error or "")
                assert outbox.pending == 5
            # With the private CA: verified, sent.
            options = _options(tmp_path / "b", tls_port, tls=True, ca_cert=str(ca))
            async with running(options, _figures(5)) as (uplink, outbox):

                async def sent() -> bool:
                    return outbox.pending == 0

                await wait_for(sent, what="the records sent over TLS")
                assert uplink.url == f"mqtts://127.0.0.1:{tls_port}"

            async def received() -> bool:
                return len(recorder.docs("v1/gateway/telemetry")) >= 1

            await wait_for(received, what="the records at the subscriber")
        finally:
            await recorder.stop()
    rids = {e["values"]["rid"] for d in recorder.docs("v1/gateway/telemetry") for e in d[PARK]}
    assert rids == {f"fig-{i}" for i in range(5)}


async def test_a_record_larger_than_a_message_is_set_aside(tmp_path: Path) -> None:
    with Mosquitto(tmp_path) as broker:
        options = _options(tmp_path, broker.port, max_message_bytes=2048)
        records = [*_figures(3), Record("fig-huge", "figure", "-", {"pad": "x" * 4000}), *_figures(3, 11)[1:]]
        recorder = await Recorder(broker.port, "v1/gateway/telemetry").start()
        try:
            async with running(options, records) as (uplink, outbox):

                async def drained() -> bool:
                    return outbox.pending == 0

                await wait_for(drained, what="the rest sent")
                assert outbox.dead == 1
                assert outbox.dead_recent[0]["id"] == "fig-huge"
                assert "mqtt.max_message_bytes" in outbox.dead_recent[0]["reason"]
                assert uplink.dead_lettered == 1
        finally:
            await recorder.stop()


@pytest.mark.parametrize("limit", [1024, 4096])
async def test_every_message_fits_the_limit(tmp_path: Path, limit: int) -> None:
    with Mosquitto(tmp_path) as broker:
        recorder = await Recorder(broker.port, "v1/gateway/#").start()
        options = _options(tmp_path, broker.port, max_message_bytes=limit)
        try:
            async with running(options, _figures(200, 40)) as (_, outbox):

                async def drained() -> bool:
                    return outbox.pending == 0

                await wait_for(drained, what="all sent")

            async def received() -> bool:
                got = {e["values"]["rid"] for d in recorder.docs("v1/gateway/telemetry") for e in d[PARK]}
                return len(got) == 200

            await wait_for(received, what="all at the subscriber")
        finally:
            await recorder.stop()
    sizes = [len(p) for t, p in recorder.messages if t == "v1/gateway/telemetry"]
    assert max(sizes) <= limit
    assert len(sizes) < 100  # packed: many records per message


async def test_a_broker_refusing_big_messages_gets_smaller_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """mosquitto closes the connection on a packet over its max_packet_size (MQTT 3.1.1 has no negative
    PUBACK): park_sync splits its messages until they pass, and sets aside the one record that never can."""
    with Mosquitto(tmp_path, extra=("max_packet_size 1500",)) as broker:
        recorder = await Recorder(broker.port, "v1/gateway/telemetry").start()
        options = make_options(
            tmp_path,
            "",
            mqtt={"enabled": True, "host": "127.0.0.1", "port": broker.port, "token": "t"},
            retry_initial_seconds=0.02,
            retry_max_seconds=0.1,
        )
        records = [
            *_figures(30, 60),
            Record("fig-huge", "figure", "-", {"pad": "x" * 3000}),
            *_figures(60, 61)[30:],
        ]
        try:
            async with running(options, records) as (uplink, outbox):

                async def drained() -> bool:
                    return outbox.pending == 0

                await wait_for(drained, what="everything but the huge record sent")
                assert [d["id"] for d in outbox.dead_recent] == ["fig-huge"]
                assert uplink.dead_lettered == 1

            async def received() -> bool:
                return len(recorder.docs("v1/gateway/telemetry")) >= 1 and len(_got(recorder)) == 60

            await wait_for(received, what="the 60 others at the subscriber")
        finally:
            await recorder.stop()
    assert _got(recorder) == {f"fig-{i}" for i in range(60)}
    assert "messages now up to" in caplog.text


def _got(recorder: Recorder) -> set[str]:
    return {e["values"]["rid"] for d in recorder.docs("v1/gateway/telemetry") for e in d[PARK]}
