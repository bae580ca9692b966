package controller

// spec.workers (issue #17 item 5): N kafka-backup processes in one Kafka group. With one worker
// (the default) the operator's objects stay byte for byte what they were before the field existed
// (golden files in testdata/, written by KB_UPDATE_GOLDEN=1 from the code before the change).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// workersBackup is a KafkaBackup named name with extra spec lines (indented two spaces).
func workersBackup(name, extra string) string {
	return `
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackup
metadata:
  name: ` + name + `
spec:
  kafkaCluster:
    bootstrapServers: ["127.0.0.1:9093"]
    securityProtocol: SASL_SSL
    tlsSecret: {name: kafka-tls}
    saslSecret: {name: kafka-credentials, mechanism: SCRAM-SHA-512}
  topics: ["orders-*"]
` + extra
}

// producedObjects waits for the objects the operator makes of KafkaBackup name and returns them
// as YAML, with the namespace replaced by NS and what the API server makes up per object (the
// Job's selector and controller-uid labels) left out.
func producedObjects(t *testing.T, ns, name, mode string) string {
	t.Helper()
	out := map[string]any{}
	cm := &corev1.ConfigMap{}
	eventually(t, "ConfigMap "+name+"-config", func() (bool, string) {
		err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: name + "-config"}, cm)
		return err == nil, fmt.Sprint(err)
	})
	out["configMap"] = cm.Data
	switch mode {
	case "job":
		job := waitJob(t, ns, name+"-g1")
		spec := job.Spec.DeepCopy()
		spec.Selector = nil
		for _, k := range []string{"controller-uid", "batch.kubernetes.io/controller-uid"} {
			delete(spec.Template.Labels, k)
		}
		out["job"] = map[string]any{"labels": job.Labels, "spec": spec}
	case "deployment":
		dep := &appsv1.Deployment{}
		eventually(t, "Deployment "+name, func() (bool, string) {
			err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: name}, dep)
			return err == nil, fmt.Sprint(err)
		})
		out["deployment"] = map[string]any{"labels": dep.Labels, "spec": dep.Spec}
	case "cronjob":
		cj := &batchv1.CronJob{}
		eventually(t, "CronJob "+name, func() (bool, string) {
			err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: name}, cj)
			return err == nil, fmt.Sprint(err)
		})
		out["cronJob"] = map[string]any{"labels": cj.Labels, "spec": cj.Spec}
	}
	j, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		t.Fatal(err)
	}
	// The pod template names the config by its hash, and the config names the namespace: check
	// the hash here, compare the rest.
	hash := hashOf(cm.Data[configKey])
	if !strings.Contains(string(y), "kafka.oso.sh/config-hash: "+hash+"\n") {
		t.Errorf("the pod template's config-hash is not %s (the hash of the ConfigMap's text):\n%s", hash, y)
	}
	return strings.ReplaceAll(strings.ReplaceAll(string(y), hash, "HASH"), ns, "NS")
}

func checkGolden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if os.Getenv("KB_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the objects made now:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// One worker (spec.workers absent, the default): the ConfigMap, Job, Deployment and CronJob are
// exactly what they were before spec.workers existed: no workers: section, one pod.
func TestWorkersDefaultObjectsUnchanged(t *testing.T) {
	ns := newNamespace(t)
	seedSecrets(t, ns)
	for _, c := range []struct{ name, extra, mode string }{
		{"w1-once", "", "job"},
		{"w1-cont", "  continuous: true\n", "deployment"},
		{"w1-cron", "  schedule: \"0 3 * * *\"\n  stopAtCurrentOffsets: true\n", "cronjob"},
	} {
		applyYAML(t, ns, workersBackup(c.name, c.extra))
		checkGolden(t, "workers1-"+c.mode+".yaml", strings.ReplaceAll(producedObjects(t, ns, c.name, c.mode), c.name, "NAME"))
	}
}

