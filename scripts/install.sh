#!/usr/bin/env bash
# Install what ctxmap needs on a fresh machine.
#   bash scripts/install.sh          runtime: Python packages, then the map's JS/CSS (npm ci)
#   bash scripts/install.sh --dev    also the test tools and Debian's Chromium for browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

# ctxmap itself, editable (`python -m ctxmap` then works from any folder), with the
# dependencies pyproject.toml declares; --dev adds the test and gate tools.
if [ "$dev" = 1 ]; then
  python3 -m pip install --disable-pip-version-check -q -r requirements-dev.txt
else
  python3 -m pip install --disable-pip-version-check -q -r requirements.txt
fi
# Leaflet and its plugins from the npm registry, pinned in package-lock.json; the
# postinstall step copies their dist files to static/vendor/ (served by the app itself).
npm ci --no-audit --no-fund --loglevel=error
if [ "$dev" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: install Debian's chromium (sudo apt-get install chromium) for the browser test" >&2
  fi
fi
if [ ! -f data/ctxmap.gpkg ]; then
  python3 scripts/build_sample.py
fi
