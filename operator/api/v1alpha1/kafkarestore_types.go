package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackupRef points at the backup to restore: a KafkaBackup (its storage and, by default, its
// newest backup id) or a storage block for a backup made elsewhere.
type BackupRef struct {
	// A KafkaBackup in the same namespace.
	// +optional
	Name string `json:"name,omitempty"`
	// Only the resource's own namespace is supported (pods read Secrets of their namespace).
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Default: the KafkaBackup's status.lastBackupId.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._-]+$`
	// +optional
	BackupID string `json:"backupId,omitempty"`
	// +optional
	Storage *StorageSpec `json:"storage,omitempty"`
}

// PITRSpec restores only the records in a time window (both bounds inclusive); each bound is
// RFC 3339 or epoch milliseconds.
type PITRSpec struct {
	// +optional
	StartTime string `json:"startTime,omitempty"`
	// +optional
	EndTime string `json:"endTime,omitempty"`
	// +optional
	StartTimestamp *int64 `json:"startTimestamp,omitempty"`
	// +optional
	EndTimestamp *int64 `json:"endTimestamp,omitempty"`
}

// RepartitionRule spreads a topic's records over a new partition count.
type RepartitionRule struct {
	// +kubebuilder:validation:Enum=murmur2;automatic
	// +optional
	Strategy string `json:"strategy,omitempty"`
	// +kubebuilder:validation:Minimum=1
	TargetPartitions int32 `json:"targetPartitions"`
}

// OffsetResetSpec translates and commits consumer-group offsets after the restore.
type OffsetResetSpec struct {
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// +optional
	ConsumerGroups []string `json:"consumerGroups,omitempty"`
	// +optional
	Strategy string `json:"strategy,omitempty"`
}

// RollbackSpec is accepted for compatibility.
type RollbackSpec struct {
	// +optional
	SnapshotBeforeRestore bool `json:"snapshotBeforeRestore,omitempty"`
	// +optional
	AutoRollbackOnFailure bool `json:"autoRollbackOnFailure,omitempty"`
}

// KafkaRestoreSpec is one restore of a backup set.
// +kubebuilder:validation:XValidation:rule="has(self.backupRef.name) || has(self.backupRef.storage)",message="backupRef needs name (a KafkaBackup) or storage"
type KafkaRestoreSpec struct {
	BackupRef BackupRef `json:"backupRef"`
	// The cluster to restore into; absent: the KafkaBackup's cluster.
	// +optional
	KafkaCluster *KafkaClusterSpec `json:"kafkaCluster,omitempty"`
	// Topics of the backup to restore; empty: all.
	// +optional
	Topics []string `json:"topics,omitempty"`
	// +optional
	TopicMapping map[string]string `json:"topicMapping,omitempty"`
	// +optional
	PartitionMapping map[string]int32 `json:"partitionMapping,omitempty"`
	// +optional
	Repartitioning map[string]RepartitionRule `json:"repartitioning,omitempty"`
	// +optional
	PITR *PITRSpec `json:"pitr,omitempty"`
	// +optional
	CreateTopics bool `json:"createTopics,omitempty"`
	// +optional
	PurgeTopics bool `json:"purgeTopics,omitempty"`
	// +kubebuilder:validation:Pattern=`^(all|-1|1)$`
	// +optional
	ProduceAcks string `json:"produceAcks,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +optional
	ProduceTimeoutMs *int32 `json:"produceTimeoutMs,omitempty"`
	// Consumer groups whose offsets are translated and committed.
	// +optional
	ConsumerGroups []string `json:"consumerGroups,omitempty"`
	// +optional
	AutoConsumerGroups bool `json:"autoConsumerGroups,omitempty"`
	// +optional
	OffsetReset *OffsetResetSpec `json:"offsetReset,omitempty"`
	// +optional
	AllowGaps bool `json:"allowGaps,omitempty"`
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
	// +optional
	RateLimiting *RateLimiting `json:"rateLimiting,omitempty"`
	// +optional
	CircuitBreaker *CircuitBreaker `json:"circuitBreaker,omitempty"`
	// +optional
	Rollback *RollbackSpec `json:"rollback,omitempty"`
	// +optional
	Pod *PodSpec `json:"pod,omitempty"`
}

// KafkaRestoreStatus reports the restore Job.
type KafkaRestoreStatus struct {
	RunStatus `json:",inline"`
	// +optional
	BackupID string `json:"backupId,omitempty"`
	// +optional
	RestoreID string `json:"restoreId,omitempty"`
	// +optional
	ProgressPercent int32 `json:"progressPercent,omitempty"`
	// +optional
	RecordsRestored int64 `json:"recordsRestored,omitempty"`
	// +optional
	BytesRestored int64 `json:"bytesRestored,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// +optional
	JobName string `json:"jobName,omitempty"`
}

// KafkaRestore restores a backup set into a Kafka cluster with kafka-backup, in a Job.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=kr,categories=kafka-backup
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Progress",type=integer,JSONPath=`.status.progressPercent`
// +kubebuilder:printcolumn:name="Records",type=integer,JSONPath=`.status.recordsRestored`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type KafkaRestore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   KafkaRestoreSpec   `json:"spec"`
	Status KafkaRestoreStatus `json:"status,omitempty"`
}

// KafkaRestoreList is a list of KafkaRestore.
// +kubebuilder:object:root=true
type KafkaRestoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KafkaRestore `json:"items"`
}

func init() {
	SchemeBuilder.Register(&KafkaRestore{}, &KafkaRestoreList{})
}
