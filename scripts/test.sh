#!/usr/bin/env bash
# Run every check bootwright has: lint (ruff), types (mypy), and the tests.
# Installs what it needs first (scripts/setup.sh). Exit code: non-zero if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check src tests
echo "== mypy"
.venv/bin/mypy
echo "== import contracts (docs/architecture.md)"
.venv/bin/lint-imports
echo "== pytest"
.venv/bin/pytest -q "$@"
