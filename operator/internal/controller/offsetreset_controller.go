package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// KafkaOffsetResetReconciler accepts KafkaOffsetReset resources (so OSO manifests apply) and
// reports them Failed/Unsupported: kafka-backup has no stand-alone offset-reset command; a
// KafkaRestore with consumerGroups translates and commits offsets.
type KafkaOffsetResetReconciler struct {
	client.Client
	Recorder recorder.EventRecorder
}

const offsetResetUnsupported = "kafka-backup has no stand-alone offset reset yet: consumer-group offsets are " +
	"translated and committed by a KafkaRestore with spec.consumerGroups"

// Reconcile sets the Unsupported condition once per generation.
func (r *KafkaOffsetResetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	o := &kbv1.KafkaOffsetReset{}
	if err := r.Get(ctx, req.NamespacedName, o); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := o.Status.DeepCopy()
	setPhase(&o.Status.RunStatus, o.Generation, kbv1.PhaseFailed, "Unsupported", offsetResetUnsupported)
	if equality.Semantic.DeepEqual(before, &o.Status) {
		return ctrl.Result{}, nil
	}
	r.Recorder.Eventf(o, nil, corev1.EventTypeWarning, "Unsupported", "Reconcile", "%s", offsetResetUnsupported)
	return ctrl.Result{}, r.Status().Update(ctx, o)
}

// SetupWithManager registers the controller.
func (r *KafkaOffsetResetReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&kbv1.KafkaOffsetReset{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("kafkaoffsetreset").
		Complete(r)
}
