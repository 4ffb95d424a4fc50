"""The real otn-server (release binary, $OTN_SERVER_BIN) for the end-to-end tests.

Three things the server is going to change are each kept in ONE function here:
  * how a test gets an API key ............ ``obtain_api_key``
  * where the Messenger simulator is ...... ``discover_simulator``
  * how the server is started .............. ``server_command``
Every client a test makes comes from ``OtnServer.client()`` / ``OtnServer.async_client()``,
which pass the API key.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator, List, Optional

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from otn_client import AsyncClient, Client

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICE = "otn.v1.NotificationService"
GRPC_ADDR = re.compile(r'"grpc_addr":"([^"]+)"')
HTTP_ADDR = re.compile(r'"http_addr":"([^"]+)"')
SIM_URL = re.compile(r'"simulator":"(http://[^"]+)"')
START_DEADLINE_S = 60.0


def server_binary() -> Path:
    b = Path(os.environ.get("OTN_SERVER_BIN", str(REPO_ROOT / "target" / "release" / "otn-server")))
    if not b.is_absolute():
        b = (REPO_ROOT / b).resolve()
    if not b.exists():
        pytest.fail(
            f"otn-server binary not found at {b}: build it with "
            f"`cargo build --release -p otn-server --bin otn-server` in {REPO_ROOT}, or set OTN_SERVER_BIN",
            pytrace=False,
        )
    return b


def server_command(binary: Path, database_url: str, grpc_addr: str, http_addr: str) -> List[str]:
    """The command line of a sandbox server (no page configured) on the given addresses."""
    return [str(binary), "--grpc-addr", grpc_addr, "--http-addr", http_addr, "--database-url", database_url]


def obtain_api_key(server: "OtnServer") -> Optional[str]:
    """An API key with every scope, or None when the binary has no `api-key` command (the v1
    binary: sandbox mode accepts unauthenticated calls). A binary that has the command must
    create the key, or the tests fail here."""
    help_text = subprocess.run([str(server.binary), "--help"], capture_output=True, text=True, timeout=30).stdout
    if "api-key" not in help_text:
        print(f"NOTE: {server.binary.name} has no `api-key` command: the tests call without an API key")
        return None
    cmd = [str(server.binary), "--database-url", server.database_url, "api-key", "create", "--name", "python-sdk-tests"]
    for scope in ("read", "consent", "send", "erase"):
        cmd += ["--scope", scope]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=server.workdir)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        pytest.fail(f"`{' '.join(cmd)}` failed ({out.returncode}):\n{out.stdout}\n{out.stderr}", pytrace=False)
    return lines[-1].strip()


def discover_simulator(server: "OtnServer") -> Optional[str]:
    """The base URL of the sandbox's Messenger simulator control API (`{url}/_sim/...`): today the
    URL in the sandbox WARN line, later `http://<http_addr>` (where the log names none)."""
    m = SIM_URL.search(server.log_text())
    return m.group(1) if m else f"http://{server.http_addr}"


class OtnServer:
    """One otn-server process on a database of its own; restartable on the same ports."""

    def __init__(self, workdir: Path) -> None:
        self.binary = server_binary()
        self.workdir = workdir
        self.database_url = f"sqlite://{workdir}/otn.db?mode=rwc"
        self.target = ""  # host:port of gRPC, known once started (then kept across restarts)
        self.http_addr = ""
        self.simulator_url: Optional[str] = None
        self.api_key: Optional[str] = None
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self._key_made = False

    @property
    def log_path(self) -> Path:
        return self.workdir / f"server-{self.starts}.log"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-n:]) or "(empty log)"

    def start(self) -> "OtnServer":
        assert self.proc is None, "already running"
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTN_")}
        env.update(OTN_LOG_FORMAT="json", NO_COLOR="1", OTN_SANDBOX="1")
        cmd = server_command(self.binary, self.database_url, self.target or "127.0.0.1:0",
                             self.http_addr or "127.0.0.1:0")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_DEADLINE_S
        self._wait_addresses(deadline)
        self._wait_serving(deadline)
        self.simulator_url = discover_simulator(self)
        if not self._key_made:
            self.api_key, self._key_made = obtain_api_key(self), True
        return self

    def _alive_or_fail(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            pytest.fail(f"otn-server exited with {self.proc.returncode} on start:\n{self.log_tail()}", pytrace=False)

    def _wait_addresses(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._alive_or_fail()
            text = self.log_text()
            g, h = GRPC_ADDR.search(text), HTTP_ADDR.search(text)
            if g and h:
                self.target, self.http_addr = g.group(1), h.group(1)
                return
            time.sleep(0.05)
        pytest.fail(f"otn-server logged no grpc_addr within {START_DEADLINE_S}s:\n{self.log_tail()}", pytrace=False)

    def _wait_serving(self, deadline: float) -> None:
        last = "not tried"
        with grpc.insecure_channel(self.target) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            while time.monotonic() < deadline:
                self._alive_or_fail()
                try:
                    r = health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=1)
                    if r.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                    last = health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)
                except grpc.RpcError as e:
                    last = f"{e.code().name}: {e.details()}"
                time.sleep(0.05)
        pytest.fail(f"otn-server not SERVING after {START_DEADLINE_S}s ({last}):\n{self.log_tail()}", pytrace=False)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, connections reset."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=30)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Kills the server and starts it again on the same database and ports."""
        self.kill()
        self.start()

    def client(self, **kwargs: Any) -> Client:
        return Client(self.target, api_key=self.api_key, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """Call inside a running event loop."""
        return AsyncClient(self.target, api_key=self.api_key, **kwargs)

    def issue_otn_token(self, page_id: str, psid: str) -> str:
        """A token minted by the sandbox's Messenger simulator (so a real send can spend it)."""
        if not self.simulator_url:
            pytest.fail("no Messenger simulator found for this server", pytrace=False)
        req = urllib.request.Request(
            f"{self.simulator_url}/_sim/issue_otn",
            data=json.dumps({"page_id": page_id, "psid": psid}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return str(json.load(r)["token"])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtnServer]:
    """One server for the whole session (fresh SQLite database)."""
    srv = OtnServer(tmp_path_factory.mktemp("otn-server"))
    try:
        yield srv.start()
    finally:
        srv.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[OtnServer]:
    """A server of the test's own (to kill and restart)."""
    srv = OtnServer(tmp_path)
    try:
        yield srv.start()
    finally:
        srv.stop()


@pytest.fixture
def fake() -> Iterator[Any]:
    """A scripted NotificationService on a free port (see tests/fakes.py)."""
    from fakes import FakeServer

    srv = FakeServer()
    try:
        yield srv.service
    finally:
        srv.stop()
