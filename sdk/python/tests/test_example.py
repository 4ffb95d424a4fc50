"""examples/back_in_stock.py runs as a caller would run it, against a real server of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import OtnServer

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "back_in_stock.py"


def test_back_in_stock_example(own_server: OtnServer, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTN_")}
    env["OTN_SIMULATOR_URL"] = own_server.simulator_url or ""
    if own_server.api_key:
        env["OTN_API_KEY"] = own_server.api_key
    out = subprocess.run([sys.executable, str(EXAMPLE), own_server.target], capture_output=True, text=True,
                         timeout=120, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("notification ") and lines[0].endswith(" to 2 people"), out.stdout
    sent = [line for line in lines[1:] if " DELIVERY_EVENT_TYPE_SENT " in line]
    assert len(sent) == 2, out.stdout
