//go:build tools

// Package k8sbinaries pins the Kubernetes control-plane programs that the operator tests run
// (etcd, kube-apiserver, kube-controller-manager, kubelet); scripts/k8s-binaries.sh builds them from the
// Go module proxy with the versions locked in this module's go.mod/go.sum.
package k8sbinaries

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
