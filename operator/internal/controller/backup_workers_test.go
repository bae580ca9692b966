package controller

// spec.workers (issue #17 item 5): N kafka-backup processes in one Kafka group. With one worker
// (the default) the operator's objects stay byte for byte what they were before the field existed
// (golden files in testdata/, written by KB_UPDATE_GOLDEN=1 from the code before the change).
// The file name sorts before envtest_test.go so that TestZZNoSecretValueOutsideSecrets, which
// greps every object the tests made, runs after these too.

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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
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

// The same objects with spec.workers: 1 written out.
func TestWorkersOneExplicitObjectsUnchanged(t *testing.T) {
	ns := newNamespace(t)
	seedSecrets(t, ns)
	for _, c := range []struct{ name, extra, mode string }{
		{"w1-once", "  workers: 1\n  workerGroup: {groupId: ignored-with-one-worker}\n", "job"},
		{"w1-cont", "  continuous: true\n  workers: 1\n", "deployment"},
		{"w1-cron", "  schedule: \"0 3 * * *\"\n  stopAtCurrentOffsets: true\n  workers: 1\n", "cronjob"},
	} {
		applyYAML(t, ns, workersBackup(c.name, c.extra))
		checkGolden(t, "workers1-"+c.mode+".yaml", strings.ReplaceAll(producedObjects(t, ns, c.name, c.mode), c.name, "NAME"))
	}
}

// workersOf reads the workers: section of a KafkaBackup's ConfigMap.
func workersOf(t *testing.T, ns, name string) map[string]any {
	t.Helper()
	cm := &corev1.ConfigMap{}
	eventually(t, "ConfigMap "+name+"-config", func() (bool, string) {
		err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: name + "-config"}, cm)
		return err == nil, fmt.Sprint(err)
	})
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data[configKey]), &cfg); err != nil {
		t.Fatal(err)
	}
	w, _ := cfg["workers"].(map[string]any)
	return w
}

func checkWorkersSection(t *testing.T, got map[string]any, group string, session, rebalance float64) {
	t.Helper()
	want := map[string]any{"group_id": group, "session_timeout_ms": session, "rebalance_timeout_ms": rebalance}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("workers: section %v; want %v", got, want)
	}
}

// Every worker pod reads the same config and writes the same backup id; none has a static
// instance id (the members are dynamic, docs/operator.md).
func checkWorkerPod(t *testing.T, tpl corev1.PodTemplateSpec) {
	t.Helper()
	c := tpl.Spec.Containers[0]
	if e := envByName(c, envBackupID); e == nil {
		t.Errorf("no %s in %+v", envBackupID, c.Env)
	}
	if strings.Join(c.Args, " ") != "backup --config /etc/kafka-backup/config.yaml --no-progress" {
		t.Errorf("args %q", c.Args)
	}
	for _, e := range c.Env {
		if strings.Contains(strings.ToLower(e.Name), "instance") {
			t.Errorf("unexpected env %s", e.Name)
		}
	}
}

// Three workers: a one-shot backup is one Job of three pods at once (parallelism and completions
// 3), a continuous one a Deployment of three replicas, a scheduled one a CronJob whose Jobs have
// three pods; every config carries one workers: section with the group derived from the
// resource (or the one given) and the timeouts; the status shows the workers and, once all three
// pods have exited 0, the records of all three.
func TestWorkersThreeShareOneGroup(t *testing.T) {
	ns := newNamespace(t)
	seedSecrets(t, ns)
	applyYAML(t, ns, workersBackup("w3-once", "  stopAtCurrentOffsets: true\n  workers: 3\n  workerGroup: {sessionTimeoutMs: 30000}\n"))
	applyYAML(t, ns, workersBackup("w3-cont", "  continuous: true\n  workers: 3\n  workerGroup: {groupId: orders-backup, rebalanceTimeoutMs: 90000}\n"))
	applyYAML(t, ns, workersBackup("w3-cron", "  schedule: \"0 3 * * *\"\n  workers: 3\n"))

	job := waitJob(t, ns, "w3-once-g1")
	if job.Spec.Parallelism == nil || *job.Spec.Parallelism != 3 || job.Spec.Completions == nil || *job.Spec.Completions != 3 {
		t.Errorf("Job parallelism %v completions %v; want 3 and 3", job.Spec.Parallelism, job.Spec.Completions)
	}
	checkWorkerPod(t, job.Spec.Template)
	if e := envByName(job.Spec.Template.Spec.Containers[0], envBackupID); e == nil || e.Value != "w3-once-g1" {
		t.Errorf("KB_BACKUP_ID = %+v; want w3-once-g1 for every worker", e)
	}
	checkWorkersSection(t, workersOf(t, ns, "w3-once"), "kafka-backup."+ns+".w3-once", 30000, 60000)

	dep := &appsv1.Deployment{}
	eventually(t, "Deployment w3-cont", func() (bool, string) {
		err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "w3-cont"}, dep)
		return err == nil, fmt.Sprint(err)
	})
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 3 || dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Deployment replicas %v strategy %q; want 3, Recreate", dep.Spec.Replicas, dep.Spec.Strategy.Type)
	}
	checkWorkerPod(t, dep.Spec.Template)
	checkWorkersSection(t, workersOf(t, ns, "w3-cont"), "orders-backup", 45000, 90000)

	cj := &batchv1.CronJob{}
	eventually(t, "CronJob w3-cron", func() (bool, string) {
		err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "w3-cron"}, cj)
		return err == nil, fmt.Sprint(err)
	})
	js := cj.Spec.JobTemplate.Spec
	if js.Parallelism == nil || *js.Parallelism != 3 || js.Completions == nil || *js.Completions != 3 {
		t.Errorf("CronJob's Job parallelism %v completions %v; want 3 and 3", js.Parallelism, js.Completions)
	}
	checkWorkerPod(t, js.Template)
	checkWorkersSection(t, workersOf(t, ns, "w3-cron"), "kafka-backup."+ns+".w3-cron", 45000, 60000)

	eventually(t, "status with three workers", func() (bool, string) {
		kb := getKB(t, ns, "w3-cont")
		return kb.Status.Workers == 3 && kb.Status.WorkerGroupID == "orders-backup", fmt.Sprintf("%+v", kb.Status)
	})

	// The Job controller's part: three worker pods exit 0, each with its own partitions' summary.
	now := metav1.Now()
	for i, records := range []int64{100, 200, 300} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w3-once-g1-%d", i), Namespace: ns,
			Labels: map[string]string{jobLabel: job.Name}}, Spec: job.Spec.Template.Spec}
		pod.Spec.NodeName = "envtest-node"
		if err := k8s.Create(testCtx, pod); err != nil {
			t.Fatal(err)
		}
		summary := fmt.Sprintf(`{"command":"backup","backup_id":"w3-once-g1","exit_code":0,"outcome":"succeeded",`+
			`"records":%d,"bytes":%d,"partitions":2,"segments":2,"duration_seconds":1,"errors":[]}`, records, records*10)
		pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
			Name: containerName, Image: testImage, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Message: summary, StartedAt: now, FinishedAt: now, Reason: "Completed"}}}}}
		if err := k8s.Status().Update(testCtx, pod); err != nil {
			t.Fatal(err)
		}
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		j := &batchv1.Job{}
		if err := k8s.Get(testCtx, client.ObjectKeyFromObject(job), j); err != nil {
			return err
		}
		completeJob(j, 0, now)
		j.Status.Succeeded = 3
		return k8s.Status().Update(testCtx, j)
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "Succeeded with the three workers' records", func() (bool, string) {
		kb := getKB(t, ns, "w3-once")
		ok := kb.Status.Phase == kbv1.PhaseCompleted && kb.Status.RecordsProcessed == 600 && kb.Status.BytesProcessed == 6000 &&
			kb.Status.SegmentsCompleted == 6 && kb.Status.Workers == 3 && kb.Status.WorkerGroupID == "kafka-backup."+ns+".w3-once"
		return ok, fmt.Sprintf("%+v", kb.Status)
	})
}

// Worker counts and timeouts outside the schema are refused by the API server, naming the field.
func TestWorkersInvalidRefused(t *testing.T) {
	ns := newNamespace(t)
	for _, c := range []struct{ extra, field string }{
		{"  workers: 0\n", "spec.workers"},
		{"  workers: -2\n", "spec.workers"},
		{"  workers: 65\n", "spec.workers"},
		{"  workers: two\n", "spec.workers"},
		{"  workers: 3\n  workerGroup: {sessionTimeoutMs: 500}\n", "spec.workerGroup.sessionTimeoutMs"},
		{"  workers: 3\n  workerGroup: {rebalanceTimeoutMs: 3600001}\n", "spec.workerGroup.rebalanceTimeoutMs"},
		{"  workers: 3\n  workerGroup: {groupId: \"\"}\n", "spec.workerGroup.groupId"},
		{"  workers: 3\n  workerGroup: {groupId: \"a\\tb\"}\n", "spec.workerGroup.groupId"},
		{"  workers: 3\n  workerGroup: {instanceId: x}\n", "instanceId"},
	} {
		err := createError(ns, workersBackup("bad-workers", c.extra))
		if err == nil {
			t.Errorf("%q was accepted", c.extra)
			_ = k8s.Delete(testCtx, &kbv1.KafkaBackup{ObjectMeta: metav1.ObjectMeta{Name: "bad-workers", Namespace: ns}})
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%q: the error does not name %s: %v", c.extra, c.field, err)
		}
	}
}
