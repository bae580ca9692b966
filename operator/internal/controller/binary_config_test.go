package controller

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// kafkaBackupBinary is the kafka-backup build the rendered configs are checked with: KB_BINARY, or
// the repository's default build directory.
func kafkaBackupBinary(t *testing.T) string {
	if b := os.Getenv("KB_BINARY"); b != "" {
		return b
	}
	b, _ := filepath.Abs(filepath.Join("..", "..", "..", "build", "cli", "kafka-backup"))
	if _, err := os.Stat(b); err != nil {
		t.Fatalf("no kafka-backup binary: build it (ninja -C build) or set KB_BINARY")
	}
	return b
}

// Every config the operator renders is one `kafka-backup config` accepts (its own validation, the
// same as the commands'), given the env variables the pod would have.
func TestRenderedConfigsAcceptedByKafkaBackup(t *testing.T) {
	bin := kafkaBackupBinary(t)
	cluster := kbv1.KafkaClusterSpec{BootstrapServers: []string{"127.0.0.1:9093"}, SecurityProtocol: "SASL_SSL",
		TLSSecret:  &kbv1.TLSSecretRef{Name: "tls", CAKey: "ca.crt", CertKey: "client.crt", KeyKey: "client.key"},
		SASLSecret: &kbv1.SASLSecretRef{Name: "creds", Mechanism: "SCRAM-SHA-512"}}
	s3 := &kbv1.StorageSpec{StorageType: "s3", S3: &kbv1.S3Storage{Bucket: "b", Region: "us-east-1",
		Endpoint: "http://127.0.0.1:7070", AllowHTTP: true, PathStyle: true, Prefix: "p/",
		CredentialsSecret: &kbv1.S3CredentialsSecret{Name: "s3"}}}
	backups := map[string]*kbv1.KafkaBackup{
		"seed-pvc": {Spec: kbv1.KafkaBackupSpec{KafkaCluster: cluster}},
		"s3-snapshot": {Spec: kbv1.KafkaBackupSpec{KafkaCluster: cluster, Storage: s3, Topics: []string{"orders-*", "~^pay.*$"},
			ExcludeTopics: []string{"*-internal"}, Compression: "lz4", CompressionLevel: ptr.To(int32(5)),
			StopAtCurrentOffsets: true, ConsumerGroupSnapshot: true, IncludeOffsetHeaders: true,
			RateLimiting: &kbv1.RateLimiting{BytesPerSec: ptr.To(int64(1 << 20)), MaxConcurrentPartitions: ptr.To(int32(4))},
			Checkpoint:   &kbv1.CheckpointSpec{Enabled: true, IntervalSecs: ptr.To(int32(30))}}},
		"continuous-pvc": {Spec: kbv1.KafkaBackupSpec{KafkaCluster: kbv1.KafkaClusterSpec{BootstrapServers: []string{"127.0.0.1:9092"}},
			Continuous: true, Storage: &kbv1.StorageSpec{StorageType: "pvc", PVC: &kbv1.PVCStorage{ClaimName: "c",
				Create: &kbv1.PVCCreate{Enabled: true, Size: ptr.To(resource.MustParse("1Gi"))}}}}},
		"workers-snapshot": {Spec: kbv1.KafkaBackupSpec{KafkaCluster: cluster, Storage: s3, StopAtCurrentOffsets: true, Workers: 3}},
		"workers-continuous": {Spec: kbv1.KafkaBackupSpec{KafkaCluster: cluster, Storage: s3, Continuous: true, Workers: 4,
			WorkerGroup: &kbv1.WorkerGroupSpec{GroupID: "orders-$backup", SessionTimeoutMs: ptr.To(int32(10000)),
				RebalanceTimeoutMs: ptr.To(int32(120000))}}},
	}
	env := append(os.Environ(), "KB_BACKUP_ID=run-1", "KAFKA_USERNAME=u", "KAFKA_PASSWORD=p",
		"AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY=x")
	check := func(name string, cfg map[string]any) {
		text, err := renderConfig(cfg, name)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name+".yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "config", "--config", path)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: kafka-backup config refused the rendered config: %v\n%s\n--- config:\n%s", name, err, out, text)
		}
	}
	for name, kb := range backups {
		kb.Name, kb.Namespace = name, "prod"
		w := &podWiring{}
		cfg, err := backupConfig(kb, w)
		if err != nil {
			t.Fatal(err)
		}
		check(name, cfg)
	}
	kr := &kbv1.KafkaRestore{Spec: kbv1.KafkaRestoreSpec{
		TopicMapping:   map[string]string{"orders": "orders-restored"},
		Repartitioning: map[string]kbv1.RepartitionRule{"payments": {Strategy: "murmur2", TargetPartitions: 6}},
		PITR:           &kbv1.PITRSpec{StartTime: "2026-01-01T00:00:00Z", EndTime: "1767312000000"},
		CreateTopics:   true, ConsumerGroups: []string{"billing"}, ProduceAcks: "all", Topics: []string{"orders", "payments"},
		RateLimiting: &kbv1.RateLimiting{BytesPerSec: ptr.To(int64(1 << 20))}, PartitionMapping: map[string]int32{"0": 1}}}
	kr.Name = "r"
	cfg, err := restoreConfig(kr, "run-1", &cluster, s3, &podWiring{})
	if err != nil {
		t.Fatal(err)
	}
	check("restore", cfg)
	if !strings.HasPrefix(storageURL(s3), "s3://b/p/?") {
		t.Errorf("storage URL %q", storageURL(s3))
	}
}
