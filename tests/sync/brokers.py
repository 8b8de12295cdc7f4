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
context manager it starts and stops. The ``mosquitto`` pytest fixture gives a started broker per test
(import it into a test module: ``from tests.sync.brokers import mosquitto  # noqa: F401``).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

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


@pytest.fixture
def mosquitto(tmp_path: Path, socket_enabled: None) -> Iterator[Mosquitto]:
    """A started anonymous broker on a free loopback port; stopped after the test."""
    with Mosquitto(tmp_path) as broker:
        yield broker
