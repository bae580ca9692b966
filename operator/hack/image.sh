#!/usr/bin/env bash
# Builds a reproducible OCI image of the operator without a container daemon (umoci + skopeo): a
# static Go build (CGO off, -trimpath, no build id) in a one-layer rootfs holding only that binary
# and passwd/group entries for the non-root user 65532. File times and the creation time are the
# commit's time and there is no history, so two builds of one commit give the same digest.
#
# Usage: operator/hack/image.sh [--out DIR]   (default build-operator-image/ in the repository)
#   DIR/oci/                                   OCI image layout, tag <version>
#   DIR/kafka-backup-operator-<version>.tar    docker-archive (docker load -i ...)
#   DIR/image.json                             digest, tag, size
# Needs: go, umoci, skopeo, python3. Exit codes: 0 ok, 1 a step failed, 2 bad usage.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$repo/build-operator-image"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "image.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "operator image: ERROR: $*" >&2; exit 1; }
for tool in go umoci skopeo python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
cd "$repo"
revision=$(git rev-parse HEAD) || die "not a git checkout"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n 1)
[ -n "$version" ] || die "no version found in meson.build"

work=$(mktemp -d "${TMPDIR:-/tmp}/kb-operator-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd operator && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -buildid=" -o "$work/kafka-backup-operator" ./cmd) \
  || die "go build failed"

oci="$work/oci"
umoci init --layout "$oci"
umoci new --image "$oci:$version"
umoci unpack --image "$oci:$version" "$work/bundle" >/dev/null
root="$work/bundle/rootfs"
mkdir -p "$root/etc" "$root/tmp"
install -m 0755 "$work/kafka-backup-operator" "$root/kafka-backup-operator"
printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
chown -R 0:0 "$root"
chmod 1777 "$root/tmp"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
umoci repack --no-history --image "$oci:$version" "$work/bundle" >/dev/null 2>"$work/umoci.log" \
  || { cat "$work/umoci.log" >&2; die "umoci repack failed"; }
umoci config --no-history --image "$oci:$version" --created "$created" \
  --author "" --os linux --architecture amd64 \
  --config.user 65532:65532 --config.entrypoint /kafka-backup-operator \
  --config.label org.opencontainers.image.title=kafka-backup-operator \
  --config.label org.opencontainers.image.version="$version" \
  --config.label org.opencontainers.image.revision="$revision" \
  --config.label org.opencontainers.image.licenses=Apache-2.0 \
  --config.label org.opencontainers.image.created="$created"
umoci gc --layout "$oci"

rm -rf "$out/oci" "$out/kafka-backup-operator-$version.tar" "$out/image.json"
mkdir -p "$out"
cp -a "$oci" "$out/oci"
skopeo copy --quiet "oci:$out/oci:$version" \
  "docker-archive:$out/kafka-backup-operator-$version.tar:kafka-backup-operator:$version"
python3 - "$out" "$version" <<'PY'
import json, sys
from pathlib import Path
out, version = Path(sys.argv[1]), sys.argv[2]
index = json.loads((out / "oci" / "index.json").read_text())
desc = index["manifests"][0]
manifest = json.loads((out / "oci" / "blobs" / "sha256" / desc["digest"].split(":")[1]).read_bytes())
size = sum(l["size"] for l in manifest["layers"])
info = {"tag": f"kafka-backup-operator:{version}", "digest": desc["digest"], "compressed_bytes": size}
(out / "image.json").write_text(json.dumps(info, indent=2) + "\n")
print(f"operator image: kafka-backup-operator:{version} digest {desc['digest']} ({size / 1e6:.1f} MB compressed)")
PY
