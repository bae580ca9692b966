package controller

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// KafkaBackupReconciler turns a KafkaBackup into a ConfigMap plus a Job (one-shot), a CronJob
// (schedule) or a Deployment (continuous), and reports the runs in its status.
type KafkaBackupReconciler struct {
	client.Client
	// APIReader reads Secrets and Pods uncached (no cluster-wide informers on them).
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	Options   Options
	// Now is the clock (tests may fix it).
	Now func() time.Time
}

// +kubebuilder:rbac:groups=kafka.oso.sh,resources=kafkabackups;kafkarestores;kafkaoffsetresets;kafkabackupvalidations,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=kafka.oso.sh,resources=kafkabackups/status;kafkarestores/status;kafkaoffsetresets/status;kafkabackupvalidations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=configmaps;persistentvolumeclaims,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list
// +kubebuilder:rbac:groups=batch,resources=jobs;cronjobs,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

func (r *KafkaBackupReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Reconcile brings one KafkaBackup's objects and status up to date.
func (r *KafkaBackupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return reconcileRun(ctx, runReconciler{r.Client, r.Recorder, r.Options, r.now}, req, &kbv1.KafkaBackup{}, r.reconcile)
}

func (r *KafkaBackupReconciler) reconcile(ctx context.Context, kb *kbv1.KafkaBackup) (ctrl.Result, error) {
	w := &podWiring{}
	cfg, err := backupConfig(kb, w)
	if err != nil {
		return ctrl.Result{}, &configError{"InvalidSpec", err.Error()}
	}
	schedule := ""
	if kb.Spec.Schedule != "" && !kb.Spec.Continuous {
		if schedule, err = kubeSchedule(kb.Spec.Schedule); err != nil {
			return ctrl.Result{}, &configError{"InvalidSchedule", err.Error()}
		}
	}
	if err := checkSecrets(ctx, r.APIReader, kb.Namespace, w.secrets); err != nil {
		return ctrl.Result{}, err
	}
	text, err := renderConfig(cfg, "KafkaBackup "+kb.Namespace+"/"+kb.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	labels := commonLabels(kb.Name, "backup")
	labels[labelBackup] = kb.Name
	cmName := kb.Name + "-config"
	if err := applyConfigMap(ctx, r.Client, kb, cmName, labels, map[string]string{configKey: text}); err != nil {
		return ctrl.Result{}, err
	}
	if w.pvcToCreate != nil {
		if err := r.ensurePVC(ctx, kb, w.pvcToCreate, labels); err != nil {
			return ctrl.Result{}, err
		}
	}
	for _, msg := range w.warnings {
		r.Recorder.Eventf(kb, nil, corev1.EventTypeWarning, "InsecureStorage", "Reconcile", "%s", msg)
	}
	args := []string{"backup", "--config", configFile, "--no-progress"}
	annotations := map[string]string{"kafka.oso.sh/config-hash": hashOf(text)}
	image := r.Options.Image
	kb.Status.Workers = workerCount(kb)
	kb.Status.WorkerGroupID = ""
	if kb.Status.Workers > 1 {
		kb.Status.WorkerGroupID = workerGroupID(kb)
	}

	switch {
	case kb.Spec.Continuous:
		if err := r.deleteIfOwned(ctx, &batchv1.CronJob{}, kb.Name, kb); err != nil {
			return ctrl.Result{}, err
		}
		env := []corev1.EnvVar{{Name: envBackupID, Value: kb.Name}}
		tpl := podTemplate(image, kb.Spec.Pod, cmName, args, w, labels, env, corev1.RestartPolicyAlways)
		tpl.Annotations = mergeMaps(tpl.Annotations, annotations)
		dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: kb.Name, Namespace: kb.Namespace}}
		op, err := controllerutil.CreateOrUpdate(ctx, r.Client, dep, func() error {
			dep.Labels = labels
			replicas := workerCount(kb)
			if kb.Spec.Suspend {
				replicas = 0
			}
			dep.Spec.Replicas = &replicas
			dep.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{labelBackup: kb.Name, labelComponent: "backup"}}
			dep.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
			dep.Spec.Template = tpl
			return controllerutil.SetControllerReference(kb, dep, r.Scheme())
		})
		if err != nil {
			return ctrl.Result{}, err
		}
		if op == controllerutil.OperationResultCreated {
			r.Recorder.Eventf(kb, dep, corev1.EventTypeNormal, "Created", "Reconcile", "created Deployment %s for the continuous backup", dep.Name)
		}
		kb.Status.BackupID = kb.Name
		kb.Status.ActiveWorkers = dep.Status.AvailableReplicas
		if dep.Status.AvailableReplicas > 0 {
			setPhase(&kb.Status.RunStatus, kb.Generation, kbv1.PhaseRunning, "BackupRunning", "the continuous backup is running")
		} else if kb.Spec.Suspend {
			setPhase(&kb.Status.RunStatus, kb.Generation, kbv1.PhasePending, "Suspended", "the continuous backup is suspended")
		} else {
			setPhase(&kb.Status.RunStatus, kb.Generation, kbv1.PhasePending, "Starting", "waiting for the backup pod")
		}
		return ctrl.Result{}, nil

	case schedule != "":
		if err := r.deleteIfOwned(ctx, &appsv1.Deployment{}, kb.Name, kb); err != nil {
			return ctrl.Result{}, err
		}
		// Each run's backup id is its Job's name (<cronjob>-<scheduled minute>): unique per run.
		env := []corev1.EnvVar{{Name: envBackupID, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['" + jobLabel + "']"}}}}
		tpl := podTemplate(image, kb.Spec.Pod, cmName, args, w, labels, env, corev1.RestartPolicyNever)
		tpl.Annotations = mergeMaps(tpl.Annotations, annotations)
		cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: kb.Name, Namespace: kb.Namespace}}
		op, err := controllerutil.CreateOrUpdate(ctx, r.Client, cj, func() error {
			cj.Labels = labels
			cj.Spec.Schedule = schedule
			cj.Spec.Suspend = ptr.To(kb.Spec.Suspend)
			cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
			cj.Spec.SuccessfulJobsHistoryLimit = ptr.To(int32(3))
			cj.Spec.FailedJobsHistoryLimit = ptr.To(int32(3))
			cj.Spec.JobTemplate.Labels = labels
			cj.Spec.JobTemplate.Spec.BackoffLimit = ptr.To(int32(1))
			cj.Spec.JobTemplate.Spec.Parallelism = jobWorkers(kb)
			cj.Spec.JobTemplate.Spec.Completions = jobWorkers(kb)
			cj.Spec.JobTemplate.Spec.Template = tpl
			return controllerutil.SetControllerReference(kb, cj, r.Scheme())
		})
		if err != nil {
			return ctrl.Result{}, err
		}
		if op == controllerutil.OperationResultCreated {
			r.Recorder.Eventf(kb, cj, corev1.EventTypeNormal, "Created", "Reconcile", "created CronJob %s (schedule %q)", cj.Name, schedule)
		}
		if next, ok := nextRun(schedule, r.now()); ok && !kb.Spec.Suspend {
			kb.Status.NextScheduledBackup = &metav1.Time{Time: next.Truncate(time.Second)}
		} else {
			kb.Status.NextScheduledBackup = nil
		}
	default:
		if err := r.deleteIfOwned(ctx, &appsv1.Deployment{}, kb.Name, kb); err != nil {
			return ctrl.Result{}, err
		}
		if err := r.deleteIfOwned(ctx, &batchv1.CronJob{}, kb.Name, kb); err != nil {
			return ctrl.Result{}, err
		}
		// One run per generation of the spec; its name is the backup id.
		name := jobName(kb.Name, fmt.Sprintf("g%d", kb.Generation))
		job := &batchv1.Job{}
		err := r.Get(ctx, types.NamespacedName{Namespace: kb.Namespace, Name: name}, job)
		if apierrors.IsNotFound(err) && !kb.Spec.Suspend {
			env := []corev1.EnvVar{{Name: envBackupID, Value: name}}
			tpl := podTemplate(image, kb.Spec.Pod, cmName, args, w, labels, env, corev1.RestartPolicyNever)
			tpl.Annotations = mergeMaps(tpl.Annotations, annotations)
			job = &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: kb.Namespace, Labels: labels},
				Spec: batchv1.JobSpec{BackoffLimit: ptr.To(int32(1)), Parallelism: jobWorkers(kb), Completions: jobWorkers(kb),
					Template: tpl}}
			if err := controllerutil.SetControllerReference(kb, job, r.Scheme()); err != nil {
				return ctrl.Result{}, err
			}
			if err := r.Create(ctx, job); err != nil {
				return ctrl.Result{}, err
			}
			r.Recorder.Eventf(kb, job, corev1.EventTypeNormal, "Created", "Reconcile", "created Job %s (backup id %s)", name, name)
		} else if err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
	}
	if err := r.reconcileRetention(ctx, kb, storageOf(kb), schedule, w); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.reportRuns(ctx, kb, schedule != "")
}

func storageOf(kb *kbv1.KafkaBackup) *kbv1.StorageSpec {
	if kb.Spec.Storage != nil {
		return kb.Spec.Storage
	}
	return defaultStorage(kb.Name)
}

// reconcileRetention keeps a CronJob `<name>-retention` running `kafka-backup prune` (whole
// backup ids only; keepLast is a floor, default 1) on the backup's schedule, or daily for
// one-shot and continuous backups; without retention.enabled it removes that CronJob.
func (r *KafkaBackupReconciler) reconcileRetention(ctx context.Context, kb *kbv1.KafkaBackup, storage *kbv1.StorageSpec,
	schedule string, w *podWiring) error {
	name := jobName(kb.Name, "retention")
	ret := kb.Spec.Retention
	if ret == nil || !ret.Enabled {
		return r.deleteIfOwned(ctx, &batchv1.CronJob{}, name, kb)
	}
	keep := int32(1)
	if ret.KeepLast != nil {
		keep = *ret.KeepLast
	}
	args := []string{"prune", "--path", storageURL(storage), "--keep-last", fmt.Sprint(keep)}
	if ret.MaxAgeDays != nil {
		args = append(args, "--max-age-days", fmt.Sprint(*ret.MaxAgeDays))
	}
	if ret.DryRun {
		args = append(args, "--dry-run")
	}
	if schedule == "" {
		schedule = "30 3 * * *"
	}
	labels := commonLabels(kb.Name, "retention")
	labels[labelRetention] = kb.Name
	tpl := podTemplate(r.Options.Image, kb.Spec.Pod, kb.Name+"-config", args, w, labels, nil, corev1.RestartPolicyNever)
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: kb.Namespace}}
	_, err := controllerutil.CreateOrUpdate(ctx, r.Client, cj, func() error {
		cj.Labels = labels
		cj.Spec.Schedule = schedule
		cj.Spec.Suspend = ptr.To(kb.Spec.Suspend)
		cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
		cj.Spec.SuccessfulJobsHistoryLimit = ptr.To(int32(1))
		cj.Spec.FailedJobsHistoryLimit = ptr.To(int32(3))
		cj.Spec.JobTemplate.Labels = labels
		cj.Spec.JobTemplate.Spec.BackoffLimit = ptr.To(int32(1))
		cj.Spec.JobTemplate.Spec.Template = tpl
		return controllerutil.SetControllerReference(kb, cj, r.Scheme())
	})
	return err
}

// reportRuns reads the newest run's Job (and its pod's summary) into the status.
func (r *KafkaBackupReconciler) reportRuns(ctx context.Context, kb *kbv1.KafkaBackup, scheduled bool) error {
	job, err := newestJob(ctx, r.Client, kb.Namespace, map[string]string{labelBackup: kb.Name})
	if err != nil {
		return err
	}
	if job == nil {
		kb.Status.ActiveWorkers = 0
		if scheduled {
			msg := "waiting for the schedule"
			if kb.Status.NextScheduledBackup != nil {
				msg += "; next run at " + kb.Status.NextScheduledBackup.UTC().Format(time.RFC3339)
			}
			setPhase(&kb.Status.RunStatus, kb.Generation, kbv1.PhasePending, "Scheduled", msg)
		} else {
			setPhase(&kb.Status.RunStatus, kb.Generation, kbv1.PhasePending, "Suspended", "the backup is suspended")
		}
		return nil
	}
	o, err := inspectJob(ctx, r.APIReader, job)
	if err != nil {
		return err
	}
	kb.Status.ActiveWorkers = job.Status.Active
	kb.Status.BackupID = job.Name
	switch {
	case o.active || !o.done:
		setPhase(&kb.Status.RunStatus, kb.Generation, kbv1.PhaseRunning, "BackupRunning", "Job "+job.Name+" is running")
	case !o.failed:
		id := job.Name
		if o.summOK && o.summary.BackupID != "" {
			id = o.summary.BackupID
		}
		newRun := kb.Status.LastJobName != job.Name || kb.Status.Phase != kbv1.PhaseCompleted
		kb.Status.LastJobName = job.Name
		kb.Status.LastBackupID = id
		if job.Status.CompletionTime != nil {
			kb.Status.LastBackupTime = job.Status.CompletionTime
		}
		kb.Status.RecordsProcessed = o.summary.Records
		kb.Status.BytesProcessed = o.summary.Bytes
		kb.Status.SegmentsCompleted = o.summary.Segments
		kb.Status.Resumable = false
		msg := fmt.Sprintf("backup %s: %d records, %d bytes", id, o.summary.Records, o.summary.Bytes)
		if !o.summOK {
			msg = fmt.Sprintf("backup %s finished; its pod left no run summary", id)
		}
		setPhase(&kb.Status.RunStatus, kb.Generation, kbv1.PhaseCompleted, "BackupSucceeded", msg)
		if newRun {
			r.Recorder.Eventf(kb, job, corev1.EventTypeNormal, "BackupSucceeded", "Backup", "%s", msg)
		}
	default:
		newRun := kb.Status.LastJobName != job.Name || kb.Status.Phase != kbv1.PhaseFailed
		kb.Status.LastJobName = job.Name
		kb.Status.Resumable = true
		msg := "backup Job " + job.Name + " failed"
		if o.exitCode != nil {
			msg += fmt.Sprintf(" (exit %d)", *o.exitCode)
		}
		if o.message != "" {
			msg += ": " + o.message
		}
		setPhase(&kb.Status.RunStatus, kb.Generation, kbv1.PhaseFailed, "BackupFailed", msg)
		if newRun {
			r.Recorder.Eventf(kb, job, corev1.EventTypeWarning, "BackupFailed", "Backup", "%s", msg)
		}
	}
	return nil
}

// ensurePVC creates the backup claim when asked; it is not owned by the KafkaBackup, so deleting
// the resource never deletes the backups.
func (r *KafkaBackupReconciler) ensurePVC(ctx context.Context, kb *kbv1.KafkaBackup, p *kbv1.PVCStorage, labels map[string]string) error {
	pvc := &corev1.PersistentVolumeClaim{}
	err := r.Get(ctx, types.NamespacedName{Namespace: kb.Namespace, Name: p.ClaimName}, pvc)
	if err == nil || !apierrors.IsNotFound(err) {
		return err
	}
	size := resource.MustParse("100Gi")
	if p.Create.Size != nil {
		size = *p.Create.Size
	}
	modes := p.Create.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	pvc = &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: p.ClaimName, Namespace: kb.Namespace, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: modes, StorageClassName: p.Create.StorageClassName,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}}},
	}
	if err := r.Create(ctx, pvc); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	r.Recorder.Eventf(kb, pvc, corev1.EventTypeNormal, "Created", "Reconcile", "created PersistentVolumeClaim %s (%s)", p.ClaimName, size.String())
	return nil
}

// deleteIfOwned removes an object of another mode (e.g. the CronJob after switching to continuous).
func (r *KafkaBackupReconciler) deleteIfOwned(ctx context.Context, obj client.Object, name string, owner client.Object) error {
	if err := r.Get(ctx, types.NamespacedName{Namespace: owner.GetNamespace(), Name: name}, obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(obj, owner) {
		return nil
	}
	return client.IgnoreNotFound(r.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)))
}

func mergeMaps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func findCond(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// jobsToOwner maps a Job (ours or one a CronJob made) to the resource named by its label.
func jobsToOwner(label string) handler.MapFunc {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		name := o.GetLabels()[label]
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
	}
}

// SetupWithManager registers the controller: KafkaBackup spec changes, the objects it owns, and
// every Job labelled with its name (the CronJob's Jobs are owned by the CronJob).
func (r *KafkaBackupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&kbv1.KafkaBackup{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&corev1.ConfigMap{}).
		Owns(&batchv1.CronJob{}).
		Owns(&appsv1.Deployment{}).
		Watches(&batchv1.Job{}, handler.EnqueueRequestsFromMapFunc(jobsToOwner(labelBackup))).
		Named("kafkabackup").
		Complete(r)
}
