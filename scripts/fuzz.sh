#!/usr/bin/env bash
# Timed libFuzzer runs of every fuzz target (suite 'fuzz'): a clang build with libFuzzer, ASan and
# UBSan in build-fuzz, then each target for a fixed time over its committed seed corpus
# plus a working corpus kept in $KB_CACHE/fuzz (it grows from run to run). A crash or leak fails
# the run and leaves its input in $KB_CACHE/fuzz/crashes/ — add it to the target's corpus folder
# as a regression input once fixed.
#
#   scripts/fuzz.sh                      # every target, 60 s each, one job per core
#   scripts/fuzz.sh --seconds 7200 cli/fuzz_config
#   scripts/fuzz.sh --merge              # afterwards: merge new coverage into the committed corpora
#   scripts/fuzz.sh --junit results.xml  # also one JUnit test case per target (scripts/test.sh)
#   scripts/fuzz.sh --ledger             # CPU time per target over every finished run so far
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$repo} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
KB_CACHE=${KB_CACHE:-$HOME/.cache/kafka-backup}
build=${KB_FUZZ_BUILD_DIR:-build-fuzz}
seconds=60 jobs=$(nproc) merge=0 junit=
declare -a only=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    --junit) junit=$2; shift 2 ;;
    --ledger)
      # date, target, CPU seconds, exit code, commit, seconds asked: summed per target.
      python3 - "$KB_CACHE/fuzz/ledger.tsv" <<'PY'
import collections, sys
cpu, runs, bad = collections.Counter(), collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 4: continue
    cpu[f[1]] += int(f[2]); runs[f[1]] += 1; bad[f[1]] += f[3] != "0"
for t in sorted(cpu):
    print(f"{t:40s} {cpu[t]/3600:6.2f} CPU-h in {runs[t]} run(s), {bad[t]} with findings")
PY
      exit $? ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) only+=("$1"); shift ;;
  esac
done
say() { printf 'fuzz: %s\n' "$*"; }

# The build's flavour; a build-fuzz made with other flags is set up again (ccache keeps the cost low).
flavour="clang-14 libFuzzer ASan UBSan(no function, no recover) v2, ccache"
if [ -f "$build/build.ninja" ] && [ "$(cat "$build/.kb-fuzz-flavour" 2>/dev/null)" != "$flavour" ]; then
  say "$build was set up with other flags: setting it up again"
  rm -rf "$build"
fi
if [ ! -f "$build/build.ninja" ]; then
  # -fsanitize=fuzzer-no-link instruments every library for coverage; the targets link libFuzzer.
  # UBSan without -fsanitize=function: clang 14 cannot emit our coroutines with it ("Cannot represent
  # a difference across sections"). No recovery: undefined behaviour aborts, so libFuzzer keeps the input.
  ub='-fno-sanitize=function -fno-sanitize-recover=undefined'
  # Meson puts ccache in front of the compilers it finds, not of those named in CC/CXX: named here.
  cc=clang-14 cxx=clang++-14
  if command -v ccache >/dev/null; then cc="ccache clang-14" cxx="ccache clang++-14"; fi
  CC=$cc CXX=$cxx meson setup "$build" --wrap-mode=nodownload -Db_lundef=false \
    -Db_sanitize=address,undefined -Dcpp_args="-fsanitize=fuzzer-no-link $ub" -Dc_args="-fsanitize=fuzzer-no-link $ub" \
    -Dcpp_link_args="$ub" -Dfuzzer_ldflags=-fsanitize=fuzzer >"$KB_CACHE/fuzz-setup.log" 2>&1 \
    || { tail -n 20 "$KB_CACHE/fuzz-setup.log"; say "meson setup $build failed"; exit 1; }
  printf '%s\n' "$flavour" >"$build/.kb-fuzz-flavour"
fi

# name <TAB> executable <TAB> seed corpus, from meson's own list of the 'fuzz' suite.
mapfile -t targets < <(meson introspect --tests "$build" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if any(s.split(":")[-1] == "fuzz" for s in t["suite"]):
        print("\t".join([t["name"], t["cmd"][0], t["cmd"][1]]))')
[ ${#targets[@]} -gt 0 ] || { say "no fuzz targets found in $build"; exit 1; }
declare -a chosen=()
for row in "${targets[@]}"; do
  IFS=$'\t' read -r name exe seeds <<<"$row"
  if [ ${#only[@]} -eq 0 ] || printf '%s\n' "${only[@]}" | grep -qxF "$name"; then chosen+=("$row"); fi
done
[ ${#chosen[@]} -gt 0 ] || { say "none of ${only[*]} is a fuzz target"; exit 2; }

t=$(date +%s)
mapfile -t exes < <(printf '%s\n' "${chosen[@]}" | cut -f2 | sed "s|^$repo/$build/||; s|^$build/||")
ninja -C "$build" "${exes[@]}" >"$KB_CACHE/fuzz-build.log" 2>&1 \
  || { tail -n 30 "$KB_CACHE/fuzz-build.log"; say "build failed"; exit 1; }
say "built ${#exes[@]} target(s) in $(( $(date +%s) - t )) s"

mkdir -p "$KB_CACHE/fuzz/crashes" "$KB_CACHE/fuzz/logs"
run_one() {
  local name=$1 exe=$2 seeds=$3 slug=${1//\//_}
  local work="$KB_CACHE/fuzz/corpus/$slug" log="$KB_CACHE/fuzz/logs/$slug.log"
  mkdir -p "$work"
  # Leaks count (detect_leaks); -timeout makes a hang a finding; memory is bounded.
  # The subshell's `times` gives the fuzzer's own CPU time (user + system): a campaign is
  # counted in CPU-hours, which wall time on a shared machine overstates.
  local cpu_file="$log.cpu"
  (
    ASAN_OPTIONS=detect_leaks=1 \
      "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$KB_CACHE/fuzz/crashes/$slug-" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    times >"$cpu_file"
    exit $rc
  )
  local rc=$?
  local cpu
  cpu=$(python3 -c 'import re,sys; t=re.findall(r"(\d+)m([\d.]+)s", (open(sys.argv[1]).read().splitlines()+["",""])[1]); print(round(sum(int(m)*60+float(s) for m,s in t)))' "$cpu_file" 2>/dev/null)
  # One line per finished run: the campaign's ledger (CPU seconds per target add up across runs).
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "${cpu:-0}" "$rc" \
    "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)" "$seconds" >>"$KB_CACHE/fuzz/ledger.tsv"
  local execs cov units
  execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
  cov=$(grep -aoE '^#[0-9]+.*cov: [0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+')
  units=$(find "$work" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rc" "${execs:-0}" "${cov:-0}" "$log" >"$outcomes/$slug"
  if [ $rc -eq 0 ]; then
    printf 'fuzz: %-40s ok      %ss (%s CPU-s), %s execs, cov %s, working corpus %s\n' "$name" "$seconds" "${cpu:-?}" "${execs:-?}" "${cov:-?}" "$units"
  else
    printf 'fuzz: %-40s FAILED  exit %s; log %s; input in %s\n' "$name" "$rc" "$log" "$KB_CACHE/fuzz/crashes/"
    grep -a -m 3 -E 'ERROR: |SUMMARY: |runtime error' "$log" | sed 's/^/fuzz:   /'
  fi
  return $rc
}
run_row() {  # the N-th chosen target (1-based), for xargs
  local n e s
  IFS=$'\t' read -r n e s < <(sed -n "$1p" "$rows")
  run_one "$n" "$e" "$s"
}
rows=$(mktemp); outcomes=$(mktemp -d); trap 'rm -rf "$rows" "$outcomes"' EXIT
printf '%s\n' "${chosen[@]}" >"$rows"
export -f run_one run_row
export seconds KB_CACHE rows outcomes repo

t=$(date +%s)
seq 1 ${#chosen[@]} | xargs -P "$jobs" -I{} bash -c 'run_row {}'
rc=$?
say "${#chosen[@]} target(s), ${seconds} s each, ${jobs} job(s): $(( $(date +%s) - t )) s wall"
if [ -n "$junit" ]; then
  # A target that never reported (killed, not built) is a failure too.
  python3 - "$junit" "$outcomes" "$seconds" "${chosen[@]}" <<'PY'
import os, sys
from xml.sax.saxutils import quoteattr
out, folder, seconds, rows = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
cases, failures = [], 0
for row in rows:
    name = row.split("\t")[0]
    path = os.path.join(folder, name.replace("/", "_"))
    fields = open(path).read().rstrip("\n").split("\t") if os.path.exists(path) else None
    if fields and fields[1] == "0":
        cases.append(f'<testcase classname="fuzz" name={quoteattr(name)} time="{seconds}">'
                     f'<system-out>{fields[2]} execs, cov {fields[3]}</system-out></testcase>')
    else:
        failures += 1
        why = f"exit {fields[1]}, log {fields[4]}" if fields else "no result (not run)"
        cases.append(f'<testcase classname="fuzz" name={quoteattr(name)}><failure message={quoteattr(why)}/></testcase>')
with open(out, "w") as f:
    f.write(f'<testsuite name="fuzz" tests="{len(rows)}" failures="{failures}">' + "".join(cases) + "</testsuite>\n")
PY
fi

if [ $merge = 1 ] && [ $rc = 0 ]; then
  # Only inputs that add coverage go into the committed corpus, smallest first.
  for row in "${chosen[@]}"; do
    IFS=$'\t' read -r name exe seeds <<<"$row"
    slug=${name//\//_}
    before=$(find "$seeds" -type f | wc -l)
    "$exe" -merge=1 -max_len=65536 "$seeds" "$KB_CACHE/fuzz/corpus/$slug" >/dev/null 2>&1
    say "$name: committed corpus $before -> $(find "$seeds" -type f | wc -l) files"
  done
fi
[ $rc = 0 ] && say "no crash, leak or timeout" || say "failures above"
exit $rc
