package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// jobLabel is the label Kubernetes (1.27+) puts on a Job's pods naming the Job.
const jobLabel = "batch.kubernetes.io/job-name"

// jobOutcome is what the operator learns of one finished or running Job.
type jobOutcome struct {
	job      *batchv1.Job
	active   bool
	done     bool
	failed   bool
	summary  runSummary
	summOK   bool
	exitCode *int32
	message  string // why it failed, from the summary, the pod or the Job (never a secret: written by kafka-backup)
}

// newestJob is the most recently created of the Jobs with the given labels.
func newestJob(ctx context.Context, c client.Reader, ns string, labels map[string]string) (*batchv1.Job, error) {
	var jobs batchv1.JobList
	if err := c.List(ctx, &jobs, client.InNamespace(ns), client.MatchingLabels(labels)); err != nil {
		return nil, err
	}
	if len(jobs.Items) == 0 {
		return nil, nil
	}
	sort.Slice(jobs.Items, func(i, j int) bool {
		a, b := jobs.Items[i].CreationTimestamp, jobs.Items[j].CreationTimestamp
		if a.Equal(&b) {
			return jobs.Items[i].Name < jobs.Items[j].Name
		}
		return a.Before(&b)
	})
	return &jobs.Items[len(jobs.Items)-1], nil
}

func jobFinished(j *batchv1.Job) (done, failed bool, msg string) {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, false, ""
		case batchv1.JobFailed:
			return true, true, c.Reason + ": " + c.Message
		}
	}
	return false, false, ""
}

// inspectJob reads a Job's state and, once its pod has ended, the run summary kafka-backup wrote
// as the termination message.
func inspectJob(ctx context.Context, pods client.Reader, j *batchv1.Job) (jobOutcome, error) {
	o := jobOutcome{job: j}
	o.done, o.failed, o.message = jobFinished(j)
	o.active = !o.done && j.Status.Active > 0
	var list corev1.PodList
	if err := pods.List(ctx, &list, client.InNamespace(j.Namespace), client.MatchingLabels{jobLabel: j.Name}); err != nil {
		return o, err
	}
	if t := terminated(list.Items); t != nil {
		code := t.ExitCode
		o.exitCode = &code
		if s, ok := parseSummary(t.Message); ok {
			o.summary, o.summOK = s, true
			if len(s.Errors) > 0 {
				o.message = firstLine(s.Errors[len(s.Errors)-1], 300)
			}
		} else if o.failed && t.Message != "" {
			o.message = firstLine(t.Message, 300)
		}
	}
	if j.Spec.Completions != nil && *j.Spec.Completions > 1 && o.done && !o.failed {
		// Several workers (spec.workers): each summary covers one worker's partitions.
		if s, ok := workerTotals(list.Items); ok {
			o.summary, o.summOK = s, true
		}
	}
	return o, nil
}

// hashOf names a config version (a pod-template annotation, so a Deployment rolls on change).
func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}
