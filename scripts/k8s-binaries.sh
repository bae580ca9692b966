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
# A binary cached for the same release under another pin set is reused when every module it was
# built from is pinned at the same version now (adding the kubelet added modules and changed the
# key, not the versions the other binaries were built from); anything else is built.
reusable() {  # $1: a cached binary; succeeds when its build info matches the current pins
  (cd "$mod" && go mod edit -json) | python3 -c '
import json, subprocess, sys
mod = json.load(sys.stdin)
pins = {r["Path"]: r["Version"] for r in mod.get("Require") or []}
for r in mod.get("Replace") or []:
    pins[r["Old"]["Path"]] = r["New"].get("Version", "")
info = subprocess.run(["go", "version", "-m", sys.argv[1]], capture_output=True, text=True, check=True).stdout
built = {}  # module -> the version compiled in (a "=>" line after a dep names its replacement)
last = None
for line in info.splitlines():
    f = line.split()
    if len(f) >= 3 and f[0] == "dep":
        last = f[1]
        built[last] = f[2]
    elif len(f) >= 3 and f[0] == "=>" and last is not None:
        built[last] = f[2]
sys.exit(0 if built and all(pins.get(m) == v for m, v in built.items()) else 1)
' "$1"
}
start=$(date +%s)
for prog in "${progs[@]}"; do
  pkg=${prog%%:*}; name=${prog##*:}
  [[ -x "$out/$name" ]] && continue
  reused=0
  for other in "$KB_CACHE/k8s/$k8s_version"-*/"$name"; do
    [[ -x "$other" && "$other" != "$out/$name" ]] || continue
    if reusable "$other"; then
      cp "$other" "$out/$name.tmp" && mv "$out/$name.tmp" "$out/$name" && reused=1
      echo "k8s-binaries: $name reused from $(dirname "$other") (same module versions)" >&2
      break
    fi
  done
  (( reused )) && continue
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
