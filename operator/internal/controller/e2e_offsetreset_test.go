//go:build e2e

package controller

// KafkaOffsetReset end to end against the harness broker (SASL_SSL, SCRAM), the pod run as in
// e2e_harness_test.go: a group that committed part of a topic (confluent-kafka) → the operator's
// Job → `kafka-backup reset-offsets` → the group's offsets read back with confluent-kafka's
// AdminClient, and the status Succeeded with the partition count.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// commit sets the group's offsets (as a closed consumer would leave them); committed prints them.
const groupScript = `
import json, os, sys
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
c = json.loads(os.environ["KB_E2E_CLIENT"])
conf = {"bootstrap.servers": c["bootstrap"], "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "admin", "sasl.password": c["password"], "ssl.ca.location": c["ca"]}
if sys.argv[1] == "commit":
    cons = Consumer(dict(conf, **{"group.id": c["group"], "enable.auto.commit": False}))
    cons.commit(offsets=[TopicPartition(c["topic"], p, c["offset"]) for p in range(3)], asynchronous=False)
    cons.close()
else:
    admin = AdminClient(conf)  # kept alive until the future resolves
    res = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(c["group"])])[c["group"]].result(60)
    print(json.dumps({str(tp.partition): tp.offset for tp in res.topic_partitions if tp.topic == c["topic"]}, sort_keys=True))
`

func runGroupClient(t *testing.T, e harnessEnv, cmd, topic, group string, offset int) string {
	t.Helper()
	py := os.Getenv("PY")
	if py == "" {
		py = filepath.Join(os.Getenv("HOME"), ".cache", "kafka-backup", "venv", "bin", "python")
	}
	cfg, _ := json.Marshal(map[string]any{"bootstrap": e.Kafka.Listeners["SASL_SSL"], "password": e.Users["admin"],
		"ca": e.TLS.CA, "topic": topic, "group": group, "offset": offset})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, py, "-c", groupScript, cmd)
	c.Env = append(os.Environ(), "KB_E2E_CLIENT="+string(cfg))
	out, err := c.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("confluent-kafka %s: %v %s", cmd, err, msg)
	}
	return strings.TrimSpace(string(out))
}

func TestE2EOffsetResetAgainstHarness(t *testing.T) {
	e := loadHarness(t)
	bin := kafkaBackupBinary(t)
	ns := newNamespace(t)
	topic, group := ns+"-orders", ns+"-billing"
	runClient(t, e, "produce", topic, 300) // 3 partitions, 100 records each
	runGroupClient(t, e, "commit", topic, group, 60)
	if got := runGroupClient(t, e, "committed", topic, group, 0); got != `{"0": 60, "1": 60, "2": 60}` {
		t.Fatalf("committed before the reset: %s", got)
	}
	ca, err := os.ReadFile(e.TLS.CA)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "kafka-restore-credentials", Namespace: ns},
			StringData: map[string]string{"username": "restore", "password": e.Users["restore"]}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kafka-tls", Namespace: ns}, Data: map[string][]byte{"ca.crt": ca}},
	} {
		if err := k8s.Create(testCtx, s); err != nil {
			t.Fatal(err)
		}
	}
	secretValues = append(secretValues, e.Users["restore"])
	applyYAML(t, ns, fmt.Sprintf(`
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaOffsetReset
metadata: {name: rewind}
spec:
  kafkaCluster:
    bootstrapServers: [%q]
    securityProtocol: SASL_SSL
    tlsSecret: {name: kafka-tls, caKey: ca.crt}
    saslSecret: {name: kafka-restore-credentials, mechanism: SCRAM-SHA-512}
  consumerGroups: [%q]
  topics: [%q]
  resetStrategy: to-offset
  offset: 25
`, e.Kafka.Listeners["SASL_SSL"], group, topic))
	job := waitJob(t, ns, "rewind-offset-reset")
	pod := podOfJob(t, job)
	code, summary := runPodLikeKubelet(t, bin, pod)
	if code != 0 {
		t.Fatalf("the reset pod exited %d; summary %s", code, summary)
	}
	endPod(t, pod, code, summary)
	eventually(t, "offset reset Succeeded", func() (bool, string) {
		o := &kbv1.KafkaOffsetReset{}
		_ = k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "rewind"}, o)
		c := meta.FindStatusCondition(o.Status.Conditions, kbv1.ConditionSucceeded)
		return c != nil && c.Status == metav1.ConditionTrue && strings.Contains(c.Message, "reset 3 partition(s) of 1 group(s)"),
			fmt.Sprintf("%+v", o.Status)
	})
	if got := runGroupClient(t, e, "committed", topic, group, 0); got != `{"0": 25, "1": 25, "2": 25}` {
		t.Fatalf("committed after the reset: %s", got)
	}
}
