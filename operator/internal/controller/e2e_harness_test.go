//go:build e2e

package controller

// End to end against the real harness broker (SASL_SSL, SCRAM) and S3 server, with the operator
// running against envtest's etcd + kube-apiserver plus a real kube-controller-manager (its Job
// controller): the seed page's KafkaBackup (host changed, topics and S3 storage added) → the
// operator's Job → the Job controller's Pod → that Pod run here as a kubelet would run it (env from
// the Secrets and the downward API, the ConfigMap and Secret volumes as files, the image's binary)
// → the Pod's status with the run summary as its termination message → the Job controller marks
// the Job complete → status Succeeded with the record count; then a KafkaRestore of that backup
// into a new topic, checked record by record with confluent-kafka.
//
// What differs from a real kubelet: the volumes are files under a temporary directory and the
// config's /certs, /data and /etc/kafka-backup paths are rewritten to point there; the binary is
// $KB_BINARY, not the image. Run: go test -tags e2e ./internal/controller/ with KUBEBUILDER_ASSETS
// (scripts/k8s-binaries.sh --all: with kube-controller-manager), KB_TEST_ENV
// (tests/harness/cluster.py up) and KB_BINARY.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

type harnessEnv struct {
	Kafka struct {
		Listeners map[string]string `json:"listeners"`
	} `json:"kafka"`
	Users map[string]string `json:"users"`
	TLS   struct {
		CA string `json:"ca"`
	} `json:"tls"`
	S3 struct {
		Endpoint  string `json:"endpoint"`
		Region    string `json:"region"`
		Bucket    string `json:"bucket"`
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key"`
	} `json:"s3"`
}

func loadHarness(t *testing.T) harnessEnv {
	p := os.Getenv("KB_TEST_ENV")
	if p == "" {
		t.Fatal("KB_TEST_ENV must name the single-broker harness env.json (tests/harness/cluster.py up)")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var e harnessEnv
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if e.Kafka.Listeners["SASL_SSL"] == "" || e.S3.Endpoint == "" {
		t.Fatal("the harness env has no SASL_SSL listener or no S3 server")
	}
	return e
}

// The independent client: confluent-kafka from the test venv.
const clientScript = `
import json, os, sys
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
c = json.loads(os.environ["KB_E2E_CLIENT"])
conf = {"bootstrap.servers": c["bootstrap"], "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "admin", "sasl.password": c["password"], "ssl.ca.location": c["ca"]}
if sys.argv[1] == "produce":
    a = AdminClient(conf)
    a.create_topics([NewTopic(c["topic"], 3, 1)])[c["topic"]].result(30)
    p = Producer(conf)
    for i in range(c["n"]):
        p.produce(c["topic"], key=b"k-%d" % i, value=b"v-%d" % i, partition=i % 3)
    if p.flush(30) != 0:
        sys.exit("records left unflushed")
    print(json.dumps({"produced": c["n"]}))
else:
    cons = Consumer(dict(conf, **{"group.id": "op-e2e-check", "enable.auto.commit": False}))
    md = cons.list_topics(c["topic"], timeout=30).topics[c["topic"]]
    out = {}
    for p in sorted(md.partitions):
        lo, hi = cons.get_watermark_offsets(TopicPartition(c["topic"], p), timeout=30)
        recs = []
        if hi > lo:
            cons.assign([TopicPartition(c["topic"], p, lo)])
            while len(recs) < hi - lo:
                m = cons.poll(10)
                if m is None:
                    break
                if m.error():
                    sys.exit(str(m.error()))
                recs.append([m.key().decode(), m.value().decode()])
        out[str(p)] = recs
    cons.close()
    print(json.dumps(out))
`

func runClient(t *testing.T, e harnessEnv, cmd, topic string, n int) string {
	t.Helper()
	py := os.Getenv("PY")
	if py == "" {
		py = filepath.Join(os.Getenv("HOME"), ".cache", "kafka-backup", "venv", "bin", "python")
	}
	cfg, _ := json.Marshal(map[string]any{"bootstrap": e.Kafka.Listeners["SASL_SSL"], "password": e.Users["admin"],
		"ca": e.TLS.CA, "topic": topic, "n": n})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, py, "-c", clientScript, cmd)
	c.Env = append(os.Environ(), "KB_E2E_CLIENT="+string(cfg))
	out, err := c.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("confluent-kafka %s: %v %s", cmd, err, msg)
	}
	return string(out)
}

// runPodLikeKubelet runs a Job's pod spec here: it returns the exit code and the termination message.
func runPodLikeKubelet(t *testing.T, bin string, pod *corev1.Pod) (int32, string) {
	t.Helper()
	root := t.TempDir()
	spec := pod.Spec
	c := spec.Containers[0]
	mapped := map[string]string{}
	for _, m := range c.VolumeMounts {
		var vol *corev1.Volume
		for i := range spec.Volumes {
			if spec.Volumes[i].Name == m.Name {
				vol = &spec.Volumes[i]
			}
		}
		dir := filepath.Join(root, m.MountPath)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		mapped[m.MountPath] = dir
		switch {
		case vol.ConfigMap != nil:
			cm := &corev1.ConfigMap{}
			if err := k8s.Get(testCtx, types.NamespacedName{Namespace: pod.Namespace, Name: vol.ConfigMap.Name}, cm); err != nil {
				t.Fatal(err)
			}
			for k, v := range cm.Data {
				if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		case vol.Secret != nil:
			s := &corev1.Secret{}
			if err := k8s.Get(testCtx, types.NamespacedName{Namespace: pod.Namespace, Name: vol.Secret.SecretName}, s); err != nil {
				t.Fatal(err)
			}
			for _, it := range vol.Secret.Items {
				if err := os.WriteFile(filepath.Join(dir, it.Path), s.Data[it.Key], 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	mounts := make([]string, 0, len(mapped))
	for m := range mapped {
		mounts = append(mounts, m)
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	// Each mount path is swapped for a placeholder first, so a mapped path (itself under /tmp)
	// is never mapped a second time.
	remap := func(s string) string {
		for i, m := range mounts {
			ph := fmt.Sprintf("\x00%d\x00", i)
			s = strings.ReplaceAll(s, " "+m, " "+ph)
			if strings.HasPrefix(s, m) {
				s = ph + strings.TrimPrefix(s, m)
			}
		}
		for i, m := range mounts {
			s = strings.ReplaceAll(s, fmt.Sprintf("\x00%d\x00", i), mapped[m])
		}
		return s
	}
	cfgPath := filepath.Join(mapped[configDir], configKey)
	text, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(remap(string(text))), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + mapped[tmpDir], "TMPDIR=" + mapped[tmpDir]}
	for _, ev := range c.Env {
		switch {
		case ev.ValueFrom == nil:
			env = append(env, ev.Name+"="+ev.Value)
		case ev.ValueFrom.SecretKeyRef != nil:
			s := &corev1.Secret{}
			if err := k8s.Get(testCtx, types.NamespacedName{Namespace: pod.Namespace, Name: ev.ValueFrom.SecretKeyRef.Name}, s); err != nil {
				t.Fatal(err)
			}
			env = append(env, ev.Name+"="+string(s.Data[ev.ValueFrom.SecretKeyRef.Key]))
		case ev.ValueFrom.FieldRef != nil && strings.HasPrefix(ev.ValueFrom.FieldRef.FieldPath, "metadata.labels['"):
			// The downward API, from the Pod the Job controller made.
			key := strings.TrimSuffix(strings.TrimPrefix(ev.ValueFrom.FieldRef.FieldPath, "metadata.labels['"), "']")
			env = append(env, ev.Name+"="+pod.Labels[key])
		default:
			t.Fatalf("env %s: a source this runner does not know", ev.Name)
		}
	}
	args := make([]string, 0, len(c.Args)+2)
	for _, a := range c.Args {
		args = append(args, remap(a))
	}
	summary := filepath.Join(root, "termination-log")
	args = append(args, "--summary-file", summary)
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	code := int32(0)
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running %s: %v", bin, err)
		}
		code = int32(ee.ExitCode())
	}
	msg, _ := os.ReadFile(summary)
	if code != 0 {
		t.Logf("pod output (exit %d):\n%s", code, out)
	}
	return code, string(msg)
}

func TestE2ESeedBackupAndRestoreAgainstHarness(t *testing.T) {
	e := loadHarness(t)
	bin := kafkaBackupBinary(t)
	ns := newNamespace(t)
	topic := ns + "-orders"
	const n = 300
	runClient(t, e, "produce", topic, n)

	ca, err := os.ReadFile(e.TLS.CA)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "kafka-credentials", Namespace: ns},
			StringData: map[string]string{"username": "backup", "password": e.Users["backup"]}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kafka-restore-credentials", Namespace: ns},
			StringData: map[string]string{"username": "restore", "password": e.Users["restore"]}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kafka-tls", Namespace: ns}, Data: map[string][]byte{"ca.crt": ca}},
		{ObjectMeta: metav1.ObjectMeta{Name: "s3-creds", Namespace: ns},
			StringData: map[string]string{"AWS_ACCESS_KEY_ID": e.S3.AccessKey, "AWS_SECRET_ACCESS_KEY": e.S3.SecretKey}},
	}
	for _, s := range secrets {
		if err := k8s.Create(testCtx, s); err != nil {
			t.Fatal(err)
		}
	}
	secretValues = append(secretValues, e.Users["backup"], e.Users["restore"], e.S3.SecretKey)

	seed := strings.Replace(seedKafkaBackup, "127.0.0.1:9093", e.Kafka.Listeners["SASL_SSL"], 1) + fmt.Sprintf(`
  topics: [%q]
  storage:
    storageType: s3
    s3:
      bucket: %s
      region: %s
      endpoint: %s
      allowHttp: true
      pathStyle: true
      prefix: %s/
      credentialsSecret: {name: s3-creds}
`, topic, e.S3.Bucket, e.S3.Region, e.S3.Endpoint, ns)
	applyYAML(t, ns, seed)
	job := waitJob(t, ns, "secure-backup-g1")
	pod := podOfJob(t, job)
	code, summary := runPodLikeKubelet(t, bin, pod)
	if code != 0 {
		t.Fatalf("the backup pod exited %d; summary %s", code, summary)
	}
	endPod(t, pod, code, summary)
	var kb *kbv1.KafkaBackup
	eventually(t, "backup Succeeded", func() (bool, string) {
		kb = getKB(t, ns, "secure-backup")
		return meta.IsStatusConditionTrue(kb.Status.Conditions, kbv1.ConditionSucceeded), fmt.Sprintf("%+v", kb.Status)
	})
	if kb.Status.RecordsProcessed != n || kb.Status.LastBackupID != "secure-backup-g1" {
		t.Fatalf("status records %d (want %d), lastBackupId %q", kb.Status.RecordsProcessed, n, kb.Status.LastBackupID)
	}

	applyYAML(t, ns, fmt.Sprintf(`
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaRestore
metadata: {name: restore}
spec:
  backupRef: {name: secure-backup}
  kafkaCluster:
    bootstrapServers: [%q]
    securityProtocol: SASL_SSL
    tlsSecret: {name: kafka-tls, caKey: ca.crt}
    saslSecret: {name: kafka-restore-credentials, mechanism: SCRAM-SHA-256}
  topicMapping: {%q: %q}
  createTopics: true
`, e.Kafka.Listeners["SASL_SSL"], topic, topic+"-restored"))
	rjob := waitJob(t, ns, "restore-restore")
	rpod := podOfJob(t, rjob)
	code, summary = runPodLikeKubelet(t, bin, rpod)
	if code != 0 {
		t.Fatalf("the restore pod exited %d; summary %s", code, summary)
	}
	endPod(t, rpod, code, summary)
	eventually(t, "restore Succeeded", func() (bool, string) {
		kr := &kbv1.KafkaRestore{}
		_ = k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "restore"}, kr)
		return meta.IsStatusConditionTrue(kr.Status.Conditions, kbv1.ConditionSucceeded) && kr.Status.RecordsRestored == n,
			fmt.Sprintf("%+v", kr.Status)
	})
	src, dst := runClient(t, e, "consume", topic, 0), runClient(t, e, "consume", topic+"-restored", 0)
	if src != dst {
		t.Fatalf("the restored topic differs from the source:\nsource   %.400s\nrestored %.400s", src, dst)
	}
	var parts map[string][][]string
	if err := json.Unmarshal([]byte(src), &parts); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, recs := range parts {
		total += len(recs)
	}
	if total != n {
		t.Fatalf("the source topic holds %d records; want %d", total, n)
	}
}

var kcmError error

func init() {
	startExtras = func(env *envtest.Environment) func() {
		e2eEnv = env
		return startControllerManager(env)
	}
}

// startControllerManager runs kube-controller-manager (the Job and CronJob controllers only, no leader election,
// no serving port) against envtest's API server as a system:masters user.
func startControllerManager(env *envtest.Environment) func() {
	bin := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		kcmError = fmt.Errorf("%s is missing: build it with scripts/k8s-binaries.sh --all", bin)
		return nil
	}
	user, err := env.AddUser(envtest.User{Name: "kcm", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		kcmError = err
		return nil
	}
	kc, err := user.KubeConfig()
	if err != nil {
		kcmError = err
		return nil
	}
	dir, err := os.MkdirTemp("", "kb-operator-kcm")
	if err != nil {
		kcmError = err
		return nil
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		kcmError = err
		return nil
	}
	logf, _ := os.Create(filepath.Join(dir, "kcm.log"))
	cmd := exec.Command(bin, "--kubeconfig="+path, "--leader-elect=false", "--controllers=job,cronjob",
		"--secure-port=0", "--use-service-account-credentials=false", "--concurrent-job-syncs=2")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		kcmError = err
		return nil
	}
	return func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		_ = logf.Close()
		_ = os.RemoveAll(dir)
	}
}

// podOfJob waits for the Pod the Job controller creates for a Job.
func podOfJob(t *testing.T, job *batchv1.Job) *corev1.Pod {
	t.Helper()
	if kcmError != nil {
		t.Fatalf("kube-controller-manager: %v", kcmError)
	}
	var pod *corev1.Pod
	eventually(t, "the Job controller's Pod for "+job.Name, func() (bool, string) {
		var pods corev1.PodList
		if err := k8s.List(testCtx, &pods, client.InNamespace(job.Namespace), client.MatchingLabels{jobLabel: job.Name}); err != nil {
			return false, err.Error()
		}
		if len(pods.Items) == 0 {
			return false, "no pod yet"
		}
		pod = &pods.Items[0]
		return true, ""
	})
	return pod
}

// endPod writes what a kubelet would once the container ended: the phase and the container's
// terminated state with the termination message.
func endPod(t *testing.T, pod *corev1.Pod, code int32, message string) {
	t.Helper()
	now := metav1.Now()
	p := &corev1.Pod{}
	if err := k8s.Get(testCtx, client.ObjectKeyFromObject(pod), p); err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodSucceeded
	reason := "Completed"
	if code != 0 {
		p.Status.Phase, reason = corev1.PodFailed, "Error"
	}
	p.Status.StartTime = &now
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, Image: p.Spec.Containers[0].Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason,
			Message: message, StartedAt: now, FinishedAt: now}}}}
	if err := k8s.Status().Update(testCtx, p); err != nil {
		t.Fatal(err)
	}
}

// A scheduled KafkaBackup end to end: the real CronJob controller starts a run at the next minute;
// the run's backup id is that Job's name (the downward API on the Pod's job-name label), and the
// status reports it with the record count.
func TestE2EScheduledBackupRunsFromCronJob(t *testing.T) {
	e := loadHarness(t)
	bin := kafkaBackupBinary(t)
	if kcmError != nil {
		t.Fatalf("kube-controller-manager: %v", kcmError)
	}
	ns := newNamespace(t)
	topic := ns + "-events"
	const n = 120
	runClient(t, e, "produce", topic, n)
	ca, err := os.ReadFile(e.TLS.CA)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "kafka-credentials", Namespace: ns},
			StringData: map[string]string{"user": "backup", "pass": e.Users["backup"]}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kafka-tls", Namespace: ns}, Data: map[string][]byte{"ca.crt": ca}},
		{ObjectMeta: metav1.ObjectMeta{Name: "s3-creds", Namespace: ns},
			StringData: map[string]string{"id": e.S3.AccessKey, "secret": e.S3.SecretKey}},
	} {
		if err := k8s.Create(testCtx, s); err != nil {
			t.Fatal(err)
		}
	}
	applyYAML(t, ns, fmt.Sprintf(`
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackup
metadata: {name: minutely}
spec:
  kafkaCluster:
    bootstrapServers: [%q]
    securityProtocol: SASL_SSL
    tlsSecret: {name: kafka-tls}
    saslSecret: {name: kafka-credentials, mechanism: SCRAM-SHA-512, usernameKey: user, passwordKey: pass}
  topics: [%q]
  schedule: "0 * * * * * *"
  stopAtCurrentOffsets: true
  storage:
    storageType: s3
    s3: {bucket: %s, region: %s, endpoint: %q, allowHttp: true, pathStyle: true, prefix: %s/,
         credentialsSecret: {name: s3-creds, accessKeyIdKey: id, secretAccessKeyKey: secret}}
`, e.Kafka.Listeners["SASL_SSL"], topic, e.S3.Bucket, e.S3.Region, e.S3.Endpoint, ns))
	var job batchv1.Job
	eventuallyWithin(t, 90*time.Second, "the CronJob controller's first Job", func() (bool, string) {
		var jobs batchv1.JobList
		if err := k8s.List(testCtx, &jobs, client.InNamespace(ns), client.MatchingLabels{labelBackup: "minutely"}); err != nil {
			return false, err.Error()
		}
		if len(jobs.Items) == 0 {
			return false, "no Job yet"
		}
		job = jobs.Items[0]
		return true, ""
	})
	if c := metav1.GetControllerOf(&job); !strings.HasPrefix(job.Name, "minutely-") || c == nil || c.Kind != "CronJob" || c.Name != "minutely" {
		t.Fatalf("Job %s owners %+v; want one the CronJob minutely made", job.Name, job.OwnerReferences)
	}
	pod := podOfJob(t, &job)
	code, summary := runPodLikeKubelet(t, bin, pod)
	if code != 0 {
		t.Fatalf("the scheduled backup pod exited %d; summary %s", code, summary)
	}
	endPod(t, pod, code, summary)
	eventually(t, "scheduled backup Succeeded", func() (bool, string) {
		kb := getKB(t, ns, "minutely")
		return meta.IsStatusConditionTrue(kb.Status.Conditions, kbv1.ConditionSucceeded) && kb.Status.LastBackupID == job.Name &&
			kb.Status.RecordsProcessed == n && kb.Status.NextScheduledBackup != nil, fmt.Sprintf("%+v", kb.Status)
	})
	var sum runSummary
	if err := json.Unmarshal([]byte(summary), &sum); err != nil || sum.BackupID != job.Name {
		t.Fatalf("the run's own summary names backup id %q (err %v); want the Job's name %s", sum.BackupID, err, job.Name)
	}
}
