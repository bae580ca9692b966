#!/usr/bin/env bash
# Builds the Kubernetes control-plane programs the operator tests need (etcd, kube-apiserver,
# kube-controller-manager) from the Go module proxy, with the versions pinned by
# operator/hack/k8s-binaries/go.mod + go.sum, into a cache outside the repository:
#   $KB_CACHE/k8s/<k8s version>-<go.sum hash>/{etcd,kube-apiserver,kube-controller-manager}
# A finished build is reused (marker file .complete); prints the directory on stdout, which is
# what controller-runtime's envtest wants in KUBEBUILDER_ASSETS.
# Usage: scripts/k8s-binaries.sh [--print-dir]   (--print-dir: only print, fail if not built)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mod="$root/operator/hack/k8s-binaries"
KB_CACHE="${KB_CACHE:-$HOME/.cache/kafka-backup}"
k8s_version=$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' "$mod/go.mod")
sum=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-12)
out="$KB_CACHE/k8s/$k8s_version-$sum"

if [[ -f "$out/.complete" ]]; then
  echo "$out"
  exit 0
fi
if [[ "${1:-}" == "--print-dir" ]]; then
  echo "k8s-binaries: $out is not built; run scripts/k8s-binaries.sh" >&2
  exit 1
fi

mkdir -p "$out"
# Version stamps so `kube-apiserver --version` and the discovery endpoint report the real release.
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s_version" | cut -d. -f2) \
 -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
cd "$mod"
start=$(date +%s)
for prog in go.etcd.io/etcd/server/v3:etcd \
            k8s.io/kubernetes/cmd/kube-apiserver:kube-apiserver \
            k8s.io/kubernetes/cmd/kube-controller-manager:kube-controller-manager; do
  pkg=${prog%%:*}; name=${prog##*:}
  if [[ -x "$out/$name" ]]; then continue; fi
  echo "k8s-binaries: building $name ($pkg) ..." >&2
  # -mod=mod with the committed go.sum: the proxy is a partial mirror, so nothing is re-resolved.
  CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod" nice -n 10 go build -trimpath -ldflags "$ldflags" \
    -o "$out/$name.tmp" "$pkg"
  mv "$out/$name.tmp" "$out/$name"
done
touch "$out/.complete"
echo "k8s-binaries: built in $(( $(date +%s) - start )) s" >&2
echo "$out"
