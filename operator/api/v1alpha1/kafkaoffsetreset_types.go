package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KafkaOffsetResetSpec resets consumer-group offsets.
type KafkaOffsetResetSpec struct {
	KafkaCluster KafkaClusterSpec `json:"kafkaCluster"`
	// +kubebuilder:validation:MinItems=1
	ConsumerGroups []string `json:"consumerGroups"`
	// +optional
	Topics []string `json:"topics,omitempty"`
	// +kubebuilder:validation:Enum=to-earliest;to-latest;to-timestamp;to-offset
	// +kubebuilder:default=to-earliest
	// +optional
	ResetStrategy string `json:"resetStrategy,omitempty"`
	// For to-timestamp (epoch ms or RFC 3339).
	// +optional
	Timestamp string `json:"timestamp,omitempty"`
	// For to-offset.
	// +optional
	Offset *int64 `json:"offset,omitempty"`
	// +optional
	Pod *PodSpec `json:"pod,omitempty"`
}

// KafkaOffsetResetStatus reports the reset.
type KafkaOffsetResetStatus struct {
	RunStatus `json:",inline"`
}

// KafkaOffsetReset resets consumer-group offsets: the operator runs one Job with
// `kafka-backup reset-offsets` (the groups must be inactive) and reports its outcome.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=kor,categories=kafka-backup
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Strategy",type=string,JSONPath=`.spec.resetStrategy`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type KafkaOffsetReset struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   KafkaOffsetResetSpec   `json:"spec"`
	Status KafkaOffsetResetStatus `json:"status,omitempty"`
}

// KafkaOffsetResetList is a list of KafkaOffsetReset.
// +kubebuilder:object:root=true
type KafkaOffsetResetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KafkaOffsetReset `json:"items"`
}

func init() {
	SchemeBuilder.Register(&KafkaOffsetReset{}, &KafkaOffsetResetList{})
}
