#!/usr/bin/env bash
# Makes `debian:bookworm-slim` (the base deploy/image/Dockerfile names) available to a local Docker
# Engine that cannot pull from a registry: `debootstrap --variant=minbase bookworm` into a rootfs,
# kept as a tarball under $KB_CACHE/debian-base/ (one per day: the Debian archive moves), then
# `docker import` under that tag. Nothing is written into the repository.
#
# Usage: DOCKER_HOST=unix://... deploy/image/debian-base.sh [--tag NAME]   (run as root)
# Environment: KB_CACHE (default $HOME/.cache/kafka-backup), KB_DEBIAN_MIRROR
#   (default http://deb.debian.org/debian), KB_DEBIAN_BASE_DATE (default: today, UTC; the cache key).
# Exit codes: 0 ok, 1 a step failed, 2 bad usage.
set -euo pipefail
tag=debian:bookworm-slim
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=${2:?--tag needs a name}; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "debian-base.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "debian-base: ERROR: $*" >&2; exit 1; }
docker=/usr/bin/docker
command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found (apt-get install debootstrap)"
[ -x "$docker" ] || die "$docker not found (apt-get install docker.io)"
cache="${KB_CACHE:-$HOME/.cache/kafka-backup}/debian-base"
date=${KB_DEBIAN_BASE_DATE:-$(date -u +%Y%m%d)}
mirror=${KB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
tarball="$cache/bookworm-minbase-$date.tar"

if [ ! -f "$tarball" ]; then
  mkdir -p "$cache"
  work=$(mktemp -d "${TMPDIR:-/tmp}/kb-debootstrap.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  t=$(date +%s)
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap from $mirror failed"; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar --sort=name --numeric-owner -C "$work/rootfs" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  echo "debian-base: debootstrap bookworm minbase -> $tarball ($(( $(date +%s) - t )) s)"
fi
want="kb.debian-base=$(basename "$tarball")"
have=$("$docker" image inspect -f '{{index .Config.Labels "kb.debian-base"}}' "$tag" 2>/dev/null || true)
if [ "kb.debian-base=$have" != "$want" ]; then
  "$docker" import --change "LABEL kb.debian-base=$(basename "$tarball")" --change 'CMD ["bash"]' \
    "$tarball" "$tag" >/dev/null || die "docker import of $tarball failed"
fi
echo "debian-base: $tag from $(basename "$tarball")"
