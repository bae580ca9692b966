#!/usr/bin/env bash
# Builds the Kubernetes control-plane programs the operator tests need from the Go module proxy,
# with the versions pinned by operator/hack/k8s-binaries/go.mod + go.sum, into a cache outside
# the repository:  $KB_CACHE/k8s/<k8s version>-<go.mod+go.sum hash>/
# Default: etcd and kube-apiserver (what controller-runtime's envtest runs); --all adds
# kube-controller-manager and the kubelet (for the end-to-end tests: the kubelet runs the Job's pod
# on containerd + runc, see scripts/kubelet-node.sh). A binary already built is reused (each is
# written to a temporary name and renamed, so a killed build leaves nothing half-written).
# Prints the directory on stdout: export KUBEBUILDER_ASSETS=$(scripts/k8s-binaries.sh)
# Usage: scripts/k8s-binaries.sh [--all] [--print-dir]   (--print-dir: build nothing, fail if missing)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mod="$root/operator/hack/k8s-binaries"
KB_CACHE="${KB_CACHE:-$HOME/.cache/kafka-backup}"
progs=(go.etcd.io/etcd/server/v3:etcd k8s.io/kubernetes/cmd/kube-apiserver:kube-apiserver)
print_only=0
for arg in "$@"; do
  case "$arg" in
    --all) progs+=(k8s.io/kubernetes/cmd/kube-controller-manager:kube-controller-manager k8s.io/kubernetes/cmd/kubelet:kubelet) ;;
    --print-dir) print_only=1 ;;
    *) echo "usage: scripts/k8s-binaries.sh [--all] [--print-dir]" >&2; exit 2 ;;
  esac
done
k8s_version=$(grep -E '^[[:space:]]*(require[[:space:]]+)?k8s\.io/kubernetes v' "$mod/go.mod" | awk '{print $NF}')
if [[ ! "$k8s_version" =~ ^v1\.[0-9]+\.[0-9]+$ ]]; then
  echo "k8s-binaries: cannot read the k8s.io/kubernetes version from $mod/go.mod" >&2
  exit 1
fi
sum=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-12)
out="$KB_CACHE/k8s/$k8s_version-$sum"
mkdir -p "$out"

# Version stamps so `kube-apiserver --version` and the discovery endpoint report the real release.
minor=$(echo "$k8s_version" | cut -d. -f2)
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version \
 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version"
start=$(date +%s)
for prog in "${progs[@]}"; do
  pkg=${prog%%:*}; name=${prog##*:}
  [[ -x "$out/$name" ]] && continue
  if (( print_only )); then
    echo "k8s-binaries: $out/$name is not built; run scripts/k8s-binaries.sh" >&2
    exit 1
  fi
  echo "k8s-binaries: building $name ($pkg) into $out ..." >&2
  # -mod=readonly with the committed go.sum: the proxy is a partial mirror, nothing is re-resolved.
  (cd "$mod" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
done
(( print_only )) || echo "k8s-binaries: ready in $(( $(date +%s) - start )) s" >&2
echo "$out"
