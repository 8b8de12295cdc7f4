"""Shared machinery of the benchmarks that run things in child processes, above all a real Home Assistant.

* :func:`free_ports`, :func:`child`: loopback ports and a subprocess that is always stopped (``polling.py``).
* :class:`Hass`: a ``hass`` process in a fresh config dir, onboarded over its REST API as a new install is
  (the owner it creates is an admin), with a long-lived token and the few REST/websocket calls the benchmarks
  need: config flows, service calls, states. Everything is async so a simulator can share the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
CORE_MODBUS_HASS = ROOT / "benchmarks" / "_core_modbus_hass.py"
HOST = "127.0.0.1"
USER, PASSWORD = "bench", "bench-password"
HASS_START_TIMEOUT = 300.0
HASS_STOP_TIMEOUT = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Onboarding's "core_config" step is answered by configuration.yaml; marking it done also keeps HA from adding
# its onboarding extras (met, radio_browser, ...), which need the internet (as demo/__main__.py does).
ONBOARDING_STORE = {"version": 4, "minor_version": 1, "key": "onboarding", "data": {"done": ["core_config"]}}
HOMEASSISTANT_BASICS: dict[str, Any] = {
    "unit_system": "metric",
    "time_zone": "Asia/Shanghai",
    "country": "CN",
    "currency": "CNY",
    "latitude": 27.99,
    "longitude": 120.69,
    "elevation": 10,
}


class HassError(RuntimeError):
    """Home Assistant did not do what a benchmark needs; the message points at its log."""


# --- ports and child processes ---------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (all held open while choosing, so they differ)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in socks:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the ")" of comm: field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _stop(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM (HA's documented stop signal), then SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def child(args: Sequence[str], log: Path, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess logging to ``log``, terminated (then killed) on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(list(args), stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            yield proc
        finally:
            _stop(proc, 30)


# --- Home Assistant --------------------------------------------------------------------------------------


def hass_configuration(name: str, port: int, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """configuration.yaml: basics, the HTTP API on ``port`` (loopback), onboarding, a quiet logger, ``extra``.

    No ``default_config``: it pulls in go2rtc (no binary here) and a recorder that would only add load.
    """
    return {
        "homeassistant": {"name": name, **HOMEASSISTANT_BASICS},
        "http": {"server_host": HOST, "server_port": port},
        "api": None,
        "onboarding": None,
        "logger": {"default": "warning"},
        **(extra or {}),
    }


class Hass:
    """One ``hass`` process in its own config dir, driven over its REST and websocket APIs."""

    def __init__(
        self,
        config_dir: Path,
        configuration: Mapping[str, Any],
        *,
        core_modbus_shim: bool = False,
        custom_components: Sequence[Path] = (),
        launcher: Path | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.port = int(configuration["http"]["server_port"])
        self.url = f"http://{HOST}:{self.port}"
        self.log = config_dir / "hass.log"
        self.token = ""  # the owner's long-lived token once onboarded
        self._client_id = f"{self.url}/"
        self._proc: asyncio.subprocess.Process | None = None
        self._log_file: IO[bytes] | None = None
        self._session: aiohttp.ClientSession | None = None
        config_dir.mkdir(parents=True)
        (config_dir / ".storage").mkdir()
        (config_dir / ".storage" / "onboarding").write_text(json.dumps(ONBOARDING_STORE), encoding="utf-8")
        (config_dir / "configuration.yaml").write_text(
            yaml.safe_dump(dict(configuration), allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        if custom_components:
            (config_dir / "custom_components").mkdir()
            for package in custom_components:
                (config_dir / "custom_components" / package.name).symlink_to(package)
        # Core modbus runs through the pymodbus keyword shim; ours is plain `python -m homeassistant`, or a
        # ``launcher`` script (demo/hass.py, which lets mobile_app load).
        entry = [str(CORE_MODBUS_HASS)] if core_modbus_shim else ["-m", "homeassistant"]
        if launcher is not None:
            entry = [str(launcher)]
        self.args = [sys.executable, *entry, "-c", str(config_dir), "--skip-pip"]

    @property
    def pid(self) -> int:
        """The hass process id."""
        assert self._proc is not None
        return self._proc.pid

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session to this instance."""
        assert self._session is not None
        return self._session

    def tail(self, lines: int = 20) -> str:
        """The end of hass's log, for error messages."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(f"    | {line}" for line in text.splitlines()[-lines:])

    def check_alive(self) -> None:
        """Fail, with the end of the log, if hass has exited."""
        if self._proc is not None and self._proc.returncode is not None:
            raise HassError(f"hass exited with {self._proc.returncode}; {self.log}:\n{self.tail()}")

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    # --- lifecycle ---------------------------------------------------------------------------------------

    async def start(self, timeout: float = HASS_START_TIMEOUT) -> float:
        """Start hass, wait for its HTTP API, onboard an admin owner; returns seconds to ready."""
        started = time.monotonic()
        self._log_file = self.log.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = await asyncio.create_subprocess_exec(
            *self.args, cwd=self.config_dir, stdout=self._log_file, stderr=subprocess.STDOUT, env=env
        )
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        while True:
            self.check_alive()
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with self.session.get(
                    f"{self.url}/api/onboarding", timeout=aiohttp.ClientTimeout(total=5)
                ) as resp:
                    if resp.status == 200:
                        break
            if time.monotonic() - started > timeout:
                raise HassError(f"hass did not answer on {self.url} within {timeout:.0f} s; see {self.log}")
            await asyncio.sleep(0.5)
        await self._onboard()
        return time.monotonic() - started

    async def stop(self) -> None:
        """Stop hass (SIGTERM, then SIGKILL if it hangs); close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if (proc := self._proc) is not None:
            self._proc = None
            if proc.returncode is None:
                proc.terminate()  # SIGTERM: HA's documented stop signal
                try:
                    await asyncio.wait_for(proc.wait(), HASS_STOP_TIMEOUT)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    async def _onboard(self) -> None:
        """Create the owner (an admin) through onboarding, finish it, and keep a long-lived token."""
        body = {"client_id": self._client_id, "name": "Bench", "username": USER, "password": PASSWORD}
        data = await self._post_json("/api/onboarding/users", {**body, "language": "en"}, auth=False)
        form = {"grant_type": "authorization_code", "code": data["auth_code"], "client_id": self._client_id}
        async with self.session.post(f"{self.url}/auth/token", data=form) as resp:
            if resp.status != 200:
                raise HassError(f"hass refused the onboarding auth code: {resp.status} {await resp.text()}")
            self.token = (await resp.json())["access_token"]
        redirect = {"client_id": self._client_id, "redirect_uri": f"{self._client_id}?auth_callback=1"}
        for step, step_body in (("analytics", {}), ("integration", redirect)):
            async with self.session.post(
                f"{self.url}/api/onboarding/{step}", json=step_body, headers=self._auth
            ) as resp:
                if resp.status not in (200, 403):  # 403: step already done
                    raise HassError(f"onboarding step {step} failed: {resp.status} {await resp.text()}")
        reply = await self.websocket(
            {"type": "auth/long_lived_access_token", "client_name": "benchmark", "lifespan": 30}
        )
        self.token = str(reply)
        await self._confirm_http_config()

    async def _confirm_http_config(self) -> None:
        """Keep configuration.yaml's HTTP settings.

        HA 2026.10 starts them as a trial, shows administrators a confirmation dialog over every page and
        restarts on its old settings 5 minutes later unless they are confirmed.
        """
        if (await self.websocket({"type": "http/config"})).get("revert_at") is not None:
            await self.websocket({"type": "http/config/promote"})

    # --- APIs --------------------------------------------------------------------------------------------

    async def _post_json(self, path: str, body: Mapping[str, Any], *, auth: bool = True) -> Any:
        async with self.session.post(
            f"{self.url}{path}", json=body, headers=self._auth if auth else None
        ) as resp:
            if resp.status != 200:
                raise HassError(f"POST {path}: {resp.status} {await resp.text()}")
            return await resp.json()

    async def websocket(self, command: Mapping[str, Any]) -> Any:
        """One websocket command's result (a fresh connection: these are set-up calls, not measured)."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (auth := await ws.receive_json()).get("type") != "auth_ok":
                raise HassError(f"hass websocket refused the token: {auth}")
            await ws.send_json({"id": 1, **command})
            reply = await ws.receive_json()
        if not reply.get("success"):
            raise HassError(f"websocket {command.get('type')}: {reply.get('error')}")
        return reply["result"]

    async def call_service(self, domain: str, service: str, data: Mapping[str, Any]) -> tuple[int, str]:
        """POST /api/services/<domain>/<service> as the admin owner: (HTTP status, body text)."""
        async with self.session.post(
            f"{self.url}/api/services/{domain}/{service}", json=data, headers=self._auth
        ) as resp:
            return resp.status, await resp.text()

    async def states(self) -> dict[str, str]:
        """entity id -> state of every entity."""
        async with self.session.get(f"{self.url}/api/states", headers=self._auth) as resp:
            resp.raise_for_status()
            return {s["entity_id"]: s["state"] for s in await resp.json()}

    async def state(self, entity_id: str) -> str | None:
        """One entity's state, None if it does not exist."""
        async with self.session.get(f"{self.url}/api/states/{entity_id}", headers=self._auth) as resp:
            if resp.status == 404:
                return None
            resp.raise_for_status()
            return str((await resp.json())["state"])

    async def config_flow(
        self, handler: str, answers: Mapping[str, Any], max_steps: int = 5
    ) -> dict[str, Any]:
        """Walk a config flow over REST as the UI does, answering each form's fields from ``answers``."""
        base = "/api/config/config_entries/flow"
        result: dict[str, Any] = await self._post_json(base, {"handler": handler})
        for _ in range(max_steps):
            if result.get("type") != "form":
                break
            fields = {f["name"] for f in result.get("data_schema", [])}
            result = await self._post_json(
                f"{base}/{result['flow_id']}", {k: v for k, v in answers.items() if k in fields}
            )
            if result.get("errors"):
                raise HassError(
                    f"{handler} config flow refused the input: {result['errors']}; see {self.log}"
                )
        if result.get("type") != "create_entry":
            raise HassError(f"{handler} config flow did not finish: {result}")
        if (state := (result.get("result") or {}).get("state")) != "loaded":
            raise HassError(f"{handler} was added but did not load (state {state!r}); see {self.log}")
        return result


async def start_smart_park(
    config_dir: Path,
    name: str,
    raw_profile: Mapping[str, Any],
    host: str | None,
    port: int,
    *,
    extra: Mapping[str, Any] | None = None,
    launcher: Path | None = None,
    component: Path | None = None,
) -> tuple[Hass, float]:
    """A fresh hass with smart_park added through its config flow over REST, as a user (and the demo) does.

    The answers: the first gateway's address, then the park profile as YAML. ``extra``: more of
    configuration.yaml (integrations to load); ``launcher``: see :class:`Hass`; ``component``: another copy of
    the smart_park package to load (e.g. an older commit's, from ``git worktree``). Returns the running
    instance and the seconds from start to a loaded entry; the caller stops it.
    """
    (http_port,) = free_ports(1)
    configuration = hass_configuration(
        name,
        http_port,
        {"logger": {"default": "warning", "logs": {"custom_components.smart_park": "info"}}, **(extra or {})},
    )
    hass = Hass(
        config_dir,
        configuration,
        custom_components=[component or ROOT / "custom_components" / "smart_park"],
        launcher=launcher,
    )
    started = time.monotonic()
    try:
        await hass.start()
        profile_yaml = yaml.safe_dump(dict(raw_profile), allow_unicode=True, sort_keys=False)
        await hass.config_flow("smart_park", {"host": host, "port": port, "profile_yaml": profile_yaml})
    except BaseException:
        await hass.stop()  # the caller gets no instance to stop
        raise
    return hass, time.monotonic() - started
