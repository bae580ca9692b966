#!/usr/bin/env bash
# Runs bench/e2e/run.py with the project venv (confluent-kafka); all flags pass through.
# Smoke check (no timing assertions): bench/e2e/run.sh --quick --smoke
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "${KB_VENV:-$HOME/.cache/kafka-backup/venv}/bin/python" "$here/run.py" "$@"
