#!/usr/bin/env bash
# Regenerates tests/net/msk_iam/vectors.json: AWS_MSK_IAM payloads from AWS's own client library
# (software.amazon.msk:aws-msk-iam-auth, fetched from Maven Central through mvn into $KB_CACHE)
# for fixed credentials and a fixed signing time (tests/net/msk_iam/gen/GenMskIamVectors.java).
# Needs a JDK (javac) and mvn; the unit test itself needs neither.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
KB_CACHE="${KB_CACHE:-$HOME/.cache/kafka-backup}"
gen="$root/tests/net/msk_iam/gen"
jars="$KB_CACHE/msk-iam-jars"
command -v javac >/dev/null || { echo "gen-msk-iam-vectors: javac not found; install a JDK (17+)" >&2; exit 2; }
command -v mvn >/dev/null || { echo "gen-msk-iam-vectors: mvn not found; install Maven" >&2; exit 2; }
if [[ ! -f "$jars/.complete" ]]; then
  mkdir -p "$jars"
  mvn -q -B -f "$gen/pom.xml" dependency:copy-dependencies -DoutputDirectory="$jars"
  touch "$jars/.complete"
fi
classes="$(mktemp -d)"
trap 'rm -rf "$classes"' EXIT
javac -d "$classes" -cp "$jars/*" "$gen/GenMskIamVectors.java"
java -cp "$jars/*:$classes" GenMskIamVectors "$root/tests/net/msk_iam/vectors.json"
echo "gen-msk-iam-vectors: wrote tests/net/msk_iam/vectors.json"
