"""A real MQTT broker for tests: Debian's ``mosquitto`` (``make services`` installs it) on 127.0.0.1.

Usage::

    broker = Mosquitto(tmp_path)          # temp config, persistence and log under tmp_path/mosquitto
    port = broker.start()                 # a free loopback port, kept across restarts; waits until it listens
    broker.stop()                         # graceful (SIGTERM: mosquitto saves its persistence file)
    broker.kill()                         # SIGKILL (state since the last autosave is lost, as in a crash)
    port = broker.restart()               # stop + start on the same port, persistence kept
    broker.log()                          # the broker's log so far (for assertion messages)

Options: ``users={"name": "password"}`` turns anonymous access off and writes a password file;
``autosave_interval`` (s) bounds what a kill loses; ``extra`` lines go into the config as they are. As a
context manager it starts and stops; a per-test fixture is three lines::

    @pytest.fixture
    def broker(tmp_path: Path) -> Iterator[Mosquitto]:
        with Mosquitto(tmp_path) as b:
            yield b

Also here: ``Recorder`` (an aiomqtt subscriber keeping every message it got, in order) and ``AckHoldingProxy``
(a TCP proxy between an MQTT client and the broker that forwards everything but can hold back the broker's
PUBACKs, to catch a client between publish and acknowledgement).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import aiomqtt

BINARY = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    def __init__(
        self,
        workdir: Path,
        *,
        port: int = 0,
        users: dict[str, str] | None = None,
        autosave_interval: int = 1,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.dir = Path(workdir) / "mosquitto"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or _free_port()
        self.users = users
        self.autosave_interval = autosave_interval
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.dir / "mosquitto.conf"

    def _write_config(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "user root",  # started as root it would switch to the mosquitto user, who cannot write the dir
            "persistence true",
            f"persistence_location {self.dir}/",
            f"autosave_interval {self.autosave_interval}",
            f"log_dest file {self.dir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if self.users is None:
            lines.append("allow_anonymous true")
        else:
            passwords = self.dir / "passwords"
            passwords.write_text("")
            for name, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), name, password], check=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        self.config.write_text("\n".join([*lines, *self.extra]) + "\n")

    def start(self, timeout: float = 10.0) -> int:
        """Start (or restart after stop/kill) on ``self.port``; returns the port once it accepts."""
        if self.proc is not None and self.proc.poll() is None:
            return self.port
        self._write_config()
        self.proc = subprocess.Popen(
            [BINARY, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "stderr.log").open("ab"),
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self.port
            except OSError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(
                        f"mosquitto did not listen on {self.port}: {self.log()[-2000:]}"
                    ) from None
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful: SIGTERM, and mosquitto writes its persistence file before it exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> int:
        self.stop()
        return self.start()

    def log(self) -> str:
        text = ""
        for name in ("stderr.log", "mosquitto.log"):
            path = self.dir / name
            if path.exists():
                text += path.read_text(errors="replace")
        return text

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Recorder:
    """Subscribes to ``topic`` (QoS 1) and keeps ``(topic, payload)`` of every message, in arrival order.

    ``session`` names a persistent session (clean_session False, QoS 1): the broker keeps the subscription and
    queues messages while the recorder is away, e.g. across a graceful broker restart (it reconnects)."""

    def __init__(self, port: int, topic: str = "#", session: str | None = None) -> None:
        self.port = port
        self.topic = topic
        self.session = session
        self.messages: list[tuple[str, bytes]] = []
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> Recorder:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)
        return self

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.port,
                    identifier=self.session,
                    clean_session=False if self.session else None,
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self._ready.set()
                    async for message in client.messages:
                        self.messages.append((str(message.topic), bytes(message.payload)))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    def docs(self, topic: str) -> list[Any]:
        """The JSON payloads received on ``topic``."""
        return [json.loads(p) for t, p in self.messages if t == topic]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


PUBLISH, PUBACK = 3, 4


async def _packets(reader: asyncio.StreamReader) -> Any:
    """MQTT control packets as (raw bytes, body after the fixed header)."""
    while True:
        head = await reader.readexactly(1)
        length, shift, raw_len = 0, 0, b""
        while True:
            byte = await reader.readexactly(1)
            raw_len += byte
            length |= (byte[0] & 0x7F) << shift
            shift += 7
            if not byte[0] & 0x80:
                break
        body = await reader.readexactly(length)
        yield head + raw_len + body, body


class AckHoldingProxy:
    """127.0.0.1:``port`` -> the broker, for MQTT 3.1.1 clients. While ``hold_topic`` is set, the broker's
    PUBACKs for the client's QoS 1 PUBLISHes to that topic are kept back (never forwarded): the broker has the
    message, the client never learns it. Everything else passes. ``published`` counts the PUBLISHes to each
    topic; ``held`` the PUBACKs kept back."""

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.hold_topic: str | None = None
        self.held = 0
        self.published: dict[str, int] = {}
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def _serve(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        b_reader, b_writer = await asyncio.open_connection("127.0.0.1", self.broker_port)
        self._writers |= {c_writer, b_writer}
        to_hold: set[int] = set()  # packet ids of this connection's PUBLISHes whose PUBACK is held
        up = asyncio.create_task(self._pump(c_reader, b_writer, to_hold, upstream=True))
        down = asyncio.create_task(self._pump(b_reader, c_writer, to_hold, upstream=False))
        self._tasks |= {up, down}
        await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
        for task in (up, down):
            task.cancel()
        for writer in (c_writer, b_writer):
            writer.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, to_hold: set[int], upstream: bool
    ) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            async for packet, body in _packets(reader):
                kind = packet[0] >> 4
                if upstream and kind == PUBLISH:
                    n = int.from_bytes(body[:2])
                    topic = body[2 : 2 + n].decode()
                    self.published[topic] = self.published.get(topic, 0) + 1
                    if topic == self.hold_topic and (packet[0] >> 1) & 3 == 1:
                        to_hold.add(int.from_bytes(body[2 + n : 4 + n]))
                if not upstream and kind == PUBACK and int.from_bytes(body[:2]) in to_hold:
                    self.held += 1
                    continue
                writer.write(packet)
                await writer.drain()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
