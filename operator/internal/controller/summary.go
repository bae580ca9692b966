package controller

import (
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// runSummary is kafka-backup's JSON run summary (--summary-file, the pod's termination message).
type runSummary struct {
	Command         string   `json:"command"`
	BackupID        string   `json:"backup_id"`
	RestoreID       string   `json:"restore_id"`
	ExitCode        int      `json:"exit_code"`
	Outcome         string   `json:"outcome"`
	Records         int64    `json:"records"`
	Bytes           int64    `json:"bytes"`
	Partitions      int64    `json:"partitions"`
	Segments        int64    `json:"segments"`
	DurationSeconds float64  `json:"duration_seconds"`
	Errors          []string `json:"errors"`
}

// parseSummary reads the summary from a termination message; false when it is not one.
func parseSummary(msg string) (runSummary, bool) {
	var s runSummary
	msg = strings.TrimSpace(msg)
	if !strings.HasPrefix(msg, "{") || json.Unmarshal([]byte(msg), &s) != nil || s.Outcome == "" {
		return runSummary{}, false
	}
	return s, true
}

// terminated gives the kafka-backup container's final state in the newest of the pods.
func terminated(pods []corev1.Pod) *corev1.ContainerStateTerminated {
	var best *corev1.ContainerStateTerminated
	for i := range pods {
		for _, cs := range pods[i].Status.ContainerStatuses {
			if cs.Name != containerName || cs.State.Terminated == nil {
				continue
			}
			t := cs.State.Terminated
			if best == nil || t.FinishedAt.After(best.FinishedAt.Time) {
				best = t
			}
		}
	}
	return best
}

// firstLine keeps a message short for a condition.
func firstLine(s string, max int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
