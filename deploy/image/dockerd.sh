#!/usr/bin/env bash
# Starts or stops a private Docker Engine (Debian's docker.io) with no bridge and no NAT rules:
# containers it runs must use --network host. Everything it keeps lives under RUN_DIR.
#
# Usage: deploy/image/dockerd.sh start RUN_DIR   # prints the DOCKER_HOST value (unix://RUN_DIR/docker.sock)
#        deploy/image/dockerd.sh stop RUN_DIR    # stops the dockerd started there (by its pid file)
# Exit codes: 0 ok, 1 dockerd did not start / stop, 2 bad usage.
set -euo pipefail
cmd=${1:-}; run=${2:-}
[ -n "$cmd" ] && [ -n "$run" ] || { sed -n '2,7p' "$0" >&2; exit 2; }
mkdir -p "$run"
run=$(cd "$run" && pwd)
sock="$run/docker.sock"
case "$cmd" in
  start)
    command -v dockerd >/dev/null 2>&1 || { echo "dockerd.sh: dockerd not found (apt-get install docker.io)" >&2; exit 1; }
    if [ -f "$run/dockerd.pid" ] && kill -0 "$(cat "$run/dockerd.pid")" 2>/dev/null; then
      echo "unix://$sock"; exit 0
    fi
    # The exec root holds containerd's socket: keep its path short (unix socket paths are <108 bytes).
    exec_root=$(mktemp -d /tmp/kb-dockerd.XXXXXX)
    echo "$exec_root" >"$run/exec-root"
    # --bridge=none --iptables=false --ip6tables=false: no docker0, no NAT, no private-range address.
    /usr/sbin/dockerd --bridge=none --iptables=false --ip6tables=false \
      --data-root "$run/data" --exec-root "$exec_root" --pidfile "$run/docker.pid" \
      -H "unix://$sock" >"$run/dockerd.log" 2>&1 </dev/null &
    echo $! >"$run/dockerd.pid"
    for _ in $(seq 1 120); do  # at most 60 s
      if DOCKER_HOST="unix://$sock" /usr/bin/docker version >/dev/null 2>&1; then
        echo "unix://$sock"; exit 0
      fi
      kill -0 "$(cat "$run/dockerd.pid")" 2>/dev/null || break
      sleep 0.5
    done
    tail -n 20 "$run/dockerd.log" >&2
    echo "dockerd.sh: dockerd did not come up (log: $run/dockerd.log)" >&2
    exit 1 ;;
  stop)
    [ -f "$run/dockerd.pid" ] || exit 0
    pid=$(cat "$run/dockerd.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; sleep 1; }
    fi
    rm -f "$run/dockerd.pid"
    if [ -f "$run/exec-root" ]; then
      er=$(cat "$run/exec-root")
      # Container mounts under the exec root are gone with dockerd; the directory itself is ours.
      case "$er" in /tmp/kb-dockerd.*)
        awk -v p="$er/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r \
          | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
        rm -rf "$er" ;;
      esac
      rm -f "$run/exec-root"
    fi ;;
  *) echo "dockerd.sh: unknown command '$cmd' (start or stop)" >&2; exit 2 ;;
esac
