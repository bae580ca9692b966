package controller

import (
	"context"
	"encoding/json"
	"fmt"
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

// KafkaBackupValidationReconciler runs `kafka-backup validate [--deep]` in a Job and keeps an
// evidence report (a ConfigMap, report.json) built from the run's exit code and output.
type KafkaBackupValidationReconciler struct {
	client.Client
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	Options   Options
	Now       func() time.Time
}

func (r *KafkaBackupValidationReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// evidence is the report: what was checked, where, how and with what result. Never credentials:
// the location is bucket/container/claim and prefix, the output is kafka-backup's own.
type evidence struct {
	Resource   string `json:"resource"`
	BackupID   string `json:"backup_id"`
	Location   string `json:"location"`
	Deep       bool   `json:"deep"`
	Job        string `json:"job"`
	Started    string `json:"started,omitempty"`
	Finished   string `json:"finished,omitempty"`
	ExitCode   *int32 `json:"exit_code,omitempty"`
	Valid      bool   `json:"valid"`
	Output     string `json:"output,omitempty"`
	ReportedBy string `json:"reported_by"`
}

// Reconcile creates the validation Job once and writes the evidence when it ends.
func (r *KafkaBackupValidationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return reconcileRun(ctx, runReconciler{r.Client, r.Recorder, r.Options, r.now}, req, &kbv1.KafkaBackupValidation{}, r.reconcile)
}

func (r *KafkaBackupValidationReconciler) reconcile(ctx context.Context, v *kbv1.KafkaBackupValidation) (ctrl.Result, error) {
	name := jobName(v.Name, "validate")
	deep := v.Spec.Deep == nil || *v.Spec.Deep
	job := &batchv1.Job{}
	err := r.Get(ctx, types.NamespacedName{Namespace: v.Namespace, Name: name}, job)
	if apierrors.IsNotFound(err) {
		if v.Status.JobName != "" {
			return ctrl.Result{}, nil
		}
		storage, id, _, err := resolveBackupRef(ctx, r.Client, v.Namespace, v.Spec.BackupRef)
		if err != nil {
			return ctrl.Result{}, err
		}
		w := &podWiring{}
		// The storage section wires the credentials; the config itself only documents the run.
		cfg, err := storageSection(storage, "spec.backupRef.storage", w)
		if err != nil {
			return ctrl.Result{}, &configError{"InvalidSpec", err.Error()}
		}
		if err := checkSecrets(ctx, r.APIReader, v.Namespace, w.secrets); err != nil {
			return ctrl.Result{}, err
		}
		text, err := renderConfig(map[string]any{"storage": cfg, "backup_id": escape(id)}, "KafkaBackupValidation "+v.Namespace+"/"+v.Name)
		if err != nil {
			return ctrl.Result{}, err
		}
		labels := commonLabels(v.Name, "validation")
		labels[labelValidation] = v.Name
		cmName := jobName(v.Name, "validate-config")
		if err := applyConfigMap(ctx, r.Client, v, cmName, labels, map[string]string{configKey: text}); err != nil {
			return ctrl.Result{}, err
		}
		args := []string{"validate", "--path", storageURL(storage), "--backup-id", id, "--no-progress"}
		if deep {
			args = append(args, "--deep")
		}
		tpl := podTemplate(r.Options.Image, v.Spec.Pod, cmName, args, w, labels, nil, corev1.RestartPolicyNever)
		// validate writes no summary file: keep the tail of its output as the termination message.
		tpl.Spec.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
		job = &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: v.Namespace, Labels: labels},
			Spec: batchv1.JobSpec{BackoffLimit: ptr.To(int32(0)), Template: tpl}}
		if err := controllerutil.SetControllerReference(v, job, r.Scheme()); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, err
		}
		v.Status.JobName = name
		v.Status.BackupID = id
		v.Status.EvidenceReport = jobName(v.Name, "evidence")
		setPhase(&v.Status.RunStatus, v.Generation, kbv1.PhaseRunning, "ValidationStarted", "created Job "+name)
		r.Recorder.Eventf(v, job, corev1.EventTypeNormal, "Created", "Reconcile", "created Job %s (validate backup %s)", name, id)
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	o, err := inspectJob(ctx, r.APIReader, job)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !o.done {
		setPhase(&v.Status.RunStatus, v.Generation, kbv1.PhaseRunning, "ValidationRunning", "Job "+job.Name+" is running")
		return ctrl.Result{}, nil
	}
	valid := !o.failed
	first := v.Status.Valid == nil
	v.Status.Valid = ptr.To(valid)
	v.Status.ExitCode = o.exitCode
	v.Status.CompletionTime = job.Status.CompletionTime
	storage, _, _, _ := resolveBackupRef(ctx, r.Client, v.Namespace, v.Spec.BackupRef)
	ev := evidence{Resource: "KafkaBackupValidation " + v.Namespace + "/" + v.Name, BackupID: v.Status.BackupID,
		Deep: deep, Job: job.Name, ExitCode: o.exitCode, Valid: valid, Output: o.message, ReportedBy: managerName}
	if storage != nil {
		w := &podWiring{}
		if _, err := storageSection(storage, "", w); err == nil {
			ev.Location = w.storageLabel
		}
	}
	if job.Status.StartTime != nil {
		ev.Started = job.Status.StartTime.UTC().Format(time.RFC3339)
	}
	if job.Status.CompletionTime != nil {
		ev.Finished = job.Status.CompletionTime.UTC().Format(time.RFC3339)
	}
	report, _ := json.MarshalIndent(ev, "", "  ")
	labels := commonLabels(v.Name, "validation")
	labels[labelValidation] = v.Name
	if err := applyConfigMap(ctx, r.Client, v, v.Status.EvidenceReport, labels, map[string]string{"report.json": string(report)}); err != nil {
		return ctrl.Result{}, err
	}
	if valid {
		msg := fmt.Sprintf("backup %s is valid (deep=%t); evidence in ConfigMap %s", v.Status.BackupID, deep, v.Status.EvidenceReport)
		setPhase(&v.Status.RunStatus, v.Generation, kbv1.PhaseCompleted, "Valid", msg)
		if first {
			r.Recorder.Eventf(v, job, corev1.EventTypeNormal, "Valid", "Validate", "%s", msg)
		}
	} else {
		msg := fmt.Sprintf("backup %s failed validation", v.Status.BackupID)
		if o.exitCode != nil {
			msg += fmt.Sprintf(" (exit %d)", *o.exitCode)
		}
		msg += "; evidence in ConfigMap " + v.Status.EvidenceReport
		setPhase(&v.Status.RunStatus, v.Generation, kbv1.PhaseFailed, "Invalid", msg)
		if first {
			r.Recorder.Eventf(v, job, corev1.EventTypeWarning, "Invalid", "Validate", "%s", msg)
		}
	}
	// The report outlives the Job for retentionDays, then goes with the resource.
	if d := v.Spec.RetentionDays; d != nil && *d > 0 && job.Status.CompletionTime != nil {
		left := time.Until(job.Status.CompletionTime.Add(time.Duration(*d) * 24 * time.Hour))
		if left <= 0 {
			return ctrl.Result{}, client.IgnoreNotFound(r.Delete(ctx, v))
		}
		return ctrl.Result{RequeueAfter: left}, nil
	}
	return ctrl.Result{}, nil
}

// SetupWithManager registers the controller.
func (r *KafkaBackupValidationReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&kbv1.KafkaBackupValidation{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&batchv1.Job{}).
		Named("kafkabackupvalidation").
		Complete(r)
}
