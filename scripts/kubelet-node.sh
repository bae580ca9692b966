#!/usr/bin/env bash
# A real Kubernetes node on this machine, for the operator's end-to-end test: a private containerd
# (its CRI plugin, runc, overlayfs) and the kubelet built by scripts/k8s-binaries.sh --all, joined to
# an API server through a kubeconfig. Loopback only: the kubelet listens on 127.0.0.1, there is no
# CNI, so the node stays NotReady and pods need nodeName, a toleration and hostNetwork: true.
# Images are loaded into containerd from OCI layouts (no registry); the sandbox ("pause") image is
# built from the kubelet's own pause.c with gcc -static (cached in $KB_CACHE/k8s/).
# Everything lives under --run-dir; `down` stops what `up` started by the recorded PIDs only,
# unmounts what the kubelet and containerd mounted under the run dir, removes the node's own cgroup
# root and restores the kernel settings the kubelet changes (see docs/operator.md, "A real kubelet node").
#
# Usage:
#   scripts/kubelet-node.sh up --run-dir DIR --kubeconfig FILE --node-name NAME
#                              [--kubelet BIN] [--image OCI_LAYOUT=REFERENCE]...
#   scripts/kubelet-node.sh down --run-dir DIR
# `up` prints KEY=VALUE lines: node, kubelet_pid, containerd_pid, containerd_socket, image=<ref>@<digest>.
# Needs root, containerd + runc (Debian packages; scripts/install-deps.sh), gcc, umoci, python3,
# curl, the Go module cache holding k8s.io/kubernetes (scripts/k8s-binaries.sh fills it).
# Exit codes: 0 ok, 1 a step failed (the error says which; logs in DIR/logs/), 2 bad usage.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KB_CACHE="${KB_CACHE:-$HOME/.cache/kafka-backup}"
die() { echo "kubelet-node: ERROR: $*" >&2; exit 1; }
usage() { sed -n '12,16p' "$0" >&2; exit 2; }
say() { echo "kubelet-node: $*" >&2; }

cmd=${1:-}; [ -n "$cmd" ] || usage; shift
run_dir="" kubeconfig="" node="" kubelet="" images=()
while [ $# -gt 0 ]; do
  case "$1" in
    --run-dir) run_dir=${2:?--run-dir needs a directory}; shift 2 ;;
    --kubeconfig) kubeconfig=${2:?--kubeconfig needs a file}; shift 2 ;;
    --node-name) node=${2:?--node-name needs a name}; shift 2 ;;
    --kubelet) kubelet=${2:?--kubelet needs a path}; shift 2 ;;
    --image) images+=("${2:?--image needs OCI_LAYOUT=REFERENCE}"); shift 2 ;;
    *) echo "kubelet-node: unknown argument '$1'" >&2; usage ;;
  esac
done
[ -n "$run_dir" ] || usage
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)
sock="$run_dir/containerd/containerd.sock"
(( ${#sock} <= 90 )) || die "--run-dir $run_dir is too long for the unix sockets under it (at most ~60 characters; use /tmp/...)"
ctrns=(--address "$sock" --namespace k8s.io)
# The kernel settings the kubelet's container manager sets (setupKernelTunables): saved by the
# first node up, restored when the last node goes down.
sysctls=(vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes)
# Host paths the kubelet and containerd use whatever their root: the device-plugin socket, the
# container log links, the shim sockets (see register_node).
host_dirs=(/var/lib/kubelet /var/log/containers /run/containerd)
nodes_dir=/run/kb-kubelet-nodes
[ -d /run ] || nodes_dir=/tmp/kb-kubelet-nodes

# ------------------------------------------------------------------------------------------ down
# stop_pid FILE: SIGTERM the PID recorded in FILE if it is still the program named there, wait up
# to 10 s, then SIGKILL.
stop_pid() {
  local file=$1 pid exe want
  [ -f "$file" ] || return 0
  read -r pid want <"$file" || return 0
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  if [ -n "$exe" ] && [ "$(basename "$exe")" = "$want" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  fi
  rm -f "$file"
}

mounts_under() {  # mount points under the run dir, deepest first
  awk -v d="$run_dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | awk '{print length, $0}' \
    | sort -rn | cut -d' ' -f2-
}

down() {
  local failed=0
  stop_pid "$run_dir/kubelet.pid"
  # The containers the kubelet left: killed and deleted through containerd, so their shims exit.
  if [ -S "$sock" ] && ctr --address "$sock" version >/dev/null 2>&1; then
    for id in $(timeout 20 ctr "${ctrns[@]}" tasks ls -q 2>/dev/null || true); do
      timeout 20 ctr "${ctrns[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $(timeout 20 ctr "${ctrns[@]}" tasks ls -q 2>/dev/null || true); do
      timeout 20 ctr "${ctrns[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(timeout 20 ctr "${ctrns[@]}" containers ls -q 2>/dev/null || true); do
      timeout 20 ctr "${ctrns[@]}" containers delete "$id" >/dev/null 2>&1 || true
    done
  fi
  stop_pid "$run_dir/containerd.pid"
  # Shims and container processes still alive (containerd was unreachable): the PIDs containerd
  # recorded under its state dir, each checked to be a shim of this containerd or a process in
  # this node's cgroup root before it is killed.
  local cgroot=""
  [ -f "$run_dir/cgroup-root" ] && cgroot=$(cat "$run_dir/cgroup-root")
  local task_dir="$run_dir/containerd/state/io.containerd.runtime.v2.task"
  if [ -d "$task_dir" ]; then
    while read -r f; do
      pid=$(cat "$f" 2>/dev/null || true)
      [[ "$pid" =~ ^[0-9]+$ ]] && [ -d "/proc/$pid" ] || continue
      if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -F -- "-address $sock" >/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
      elif [ -n "$cgroot" ] && grep -qF ":/$cgroot/" "/proc/$pid/cgroup" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done < <(find "$task_dir" -name 'shim.pid' -o -name 'init.pid' 2>/dev/null)
  fi
  # Mounts: secret tmpfs volumes, container root filesystems, sandbox /dev/shm.
  for _ in 1 2 3; do
    local left
    left=$(mounts_under)
    [ -n "$left" ] || break
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done <<<"$left"
  done
  if [ -n "$(mounts_under)" ]; then
    echo "kubelet-node: ERROR: still mounted under $run_dir:" >&2
    mounts_under >&2
    failed=1
  fi
  # The node's cgroup root, in every cgroup v1 hierarchy (deepest directories first).
  if [ -n "$cgroot" ]; then
    for h in /sys/fs/cgroup/*/; do
      [ -d "$h$cgroot" ] || continue
      for _ in $(seq 50); do
        find "$h$cgroot" -depth -type d -exec rmdir {} + 2>/dev/null || true
        [ -d "$h$cgroot" ] || break
        sleep 0.1
      done
      if [ -d "$h$cgroot" ]; then
        echo "kubelet-node: ERROR: cgroup $h$cgroot is still in use (tasks: $(cat "$h$cgroot"/tasks 2>/dev/null | tr '\n' ' '))" >&2
        failed=1
      fi
    done
    rm -f "$run_dir/cgroup-root"
  fi
  # The kubelet's container log links in /var/log/containers that point into this run dir.
  if [ -d /var/log/containers ]; then
    find /var/log/containers -maxdepth 1 -type l -lname "$run_dir/*" -delete 2>/dev/null || true
  fi
  unregister_node
  if (( failed )); then
    echo "kubelet-node: ERROR: the node under $run_dir was not fully torn down (see above); nothing was deleted" >&2
    return 1
  fi
  # The data (images, snapshots, volumes); the logs stay.
  rm -rf "$run_dir/containerd" "$run_dir/kubelet" "$run_dir/pod-logs" "$run_dir/runc" "$run_dir/images" "$run_dir/cni"
  say "down: $run_dir (logs kept in $run_dir/logs)"
}

# The machine-wide state a node changes: the kernel settings and the host directories. The first
# node up saves the settings and notes which directories are missing; the last node down restores
# the settings and removes those directories again when they hold nothing but empty folders and
# the kubelet's device-plugin socket. Nodes register in $nodes_dir under a lock.
node_key() { echo "$run_dir" | sha256sum | cut -c1-16; }

register_node() {
  mkdir -p "$nodes_dir"
  (
    flock 9
    if [ -z "$(ls "$nodes_dir" | grep -E '^node-' || true)" ]; then
      for key in "${sysctls[@]}"; do echo "$key $(cat "/proc/sys/$key")"; done >"$nodes_dir/sysctl.saved"
      for d in "${host_dirs[@]}"; do [ -e "$d" ] || echo "$d"; done >"$nodes_dir/host-dirs-created"
    fi
    echo "$run_dir" >"$nodes_dir/node-$(node_key)"
  ) 9>"$nodes_dir/lock"
  touch "$run_dir/registered"
}

unregister_node() {
  [ -f "$run_dir/registered" ] || return 0
  mkdir -p "$nodes_dir"
  (
    flock 9
    rm -f "$nodes_dir/node-$(node_key)"
    if [ -z "$(ls "$nodes_dir" | grep -E '^node-' || true)" ]; then
      if [ -f "$nodes_dir/sysctl.saved" ]; then
        while read -r key value; do
          echo "$value" >"/proc/sys/$key" 2>/dev/null || echo "kubelet-node: could not restore $key=$value" >&2
        done <"$nodes_dir/sysctl.saved"
      fi
      if [ -f "$nodes_dir/host-dirs-created" ]; then
        while read -r d; do
          [ -d "$d" ] || continue
          rm -f "$d/device-plugins/kubelet.sock"
          find "$d" -depth -type d -empty -delete 2>/dev/null || true
          [ -d "$d" ] && echo "kubelet-node: left $d in place: it holds files another program wrote" >&2
        done <"$nodes_dir/host-dirs-created"
      fi
      rm -f "$nodes_dir/sysctl.saved" "$nodes_dir/host-dirs-created"
    fi
  ) 9>"$nodes_dir/lock"
  rm -f "$run_dir/registered"
}

if [ "$cmd" = down ]; then
  down || exit 1
  exit 0
fi
[ "$cmd" = up ] || usage

# -------------------------------------------------------------------------------------------- up
[ -n "$kubeconfig" ] && [ -n "$node" ] || usage
[ -f "$kubeconfig" ] || die "kubeconfig $kubeconfig does not exist"
[ "$(id -u)" = 0 ] || die "a kubelet with containerd needs root (it mounts volumes and creates cgroups)"
for tool in containerd containerd-shim-runc-v2 ctr runc gcc umoci python3 curl flock; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "$tool not found: apt-get install containerd runc gcc umoci curl (scripts/install-deps.sh installs them)"
done
[ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] \
  || die "this script drives the kubelet with cgroup v1 and the cgroupfs driver; /sys/fs/cgroup/memory is not a cgroup v1 hierarchy"
mod="$root/operator/hack/k8s-binaries"
if [ -z "$kubelet" ]; then
  kubelet="$(bash "$root/scripts/k8s-binaries.sh" --all --print-dir)/kubelet" \
    || die "the kubelet is not built: run scripts/k8s-binaries.sh --all"
fi
[ -x "$kubelet" ] || die "$kubelet is not an executable (scripts/k8s-binaries.sh --all builds it)"
[ ! -f "$run_dir/kubelet.pid" ] && [ ! -f "$run_dir/containerd.pid" ] \
  || die "$run_dir already holds a node: run 'scripts/kubelet-node.sh down --run-dir $run_dir' first"
mkdir -p "$run_dir"/{logs,containerd,kubelet,pod-logs,cni/bin,cni/conf,images}
up_done=0
trap 'rc=$?; if [ "$up_done" != 1 ]; then say "up failed; tearing down (logs kept in $run_dir/logs)"; down || true; fi; exit $rc' EXIT

# ---- the sandbox image: pause.c of the kubelet's own release, static, in a one-layer OCI image
k8s_version=$(grep -E '^[[:space:]]*(require[[:space:]]+)?k8s\.io/kubernetes v' "$mod/go.mod" | awk '{print $NF}')
pause_c="$(cd "$mod" && go env GOMODCACHE)/k8s.io/kubernetes@$k8s_version/build/pause/linux/pause.c"
if [ ! -f "$pause_c" ]; then
  (cd "$mod" && go mod download k8s.io/kubernetes) || die "cannot download k8s.io/kubernetes $k8s_version (for pause.c)"
fi
[ -f "$pause_c" ] || die "$pause_c is missing"
pause_ref="registry.k8s.io/pause:kb-$k8s_version"
pause_dir="$KB_CACHE/k8s/pause-$k8s_version-$(sha256sum "$pause_c" | cut -c1-12)"
if [ ! -f "$pause_dir/oci/index.json" ]; then
  say "building the pause image from $pause_c"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/kb-pause.XXXXXX")
  gcc -Os -Wall -static -DVERSION="$k8s_version" -o "$tmp/pause" "$pause_c" || die "gcc -static pause.c failed (libc6-dev)"
  strip "$tmp/pause"
  umoci init --layout "$tmp/oci" && umoci new --image "$tmp/oci:pause"
  umoci unpack --image "$tmp/oci:pause" "$tmp/bundle" >/dev/null
  install -m 0755 "$tmp/pause" "$tmp/bundle/rootfs/pause"
  umoci repack --no-history --image "$tmp/oci:pause" "$tmp/bundle" >/dev/null 2>&1
  umoci config --no-history --image "$tmp/oci:pause" --os linux --architecture amd64 \
    --config.user 65535:65535 --config.entrypoint /pause >/dev/null
  umoci gc --layout "$tmp/oci"
  mkdir -p "$pause_dir.tmp" && rm -rf "$pause_dir.tmp/oci" && cp -a "$tmp/oci" "$pause_dir.tmp/oci"
  rm -rf "$tmp" "$pause_dir" && mv "$pause_dir.tmp" "$pause_dir"
fi

# ---- containerd: its own root, state, socket; CRI with runc, cgroupfs, no CNI
register_node
cat >"$run_dir/containerd/config.toml" <<EOF
version = 2
root = "$run_dir/containerd/root"
state = "$run_dir/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$run_dir/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_ref"
  # This sandbox may not lower oom_score_adj (no CAP_SYS_RESOURCE): containerd clamps the
  # sandbox's -998 to its own score instead of failing.
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
        Root = "$run_dir/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$run_dir/cni/bin"
    conf_dir = "$run_dir/cni/conf"
EOF
setsid containerd --config "$run_dir/containerd/config.toml" >"$run_dir/logs/containerd.log" 2>&1 </dev/null &
echo "$! containerd" >"$run_dir/containerd.pid"
for i in $(seq 150); do
  ctr --address "$sock" version >/dev/null 2>&1 && break
  [ -d "/proc/$(cut -d' ' -f1 "$run_dir/containerd.pid")" ] || die "containerd exited: $(tail -n 5 "$run_dir/logs/containerd.log")"
  [ "$i" = 150 ] && die "containerd did not answer on $sock within 30 s (logs/containerd.log)"
  sleep 0.2
done

# ---- images, loaded from OCI layouts: each index entry is named by io.containerd.image.name
# import_layout LAYOUT REF: prints the manifest digest.
import_layout() {
  local layout=$1 ref=$2 tmp digest
  [ -f "$layout/index.json" ] || die "$layout is not an OCI image layout (no index.json)"
  tmp=$(mktemp -d "$run_dir/images/import.XXXXXX")
  digest=$(python3 - "$layout/index.json" "$ref" "$tmp/index.json" <<'PY'
import json, sys
index = json.load(open(sys.argv[1]))
if len(index["manifests"]) != 1:
    sys.exit(f"{sys.argv[1]}: expected one image in the layout, found {len(index['manifests'])}")
m = index["manifests"][0]
m.setdefault("annotations", {})["io.containerd.image.name"] = sys.argv[2]
json.dump(index, open(sys.argv[3], "w"))
print(m["digest"])
PY
) || die "cannot read $layout/index.json"
  cp "$layout/oci-layout" "$tmp/oci-layout"
  ln -s "$(cd "$layout" && pwd)/blobs" "$tmp/blobs"
  tar -C "$tmp" -chf "$tmp.tar" oci-layout index.json blobs
  timeout 120 ctr "${ctrns[@]}" images import --all-platforms "$tmp.tar" >>"$run_dir/logs/import.log" 2>&1 \
    || die "ctr images import of $layout as $ref failed: $(tail -n 3 "$run_dir/logs/import.log")"
  rm -rf "$tmp" "$tmp.tar"
  ctr "${ctrns[@]}" images ls -q | grep -xF "$ref" >/dev/null || die "$ref is not in containerd after the import (logs/import.log)"
  echo "$digest"
}
import_layout "$pause_dir/oci" "$pause_ref" >/dev/null
loaded=()
for spec in "${images[@]}"; do
  layout=${spec%%=*}; ref=${spec#*=}
  [ "$layout" != "$spec" ] && [ -n "$ref" ] || die "--image $spec: expected OCI_LAYOUT=REFERENCE"
  loaded+=("$ref@$(import_layout "$layout" "$ref")")
done

# ---- the kubelet: cgroupfs under its own cgroup root, loopback addresses, no iptables changes
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port); healthz=$(free_port)
cgroot="kb-node-$(echo "$run_dir" | sha256sum | cut -c1-10)"
echo "$cgroot" >"$run_dir/cgroup-root"
for h in /sys/fs/cgroup/*/; do
  [ -f "$h/tasks" ] || continue
  mkdir -p "$h$cgroot"
  if [ -f "$h/cpuset.cpus" ]; then  # a new cpuset cgroup starts empty: give it the parent's
    cat "$h/cpuset.cpus" >"$h$cgroot/cpuset.cpus"
    cat "$h/cpuset.mems" >"$h$cgroot/cpuset.mems"
  fi
done
cat >"$run_dir/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz
containerRuntimeEndpoint: unix://$sock
imageServiceEndpoint: unix://$sock
cgroupDriver: cgroupfs
cgroupRoot: /$cgroot
cgroupsPerQOS: true
enforceNodeAllocatable: []
failSwapOn: false
makeIPTablesUtilChains: false
oomScoreAdj: 0
podLogsDir: $run_dir/pod-logs
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
# Images are loaded, never pulled: no image garbage collection; evictions only when nearly full.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
  imagefs.inodesFree: 1%
EOF
setsid "$kubelet" --config="$run_dir/kubelet/config.yaml" --kubeconfig="$kubeconfig" \
  --root-dir="$run_dir/kubelet" --cert-dir="$run_dir/kubelet/pki" --hostname-override="$node" \
  --node-ip=127.0.0.1 --v=2 >"$run_dir/logs/kubelet.log" 2>&1 </dev/null &
echo "$! kubelet" >"$run_dir/kubelet.pid"
for i in $(seq 450); do
  grep -q 'Successfully registered node' "$run_dir/logs/kubelet.log" \
    && curl -sf "http://127.0.0.1:$healthz/healthz" >/dev/null && break
  [ -d "/proc/$(cut -d' ' -f1 "$run_dir/kubelet.pid")" ] \
    || die "the kubelet exited: $(grep -E '^E|[Ee]rror' "$run_dir/logs/kubelet.log" | tail -n 5)"
  [ "$i" = 450 ] && die "the kubelet did not register node $node within 90 s (logs/kubelet.log)"
  sleep 0.2
done
up_done=1
echo "node=$node"
echo "kubelet_pid=$(cut -d' ' -f1 "$run_dir/kubelet.pid")"
echo "containerd_pid=$(cut -d' ' -f1 "$run_dir/containerd.pid")"
echo "containerd_socket=$sock"
for l in "${loaded[@]}"; do echo "image=$l"; done
