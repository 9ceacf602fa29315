#!/usr/bin/env bash
# The project's gates, then the test suite: the README's test command and .ci/run end here.
#   bash scripts/check.sh [PYTEST ARGS...]
# 1. ruff: style, complexity <= 15 and at most 8 arguments per function (pyproject.toml)
# 2. mypy: zero errors in ctxmap/, app.py and pages/ (config in pyproject.toml)
# 3. import-linter: the packages' layering and which package may import which library
# 4. pytest (tests/test_architecture.py also checks each package's "May import" line)
# The tools come from the project's .venv/ (scripts/install.sh) when it exists, else python3's.
set -euo pipefail
cd "$(dirname "$0")/.."
py=python3
[ -x .venv/bin/python ] && py=.venv/bin/python
bin="$(dirname "$("$py" -c 'import sys; print(sys.executable)')")"
echo "== ruff" && "$py" -m ruff check .
echo "== mypy" && "$py" -m mypy
echo "== import contracts" && "$bin/lint-imports"
echo "== tests" && "$py" -m pytest "$@"
