"""Starts the real otn-server (release binary) once per test session, on free loopback ports."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICE = "otn.v1.NotificationService"
SIM_URL = re.compile(r'simulator"?\s*[=:]\s*"?(http://[^\s",\x1b]+)')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    target: str
    http_addr: str
    log_path: Path
    simulator_url: Optional[str]

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def issue_otn_token(self, page_id: str, psid: str) -> Optional[str]:
        """A token minted by the sandbox's Messenger simulator (so a real send can spend it)."""
        if not self.simulator_url:
            return None
        req = urllib.request.Request(
            f"{self.simulator_url}/_sim/issue_otn",
            data=json.dumps({"page_id": page_id, "psid": psid}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)["token"]


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


def wait_serving(target: str, proc: subprocess.Popen, server: Server, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    last = "not tried"
    with grpc.insecure_channel(target) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"otn-server exited with {proc.returncode} on start:\n{server.log_tail()}", pytrace=False)
            try:
                r = health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=1)
                if r.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)
            except grpc.RpcError as e:
                last = f"{e.code().name}: {e.details()}"
            time.sleep(0.1)
    pytest.fail(f"otn-server not SERVING after {deadline_s}s ({last}):\n{server.log_tail()}", pytrace=False)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    binary = server_binary()
    tmp = tmp_path_factory.mktemp("otn-server")
    grpc_addr = f"127.0.0.1:{free_port()}"
    http_addr = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTN_")}
    env.update(
        OTN_GRPC_ADDR=grpc_addr,
        OTN_HTTP_ADDR=http_addr,
        OTN_DATABASE_URL=f"sqlite://{tmp}/otn.db?mode=rwc",
        OTN_LOG_FORMAT="json",
        NO_COLOR="1",
    )
    log_path = tmp / "server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([str(binary)], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    srv = Server(target=grpc_addr, http_addr=http_addr, log_path=log_path, simulator_url=None)
    try:
        wait_serving(grpc_addr, proc, srv)
        m = SIM_URL.search(log_path.read_text(errors="replace"))
        srv.simulator_url = m.group(1) if m else None
        yield srv
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
