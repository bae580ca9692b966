#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a working kafka-backup: installs what is
# needed, builds, starts a local Kafka broker, loads sample data and shows what the tool does.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export KB_CACHE=${KB_CACHE:-$HOME/.cache/kafka-backup}
build=${KB_BUILD_DIR:-build}
run_dir="$build/quickstart"
py="$KB_CACHE/venv/bin/python"
say() { printf '\n\033[1m>> %s\033[0m\n' "$*"; }

say "Installing dependencies (Debian packages, Kafka jars, test tools) — scripts/install-deps.sh"
bash scripts/install-deps.sh

say "Building with Meson into $build/"
[ -f "$build/build.ninja" ] || meson setup "$build" --wrap-mode=nodownload >/dev/null
ninja -C "$build" kafka-backup >/dev/null
kb="$repo/$build/kafka-backup"
"$kb" --version

say "Starting a local single-node Kafka broker (KRaft) in $run_dir/"
"$py" tests/harness/cluster.py down --run-dir "$run_dir" >/dev/null 2>&1 || true
"$py" tests/harness/cluster.py up --profile single --no-s3 --run-dir "$run_dir"
trap '"$py" tests/harness/cluster.py down --run-dir "$run_dir" >/dev/null 2>&1 || true' EXIT
bootstrap=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["kafka"]["listeners"]["PLAINTEXT"])' "$run_dir/env.json")
echo "broker listening on $bootstrap (PLAINTEXT)"

say "Creating topic orders-eu with 3 partitions and producing 1000 records with kcat"
java_tools=$("$py" -c 'import json,sys,shlex; print(shlex.join(json.load(open(sys.argv[1]))["kafka"]["java_tools"]))' "$run_dir/env.json")
eval "$java_tools org.apache.kafka.tools.TopicCommand --bootstrap-server $bootstrap --create --topic orders-eu --partitions 3 --replication-factor 1" >/dev/null
seq 1 1000 | awk '{print "customer-" $1 % 50 ":{\"order\":" $1 "}"}' \
  | kcat -b "$bootstrap" -P -t orders-eu -K: -z lz4
kcat -b "$bootstrap" -C -t orders-eu -e -q -f '%p\n' | sort | uniq -c | awk '{print "  partition " $2 ": " $1 " records"}'

say "The resolved configuration of examples/backup-filesystem.yaml (kafka-backup config)"
KAFKA_BOOTSTRAP=$bootstrap BACKUP_DIR="$run_dir/backups" "$kb" config --config examples/backup-filesystem.yaml

say "Secrets are never printed: the secure example with KAFKA_PASSWORD set"
KAFKA_PASSWORD=not-shown-anywhere "$kb" config --config examples/secure-backup.yaml | grep -E 'sasl_password|ssl_key_password|secret_key'

say "kafka-backup --help"
"$kb" --help

say "Done. The broker is stopped on exit; the build stays in $build/."
