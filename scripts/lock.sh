#!/usr/bin/env bash
# Regenerate the lock files (exact versions scripts/install.sh installs) from pyproject.toml
# with pip-tools' pip-compile, run in a scratch virtual environment (never the system Python).
#   bash scripts/lock.sh                             keep every pin that still fits pyproject.toml,
#                                                    pin what is new (after adding a dependency)
#   bash scripts/lock.sh --upgrade-package pandas    move one package to its newest release
#   bash scripts/lock.sh --upgrade                   move everything to the newest releases
# It resolves with /usr/bin/python3 when it exists (Debian 12's 3.11, the oldest Python ctxmap
# supports), so the pins install there and on newer Pythons. Run the tests before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
[ -x "$py" ] || py=python3
tools="${TMPDIR:-/tmp}/ctxmap-pip-tools"
if [ ! -x "$tools/bin/pip-compile" ]; then
  "$py" -m venv "$tools"
  "$tools/bin/pip" install --disable-pip-version-check -q pip-tools
fi
export CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh"
opts=(--quiet --strip-extras --no-emit-index-url --no-emit-find-links "$@")
# runtime: [project] dependencies
"$tools/bin/pip-compile" "${opts[@]}" -o requirements.lock pyproject.toml
# runtime + the dev extra, with the runtime pins held exactly as in requirements.lock
"$tools/bin/pip-compile" "${opts[@]}" --extra dev -c requirements.lock \
  -o requirements-dev.lock pyproject.toml
