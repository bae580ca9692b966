package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/yaml"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// conflictRetry is the wait after a status update lost a race with another write.
const conflictRetry = 200 * time.Millisecond

// Options are the operator-wide settings every reconciler shares.
type Options struct {
	// Image is the kafka-backup image the runs use unless a resource names another.
	Image string
	// MinBackoff and MaxBackoff bound the wait before a failed resource is looked at again.
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

func (o Options) backoffs() (time.Duration, time.Duration) {
	lo, hi := o.MinBackoff, o.MaxBackoff
	if lo <= 0 {
		lo = 10 * time.Second
	}
	if hi < lo {
		hi = 5 * time.Minute
	}
	return lo, hi
}

// retryAfter is the wait before looking at a failed resource again: as long as it has been
// failing (so the waits double), between the bounds. No hot loop, and no state beyond the
// Failed condition's transition time.
func (o Options) retryAfter(conds []metav1.Condition, now time.Time) time.Duration {
	lo, hi := o.backoffs()
	d := lo
	if c := meta.FindStatusCondition(conds, kbv1.ConditionFailed); c != nil && c.Status == metav1.ConditionTrue {
		if since := now.Sub(c.LastTransitionTime.Time); since > d {
			d = since
		}
	}
	if d > hi {
		d = hi
	}
	return d
}

// configError is a problem with the resource itself: reported as Failed, retried with backoff.
type configError struct {
	reason  string
	message string
}

func (e *configError) Error() string { return e.message }

func asConfigError(err error) (*configError, bool) {
	var ce *configError
	ok := errors.As(err, &ce)
	return ce, ok
}

// checkSecrets makes sure every Secret key the run needs exists, naming the first missing one.
// It reads Secrets uncached (no cluster-wide Secret informer) and never keeps their values.
func checkSecrets(ctx context.Context, r client.Reader, ns string, uses []secretUse) error {
	seen := map[string]*corev1.Secret{}
	for _, u := range uses {
		s, ok := seen[u.secret]
		if !ok {
			s = &corev1.Secret{}
			if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: u.secret}, s); err != nil {
				if apierrors.IsNotFound(err) {
					return &configError{"SecretNotFound", fmt.Sprintf(
						"Secret %s/%s (named by %s) does not exist: create it or fix the name", ns, u.secret, u.field)}
				}
				return fmt.Errorf("reading Secret %s/%s: %w", ns, u.secret, err)
			}
			seen[u.secret] = s
		}
		_, inData := s.Data[u.key]
		_, inString := s.StringData[u.key]
		if !inData && !inString {
			return &configError{"SecretKeyNotFound", fmt.Sprintf(
				"Secret %s/%s has no key %q (named by %s): add the key or fix %s", ns, u.secret, u.key, u.field, u.field)}
		}
	}
	return nil
}

// renderConfig is the ConfigMap text; a header says where the values come from.
func renderConfig(cfg map[string]any, owner string) (string, error) {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	return "# kafka-backup configuration written by the kafka-backup operator for " + owner +
		".\n# Credentials are ${VARIABLES} set from Secrets in the pod, never values.\n" + string(b), nil
}

func metaWith(labels, annotations map[string]string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Labels: map[string]string{}}
	for k, v := range labels {
		m.Labels[k] = v
	}
	if len(annotations) > 0 {
		m.Annotations = annotations
	}
	return m
}

// applyConfigMap creates or updates the run's ConfigMap, owned by owner.
func applyConfigMap(ctx context.Context, c client.Client, owner client.Object, name string, labels map[string]string,
	data map[string]string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: owner.GetNamespace()}}
	_, err := controllerutil.CreateOrUpdate(ctx, c, cm, func() error {
		if cm.Labels == nil {
			cm.Labels = map[string]string{}
		}
		for k, v := range labels {
			cm.Labels[k] = v
		}
		cm.Data = data
		return controllerutil.SetControllerReference(owner, cm, c.Scheme())
	})
	return err
}

// setCondition sets one condition with the resource's generation.
func setCondition(conds *[]metav1.Condition, gen int64, typ string, status bool, reason, msg string) {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
}

// setPhase sets the phase and the four conditions consistently.
func setPhase(st *kbv1.RunStatus, gen int64, phase, reason, msg string) {
	st.Phase = phase
	st.Message = msg
	st.ObservedGeneration = gen
	switch phase {
	case kbv1.PhaseFailed:
		setCondition(&st.Conditions, gen, kbv1.ConditionReady, false, reason, msg)
		setCondition(&st.Conditions, gen, kbv1.ConditionRunning, false, reason, msg)
		setCondition(&st.Conditions, gen, kbv1.ConditionSucceeded, false, reason, msg)
		setCondition(&st.Conditions, gen, kbv1.ConditionFailed, true, reason, msg)
	case kbv1.PhaseRunning:
		setCondition(&st.Conditions, gen, kbv1.ConditionReady, true, "Reconciled", "the run's resources exist")
		setCondition(&st.Conditions, gen, kbv1.ConditionRunning, true, reason, msg)
		setCondition(&st.Conditions, gen, kbv1.ConditionFailed, false, reason, msg)
	case kbv1.PhaseCompleted:
		setCondition(&st.Conditions, gen, kbv1.ConditionReady, true, "Reconciled", "the run's resources exist")
		setCondition(&st.Conditions, gen, kbv1.ConditionRunning, false, reason, msg)
		setCondition(&st.Conditions, gen, kbv1.ConditionSucceeded, true, reason, msg)
		setCondition(&st.Conditions, gen, kbv1.ConditionFailed, false, reason, msg)
	default: // Pending: resources are in place, nothing has run yet (or the next run is awaited)
		setCondition(&st.Conditions, gen, kbv1.ConditionReady, true, reason, msg)
		setCondition(&st.Conditions, gen, kbv1.ConditionRunning, false, reason, msg)
		setCondition(&st.Conditions, gen, kbv1.ConditionFailed, false, reason, msg)
	}
}

// jobName keeps a generated name a valid DNS label (63 characters).
func jobName(base, suffix string) string {
	max := 63 - len(suffix) - 1
	if len(base) > max {
		base = base[:max]
	}
	return base + "-" + suffix
}
