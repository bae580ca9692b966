// Package controller reconciles the kafka.oso.sh resources into ConfigMaps, Jobs, CronJobs and
// Deployments that run the kafka-backup image.
package controller

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// Paths inside the run's pod.
const (
	configDir      = "/etc/kafka-backup"
	configFile     = configDir + "/config.yaml"
	certsDir       = "/certs"
	pvcDir         = "/data"
	gcsKeyDir      = "/var/run/secrets/kafka-backup/gcs"
	tmpDir         = "/tmp"
	envBackupID    = "KB_BACKUP_ID"
	envKafkaUser   = "KAFKA_USERNAME"
	envKafkaPass   = "KAFKA_PASSWORD"
	envKeyPassword = "SSL_KEY_PASSWORD"
)

// secretUse is one Secret key the run needs, for the existence check and the error message.
type secretUse struct {
	secret string
	key    string
	field  string // where the resource names it, e.g. spec.kafkaCluster.saslSecret
}

// podWiring is what a run's pod needs besides the config: env from Secrets and volumes.
type podWiring struct {
	env          []corev1.EnvVar
	volumes      []corev1.Volume
	mounts       []corev1.VolumeMount
	secrets      []secretUse
	warnings     []string
	pvcToCreate  *kbv1.PVCStorage
	storageLabel string // a location for reports: never credentials
}

// escape keeps a user-given string literal through kafka-backup's ${VAR} substitution.
func escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func escapeAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, escape(s))
	}
	return out
}

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

func defaulted(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// kafkaSection renders `source:`/`target:` and wires its Secrets into w.
func kafkaSection(k *kbv1.KafkaClusterSpec, field string, topics, exclude []string, w *podWiring) map[string]any {
	out := map[string]any{"bootstrap_servers": escapeAll(k.BootstrapServers)}
	proto := defaulted(k.SecurityProtocol, "PLAINTEXT")
	sec := map[string]any{"security_protocol": proto}
	if t := k.TLSSecret; t != nil {
		caKey := defaulted(t.CAKey, "ca.crt")
		items := []corev1.KeyToPath{{Key: caKey, Path: caKey}}
		sec["ssl_ca_location"] = certsDir + "/" + escape(caKey)
		w.secrets = append(w.secrets, secretUse{t.Name, caKey, field + ".tlsSecret.caKey"})
		if t.CertKey != "" {
			items = append(items, corev1.KeyToPath{Key: t.CertKey, Path: t.CertKey})
			sec["ssl_certificate_location"] = certsDir + "/" + escape(t.CertKey)
			w.secrets = append(w.secrets, secretUse{t.Name, t.CertKey, field + ".tlsSecret.certKey"})
		}
		if t.KeyKey != "" {
			items = append(items, corev1.KeyToPath{Key: t.KeyKey, Path: t.KeyKey})
			sec["ssl_key_location"] = certsDir + "/" + escape(t.KeyKey)
			w.secrets = append(w.secrets, secretUse{t.Name, t.KeyKey, field + ".tlsSecret.keyKey"})
		}
		if t.KeyPasswordKey != "" {
			w.env = append(w.env, secretEnv(envKeyPassword, t.Name, t.KeyPasswordKey))
			sec["ssl_key_password"] = "${" + envKeyPassword + "}"
			w.secrets = append(w.secrets, secretUse{t.Name, t.KeyPasswordKey, field + ".tlsSecret.keyPasswordKey"})
		}
		mode := int32(0o440)
		w.volumes = append(w.volumes, corev1.Volume{Name: "certs", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: t.Name, Items: items, DefaultMode: &mode}}})
		w.mounts = append(w.mounts, corev1.VolumeMount{Name: "certs", MountPath: certsDir, ReadOnly: true})
	}
	if k.SSLEndpointIdentification != nil {
		sec["ssl_endpoint_identification"] = *k.SSLEndpointIdentification
	}
	if s := k.SASLSecret; s != nil {
		uk, pk := defaulted(s.UsernameKey, "username"), defaulted(s.PasswordKey, "password")
		sec["sasl_mechanism"] = s.Mechanism
		sec["sasl_username"] = "${" + envKafkaUser + "}"
		sec["sasl_password"] = "${" + envKafkaPass + "}"
		w.env = append(w.env, secretEnv(envKafkaUser, s.Name, uk), secretEnv(envKafkaPass, s.Name, pk))
		w.secrets = append(w.secrets, secretUse{s.Name, uk, field + ".saslSecret.usernameKey"},
			secretUse{s.Name, pk, field + ".saslSecret.passwordKey"})
	}
	out["security"] = sec
	if k.Connection != nil && k.Connection.ConnectionsPerBroker != nil {
		out["connection"] = map[string]any{"connections_per_broker": *k.Connection.ConnectionsPerBroker}
	}
	if len(topics) > 0 || len(exclude) > 0 {
		t := map[string]any{}
		if len(topics) > 0 {
			t["include"] = escapeAll(topics)
		}
		if len(exclude) > 0 {
			t["exclude"] = escapeAll(exclude)
		}
		out["topics"] = t
	}
	return out
}

// defaultStorage is the storage of a KafkaBackup that names none: a PVC the operator creates.
func defaultStorage(owner string) *kbv1.StorageSpec {
	return &kbv1.StorageSpec{StorageType: "pvc", PVC: &kbv1.PVCStorage{
		ClaimName: owner + "-backups", Create: &kbv1.PVCCreate{Enabled: true}}}
}

// storageSection renders `storage:` and wires its Secrets and volumes into w.
func storageSection(s *kbv1.StorageSpec, field string, w *podWiring) (map[string]any, error) {
	switch s.StorageType {
	case "", "pvc":
		p := s.PVC
		if p == nil || p.ClaimName == "" {
			return nil, fmt.Errorf("%s.pvc.claimName is required for storageType pvc", field)
		}
		w.volumes = append(w.volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: p.ClaimName}}})
		w.mounts = append(w.mounts, corev1.VolumeMount{Name: "data", MountPath: pvcDir, SubPath: p.SubPath})
		if p.Create != nil && p.Create.Enabled {
			w.pvcToCreate = p
		}
		w.storageLabel = "pvc://" + p.ClaimName + "/" + p.SubPath
		return map[string]any{"backend": "filesystem", "path": pvcDir}, nil
	case "s3":
		c := s.S3
		if c == nil {
			return nil, fmt.Errorf("%s.s3 is required for storageType s3", field)
		}
		out := map[string]any{"backend": "s3", "bucket": escape(c.Bucket), "region": escape(c.Region)}
		if c.Endpoint != "" {
			out["endpoint"] = escape(c.Endpoint)
			if strings.HasPrefix(c.Endpoint, "http://") {
				if !c.AllowHTTP {
					return nil, fmt.Errorf("%s.s3.endpoint %q is plain http: set allowHttp: true to accept that, or use https", field, c.Endpoint)
				}
				w.warnings = append(w.warnings, fmt.Sprintf("%s.s3.endpoint is plain http: objects and signatures travel unencrypted", field))
			}
		}
		if c.Prefix != "" {
			out["prefix"] = escape(c.Prefix)
		}
		if c.PathStyle {
			out["path_style"] = true
		}
		if cs := c.CredentialsSecret; cs != nil {
			ak, sk := defaulted(cs.AccessKeyIDKey, "AWS_ACCESS_KEY_ID"), defaulted(cs.SecretAccessKeyKey, "AWS_SECRET_ACCESS_KEY")
			w.env = append(w.env, secretEnv("AWS_ACCESS_KEY_ID", cs.Name, ak), secretEnv("AWS_SECRET_ACCESS_KEY", cs.Name, sk))
			w.secrets = append(w.secrets, secretUse{cs.Name, ak, field + ".s3.credentialsSecret.accessKeyIdKey"},
				secretUse{cs.Name, sk, field + ".s3.credentialsSecret.secretAccessKeyKey"})
			out["access_key"] = "${AWS_ACCESS_KEY_ID}"
			out["secret_key"] = "${AWS_SECRET_ACCESS_KEY}"
		}
		w.storageLabel = "s3://" + c.Bucket + "/" + c.Prefix
		return out, nil
	case "azure":
		c := s.Azure
		if c == nil {
			return nil, fmt.Errorf("%s.azure is required for storageType azure", field)
		}
		out := map[string]any{"backend": "azure", "account_name": escape(c.AccountName), "container_name": escape(c.Container)}
		if c.Prefix != "" {
			out["prefix"] = escape(c.Prefix)
		}
		if c.Endpoint != "" {
			out["endpoint"] = escape(c.Endpoint)
		}
		if c.UseWorkloadIdentity {
			out["use_workload_identity"] = true
		}
		if cs := c.CredentialsSecret; cs != nil {
			add := func(env, key, cfgKey, f string) {
				if key == "" {
					return
				}
				w.env = append(w.env, secretEnv(env, cs.Name, key))
				w.secrets = append(w.secrets, secretUse{cs.Name, key, field + ".azure.credentialsSecret." + f})
				out[cfgKey] = "${" + env + "}"
			}
			if cs.SASTokenKey == "" && cs.ClientSecretKey == "" {
				add("AZURE_STORAGE_KEY", defaulted(cs.AccountKeyKey, "AZURE_STORAGE_KEY"), "account_key", "accountKeyKey")
			}
			add("AZURE_STORAGE_SAS_TOKEN", cs.SASTokenKey, "sas_token", "sasTokenKey")
			add("AZURE_CLIENT_ID", cs.ClientIDKey, "client_id", "clientIdKey")
			add("AZURE_TENANT_ID", cs.TenantIDKey, "tenant_id", "tenantIdKey")
			add("AZURE_CLIENT_SECRET", cs.ClientSecretKey, "client_secret", "clientSecretKey")
		}
		w.storageLabel = "azure://" + c.AccountName + "/" + c.Container + "/" + c.Prefix
		return out, nil
	case "gcs":
		c := s.GCS
		if c == nil {
			return nil, fmt.Errorf("%s.gcs is required for storageType gcs", field)
		}
		out := map[string]any{"backend": "gcs", "bucket": escape(c.Bucket)}
		if c.Prefix != "" {
			out["prefix"] = escape(c.Prefix)
		}
		if c.Endpoint != "" {
			out["endpoint"] = escape(c.Endpoint)
		}
		if cs := c.CredentialsSecret; cs != nil {
			key := defaulted(cs.ServiceAccountJSONKey, "SERVICE_ACCOUNT_JSON")
			mode := int32(0o440)
			w.volumes = append(w.volumes, corev1.Volume{Name: "gcs-key", VolumeSource: corev1.VolumeSource{
				Secret: &corev1.SecretVolumeSource{SecretName: cs.Name, DefaultMode: &mode,
					Items: []corev1.KeyToPath{{Key: key, Path: "service-account.json"}}}}})
			w.mounts = append(w.mounts, corev1.VolumeMount{Name: "gcs-key", MountPath: gcsKeyDir, ReadOnly: true})
			w.secrets = append(w.secrets, secretUse{cs.Name, key, field + ".gcs.credentialsSecret.serviceAccountJsonKey"})
			out["service_account_path"] = gcsKeyDir + "/service-account.json"
		}
		w.storageLabel = "gcs://" + c.Bucket + "/" + c.Prefix
		return out, nil
	}
	return nil, fmt.Errorf("%s.storageType %q is not one of pvc, s3, azure, gcs", field, s.StorageType)
}

// storageURL is the --path URL of list/describe/validate for a storage block (no credentials:
// those come from the same env variables as in the config).
func storageURL(s *kbv1.StorageSpec) string {
	switch s.StorageType {
	case "s3":
		c := s.S3
		q := []string{"region=" + c.Region}
		if c.Endpoint != "" {
			q = append(q, "endpoint="+c.Endpoint)
		}
		if c.PathStyle {
			q = append(q, "path_style=true")
		}
		return "s3://" + c.Bucket + "/" + strings.TrimLeft(c.Prefix, "/") + "?" + strings.Join(q, "&")
	case "azure":
		c := s.Azure
		u := "azure://" + c.AccountName + "/" + c.Container + "/" + strings.TrimLeft(c.Prefix, "/")
		if c.Endpoint != "" {
			u += "?endpoint=" + c.Endpoint
		}
		return u
	case "gcs":
		return "gcs://" + s.GCS.Bucket + "/" + strings.TrimLeft(s.GCS.Prefix, "/")
	}
	return pvcDir
}

// backupConfig renders the kafka-backup YAML of a KafkaBackup (env references only).
func backupConfig(kb *kbv1.KafkaBackup, w *podWiring) (map[string]any, error) {
	s := kb.Spec
	storage := s.Storage
	if storage == nil {
		storage = defaultStorage(kb.Name)
	}
	st, err := storageSection(storage, "spec.storage", w)
	if err != nil {
		return nil, err
	}
	b := map[string]any{
		"compression":       defaulted(s.Compression, "zstd"),
		"compression_level": int32(3),
	}
	if s.CompressionLevel != nil {
		b["compression_level"] = *s.CompressionLevel
	}
	if s.Continuous {
		b["continuous"] = true
	}
	if s.StopAtCurrentOffsets {
		b["stop_at_current_offsets"] = true
	}
	if s.ConsumerGroupSnapshot {
		b["consumer_group_snapshot"] = true
	}
	if s.IncludeOffsetHeaders {
		b["include_offset_headers"] = true
	}
	if s.SourceClusterID != "" {
		b["source_cluster_id"] = escape(s.SourceClusterID)
	}
	if s.Checkpoint != nil && s.Checkpoint.IntervalSecs != nil {
		b["checkpoint_interval_secs"] = *s.Checkpoint.IntervalSecs
	}
	if r := s.RateLimiting; r != nil {
		if r.BytesPerSec != nil || r.RecordsPerSec != nil {
			// kafka-backup throttles restores only; a backup reads as fast as the brokers serve.
			w.warnings = append(w.warnings, "spec.rateLimiting.bytesPerSec/recordsPerSec are ignored for a backup "+
				"(kafka-backup limits restores only); use maxConcurrentPartitions")
		}
		if r.MaxConcurrentPartitions != nil {
			b["max_concurrent_partitions"] = *r.MaxConcurrentPartitions
		}
	}
	cfg := map[string]any{
		"mode":      "backup",
		"backup_id": "${" + envBackupID + "}",
		"source":    kafkaSection(&s.KafkaCluster, "spec.kafkaCluster", s.Topics, s.ExcludeTopics, w),
		"storage":   st,
		"backup":    b,
	}
	if ws := workersSection(kb); ws != nil {
		cfg["workers"] = ws
	}
	return cfg, nil
}

// sortedKeys gives a map's keys in order (stable output).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
