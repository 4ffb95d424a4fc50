#!/usr/bin/env bash
# Installs Debian's headless Chromium and its chromedriver for the console's browser tests
# (tests/e2e/console/browser.rs); does nothing when both are already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver >/dev/null
chromium --version
chromedriver --version
