#!/usr/bin/env bash
# The operators' console in a real browser: Debian's Chromium (installed with apt-get when it is
# missing and this runs as root), driven by Playwright for Python (from PyPI, into
# target/browser-venv; no browser is downloaded), against a freshly built server and reference
# car units. Screenshots land in target/console-artifacts (CI keeps them as artifacts).
#
# Usage: scripts/console-browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
  else
    echo "console-browser: /usr/bin/chromium is missing (apt-get install chromium)" >&2
    exit 1
  fi
fi
venv=target/browser-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import playwright' 2> /dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "playwright>=1.48,<2"
fi

cargo build --quiet -p gateway --bin ev-rental
cargo build --quiet -p simulator --bin ev-unit
ARTIFACTS="${ARTIFACTS:-target/console-artifacts}" "$venv/bin/python" gateway/tests/browser/console_test.py
