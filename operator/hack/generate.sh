#!/usr/bin/env bash
# Regenerates the deep-copy code, the CRDs (config/crd) and the operator's ClusterRole
# (config/rbac) from the Go types and their kubebuilder markers, with controller-gen from the Go
# module proxy (installed into $GOBIN / ~/go/bin when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
version=v0.23.0
gen="$(go env GOPATH)/bin/controller-gen"
if ! "$gen" --version 2>/dev/null | grep -q "$version"; then
  go install "sigs.k8s.io/controller-tools/cmd/controller-gen@$version"
fi
"$gen" object paths=./api/...
"$gen" crd paths=./api/... output:crd:artifacts:config=config/crd
"$gen" rbac:roleName=kafka-backup-operator paths=./internal/... output:rbac:artifacts:config=config/rbac
