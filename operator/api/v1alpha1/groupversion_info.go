// Package v1alpha1 holds the kafka.oso.sh/v1alpha1 resources the operator serves: KafkaBackup,
// KafkaRestore, KafkaOffsetReset and KafkaBackupValidation (field-compatible with the OSO operator).
// +kubebuilder:object:generate=true
// +groupName=kafka.oso.sh
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every resource here.
	GroupVersion = schema.GroupVersion{Group: "kafka.oso.sh", Version: "v1alpha1"}

	// SchemeBuilder registers the resources with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the resources to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
