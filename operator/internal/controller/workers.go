package controller

// Scale-out (issue #17 item 5): the workers: section and the pod counts of a KafkaBackup with
// spec.workers > 1. One worker renders exactly what the operator made before the field existed.

import (
	"crypto/sha256"
	"encoding/hex"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// Defaults of kafka-backup's workers: section (cli/config.hpp), written out so the ConfigMap says
// what the pods run with.
const (
	defaultSessionTimeoutMs   = int32(45000)
	defaultRebalanceTimeoutMs = int32(60000)
	maxGroupIDLength          = 249
)

// workerCount is spec.workers with the webhook-free default (0: a client that omitted it before the
// CRD default applied).
func workerCount(kb *kbv1.KafkaBackup) int32 {
	if kb.Spec.Workers < 1 {
		return 1
	}
	return kb.Spec.Workers
}

// workerGroupID is the Kafka group the workers share: spec.workerGroup.groupId, or
// kafka-backup.<namespace>.<name> (unique per resource in a cluster; names too long for Kafka's
// 249 characters are cut and keep a hash of the whole).
func workerGroupID(kb *kbv1.KafkaBackup) string {
	if g := kb.Spec.WorkerGroup; g != nil && g.GroupID != "" {
		return g.GroupID
	}
	id := "kafka-backup." + kb.Namespace + "." + kb.Name
	if len(id) > maxGroupIDLength {
		h := sha256.Sum256([]byte(id))
		id = id[:maxGroupIDLength-17] + "-" + hex.EncodeToString(h[:8])
	}
	return id
}

// workersSection is the config's workers: section, or nil for one worker. No instance_id: the
// members are dynamic (a Deployment's or Job's pod names change with every pod, so a static id
// from them would only keep a dead pod's partitions for a whole session timeout; docs/operator.md).
func workersSection(kb *kbv1.KafkaBackup) map[string]any {
	if workerCount(kb) == 1 {
		return nil
	}
	session, rebalance := defaultSessionTimeoutMs, defaultRebalanceTimeoutMs
	if g := kb.Spec.WorkerGroup; g != nil {
		session = ptr.Deref(g.SessionTimeoutMs, session)
		rebalance = ptr.Deref(g.RebalanceTimeoutMs, rebalance)
	}
	return map[string]any{
		"group_id":             escape(workerGroupID(kb)),
		"session_timeout_ms":   session,
		"rebalance_timeout_ms": rebalance,
	}
}

// jobWorkers is a Job's parallelism and completions: nil for one worker (the API server's default
// of 1, so the Job is what it was), else N pods at once, each of which completes when it exits 0
// — a worker exits once its share of the partitions is done — and the Job when all N have.
func jobWorkers(kb *kbv1.KafkaBackup) *int32 {
	if n := workerCount(kb); n > 1 {
		return ptr.To(n)
	}
	return nil
}

// workerTotals adds up the run summaries of a multi-worker Job's pods that exited 0 (each worker
// reports only its own partitions); ok is false when none left a summary.
func workerTotals(pods []corev1.Pod) (total runSummary, ok bool) {
	for i := range pods {
		for _, cs := range pods[i].Status.ContainerStatuses {
			t := cs.State.Terminated
			if cs.Name != containerName || t == nil || t.ExitCode != 0 {
				continue
			}
			s, parsed := parseSummary(t.Message)
			if !parsed {
				continue
			}
			if !ok {
				total, ok = s, true
				continue
			}
			total.Records += s.Records
			total.Bytes += s.Bytes
			total.Partitions += s.Partitions
			total.Segments += s.Segments
		}
	}
	return total, ok
}
