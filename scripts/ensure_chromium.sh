#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright never downloads a browser here).
# Install it when missing and we may (root with apt-get); otherwise say how, and the
# browser tests are skipped loudly (or fail in CI, where REQUIRE_SERVICES=1).
set -euo pipefail
if [ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "make test: installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
else
  echo "make test: Chromium not found; install it (sudo apt-get install chromium) or set CHROMIUM_PATH to run the browser tests" >&2
fi
