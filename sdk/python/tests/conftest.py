"""The real otn-server (release binary, $OTN_SERVER_BIN) for the end-to-end tests.

What depends on the server's command line and log is kept in ONE function each:
  * how a test gets an API key ............ ``create_api_key`` / ``obtain_api_key``
  * where the sandbox control API is ...... ``discover_simulator``
  * how the server is started .............. ``server_command``
Every client a test makes comes from ``OtnServer.client()`` / ``OtnServer.async_client()``,
which pass the API key (with every scope). ``OtnServer.sim()`` calls the sandbox's simulator
control API (``/_sim/...`` on the server's HTTP listener): people messaging the page, tapping
"Notify Me", and injected Graph API faults.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from otn_client import AsyncClient, Client

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICE = "otn.v1.NotificationService"
GRPC_ADDR = re.compile(r'"grpc_addr":"([^"]+)"')
HTTP_ADDR = re.compile(r'"http_addr":"([^"]+)"')
CONTROL_URL = re.compile(r'"control":"(http://[^"]+?)/_sim/?"')
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


ALL_SCOPES = ("read", "consent", "send", "erase")


def create_api_key(server: "OtnServer", name: str, scopes: Sequence[str], pages: Sequence[str] = ()) -> str:
    """A new API key with these scopes (and only these pages, when given), made by the server
    binary on the server's database (`otn-server --database-url URL api-key create --name N
    --scope S... [--page P...]`; the key is the last line of standard output)."""
    cmd = [str(server.binary), "--database-url", server.database_url, "api-key", "create", "--name", name]
    for scope in scopes:
        cmd += ["--scope", scope]
    for page in pages:
        cmd += ["--page", page]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTN_")}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=server.workdir, env=env)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines or " " in lines[-1].strip():
        pytest.fail(f"`{' '.join(cmd)}` failed ({out.returncode}):\n{out.stdout}\n{out.stderr}", pytrace=False)
    return lines[-1].strip()


def obtain_api_key(server: "OtnServer") -> str:
    """The API key every client of the tests sends: one with every scope."""
    return create_api_key(server, "python-sdk-tests", ALL_SCOPES)


def discover_simulator(server: "OtnServer") -> str:
    """The base URL of the sandbox's simulator control API (`{url}/_sim/...`): the server's HTTP
    listener, as its SANDBOX log line says (`control=http://<http_addr>/_sim/`)."""
    m = CONTROL_URL.search(server.log_text())
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
        env.update(OTN_LOG_FORMAT="json", NO_COLOR="1", OTN_SANDBOX="1", OTN_ADMIN_ADDR="127.0.0.1:0")
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

    def restart(self, graceful: bool = False) -> None:
        """Stops the server (SIGKILL, or SIGTERM with ``graceful``) and starts it again on the
        same database and ports."""
        if graceful:
            self.stop()
        else:
            self.kill()
        self.start()

    def client(self, **kwargs: Any) -> Client:
        return Client(self.target, api_key=self.api_key, **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """Call inside a running event loop."""
        return AsyncClient(self.target, api_key=self.api_key, **kwargs)

    def create_api_key(self, name: str, scopes: Sequence[str], pages: Sequence[str] = ()) -> str:
        return create_api_key(self, name, scopes, pages)

    def sim(self, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        """Calls the sandbox's simulator control API: POST ``body`` as JSON (GET without one) to
        ``{simulator_url}/_sim/{path}``; returns the decoded JSON answer (fails the test on an
        HTTP error)."""
        if not self.simulator_url:
            pytest.fail("no simulator control API found for this server", pytrace=False)
        req = urllib.request.Request(
            f"{self.simulator_url}/_sim/{path.lstrip('/')}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="GET" if body is None else "POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            pytest.fail(f"sandbox control {req.method} {req.full_url}: HTTP {e.code}: {e.read()!r}", pytrace=False)

    def issue_otn_token(self, page_id: str, psid: str) -> str:
        """A token minted by the sandbox's Messenger simulator (so a real send can spend it)."""
        return str(self.sim("issue_otn", {"page_id": page_id, "psid": psid})["token"])

    def inject_faults(self, *faults: Dict[str, Any]) -> int:
        """Queues Graph API faults (``{"kind": "server_error"}``, ``{"kind": "timeout", "ms": 2000}``, ...,
        see simulator/src/control.rs): each later Graph call of the server consumes one. Clears
        what was queued before; returns how many are queued."""
        return int(self.sim("faults", {"clear": True, "queue": list(faults)})["queued"])

    def queued_faults(self) -> int:
        return int(self.sim("faults", {})["queued"])


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
