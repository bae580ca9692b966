package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KafkaBackupSpec is a scheduled, one-shot or continuous backup.
type KafkaBackupSpec struct {
	KafkaCluster KafkaClusterSpec `json:"kafkaCluster"`
	// Topic names or patterns (globs, "~regex"); empty: every topic but the internal ones.
	// +optional
	Topics []string `json:"topics,omitempty"`
	// Topics to leave out.
	// +optional
	ExcludeTopics []string `json:"excludeTopics,omitempty"`
	// Where the backup goes; absent: a PVC named <name>-backups that the operator creates.
	// +optional
	Storage *StorageSpec `json:"storage,omitempty"`
	// Cron: the Kubernetes 5-field form, or the OSO form with seconds first and a year last (7
	// fields, e.g. "0 0 */6 * * * *"), or a 6-field form with seconds; also @hourly, @daily, ...
	// Absent and not continuous: one backup runs once.
	// +kubebuilder:validation:Pattern=`^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9A-Za-z*?/,#-]+( +[0-9A-Za-z*?/,#-]+){4,6})$`
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// Run a continuous backup (a Deployment) instead of runs.
	// +optional
	Continuous bool `json:"continuous,omitempty"`
	// Pause the schedule or the continuous backup.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// +kubebuilder:validation:Enum=zstd;lz4;none
	// +kubebuilder:default=zstd
	// +optional
	Compression string `json:"compression,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=22
	// +kubebuilder:default=3
	// +optional
	CompressionLevel *int32 `json:"compressionLevel,omitempty"`
	// Snapshot: stop at the end offsets seen when the run starts.
	// +optional
	StopAtCurrentOffsets bool `json:"stopAtCurrentOffsets,omitempty"`
	// Capture consumer-group offsets with the backup.
	// +optional
	ConsumerGroupSnapshot bool `json:"consumerGroupSnapshot,omitempty"`
	// +optional
	IncludeOffsetHeaders bool `json:"includeOffsetHeaders,omitempty"`
	// +optional
	SourceClusterID string `json:"sourceClusterId,omitempty"`
	// +optional
	Checkpoint *CheckpointSpec `json:"checkpoint,omitempty"`
	// +optional
	RateLimiting *RateLimiting `json:"rateLimiting,omitempty"`
	// +optional
	CircuitBreaker *CircuitBreaker `json:"circuitBreaker,omitempty"`
	// +optional
	Retention *RetentionSpec `json:"retention,omitempty"`
	// Pod settings for the runs.
	// +optional
	Pod *PodSpec `json:"pod,omitempty"`
	// Worker processes that share the backup through one Kafka group (docs/scale-out.md): a
	// continuous backup runs a Deployment with this many replicas, a one-shot or scheduled backup
	// Jobs with this parallelism and completions. 1: one process and no group, as without the field.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	// +kubebuilder:default=1
	// +optional
	Workers int32 `json:"workers,omitempty"`
	// The Kafka group the workers share; used only with workers > 1.
	// +optional
	WorkerGroup *WorkerGroupSpec `json:"workerGroup,omitempty"`
}

// WorkerGroupSpec is kafka-backup's `workers:` section (group id and KIP-62 timeouts).
type WorkerGroupSpec struct {
	// Kafka group id; absent: kafka-backup.<namespace>.<name>. It must not be used by other clients.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=249
	// +kubebuilder:validation:Pattern=`^[^\x00-\x1f\x7f]+$`
	// +optional
	GroupID string `json:"groupId,omitempty"`
	// A worker silent this long loses its partitions (the broker allows
	// group.min/max.session.timeout.ms, 6 s .. 30 min by default).
	// +kubebuilder:validation:Minimum=1000
	// +kubebuilder:validation:Maximum=3600000
	// +kubebuilder:default=45000
	// +optional
	SessionTimeoutMs *int32 `json:"sessionTimeoutMs,omitempty"`
	// How long a rebalance waits for a worker to seal, upload, commit and rejoin.
	// +kubebuilder:validation:Minimum=1000
	// +kubebuilder:validation:Maximum=3600000
	// +kubebuilder:default=60000
	// +optional
	RebalanceTimeoutMs *int32 `json:"rebalanceTimeoutMs,omitempty"`
}

// CheckpointSpec: kafka-backup checkpoints every closed segment; intervalSecs maps to its
// checkpoint interval.
type CheckpointSpec struct {
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +optional
	IntervalSecs *int32 `json:"intervalSecs,omitempty"`
	// +optional
	Storage string `json:"storage,omitempty"`
}

// RetentionSpec deletes whole old backup ids after each run (kafka-backup prune); keepLast is a
// floor: at least that many of the newest sets are kept whatever their age.
type RetentionSpec struct {
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxAgeDays *int32 `json:"maxAgeDays,omitempty"`
	// +kubebuilder:validation:Minimum=1
	// +optional
	KeepLast *int32 `json:"keepLast,omitempty"`
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
}

// KafkaBackupStatus is what the operator saw of the runs.
type KafkaBackupStatus struct {
	RunStatus `json:",inline"`
	// The newest run's backup id (OSO name).
	// +optional
	BackupID string `json:"backupId,omitempty"`
	// The newest finished run's backup id.
	// +optional
	LastBackupID string `json:"lastBackupId,omitempty"`
	// +optional
	LastBackupTime *metav1.Time `json:"lastBackupTime,omitempty"`
	// +optional
	NextScheduledBackup *metav1.Time `json:"nextScheduledBackup,omitempty"`
	// +optional
	RecordsProcessed int64 `json:"recordsProcessed,omitempty"`
	// +optional
	BytesProcessed int64 `json:"bytesProcessed,omitempty"`
	// +optional
	SegmentsCompleted int64 `json:"segmentsCompleted,omitempty"`
	// A stopped or failed run resumes from its checkpoints.
	// +optional
	Resumable bool `json:"resumable,omitempty"`
	// The Job whose outcome the status reports.
	// +optional
	LastJobName string `json:"lastJobName,omitempty"`
	// Worker processes the backup runs with (spec.workers as applied).
	// +optional
	Workers int32 `json:"workers,omitempty"`
	// Worker pods running now (the Deployment's available replicas, or the Job's active pods).
	// +optional
	ActiveWorkers int32 `json:"activeWorkers,omitempty"`
	// The Kafka group the workers share (workers > 1).
	// +optional
	WorkerGroupID string `json:"workerGroupId,omitempty"`
}

// KafkaBackup backs up topics of a Kafka cluster with kafka-backup, in Jobs, a CronJob or a Deployment.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=kb,categories=kafka-backup
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Last Backup",type=string,JSONPath=`.status.lastBackupId`
// +kubebuilder:printcolumn:name="Records",type=integer,JSONPath=`.status.recordsProcessed`
// +kubebuilder:printcolumn:name="Workers",type=integer,JSONPath=`.status.workers`
// +kubebuilder:printcolumn:name="Resumable",type=boolean,JSONPath=`.status.resumable`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type KafkaBackup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   KafkaBackupSpec   `json:"spec"`
	Status KafkaBackupStatus `json:"status,omitempty"`
}

// KafkaBackupList is a list of KafkaBackup.
// +kubebuilder:object:root=true
type KafkaBackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KafkaBackup `json:"items"`
}

func init() {
	SchemeBuilder.Register(&KafkaBackup{}, &KafkaBackupList{})
}
