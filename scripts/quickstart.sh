#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a verified backup and restore: installs, builds,
# starts a local Kafka broker, loads sample data, backs it up to a directory, inspects and
# validates the backup, restores it into new topics (all of it, and a point-in-time window), and
# checks every restored record and the translated consumer-group offsets with an independent
# client (confluent-kafka). Exits non-zero when anything differs.
#
#   scripts/quickstart.sh [--build-dir DIR] [--no-install]
#   KB_BUILD_DIR=DIR      same as --build-dir (default: build)
#   KB_BINARY=PATH        use this kafka-backup binary instead of building one
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# ccache keys on paths relative to the clone, so a clone at another path (a CI work folder, a
# worktree) still hits the objects an earlier build cached.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$repo} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
export KB_CACHE=${KB_CACHE:-$HOME/.cache/kafka-backup}
build=${KB_BUILD_DIR:-build}
install=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=${2:?--build-dir needs a directory}; shift 2 ;;
    --no-install) install=0; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
run_dir="$repo/$build/quickstart"
py="$KB_CACHE/venv/bin/python"
tool=(examples/quickstart/kafka_tool.py)
started=$SECONDS
say() { printf '\n\033[1m>> [%3ds] %s\033[0m\n' "$((SECONDS - started))" "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
fail() { printf '\n\033[1;31mquickstart FAILED: %s\033[0m\n' "$*" >&2; exit 1; }

if [ "$install" = 1 ]; then
  say "Installing dependencies (Debian packages, Kafka jars, kcat, confluent-kafka): scripts/install-deps.sh"
  bash scripts/install-deps.sh
fi
[ -x "$py" ] || fail "$py is missing: run scripts/install-deps.sh"

if [ -n "${KB_BINARY:-}" ]; then
  kb=$KB_BINARY
  say "Using the kafka-backup binary $kb (KB_BINARY)"
else
  say "Building kafka-backup with Meson into $build/"
  [ -f "$build/build.ninja" ] || meson setup "$build" --wrap-mode=nodownload >/dev/null
  ninja -C "$build" -j "${KB_JOBS:-2}" cli/kafka-backup >/dev/null
  kb="$repo/$build/cli/kafka-backup"
fi
[ -x "$kb" ] || fail "no kafka-backup binary at $kb"
"$kb" --version

say "Starting a local single-node Kafka broker (KRaft) in $run_dir/"
"$py" tests/harness/cluster.py down --run-dir "$run_dir" >/dev/null 2>&1 || true
rm -rf "$run_dir"
trap '"$py" tests/harness/cluster.py down --run-dir "$run_dir" >/dev/null 2>&1 || true' EXIT
"$py" tests/harness/cluster.py up --profile single --no-s3 --run-dir "$run_dir"
bootstrap=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["kafka"]["listeners"]["PLAINTEXT"])' \
  "$run_dir/env.json")
export KAFKA_BOOTSTRAP=$bootstrap BACKUP_DIR="$run_dir/backups"
echo "broker listening on $bootstrap (PLAINTEXT); backups go to $BACKUP_DIR"

say "Producing sample data with confluent-kafka (an independent client)"
"$py" "${tool[@]}" produce "$bootstrap"
kcat -b "$bootstrap" -L | grep -E 'topic "qs-' || true

say "Consumer group qs-billing reads part of qs-orders and commits (its offsets are backed up too)"
"$py" "${tool[@]}" consume-group "$bootstrap"

say "The resolved backup configuration (kafka-backup config; secrets would show as ***)"
run "$kb" config --config examples/quickstart/backup.yaml

say "Backing up to the filesystem"
run "$kb" --no-progress backup --config examples/quickstart/backup.yaml

say "Listing, describing and deep-validating the backup set"
run "$kb" list --path "$BACKUP_DIR"
run "$kb" describe --path "$BACKUP_DIR" --backup-id quickstart
run "$kb" validate --path "$BACKUP_DIR" --backup-id quickstart --deep

say "Restore plan (--dry-run writes nothing)"
run "$kb" restore --config examples/quickstart/restore.yaml --dry-run

say "Restoring into new topics qs-orders-restored and qs-payments-restored, translating qs-billing"
run "$kb" --no-progress restore --config examples/quickstart/restore.yaml

say "Checking the restore record by record with confluent-kafka"
"$py" "${tool[@]}" verify "$bootstrap" qs-orders=qs-orders-restored qs-payments=qs-payments-restored \
  --group qs-billing || fail "the restored topics differ from the source (see MISMATCH above)"

say "Point-in-time restore: qs-orders records from 00:16:40 to 00:33:19 UTC into qs-orders-pit"
run "$kb" --no-progress restore --config examples/quickstart/restore-window.yaml
"$py" "${tool[@]}" verify "$bootstrap" qs-orders=qs-orders-pit --window 1767226600000 1767227599000 \
  || fail "the point-in-time restore differs from the source records in the window"

say "Done in $((SECONDS - started)) s: backup, inspection, restore and offset translation verified. Stopping the broker."
