package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KafkaClusterSpec says how to reach a Kafka cluster. Credentials come only from Secrets, which the
// operator wires into the pod as env variables and read-only files; their values never pass
// through a ConfigMap or a status.
type KafkaClusterSpec struct {
	// Bootstrap brokers, host:port.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:items:MinLength=1
	BootstrapServers []string `json:"bootstrapServers"`
	// +kubebuilder:validation:Enum=PLAINTEXT;SSL;SASL_PLAINTEXT;SASL_SSL
	// +kubebuilder:default=PLAINTEXT
	// +optional
	SecurityProtocol string `json:"securityProtocol,omitempty"`
	// A Secret holding the CA (and for mTLS the client certificate and key); mounted at /certs.
	// +optional
	TLSSecret *TLSSecretRef `json:"tlsSecret,omitempty"`
	// A Secret holding the SASL username and password; passed as env variables.
	// +optional
	SASLSecret *SASLSecretRef `json:"saslSecret,omitempty"`
	// +optional
	Connection *ConnectionSpec `json:"connection,omitempty"`
	// Verify the broker's host name against its certificate (default true).
	// +optional
	SSLEndpointIdentification *bool `json:"sslEndpointIdentification,omitempty"`
}

// TLSSecretRef names a Secret with PEM files and the keys to use in it.
type TLSSecretRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:default=ca.crt
	// +optional
	CAKey string `json:"caKey,omitempty"`
	// Client certificate key (mTLS); empty: no client certificate.
	// +optional
	CertKey string `json:"certKey,omitempty"`
	// Client private key key (mTLS).
	// +optional
	KeyKey string `json:"keyKey,omitempty"`
	// Key holding the client key's password, when the key is encrypted.
	// +optional
	KeyPasswordKey string `json:"keyPasswordKey,omitempty"`
}

// SASLSecretRef names a Secret with the SASL credentials and the keys to use in it.
type SASLSecretRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:Enum=PLAIN;SCRAM-SHA-256;SCRAM-SHA-512;OAUTHBEARER;AWS_MSK_IAM;GSSAPI
	Mechanism string `json:"mechanism"`
	// +kubebuilder:default=username
	// +optional
	UsernameKey string `json:"usernameKey,omitempty"`
	// +kubebuilder:default=password
	// +optional
	PasswordKey string `json:"passwordKey,omitempty"`
}

// ConnectionSpec tunes the broker connections.
type ConnectionSpec struct {
	// +kubebuilder:validation:Minimum=1
	// +optional
	ConnectionsPerBroker *int32 `json:"connectionsPerBroker,omitempty"`
}

// StorageSpec says where backups live.
// +kubebuilder:validation:XValidation:rule="self.storageType != 's3' || has(self.s3)",message="storage.s3 is required when storageType is s3"
// +kubebuilder:validation:XValidation:rule="self.storageType != 'azure' || has(self.azure)",message="storage.azure is required when storageType is azure"
// +kubebuilder:validation:XValidation:rule="self.storageType != 'gcs' || has(self.gcs)",message="storage.gcs is required when storageType is gcs"
type StorageSpec struct {
	// +kubebuilder:validation:Enum=pvc;s3;azure;gcs
	// +kubebuilder:default=pvc
	StorageType string `json:"storageType"`
	// +optional
	PVC *PVCStorage `json:"pvc,omitempty"`
	// +optional
	S3 *S3Storage `json:"s3,omitempty"`
	// +optional
	Azure *AzureStorage `json:"azure,omitempty"`
	// +optional
	GCS *GCSStorage `json:"gcs,omitempty"`
}

// PVCStorage keeps backups on a PersistentVolumeClaim mounted at /data.
type PVCStorage struct {
	// +kubebuilder:validation:MinLength=1
	ClaimName string `json:"claimName"`
	// +optional
	SubPath string `json:"subPath,omitempty"`
	// +optional
	Create *PVCCreate `json:"create,omitempty"`
}

// PVCCreate lets the operator create the claim.
type PVCCreate struct {
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// Default 100Gi.
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
	// +optional
	AccessModes []corev1.PersistentVolumeAccessMode `json:"accessModes,omitempty"`
}

// S3Storage is an S3 bucket (or an S3-compatible server through endpoint).
type S3Storage struct {
	// +kubebuilder:validation:MinLength=1
	Bucket string `json:"bucket"`
	// +kubebuilder:validation:MinLength=1
	Region string `json:"region"`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	PathStyle bool `json:"pathStyle,omitempty"`
	// Allow a plain-http endpoint (the operator records a warning event).
	// +optional
	AllowHTTP bool `json:"allowHttp,omitempty"`
	// Static keys from a Secret; absent: the AWS chain (IRSA web identity, container or instance role).
	// +optional
	CredentialsSecret *S3CredentialsSecret `json:"credentialsSecret,omitempty"`
}

// S3CredentialsSecret names a Secret with an access key pair.
type S3CredentialsSecret struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:default=AWS_ACCESS_KEY_ID
	// +optional
	AccessKeyIDKey string `json:"accessKeyIdKey,omitempty"`
	// +kubebuilder:default=AWS_SECRET_ACCESS_KEY
	// +optional
	SecretAccessKeyKey string `json:"secretAccessKeyKey,omitempty"`
}

// AzureStorage is an Azure Blob container.
type AzureStorage struct {
	// +kubebuilder:validation:MinLength=1
	AccountName string `json:"accountName"`
	// +kubebuilder:validation:MinLength=1
	Container string `json:"container"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// Use Azure workload identity (the pod's service account must be federated).
	// +optional
	UseWorkloadIdentity bool `json:"useWorkloadIdentity,omitempty"`
	// +optional
	CredentialsSecret *AzureCredentialsSecret `json:"credentialsSecret,omitempty"`
}

// AzureCredentialsSecret names a Secret with an account key, a SAS token or a service principal.
type AzureCredentialsSecret struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:default=AZURE_STORAGE_KEY
	// +optional
	AccountKeyKey string `json:"accountKeyKey,omitempty"`
	// +optional
	SASTokenKey string `json:"sasTokenKey,omitempty"`
	// +optional
	ClientIDKey string `json:"clientIdKey,omitempty"`
	// +optional
	TenantIDKey string `json:"tenantIdKey,omitempty"`
	// +optional
	ClientSecretKey string `json:"clientSecretKey,omitempty"`
}

// GCSStorage is a Google Cloud Storage bucket.
type GCSStorage struct {
	// +kubebuilder:validation:MinLength=1
	Bucket string `json:"bucket"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// A Secret with a service-account JSON key; absent: workload identity / Application Default Credentials.
	// +optional
	CredentialsSecret *GCSCredentialsSecret `json:"credentialsSecret,omitempty"`
}

// GCSCredentialsSecret names a Secret with a service-account JSON key.
type GCSCredentialsSecret struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:default=SERVICE_ACCOUNT_JSON
	// +optional
	ServiceAccountJSONKey string `json:"serviceAccountJsonKey,omitempty"`
}

// RateLimiting caps a run's throughput.
type RateLimiting struct {
	// +optional
	BytesPerSec *int64 `json:"bytesPerSec,omitempty"`
	// +optional
	RecordsPerSec *int64 `json:"recordsPerSec,omitempty"`
	// +optional
	MaxConcurrentPartitions *int32 `json:"maxConcurrentPartitions,omitempty"`
}

// CircuitBreaker is accepted for compatibility; kafka-backup retries within its own budgets.
type CircuitBreaker struct {
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// +optional
	FailureThreshold *int32 `json:"failureThreshold,omitempty"`
	// +optional
	ResetTimeoutSecs *int32 `json:"resetTimeoutSecs,omitempty"`
	// +optional
	SuccessThreshold *int32 `json:"successThreshold,omitempty"`
	// +optional
	OperationTimeoutMs *int32 `json:"operationTimeoutMs,omitempty"`
}

// PodSpec holds the few pod settings a run may need (not in the OSO resources: they run in-process).
type PodSpec struct {
	// Image override; default the operator's --image.
	// +optional
	Image string `json:"image,omitempty"`
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// +optional
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// +optional
	NodeName string `json:"nodeName,omitempty"`
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`
}

// Condition types every resource here reports.
const (
	ConditionReady     = "Ready"
	ConditionRunning   = "Running"
	ConditionSucceeded = "Succeeded"
	ConditionFailed    = "Failed"
)

// Phases.
const (
	PhasePending   = "Pending"
	PhaseRunning   = "Running"
	PhaseCompleted = "Completed"
	PhaseFailed    = "Failed"
)

// RunStatus is the part of the status every kind shares.
type RunStatus struct {
	// +optional
	Phase string `json:"phase,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
