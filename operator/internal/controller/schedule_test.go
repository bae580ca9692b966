package controller

import (
	"strings"
	"testing"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

func TestKubeSchedule(t *testing.T) {
	good := map[string]string{
		"0 0 */6 * * * *": "0 */6 * * *", // OSO: seconds first, year last
		"0 0 2 * * * *":   "0 2 * * *",
		"0 30 1 * * ?":    "30 1 * * *",
		"*/5 * * * *":     "*/5 * * * *",
		"@daily":          "@daily",
	}
	for in, want := range good {
		got, err := kubeSchedule(in)
		if err != nil || got != want {
			t.Errorf("kubeSchedule(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"61 * * * *":       "not a valid cron",
		"30 0 2 * * * *":   "seconds field must be 0",
		"0 0 2 * * * 2027": "year field must be *",
		"* * *":            "has 3 fields",
	}
	for in, want := range bad {
		if _, err := kubeSchedule(in); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "spec.schedule") {
			t.Errorf("kubeSchedule(%q) error %v; want one naming spec.schedule and %q", in, err, want)
		}
	}
}

func TestConfigKeepsDollarsLiteralAndSecretsAsReferences(t *testing.T) {
	kb := &kbv1.KafkaBackup{}
	kb.Name = "b"
	kb.Spec.KafkaCluster = kbv1.KafkaClusterSpec{BootstrapServers: []string{"127.0.0.1:9093"}, SecurityProtocol: "SASL_SSL",
		SASLSecret: &kbv1.SASLSecretRef{Name: "creds", Mechanism: "SCRAM-SHA-256"},
		TLSSecret:  &kbv1.TLSSecretRef{Name: "tls", CAKey: "ca.crt"}}
	kb.Spec.Topics = []string{"~^orders$"}
	w := &podWiring{}
	cfg, err := backupConfig(kb, w)
	if err != nil {
		t.Fatal(err)
	}
	text, err := renderConfig(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"~^orders$$", "sasl_password: ${KAFKA_PASSWORD}", "sasl_username: ${KAFKA_USERNAME}",
		"ssl_ca_location: /certs/ca.crt", "backup_id: ${KB_BACKUP_ID}", "path: /data"} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %q:\n%s", want, text)
		}
	}
	if len(w.secrets) != 3 {
		t.Errorf("secret uses = %v; want ca.crt, username, password", w.secrets)
	}
}
