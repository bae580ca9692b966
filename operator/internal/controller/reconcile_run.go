package controller

// reconcileRun: the Reconcile skeleton the KafkaBackup, KafkaRestore and KafkaBackupValidation
// controllers share (read, reconcile, report a problem with the resource, write the status).

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// runResource is a resource whose status holds a RunStatus.
type runResource interface {
	client.Object
	GetRunStatus() *kbv1.RunStatus
}

// runReconciler is what reconcileRun needs of a controller.
type runReconciler struct {
	client   client.Client
	recorder recorder.EventRecorder
	options  Options
	now      func() time.Time
}

// reconcileRun reads obj, lets reconcile bring its objects and status up to date, turns a
// configError (a problem with the resource itself: a missing Secret, a bad field) into a Failed
// status with one Warning event per new message and a wait that grows while it keeps failing (no
// hot loop), and writes the status when it changed. reconcile changes only obj's status.
func reconcileRun[T runResource](ctx context.Context, r runReconciler, req ctrl.Request, obj T,
	reconcile func(context.Context, T) (ctrl.Result, error)) (ctrl.Result, error) {
	if err := r.client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := obj.DeepCopyObject()
	res, err := reconcile(ctx, obj)
	st := obj.GetRunStatus()
	if ce, ok := asConfigError(err); ok {
		log.FromContext(ctx).Info("resource not runnable", "reason", ce.reason, "message", ce.message)
		if c := findCond(st.Conditions, kbv1.ConditionFailed); c == nil || c.Status != metav1.ConditionTrue || c.Message != ce.message {
			r.recorder.Eventf(obj, nil, corev1.EventTypeWarning, ce.reason, "Reconcile", "%s", ce.message)
		}
		setPhase(st, obj.GetGeneration(), kbv1.PhaseFailed, ce.reason, ce.message)
		res = ctrl.Result{RequeueAfter: r.options.retryAfter(st.Conditions, r.now())}
		err = nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if !equality.Semantic.DeepEqual(before, obj) {
		if uerr := r.client.Status().Update(ctx, obj); uerr != nil {
			if apierrors.IsConflict(uerr) {
				// Changed meanwhile (by us, a moment ago): look again with the new version.
				return ctrl.Result{RequeueAfter: conflictRetry}, nil
			}
			return ctrl.Result{}, uerr
		}
	}
	log.FromContext(ctx).V(1).Info("reconciled", "phase", st.Phase, "requeueAfter", res.RequeueAfter)
	return res, nil
}
