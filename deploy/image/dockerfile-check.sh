#!/usr/bin/env bash
# Builds deploy/image/Dockerfile from a clean export of HEAD in a private dockerd (no bridge, no
# NAT; `docker build --network host`), with the Debian base from debian-base.sh, then runs the
# image's --version and compares its user, entry point and file list with build.sh's image.
# Slow (a release build inside the builder stage): scripts/test.sh runs it only with
# KB_TEST_DOCKERFILE=1.
#
# Usage: deploy/image/dockerfile-check.sh RUN_DIR [OCI_IMAGE_DIR]
#   RUN_DIR        the dockerd's directory (kept between runs: the builder stage's layers are cached)
#   OCI_IMAGE_DIR  build.sh --out DIR to compare with (default: build-image/ in the repository)
# Exit codes: 0 ok, 1 a step failed or the images differ, 2 bad usage.
set -euo pipefail
run=${1:-}; [ -n "$run" ] || { sed -n '9,11p' "$0" >&2; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
oci_out=${2:-$repo/build-image}
die() { echo "dockerfile-check: ERROR: $*" >&2; exit 1; }
docker=/usr/bin/docker
export DOCKER_HOST
DOCKER_HOST=$(bash "$repo/deploy/image/dockerd.sh" start "$run") || die "dockerd did not start"
trap 'bash "$repo/deploy/image/dockerd.sh" stop "$run"' EXIT
bash "$repo/deploy/image/debian-base.sh"
cd "$repo"
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n 1)
tag="kafka-backup-dockerfile:$version"
t=$(date +%s)
git archive HEAD | "$docker" build --network host -q -f deploy/image/Dockerfile \
  --build-arg VERSION="$version" --build-arg REVISION="$(git rev-parse HEAD)" \
  --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct HEAD)" -t "$tag" - >/dev/null \
  || die "docker build of deploy/image/Dockerfile failed"
echo "dockerfile-check: built $tag ($(( $(date +%s) - t )) s)"
got=$("$docker" run --rm --read-only --user 65532:65532 --network host "$tag" --version)
[ "$got" = "kafka-backup $version" ] || die "--version printed '$got'"
"$docker" image inspect -f '{{.Config.User}} {{json .Config.Entrypoint}} {{.Size}}' "$tag"
[ "$("$docker" image inspect -f '{{.Config.User}} {{json .Config.Entrypoint}}' "$tag")" \
  = '65532:65532 ["/usr/local/bin/kafka-backup"]' ] || die "user or entry point differs from build.sh's image"
# The same files as build.sh's image (names; contents differ where the compilers' inputs do).
if [ -f "$oci_out/image.json" ]; then
  work=$(mktemp -d); trap 'rm -rf "$work"; bash "$repo/deploy/image/dockerd.sh" stop "$run"' EXIT
  cid=$("$docker" create "$tag")
  "$docker" export "$cid" | tar -t | sed 's|^\./||; s|/$||' | grep -v '^\(\.dockerenv\|dev\|proc\|sys\|etc/hostname\|etc/hosts\|etc/resolv.conf\|etc/mtab\)\(/\|$\)' \
    | grep -v '^$' | sort >"$work/dockerfile.list"
  "$docker" rm "$cid" >/dev/null
  python3 - "$oci_out" >"$work/umoci.list" <<'PY'
import gzip, json, sys, tarfile
from pathlib import Path
out = Path(sys.argv[1]); blobs = out / "oci" / "blobs" / "sha256"
idx = json.loads((out / "oci" / "index.json").read_text())
man = json.loads((blobs / idx["manifests"][0]["digest"].split(":")[1]).read_bytes())
with gzip.open(blobs / man["layers"][0]["digest"].split(":")[1]) as g, tarfile.open(fileobj=g) as t:
    names = sorted({m.name.lstrip("./").rstrip("/") for m in t.getmembers()} - {""})
print("\n".join(names))
PY
  diff "$work/umoci.list" "$work/dockerfile.list" || die "the Dockerfile's image holds other files than build.sh's (diff above)"
  echo "dockerfile-check: same $(wc -l <"$work/umoci.list") paths as $oci_out"
fi
