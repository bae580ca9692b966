#!/usr/bin/env bash
# Installs what is needed, builds, starts the real components (Kafka broker, S3 server),
# runs every test suite and ends with one line `N passed, N failed`.
#
#   scripts/test.sh            # everything
#   KB_BUILD_DIR=build-x scripts/test.sh
#   KB_SKIP_INSTALL=1 scripts/test.sh   # reuse what is installed (developer loop)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export KB_CACHE=${KB_CACHE:-$HOME/.cache/kafka-backup}
build=${KB_BUILD_DIR:-build}
results="$build/test-results"
venv_python="$KB_CACHE/venv/bin/python"
started=$(date +%s)
phase_start=$started
declare -a result_files=()
declare -a harness_dirs=()

phase() {
  local now; now=$(date +%s)
  if [ -n "${phase_name:-}" ]; then
    printf '=== %s done in %ds\n' "$phase_name" $((now - phase_start))
  fi
  phase_name=$1; phase_start=$now
  [ -n "$phase_name" ] && printf '\n=== %s\n' "$phase_name"
}

stop_harnesses() {
  for dir in "${harness_dirs[@]}"; do
    "$venv_python" tests/harness/cluster.py down --run-dir "$dir" || true
  done
  harness_dirs=()
}
trap stop_harnesses EXIT

fail_early() {
  echo "test.sh: $1" >&2
  phase ""
  python3 scripts/summarize_tests.py "${result_files[@]}" "$results/$2-phase-failed"
  exit 1
}

run_meson_suite() {  # name, extra env..., then suites
  local name=$1; shift
  env "$@" meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 \
      --logbase "kb-$name" ${suites[@]/#/--suite } >"$results/$name.log" 2>&1
  local rc=$?
  tail -n 15 "$results/$name.log"
  cp "$build/meson-logs/kb-$name.json" "$results/$name.json" 2>/dev/null
  result_files+=("$results/$name.json")
  return $rc
}

run_pytest() {  # name, marker expression, env...
  local name=$1 marker=$2; shift 2
  env "$@" "$venv_python" -m pytest -p no:cacheprovider -q -m "$marker" \
      --junitxml="$results/$name.xml" tests
  local rc=$?
  [ "$rc" -eq 5 ] && echo "pytest: no tests selected by '$marker'"
  result_files+=("$results/$name.xml")
  return $rc
}

phase "install (scripts/install-deps.sh)"
if [ -z "${KB_SKIP_INSTALL:-}" ]; then
  bash scripts/install-deps.sh || fail_early "installing dependencies failed" install
fi

phase "build ($build)"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --wrap-mode=nodownload || fail_early "meson setup failed" build
fi
ninja -C "$build" -j"$(nproc)" || fail_early "build failed" build
mkdir -p "$results"
rm -f "$results"/*.json "$results"/*.xml

phase "unit and fuzz-corpus tests"
suites=(unit fuzz)
run_meson_suite unit

phase "harness up: single broker, five listeners, S3 server"
"$venv_python" tests/harness/cluster.py up --profile single --run-dir "$build/harness" \
  || fail_early "the single-broker harness did not start" harness
harness_dirs+=("$build/harness")
export KB_TEST_ENV="$repo/$build/harness/env.json"

phase "integration tests (real broker and S3)"
suites=(integration)
run_meson_suite integration KB_TEST_ENV="$KB_TEST_ENV"
run_pytest pytest-single "not cluster3" KB_TEST_ENV="$KB_TEST_ENV" KB_BINARY="$repo/$build/cli/kafka-backup"
stop_harnesses

phase "harness up: three-broker cluster"
"$venv_python" tests/harness/cluster.py up --profile cluster3 --no-s3 --run-dir "$build/harness3" \
  || fail_early "the three-broker harness did not start" cluster3
harness_dirs+=("$build/harness3")
export KB_TEST_ENV_CLUSTER3="$repo/$build/harness3/env.json"

phase "three-broker tests"
suites=(cluster3)
if meson test -C "$build" --list 2>/dev/null | grep -q 'cluster3'; then
  run_meson_suite cluster3 KB_TEST_ENV_CLUSTER3="$KB_TEST_ENV_CLUSTER3"
fi
run_pytest pytest-cluster3 "cluster3" KB_TEST_ENV_CLUSTER3="$KB_TEST_ENV_CLUSTER3" \
  KB_BINARY="$repo/$build/cli/kafka-backup"
stop_harnesses

phase ""
printf '\ntotal time %ds\n' $(( $(date +%s) - started ))
python3 scripts/summarize_tests.py "${result_files[@]}"
