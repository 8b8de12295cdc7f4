"""A real PostgreSQL 15 cluster per test session (Debian's binaries), on a free loopback port.

postgres refuses to run as root, so as root the cluster runs as the ``postgres`` user (runuser) in a temp data
dir that user owns; the socket lives in that dir too. Each test gets its own database (``pg_dsn``).
Also usable outside pytest (benchmarks/district_load.py, the demo's scale mode): ``PgCluster(dir).start()``.
"""

from __future__ import annotations

import _socket  # the C module: pytest-socket blocks socket.socket in session fixtures
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
RUN_AS = "postgres"


def _free_port() -> int:
    s = _socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
    finally:
        s.close()


class PgCluster:
    """initdb + pg_ctl; trust auth on loopback only (a throwaway cluster no other host can reach)."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.data = root / "data"
        self.port = port or _free_port()

    def _cmd(self, *args: str) -> list[str]:
        # As root, run as the postgres user; as anyone else, run as ourselves.
        return ["runuser", "-u", RUN_AS, "--", *args] if os.geteuid() == 0 else list(args)

    def initdb(self) -> None:
        """A new cluster in ``root/data`` (kept if there is one)."""
        if not (BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL 15 not found in {BIN} (make services installs it)")
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, RUN_AS, RUN_AS)
        if not self.data.exists():
            cmd = self._cmd(
                str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
            )
            done = subprocess.run(cmd, check=False, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")

    def server_args(self) -> list[str]:
        """The server in the foreground (the demo runs it as a child process). As root through setpriv, which
        execs it (runuser stays in between and does not pass Ctrl-C on: postgres's fast shutdown)."""
        args = [str(BIN / "postgres"), "-D", str(self.data), *self._options()]
        if os.geteuid() == 0:
            return ["setpriv", f"--reuid={RUN_AS}", f"--regid={RUN_AS}", "--init-groups", "--", *args]
        return args

    def _options(self) -> list[str]:
        return [
            "-p",
            str(self.port),
            "-k",
            str(self.root),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=200",
        ]

    def start(self) -> PgCluster:
        self.initdb()
        opts = " ".join(self._options())
        subprocess.run(
            self._cmd(
                str(BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                opts,
                "-l",
                str(self.root / "pg.log"),
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )
        return self

    def stop(self) -> None:
        subprocess.run(
            self._cmd(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"),
            check=False,
            capture_output=True,
        )

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_db(self, name: str | None = None) -> str:
        """A new empty database; its DSN."""
        name = name or "t_" + uuid.uuid4().hex[:12]
        subprocess.run(
            [str(BIN / "psql"), "-q", "-d", self.dsn(), "-c", f'CREATE DATABASE "{name}"'],
            check=True,
            capture_output=True,
        )
        return self.dsn(name)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    root = Path(tempfile.mkdtemp(prefix="pg-test-"))
    cluster = PgCluster(root).start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_dsn(pg_cluster: PgCluster) -> str:
    return pg_cluster.create_db()
