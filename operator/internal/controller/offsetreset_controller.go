package controller

import (
	"context"
	"fmt"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// KafkaOffsetResetReconciler runs one `kafka-backup reset-offsets` Job per KafkaOffsetReset and
// reports it (the partition count from the run summary).
type KafkaOffsetResetReconciler struct {
	client.Client
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	Options   Options
	Now       func() time.Time
}

func (r *KafkaOffsetResetReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// offsetResetConfig renders the reset-offsets YAML: `source:` from spec.kafkaCluster (secrets as
// env references) and `reset_offsets:` from the spec.
func offsetResetConfig(o *kbv1.KafkaOffsetReset, w *podWiring) (map[string]any, error) {
	s := o.Spec
	strategy := defaulted(s.ResetStrategy, "to-earliest")
	ro := map[string]any{"groups": escapeAll(s.ConsumerGroups), "strategy": strategy}
	if len(s.Topics) > 0 {
		ro["topics"] = escapeAll(s.Topics)
	}
	switch strategy {
	case "to-timestamp":
		if s.Timestamp == "" {
			return nil, fmt.Errorf("spec.timestamp is required with resetStrategy to-timestamp (RFC 3339 or epoch ms)")
		}
		if n, err := strconv.ParseInt(s.Timestamp, 10, 64); err == nil {
			ro["timestamp"] = n
		} else {
			ro["timestamp"] = escape(s.Timestamp)
		}
	case "to-offset":
		if s.Offset == nil {
			return nil, fmt.Errorf("spec.offset is required with resetStrategy to-offset")
		}
		ro["offset"] = *s.Offset
	}
	return map[string]any{
		"source":        kafkaSection(&s.KafkaCluster, "spec.kafkaCluster", nil, nil, w),
		"reset_offsets": ro,
	}, nil
}

// Reconcile creates the reset's ConfigMap and Job once, then follows the Job.
func (r *KafkaOffsetResetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return reconcileRun(ctx, runReconciler{r.Client, r.Recorder, r.Options, r.now}, req, &kbv1.KafkaOffsetReset{}, r.reconcile)
}

func (r *KafkaOffsetResetReconciler) reconcile(ctx context.Context, o *kbv1.KafkaOffsetReset) (ctrl.Result, error) {
	name := jobName(o.Name, "offset-reset")
	job := &batchv1.Job{}
	err := r.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: name}, job)
	if apierrors.IsNotFound(err) {
		if findCond(o.Status.Conditions, kbv1.ConditionSucceeded) != nil || o.Status.Phase == kbv1.PhaseCompleted {
			return ctrl.Result{}, nil // ran, and the Job is gone: a reset never runs twice
		}
		return ctrl.Result{}, r.createJob(ctx, o, name)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	out, err := inspectJob(ctx, r.APIReader, job)
	if err != nil {
		return ctrl.Result{}, err
	}
	switch {
	case !out.done:
		setPhase(&o.Status.RunStatus, o.Generation, kbv1.PhaseRunning, "OffsetResetRunning", "Job "+job.Name+" is running")
	case !out.failed:
		first := o.Status.Phase != kbv1.PhaseCompleted
		msg := fmt.Sprintf("reset %d partition(s) of %d group(s) (%s)", out.summary.Partitions, len(o.Spec.ConsumerGroups),
			defaulted(o.Spec.ResetStrategy, "to-earliest"))
		if !out.summOK {
			msg = "the offset-reset Job finished; its pod left no run summary"
		}
		setPhase(&o.Status.RunStatus, o.Generation, kbv1.PhaseCompleted, "OffsetResetSucceeded", msg)
		if first {
			r.Recorder.Eventf(o, job, corev1.EventTypeNormal, "OffsetResetSucceeded", "OffsetReset", "%s", msg)
		}
	default:
		first := o.Status.Phase != kbv1.PhaseFailed
		msg := "offset-reset Job " + job.Name + " failed"
		if out.exitCode != nil {
			msg += fmt.Sprintf(" (exit %d)", *out.exitCode)
		}
		if out.message != "" {
			msg += ": " + out.message
		}
		setPhase(&o.Status.RunStatus, o.Generation, kbv1.PhaseFailed, "OffsetResetFailed", msg)
		if first {
			r.Recorder.Eventf(o, job, corev1.EventTypeWarning, "OffsetResetFailed", "OffsetReset", "%s", msg)
		}
	}
	return ctrl.Result{}, nil
}

func (r *KafkaOffsetResetReconciler) createJob(ctx context.Context, o *kbv1.KafkaOffsetReset, name string) error {
	w := &podWiring{}
	cfg, err := offsetResetConfig(o, w)
	if err != nil {
		return &configError{"InvalidSpec", err.Error()}
	}
	if err := checkSecrets(ctx, r.APIReader, o.Namespace, w.secrets); err != nil {
		return err
	}
	text, err := renderConfig(cfg, "KafkaOffsetReset "+o.Namespace+"/"+o.Name)
	if err != nil {
		return err
	}
	labels := commonLabels(o.Name, "offset-reset")
	cmName := jobName(o.Name, "offset-reset-config")
	if err := applyConfigMap(ctx, r.Client, o, cmName, labels, map[string]string{configKey: text}); err != nil {
		return err
	}
	args := []string{"reset-offsets", "--config", configFile, "--no-progress"}
	tpl := podTemplate(r.Options.Image, o.Spec.Pod, cmName, args, w, labels, nil, corev1.RestartPolicyNever)
	// Not retried by the Job: an active group fails the same way again; the user re-creates the resource.
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{BackoffLimit: ptr.To(int32(0)), Template: tpl}}
	if err := controllerutil.SetControllerReference(o, job, r.Scheme()); err != nil {
		return err
	}
	if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	setPhase(&o.Status.RunStatus, o.Generation, kbv1.PhaseRunning, "OffsetResetStarted", "created Job "+name)
	r.Recorder.Eventf(o, job, corev1.EventTypeNormal, "Created", "Reconcile", "created Job %s (reset-offsets %s)", name,
		defaulted(o.Spec.ResetStrategy, "to-earliest"))
	return nil
}

// SetupWithManager registers the controller.
func (r *KafkaOffsetResetReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&kbv1.KafkaOffsetReset{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&batchv1.Job{}).
		Owns(&corev1.ConfigMap{}).
		Named("kafkaoffsetreset").
		Complete(r)
}
