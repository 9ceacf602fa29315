#!/usr/bin/env bash
# Install what ctxmap needs on a fresh machine, into the project's own virtual environment
# .venv/ (never into the system Python: Debian 12 and Ubuntu 24.04 refuse that, PEP 668).
#   bash scripts/install.sh          runtime: .venv with the locked packages, the map's JS/CSS
#   bash scripts/install.sh --dev    also the test and gate tools, and Debian's Chromium
# Afterwards: .venv/bin/streamlit run app.py, .venv/bin/python -m ctxmap ...
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

# The system Python makes the environment: Debian's /usr/bin/python3 when it exists.
py=/usr/bin/python3
[ -x "$py" ] || py="$(command -v python3)"
if [ ! -x .venv/bin/python ]; then
  if ! "$py" -m venv .venv; then
    rm -rf .venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      "$py" -m venv .venv
    else
      echo "error: '$py -m venv' failed; install python3-venv (sudo apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
fi
pip=(.venv/bin/python -m pip install --disable-pip-version-check -q)
# The exact versions the tests pass with (requirements*.lock, made by scripts/lock.sh from
# pyproject.toml), then ctxmap itself, editable, without letting pip move any pin.
if [ "$dev" = 1 ]; then
  "${pip[@]}" -r requirements-dev.lock
else
  "${pip[@]}" -r requirements.lock
fi
"${pip[@]}" --no-deps -e .
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
  .venv/bin/python scripts/build_sample.py
fi
