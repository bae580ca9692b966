#!/usr/bin/env bash
# Fills a root filesystem for the kafka-backup image; build.sh (umoci) and the Dockerfile's builder
# stage both use it, so the two images hold the same files: the binary (stripped) at
# /usr/local/bin/kafka-backup, the shared libraries ldd names (the real Debian files under their
# sonames, with the dynamic loader), CA certificates, tzdata, the copyright files of the Debian
# packages those came from, passwd/group entries for root and nonroot (65532), /tmp (1777) and
# /home/nonroot. Files are root-owned; every file time is SOURCE_DATE_EPOCH (when set).
#
# Usage: deploy/image/rootfs.sh BINARY ROOT     (ROOT: an empty or missing directory; run as root)
# Exit codes: 0 ok, 1 a step failed, 2 bad usage.
set -euo pipefail
binary=${1:-}; root=${2:-}
[ -n "$binary" ] && [ -n "$root" ] || { sed -n '9p' "$0" >&2; exit 2; }
die() { echo "rootfs: ERROR: $*" >&2; exit 1; }
[ -x "$binary" ] || die "$binary is not an executable"
for tool in ldd dpkg-query strip; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
libdir=usr/lib/x86_64-linux-gnu
mkdir -p "$root"/{etc/ssl/certs,usr/local/bin,usr/lib/ssl,usr/lib64,usr/share/doc,"$libdir",tmp,home/nonroot}
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
install -m 0755 "$binary" "$root/usr/local/bin/kafka-backup"
strip --strip-unneeded "$root/usr/local/bin/kafka-backup"

# Shared libraries: what ldd resolves, each copied as its real Debian file under its soname.
declare -a queried=()
while read -r path; do
  real=$(readlink -f "$path")
  name=$(basename "$path")
  cp "$real" "$root/$libdir/$(basename "$real")"
  [ "$(basename "$real")" = "$name" ] || ln -sf "$(basename "$real")" "$root/$libdir/$name"
  queried+=("$real" "${real#/usr}")  # dpkg knows some files by their pre-merged-/usr path
done < <(ldd "$binary" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*ld-linux[^ ]*\) .*/\1/p' | sort -u)
# The loader: the binary's PT_INTERP is /lib64/ld-linux-x86-64.so.2, as on Debian.
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/usr/lib64/ld-linux-x86-64.so.2"
[ -f "$root/$libdir/ld-linux-x86-64.so.2" ] || die "ldd did not name the dynamic loader"

# CA certificates, where OpenSSL and libcurl look for them by default; tzdata.
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt" \
  || die "/etc/ssl/certs/ca-certificates.crt missing (apt-get install ca-certificates)"
ln -s /etc/ssl/certs "$root/usr/lib/ssl/certs"
ln -s /etc/ssl/certs/ca-certificates.crt "$root/usr/lib/ssl/cert.pem"
[ -d /usr/share/zoneinfo ] || die "/usr/share/zoneinfo missing (apt-get install tzdata)"
mkdir -p "$root/usr/share"
cp -a /usr/share/zoneinfo "$root/usr/share/zoneinfo"
mapfile -t pkgs < <( { dpkg-query -S "${queried[@]}" 2>/dev/null || true; } | sed -n 's/^\([^:,]*\)[:,].*/\1/p' | sort -u)
pkgs+=(ca-certificates tzdata)
# The Debian packages' copyright files travel with the files taken from them.
for p in "${pkgs[@]}"; do
  if [ -f "/usr/share/doc/$p/copyright" ]; then
    mkdir -p "$root/usr/share/doc/$p"
    cp "/usr/share/doc/$p/copyright" "$root/usr/share/doc/$p/copyright"
  fi
done
dpkg-query -W -f='${Package} ${Version}\n' "${pkgs[@]}" | sort \
  >"$root/usr/share/doc/kafka-backup-image-packages.txt" 2>/dev/null || true

printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n' \
  >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
chown -R 0:0 "$root"
chown 65532:65532 "$root/home/nonroot"
chmod 0755 "$root" "$root/home/nonroot"
chmod 1777 "$root/tmp"
[ -z "${SOURCE_DATE_EPOCH:-}" ] || find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

