#!/usr/bin/env bash
# Builds a reproducible OCI image of kafka-backup without a container daemon (umoci + skopeo):
# a release build of the binary, then a one-layer rootfs holding only that binary, the shared
# libraries it needs (the real Debian files, with the dynamic loader), CA certificates, tzdata and
# a passwd/group entry for the non-root user 65532. Every file time and the image's creation time
# are SOURCE_DATE_EPOCH (the commit time), the layer is a sorted tar and there is no history, so two
# builds of one commit give the same digest.
#
# Usage: deploy/image/build.sh [--out DIR] [--build-dir DIR] [--binary PATH]
#   --out DIR        where the results go (default build-image/ in the repository; git-ignored):
#                      DIR/oci/                         OCI image layout, tag <version>
#                      DIR/kafka-backup-<version>.tar   docker-archive (docker load -i ...)
#                      DIR/image.json                   digest, image id, sizes, tag
#   --build-dir DIR  the release build directory (default build-release/, git-ignored); it is set
#                    up with `meson setup DIR -Dbuildtype=release` when missing, then
#                    `ninja -C DIR cli/kafka-backup` brings the binary up to date
#   --binary PATH    use this binary instead of building one (development only)
# Environment: SOURCE_DATE_EPOCH (default: the time of the commit HEAD names), KB_IMAGE_SOURCE
#   (the source label; default: git remote origin, else the upstream project's address).
# Needs: meson, ninja, g++ and the -dev packages (scripts/install-deps.sh), umoci, skopeo, python3.
# Exit codes: 0 ok, 1 a step failed, 2 bad usage.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$repo/build-image"
build_dir="$repo/build-release"
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "image: $*"; }
die() { echo "image: ERROR: $*" >&2; exit 1; }
for tool in umoci skopeo python3 ldd dpkg-query; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (scripts/install-deps.sh installs it)"
done

cd "$repo"
revision=$(git rev-parse HEAD 2>/dev/null) || die "$repo is not a git checkout: the image's revision label needs one"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
source=${KB_IMAGE_SOURCE:-$(git remote get-url origin 2>/dev/null || echo https://github.com/osodevops/kafka-backup)}
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n 1)
[ -n "$version" ] || die "no version found in meson.build"
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] \
  || say "warning: the work tree has uncommitted changes; the image is labelled $revision anyway"

# ---------------------------------------------------------------- release build
if [ -z "$binary" ]; then
  if [ ! -f "$build_dir/build.ninja" ]; then
    # -Wno-restrict: g++ 12 at -O3 reports a false -Wrestrict inside std::string's operator+
    # (GCC bug 105329); werror stays on for every other warning.
    meson setup "$build_dir" -Dbuildtype=release -Dcpp_args=-Wno-restrict --wrap-mode=nodownload >/dev/null \
      || die "meson setup $build_dir failed"
  fi
  t=$(date +%s)
  ninja -C "$build_dir" cli/kafka-backup >/dev/null || die "ninja -C $build_dir cli/kafka-backup failed"
  say "release binary up to date ($(( $(date +%s) - t )) s)"
  binary="$build_dir/cli/kafka-backup"
fi
[ -x "$binary" ] || die "$binary is not an executable"

# ---------------------------------------------------------------- rootfs (deploy/image/rootfs.sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/kb-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
oci="$work/oci"
umoci init --layout "$oci"
umoci new --image "$oci:$version"
umoci unpack --image "$oci:$version" "$work/bundle" >/dev/null
root="$work/bundle/rootfs"
bash "$repo/deploy/image/rootfs.sh" "$binary" "$root"

# umoci warns that a layer without history confuses tools: no history is the point (reproducible).
umoci repack --no-history --image "$oci:$version" "$work/bundle" >/dev/null 2>"$work/umoci.log" \
  || { cat "$work/umoci.log" >&2; die "umoci repack failed"; }
umoci config --no-history --image "$oci:$version" --created "$created" \
  --author "" --os linux --architecture amd64 \
  --config.user 65532:65532 --config.workingdir /home/nonroot \
  --config.entrypoint /usr/local/bin/kafka-backup --config.cmd --help \
  --config.env PATH=/usr/local/bin \
  --config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --config.label org.opencontainers.image.title=kafka-backup \
  --config.label org.opencontainers.image.version="$version" \
  --config.label org.opencontainers.image.revision="$revision" \
  --config.label org.opencontainers.image.source="$source" \
  --config.label org.opencontainers.image.licenses=Apache-2.0 \
  --config.label org.opencontainers.image.created="$created"
umoci gc --layout "$oci"

# ---------------------------------------------------------------- outputs
rm -rf "$out/oci" "$out/kafka-backup-$version.tar" "$out/image.json"
mkdir -p "$out"
cp -a "$oci" "$out/oci"
skopeo copy --quiet "oci:$out/oci:$version" "docker-archive:$out/kafka-backup-$version.tar:kafka-backup:$version"
python3 - "$out" "$version" "$revision" "$created" <<'PY'
import gzip, json, sys
from pathlib import Path
out, version, revision, created = Path(sys.argv[1]), *sys.argv[2:]
blobs = out / "oci" / "blobs" / "sha256"
index = json.loads((out / "oci" / "index.json").read_text())
desc = next(m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == version)
manifest = json.loads((blobs / desc["digest"].split(":")[1]).read_bytes())
compressed = desc["size"] + manifest["config"]["size"] + sum(l["size"] for l in manifest["layers"])
uncompressed = 0
for l in manifest["layers"]:
    with gzip.open(blobs / l["digest"].split(":")[1]) as f:
        while chunk := f.read(1 << 20):
            uncompressed += len(chunk)
info = {"tag": f"kafka-backup:{version}", "digest": desc["digest"], "image_id": manifest["config"]["digest"],
        "revision": revision, "created": created, "compressed_bytes": compressed,
        "uncompressed_bytes": uncompressed, "oci_layout": str(out / "oci"),
        "docker_archive": str(out / f"kafka-backup-{version}.tar")}
(out / "image.json").write_text(json.dumps(info, indent=2) + "\n")
print(f"image: kafka-backup:{version} digest {info['digest']}")
print(f"image: id {info['image_id']} (docker image ls shows its first 12 hex digits)")
print(f"image: size {compressed / 1e6:.1f} MB compressed, {uncompressed / 1e6:.1f} MB uncompressed")
print(f"image: {info['oci_layout']} (oci:…:{version}), {info['docker_archive']} (docker load -i)")
PY
