#!/usr/bin/env bash
# Runs bench/e2e/run.py with the project venv (confluent-kafka); all flags pass through.
# Smoke check (no timing assertions): bench/e2e/run.sh --quick --smoke
# Scaling of a backup run by workers: bench/e2e/run.sh --env /work/harness/single/env.json --workers 1,2,4 --runs 1
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "${KB_VENV:-$HOME/.cache/kafka-backup/venv}/bin/python" "$here/run.py" "$@"
