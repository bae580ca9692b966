package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KafkaBackupValidationSpec checks one backup set with `kafka-backup validate --deep`.
// +kubebuilder:validation:XValidation:rule="has(self.backupRef.name) || has(self.backupRef.storage)",message="backupRef needs name (a KafkaBackup) or storage"
type KafkaBackupValidationSpec struct {
	BackupRef BackupRef `json:"backupRef"`
	// Read and verify every segment (default true).
	// +kubebuilder:default=true
	// +optional
	Deep *bool `json:"deep,omitempty"`
	// Days to keep the evidence report ConfigMap; 0: keep it with the resource.
	// +kubebuilder:validation:Minimum=0
	// +optional
	RetentionDays *int32 `json:"retentionDays,omitempty"`
	// +optional
	Pod *PodSpec `json:"pod,omitempty"`
}

// KafkaBackupValidationStatus reports the validation and where its evidence report is.
type KafkaBackupValidationStatus struct {
	RunStatus `json:",inline"`
	// +optional
	BackupID string `json:"backupId,omitempty"`
	// +optional
	Valid *bool `json:"valid,omitempty"`
	// +optional
	ExitCode *int32 `json:"exitCode,omitempty"`
	// The ConfigMap holding the evidence report (report.json).
	// +optional
	EvidenceReport string `json:"evidenceReport,omitempty"`
	// +optional
	JobName string `json:"jobName,omitempty"`
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
}

// KafkaBackupValidation validates a backup set and keeps an evidence report (no secrets in it).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=kbv,categories=kafka-backup
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Backup",type=string,JSONPath=`.status.backupId`
// +kubebuilder:printcolumn:name="Valid",type=boolean,JSONPath=`.status.valid`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type KafkaBackupValidation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   KafkaBackupValidationSpec   `json:"spec"`
	Status KafkaBackupValidationStatus `json:"status,omitempty"`
}

// KafkaBackupValidationList is a list of KafkaBackupValidation.
// +kubebuilder:object:root=true
type KafkaBackupValidationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KafkaBackupValidation `json:"items"`
}

func init() {
	SchemeBuilder.Register(&KafkaBackupValidation{}, &KafkaBackupValidationList{})
}
