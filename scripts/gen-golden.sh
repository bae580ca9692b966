#!/usr/bin/env bash
# Regenerates tests/protocol/golden/messages/*.json and records/batches.json from Apache Kafka's own message classes
# (tests/protocol/golden/gen/GenGolden.java, compiled against the kafka-clients jar that
# scripts/install-deps.sh put in $KB_CACHE). Needs a JDK (javac); the tests themselves do not.
# Environment: KB_CACHE (default $HOME/.cache/kafka-backup), KAFKA_VERSION (4.1.1).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
KB_CACHE="${KB_CACHE:-$HOME/.cache/kafka-backup}"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
lib="$KB_CACHE/kafka-$KAFKA_VERSION/lib"
if [[ ! -f "$lib/kafka-clients-$KAFKA_VERSION.jar" ]]; then
  echo "gen-golden: $lib/kafka-clients-$KAFKA_VERSION.jar not found; run scripts/install-deps.sh first" >&2
  exit 2
fi
command -v javac >/dev/null || { echo "gen-golden: javac not found; install a JDK (17+)" >&2; exit 2; }
classes="$(mktemp -d)"
trap 'rm -rf "$classes"' EXIT
javac -d "$classes" -cp "$lib/*" "$root/tests/protocol/golden/gen/GenGolden.java"
java -cp "$lib/*:$classes" GenGolden "$root/tests/protocol/golden/messages" "$root/tests/protocol/golden/records"
echo "gen-golden: wrote tests/protocol/golden/messages/*.json and tests/protocol/golden/records/batches.json"
