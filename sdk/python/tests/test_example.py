"""examples/back_in_stock.py runs as a caller would run it, twice in a row, against a fresh sandbox
server of its own: it makes its own opt-ins through the sandbox control API, and both runs send
to every shopper."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

from conftest import OtnServer

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "back_in_stock.py"
SHOPPERS = ["shopper-1", "shopper-2", "shopper-3"]


def run_example(server: OtnServer, cwd: Path) -> List[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTN_")}
    env["OTN_SANDBOX_URL"] = f"http://{server.http_addr}"
    assert server.api_key
    env["OTN_API_KEY"] = server.api_key
    out = subprocess.run([sys.executable, str(EXAMPLE), server.target], capture_output=True, text=True,
                         timeout=120, env=env, cwd=cwd)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stderr == "", out.stderr
    return out.stdout.splitlines()


def test_back_in_stock_example_runs_twice_on_a_fresh_sandbox(own_server: OtnServer, tmp_path: Path) -> None:
    notifications = []
    for run in (1, 2):
        lines = run_example(own_server, tmp_path)
        text = "\n".join(lines)
        assert lines[0] == "opted in: " + " ".join(SHOPPERS), text
        assert lines[1].startswith("notification ") and lines[1].endswith(" to 3 people"), text
        notifications.append(lines[1].split()[1])
        sent = sorted(line.split()[2] for line in lines[2:] if " DELIVERY_EVENT_TYPE_SENT " in f"{line} ")
        assert sent == SHOPPERS, f"run {run}:\n{text}"
        assert not any("DELIVERY_EVENT_TYPE_FAILED" in line for line in lines), f"run {run}:\n{text}"
        assert lines[-1].startswith("state NOTIFICATION_STATE_COMPLETED sent 3 failed 0"), f"run {run}:\n{text}"
    assert notifications[0] != notifications[1]
    # The simulated Meta accepted six alerts, two per shopper, each spending a token it issued
    # (the example recorded no grant of its own making).
    alerts = [m for m in own_server.sim("messages") if m["message"].get("text") == "Sneaker X is back in stock!"]
    assert sorted(m["recipient_psid"] for m in alerts) == sorted(SHOPPERS * 2), alerts
    assert all(m["token_kind"] == "one_time_notification" and m["token"] for m in alerts), alerts
    assert len({m["token"] for m in alerts}) == 6, "a token was spent twice"
