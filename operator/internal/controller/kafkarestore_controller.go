package controller

import (
	"context"
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

// KafkaRestoreReconciler runs one restore Job per KafkaRestore and reports it.
type KafkaRestoreReconciler struct {
	client.Client
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	Options   Options
	Now       func() time.Time
}

func (r *KafkaRestoreReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// resolveBackupRef finds the storage, the backup id and the default cluster of a backupRef.
func resolveBackupRef(ctx context.Context, c client.Client, ns string, ref kbv1.BackupRef) (*kbv1.StorageSpec, string,
	*kbv1.KafkaClusterSpec, error) {
	if ref.Namespace != "" && ref.Namespace != ns {
		return nil, "", nil, &configError{"InvalidSpec", fmt.Sprintf(
			"spec.backupRef.namespace %q differs from the resource's namespace %q: a run reads only its own namespace's Secrets; create the resource in %q or give spec.backupRef.storage",
			ref.Namespace, ns, ref.Namespace)}
	}
	var storage *kbv1.StorageSpec
	var cluster *kbv1.KafkaClusterSpec
	id := ref.BackupID
	if ref.Name != "" {
		kb := &kbv1.KafkaBackup{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, kb); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, "", nil, &configError{"BackupNotFound", fmt.Sprintf(
					"KafkaBackup %s/%s (named by spec.backupRef.name) does not exist", ns, ref.Name)}
			}
			return nil, "", nil, err
		}
		storage = kb.Spec.Storage
		if storage == nil {
			storage = defaultStorage(kb.Name)
		}
		cluster = &kb.Spec.KafkaCluster
		if id == "" {
			id = kb.Status.LastBackupID
		}
		if id == "" {
			return nil, "", nil, &configError{"NoBackupYet", fmt.Sprintf(
				"KafkaBackup %s/%s has no finished backup yet (status.lastBackupId is empty); set spec.backupRef.backupId", ns, ref.Name)}
		}
	}
	if ref.Storage != nil {
		storage = ref.Storage
	}
	if id == "" {
		return nil, "", nil, &configError{"InvalidSpec", "spec.backupRef.backupId is required with spec.backupRef.storage"}
	}
	return storage, id, cluster, nil
}

// Reconcile creates the restore's ConfigMap and Job once, then follows the Job.
func (r *KafkaRestoreReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return reconcileRun(ctx, runReconciler{r.Client, r.Recorder, r.Options, r.now}, req, &kbv1.KafkaRestore{}, r.reconcile)
}

func (r *KafkaRestoreReconciler) reconcile(ctx context.Context, kr *kbv1.KafkaRestore) (ctrl.Result, error) {
	name := jobName(kr.Name, "restore")
	job := &batchv1.Job{}
	err := r.Get(ctx, types.NamespacedName{Namespace: kr.Namespace, Name: name}, job)
	if apierrors.IsNotFound(err) {
		if kr.Status.JobName != "" {
			// The Job ran and is gone (deleted by hand or by a TTL): a restore never runs twice.
			return ctrl.Result{}, nil
		}
		if err := r.createJob(ctx, kr, name); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	o, err := inspectJob(ctx, r.APIReader, job)
	if err != nil {
		return ctrl.Result{}, err
	}
	kr.Status.JobName = job.Name
	kr.Status.StartTime = job.Status.StartTime
	switch {
	case !o.done:
		setPhase(&kr.Status.RunStatus, kr.Generation, kbv1.PhaseRunning, "RestoreRunning", "Job "+job.Name+" is running")
	case !o.failed:
		first := kr.Status.Phase != kbv1.PhaseCompleted
		kr.Status.CompletionTime = job.Status.CompletionTime
		kr.Status.ProgressPercent = 100
		kr.Status.RecordsRestored = o.summary.Records
		kr.Status.BytesRestored = o.summary.Bytes
		kr.Status.RestoreID = o.summary.RestoreID
		msg := fmt.Sprintf("restored %d records (%d bytes) of backup %s", o.summary.Records, o.summary.Bytes, kr.Status.BackupID)
		if !o.summOK {
			msg = "the restore Job finished; its pod left no run summary"
		}
		setPhase(&kr.Status.RunStatus, kr.Generation, kbv1.PhaseCompleted, "RestoreSucceeded", msg)
		if first {
			r.Recorder.Eventf(kr, job, corev1.EventTypeNormal, "RestoreSucceeded", "Restore", "%s", msg)
		}
	default:
		first := kr.Status.Phase != kbv1.PhaseFailed
		kr.Status.CompletionTime = job.Status.CompletionTime
		msg := "restore Job " + job.Name + " failed"
		if o.exitCode != nil {
			msg += fmt.Sprintf(" (exit %d)", *o.exitCode)
		}
		if o.message != "" {
			msg += ": " + o.message
		}
		setPhase(&kr.Status.RunStatus, kr.Generation, kbv1.PhaseFailed, "RestoreFailed", msg)
		if first {
			r.Recorder.Eventf(kr, job, corev1.EventTypeWarning, "RestoreFailed", "Restore", "%s", msg)
		}
	}
	return ctrl.Result{}, nil
}

func (r *KafkaRestoreReconciler) createJob(ctx context.Context, kr *kbv1.KafkaRestore, name string) error {
	storage, id, cluster, err := resolveBackupRef(ctx, r.Client, kr.Namespace, kr.Spec.BackupRef)
	if err != nil {
		return err
	}
	if kr.Spec.KafkaCluster != nil {
		cluster = kr.Spec.KafkaCluster
	}
	if cluster == nil {
		return &configError{"InvalidSpec", "spec.kafkaCluster is required when spec.backupRef names no KafkaBackup"}
	}
	w := &podWiring{}
	cfg, err := restoreConfig(kr, id, cluster, storage, w)
	if err != nil {
		return &configError{"InvalidSpec", err.Error()}
	}
	if err := checkSecrets(ctx, r.APIReader, kr.Namespace, w.secrets); err != nil {
		return err
	}
	text, err := renderConfig(cfg, "KafkaRestore "+kr.Namespace+"/"+kr.Name)
	if err != nil {
		return err
	}
	labels := commonLabels(kr.Name, "restore")
	labels[labelRestore] = kr.Name
	cmName := jobName(kr.Name, "restore-config")
	if err := applyConfigMap(ctx, r.Client, kr, cmName, labels, map[string]string{configKey: text}); err != nil {
		return err
	}
	args := []string{"restore", "--config", configFile, "--no-progress"}
	if kr.Spec.DryRun {
		args = append(args, "--dry-run")
	}
	tpl := podTemplate(r.Options.Image, kr.Spec.Pod, cmName, args, w, labels, nil, corev1.RestartPolicyNever)
	// A restore is not retried by the Job: kafka-backup resumes from its own state when re-run by hand.
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: kr.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{BackoffLimit: ptr.To(int32(0)), Template: tpl}}
	if err := controllerutil.SetControllerReference(kr, job, r.Scheme()); err != nil {
		return err
	}
	if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	kr.Status.JobName = name
	kr.Status.BackupID = id
	setPhase(&kr.Status.RunStatus, kr.Generation, kbv1.PhaseRunning, "RestoreStarted", "created Job "+name)
	r.Recorder.Eventf(kr, job, corev1.EventTypeNormal, "Created", "Reconcile", "created Job %s (restore of backup %s)", name, id)
	return nil
}

// SetupWithManager registers the controller.
func (r *KafkaRestoreReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&kbv1.KafkaRestore{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&batchv1.Job{}).
		Owns(&corev1.ConfigMap{}).
		Named("kafkarestore").
		Complete(r)
}
