package controller

// Controller tests against a real etcd + kube-apiserver (controller-runtime envtest; the binaries
// come from scripts/k8s-binaries.sh through KUBEBUILDER_ASSETS). There is no kube-controller-manager
// here: the tests play the Job controller's part by writing Job and Pod status themselves.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

var (
	k8s     client.Client
	testCtx context.Context
	// Secret values created by the tests; none may appear outside Secrets.
	secretValues []string
)

const testImage = "kafka-backup:envtest"

// startExtras starts more of a cluster beside envtest (the e2e build adds kube-controller-manager);
// it returns how to stop it.
var startExtras func(env *envtest.Environment) func()

func TestMain(m *testing.M) {
	if os.Getenv("KB_OPERATOR_NO_ENVTEST") != "" {
		// Developer loop for the tests that need no control plane (with -run); the others fail.
		os.Exit(m.Run())
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run scripts/k8s-binaries.sh and export KUBEBUILDER_ASSETS=$(scripts/k8s-binaries.sh)")
		os.Exit(1)
	}
	// Every operator log line, debug included, is kept for the secret grep; stderr shows them only
	// with KB_OPERATOR_TEST_DEBUG set.
	var out io.Writer = &operatorLog
	if os.Getenv("KB_OPERATOR_TEST_DEBUG") != "" {
		out = io.MultiWriter(&operatorLog, os.Stderr)
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(out), zap.Level(zapcore.DebugLevel)))
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the envtest control plane:", err)
		os.Exit(1)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = kbv1.AddToScheme(scheme)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
	if err := Setup(mgr, Options{Image: testImage, MinBackoff: time.Second, MaxBackoff: 4 * time.Second}); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	testCtx = ctx
	go func() { _ = mgr.Start(ctx) }()
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	var stopExtras func()
	if startExtras != nil {
		stopExtras = startExtras(env)
	}
	code := m.Run()
	if stopExtras != nil {
		stopExtras()
	}
	cancel()
	_ = env.Stop()
	os.Exit(code)
}

// lockedBuffer collects the operator's log (written from many goroutines).
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var operatorLog lockedBuffer

// ---- helpers ------------------------------------------------------------------------------------

func randomSecret(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	v := "s3cr3t-" + hex.EncodeToString(b)
	secretValues = append(secretValues, v)
	return v
}

func newNamespace(t *testing.T) string {
	if k8s == nil {
		t.Fatal("no control plane: unset KB_OPERATOR_NO_ENVTEST and set KUBEBUILDER_ASSETS")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := "kb-" + strings.ToLower(strings.ReplaceAll(t.Name(), "_", "-"))
	if len(ns) > 50 {
		ns = ns[:50]
	}
	ns += "-" + hex.EncodeToString(b)
	if err := k8s.Create(testCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// eventually polls cond every 100 ms for at most 20 s.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	eventuallyWithin(t, 20*time.Second, what, cond)
}

// eventuallyWithin polls cond every 100 ms for at most limit.
func eventuallyWithin(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for i := 0; i < int(limit/(100*time.Millisecond))+1 && time.Now().Before(deadline); i++ {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last state: %s", what, last)
}

func applyYAML(t *testing.T, ns, text string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(text), &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetNamespace(ns)
	// Strict: a field our schema does not know would be an error, not silently pruned.
	if err := k8s.Create(testCtx, u, client.FieldValidation("Strict")); err != nil {
		t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return u
}

func createError(ns, text string) error {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(text), &u.Object); err != nil {
		return err
	}
	u.SetNamespace(ns)
	return k8s.Create(testCtx, u, client.FieldValidation("Strict"))
}

// seedSecrets creates the seed page's two Secrets (kafka-credentials, kafka-tls) with fresh values.
func seedSecrets(t *testing.T, ns string) (user, password string) {
	user, password = "backup-user", randomSecret(t)
	creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "kafka-credentials", Namespace: ns},
		StringData: map[string]string{"username": user, "password": password}}
	tls := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "kafka-tls", Namespace: ns},
		Data: map[string][]byte{"ca.crt": []byte("-----BEGIN CERTIFICATE-----\n" + randomSecret(t) + "\n-----END CERTIFICATE-----\n"),
			"client.crt": []byte(randomSecret(t)), "client.key": []byte(randomSecret(t))}}
	for _, s := range []*corev1.Secret{creds, tls} {
		if err := k8s.Create(testCtx, s); err != nil {
			t.Fatal(err)
		}
	}
	return user, password
}

// The seed page's KafkaBackup, unchanged but for the host.
const seedKafkaBackup = `
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackup
metadata:
  name: secure-backup
spec:
  kafkaCluster:
    bootstrapServers:
      - 127.0.0.1:9093
    securityProtocol: SASL_SSL
    tlsSecret:
      name: kafka-tls
      caKey: ca.crt
    saslSecret:
      name: kafka-credentials
      mechanism: SCRAM-SHA-256
      usernameKey: username
      passwordKey: password
`

func getKB(t *testing.T, ns, name string) *kbv1.KafkaBackup {
	kb := &kbv1.KafkaBackup{}
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: name}, kb); err != nil {
		t.Fatal(err)
	}
	return kb
}

func condString(conds []metav1.Condition) string {
	b, _ := json.Marshal(conds)
	return string(b)
}

func envByName(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func checkSecretEnv(t *testing.T, c corev1.Container, env, secret, key string) {
	t.Helper()
	e := envByName(c, env)
	if e == nil || e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != key {
		t.Errorf("env %s = %+v; want a secretKeyRef to %s/%s", env, e, secret, key)
	}
}

func checkControlledBy(t *testing.T, obj metav1.Object, owner metav1.Object) {
	t.Helper()
	if !metav1.IsControlledBy(obj, owner) {
		t.Errorf("%s has owner references %+v; want a controller reference to %s", obj.GetName(), obj.GetOwnerReferences(), owner.GetName())
	}
}

// finishJob plays the Job controller: one pod that ended with `summary` as its termination
// message, then the Job's Complete (or Failed) condition.
func finishJob(t *testing.T, job *batchv1.Job, exitCode int32, summary string) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-pod", Namespace: job.Namespace,
		Labels: map[string]string{jobLabel: job.Name}}, Spec: job.Spec.Template.Spec}
	pod.Spec.NodeName = "envtest-node"
	if err := k8s.Create(testCtx, pod); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
		Name: containerName, Image: job.Spec.Template.Spec.Containers[0].Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, Message: summary,
			StartedAt: now, FinishedAt: now, Reason: "Completed"}}}}}
	if exitCode != 0 {
		pod.Status.Phase = corev1.PodFailed
	}
	if err := k8s.Status().Update(testCtx, pod); err != nil {
		t.Fatal(err)
	}
	// With the e2e build a real Job controller runs too and may write the status first: retry.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		j := &batchv1.Job{}
		if err := k8s.Get(testCtx, client.ObjectKeyFromObject(job), j); err != nil {
			return err
		}
		completeJob(j, exitCode, now)
		return k8s.Status().Update(testCtx, j)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func completeJob(j *batchv1.Job, exitCode int32, now metav1.Time) {
	j.Status.StartTime = &now
	if exitCode == 0 {
		j.Status.Succeeded = 1
		j.Status.CompletionTime = &now
		j.Status.Conditions = append(j.Status.Conditions,
			batchv1.JobCondition{Type: "SuccessCriteriaMet", Status: corev1.ConditionTrue, LastTransitionTime: now},
			batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now})
	} else {
		j.Status.Failed = 1
		j.Status.Conditions = append(j.Status.Conditions,
			batchv1.JobCondition{Type: "FailureTarget", Status: corev1.ConditionTrue, LastTransitionTime: now,
				Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"},
			batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: now,
				Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"})
	}
}

func waitJob(t *testing.T, ns, name string) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{}
	eventually(t, "Job "+name, func() (bool, string) {
		err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: name}, job)
		return err == nil, fmt.Sprint(err)
	})
	return job
}

// ---- tests --------------------------------------------------------------------------------------

// The seed page's KafkaBackup applies unchanged (but for the host) and becomes a ConfigMap plus a
// one-shot Job that gets the credentials only as secretKeyRef env and the certificates as a
// read-only volume at /certs; the pod's termination message (kafka-backup's run summary) becomes
// the status: Succeeded, lastBackupId, records and bytes, and an event.
func TestSeedKafkaBackupBecomesJobWithSecretWiring(t *testing.T) {
	ns := newNamespace(t)
	seedSecrets(t, ns)
	applyYAML(t, ns, seedKafkaBackup)
	kb := getKB(t, ns, "secure-backup")

	job := waitJob(t, ns, "secure-backup-g1")
	checkControlledBy(t, job, kb)
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "secure-backup-config"}, cm); err != nil {
		t.Fatal(err)
	}
	checkControlledBy(t, cm, kb)
	text := cm.Data[configKey]
	for _, want := range []string{"mode: backup", "- 127.0.0.1:9093", "security_protocol: SASL_SSL",
		"sasl_mechanism: SCRAM-SHA-256", "sasl_username: ${KAFKA_USERNAME}", "sasl_password: ${KAFKA_PASSWORD}",
		"ssl_ca_location: /certs/ca.crt", "backend: filesystem", "backup_id: ${KB_BACKUP_ID}"} {
		if !strings.Contains(text, want) {
			t.Errorf("ConfigMap config.yaml lacks %q:\n%s", want, text)
		}
	}
	pvc := &corev1.PersistentVolumeClaim{}
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "secure-backup-backups"}, pvc); err != nil {
		t.Errorf("the default storage claim secure-backup-backups: %v", err)
	}

	spec := job.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("containers: %+v", spec.Containers)
	}
	c := spec.Containers[0]
	if c.Image != testImage || strings.Join(c.Args, " ") != "backup --config /etc/kafka-backup/config.yaml --no-progress" {
		t.Errorf("container image %q args %q", c.Image, c.Args)
	}
	checkSecretEnv(t, c, "KAFKA_USERNAME", "kafka-credentials", "username")
	checkSecretEnv(t, c, "KAFKA_PASSWORD", "kafka-credentials", "password")
	if e := envByName(c, envBackupID); e == nil || e.Value != "secure-backup-g1" {
		t.Errorf("KB_BACKUP_ID = %+v", e)
	}
	var certs *corev1.Volume
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == "certs" {
			certs = &spec.Volumes[i]
		}
	}
	if certs == nil || certs.Secret == nil || certs.Secret.SecretName != "kafka-tls" {
		t.Errorf("certs volume = %+v; want the Secret kafka-tls", certs)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.Name == "certs" && m.MountPath == "/certs" && m.ReadOnly {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("no read-only /certs mount in %+v", c.VolumeMounts)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.RunAsUser == nil || *sc.RunAsUser != 65532 || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("security context %+v", sc)
	}
	if c.TerminationMessagePath != "/dev/termination-log" {
		t.Errorf("terminationMessagePath %q", c.TerminationMessagePath)
	}

	finishJob(t, job, 0, `{"command":"backup","backup_id":"secure-backup-g1","exit_code":0,"outcome":"succeeded",`+
		`"records":1234,"bytes":56789,"partitions":3,"segments":3,"duration_seconds":1.5,"errors":[]}`)
	eventually(t, "status Succeeded", func() (bool, string) {
		kb = getKB(t, ns, "secure-backup")
		ok := meta.IsStatusConditionTrue(kb.Status.Conditions, kbv1.ConditionSucceeded) && kb.Status.RecordsProcessed == 1234
		return ok, fmt.Sprintf("%+v", kb.Status)
	})
	if kb.Status.Phase != kbv1.PhaseCompleted || kb.Status.LastBackupID != "secure-backup-g1" ||
		kb.Status.BytesProcessed != 56789 || kb.Status.SegmentsCompleted != 3 || kb.Status.LastBackupTime == nil {
		t.Errorf("status %+v", kb.Status)
	}
	if meta.IsStatusConditionTrue(kb.Status.Conditions, kbv1.ConditionFailed) || !meta.IsStatusConditionTrue(kb.Status.Conditions, kbv1.ConditionReady) {
		t.Errorf("conditions %s", condString(kb.Status.Conditions))
	}
	eventually(t, "a BackupSucceeded event", func() (bool, string) {
		var evs eventsv1.EventList
		if err := k8s.List(testCtx, &evs, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		for _, e := range evs.Items {
			if e.Reason == "BackupSucceeded" && e.Regarding.Name == "secure-backup" && strings.Contains(e.Note, "1234 records") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events", len(evs.Items))
	})
}

// A schedule in the OSO form (seconds first, year last) becomes a CronJob in the 5-field form; S3
// storage with a credentials Secret becomes AWS_* secretKeyRef env; each run's backup id is its Job's name.
func TestScheduledS3BackupBecomesCronJob(t *testing.T) {
	ns := newNamespace(t)
	seedSecrets(t, ns)
	s3 := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3-creds", Namespace: ns},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": randomSecret(t), "AWS_SECRET_ACCESS_KEY": randomSecret(t)}}
	if err := k8s.Create(testCtx, s3); err != nil {
		t.Fatal(err)
	}
	applyYAML(t, ns, `
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackup
metadata:
  name: every-six-hours
spec:
  kafkaCluster:
    bootstrapServers: ["127.0.0.1:9093"]
    securityProtocol: SASL_SSL
    tlsSecret: {name: kafka-tls}
    saslSecret: {name: kafka-credentials, mechanism: SCRAM-SHA-512}
  topics: ["orders-*", "payments"]
  schedule: "0 0 */6 * * * *"
  compression: zstd
  compressionLevel: 5
  stopAtCurrentOffsets: true
  consumerGroupSnapshot: true
  retention: {enabled: true, maxAgeDays: 30, keepLast: 3, dryRun: true}
  storage:
    storageType: s3
    s3:
      bucket: backups
      region: us-east-1
      endpoint: http://127.0.0.1:7070
      allowHttp: true
      pathStyle: true
      prefix: prod/
      credentialsSecret: {name: s3-creds}
`)
	cj := &batchv1.CronJob{}
	eventually(t, "CronJob every-six-hours", func() (bool, string) {
		err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "every-six-hours"}, cj)
		return err == nil, fmt.Sprint(err)
	})
	if cj.Spec.Schedule != "0 */6 * * *" || cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("schedule %q policy %q", cj.Spec.Schedule, cj.Spec.ConcurrencyPolicy)
	}
	c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	checkSecretEnv(t, c, "AWS_ACCESS_KEY_ID", "s3-creds", "AWS_ACCESS_KEY_ID")
	checkSecretEnv(t, c, "AWS_SECRET_ACCESS_KEY", "s3-creds", "AWS_SECRET_ACCESS_KEY")
	checkSecretEnv(t, c, "KAFKA_PASSWORD", "kafka-credentials", "password")
	if e := envByName(c, envBackupID); e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil ||
		e.ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-name']" {
		t.Errorf("KB_BACKUP_ID = %+v", e)
	}
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "every-six-hours-config"}, cm); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"backend: s3", "bucket: backups", "endpoint: http://127.0.0.1:7070", "path_style: true",
		"access_key: ${AWS_ACCESS_KEY_ID}", "secret_key: ${AWS_SECRET_ACCESS_KEY}", "compression_level: 5",
		"stop_at_current_offsets: true", "- orders-*", "sasl_mechanism: SCRAM-SHA-512"} {
		if !strings.Contains(cm.Data[configKey], want) {
			t.Errorf("config lacks %q:\n%s", want, cm.Data[configKey])
		}
	}
	ret := &batchv1.CronJob{}
	eventually(t, "CronJob every-six-hours-retention", func() (bool, string) {
		err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "every-six-hours-retention"}, ret)
		return err == nil, fmt.Sprint(err)
	})
	rc := ret.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	wantArgs := "prune --path s3://backups/prod/?region=us-east-1&endpoint=http://127.0.0.1:7070&path_style=true --keep-last 3 --max-age-days 30 --dry-run"
	if strings.Join(rc.Args, " ") != wantArgs || ret.Spec.Schedule != "0 */6 * * *" {
		t.Errorf("retention CronJob %q args %q; want %q", ret.Spec.Schedule, strings.Join(rc.Args, " "), wantArgs)
	}
	checkSecretEnv(t, rc, "AWS_SECRET_ACCESS_KEY", "s3-creds", "AWS_SECRET_ACCESS_KEY")
	eventually(t, "Pending with the next run", func() (bool, string) {
		kb := getKB(t, ns, "every-six-hours")
		return kb.Status.Phase == kbv1.PhasePending && kb.Status.NextScheduledBackup != nil, fmt.Sprintf("%+v", kb.Status)
	})
}

// Bad resources are refused by the API server, and the message names the field.
func TestAPIServerRefusesBadResources(t *testing.T) {
	ns := newNamespace(t)
	cases := map[string]struct{ yaml, field string }{
		"missing bootstrapServers": {`
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackup
metadata: {name: no-servers}
spec:
  kafkaCluster: {securityProtocol: PLAINTEXT}
`, "spec.kafkaCluster.bootstrapServers"},
		"unknown storageType": {`
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackup
metadata: {name: bad-storage}
spec:
  kafkaCluster: {bootstrapServers: ["127.0.0.1:9092"]}
  storage: {storageType: ftp}
`, "spec.storage.storageType"},
		"bad cron": {`
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackup
metadata: {name: bad-cron}
spec:
  kafkaCluster: {bootstrapServers: ["127.0.0.1:9092"]}
  schedule: "every day at noon"
`, "spec.schedule"},
		"s3 without its block": {`
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackup
metadata: {name: bad-s3}
spec:
  kafkaCluster: {bootstrapServers: ["127.0.0.1:9092"]}
  storage: {storageType: s3}
`, "storage.s3 is required"},
		"unknown security protocol": {`
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackup
metadata: {name: bad-proto}
spec:
  kafkaCluster: {bootstrapServers: ["127.0.0.1:9092"], securityProtocol: TLS}
`, "spec.kafkaCluster.securityProtocol"},
		"restore without a backup": {`
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaRestore
metadata: {name: bad-restore}
spec:
  backupRef: {backupId: x}
`, "backupRef needs name"},
	}
	for name, tc := range cases {
		err := createError(ns, tc.yaml)
		if err == nil {
			t.Errorf("%s: accepted; want refused", name)
			continue
		}
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %q; want an Invalid error naming %q", name, err, tc.field)
		}
	}
}

func reconcileCount(t *testing.T, controller string) float64 {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == controller {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// A missing Secret sets Failed with a reason and a message naming it; the resource is retried with
// a growing backoff (no hot loop), and creating the Secret lets it proceed.
func TestMissingSecretFailsWithBackoff(t *testing.T) {
	ns := newNamespace(t)
	applyYAML(t, ns, seedKafkaBackup)
	var kb *kbv1.KafkaBackup
	eventually(t, "Failed condition", func() (bool, string) {
		kb = getKB(t, ns, "secure-backup")
		return meta.IsStatusConditionTrue(kb.Status.Conditions, kbv1.ConditionFailed), condString(kb.Status.Conditions)
	})
	c := meta.FindStatusCondition(kb.Status.Conditions, kbv1.ConditionFailed)
	if c.Reason != "SecretNotFound" || !strings.Contains(c.Message, "kafka-tls") && !strings.Contains(c.Message, "kafka-credentials") {
		t.Errorf("Failed condition %+v; want reason SecretNotFound naming the Secret", c)
	}
	if kb.Status.Phase != kbv1.PhaseFailed || meta.IsStatusConditionTrue(kb.Status.Conditions, kbv1.ConditionReady) {
		t.Errorf("status %+v", kb.Status)
	}
	job := &batchv1.Job{}
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "secure-backup-g1"}, job); !apierrors.IsNotFound(err) {
		t.Errorf("a Job exists although its Secret is missing: %v", err)
	}
	// No hot loop: with a 1 s first backoff that grows, 4 s see only a few reconciles.
	before := reconcileCount(t, "kafkabackup")
	time.Sleep(4 * time.Second) // a window of time is what is measured here; nothing to poll
	if n := reconcileCount(t, "kafkabackup") - before; n > 5 {
		t.Errorf("%v reconciles in 4 s while failing: a hot loop", n)
	}
	seedSecrets(t, ns)
	waitJob(t, ns, "secure-backup-g1")
	eventually(t, "Failed cleared", func() (bool, string) {
		kb = getKB(t, ns, "secure-backup")
		return !meta.IsStatusConditionTrue(kb.Status.Conditions, kbv1.ConditionFailed), condString(kb.Status.Conditions)
	})
}

// A Secret that exists without the named key is reported with the key and the field naming it.
func TestMissingSecretKeyNamed(t *testing.T) {
	ns := newNamespace(t)
	seedSecrets(t, ns)
	applyYAML(t, ns, strings.Replace(seedKafkaBackup, "passwordKey: password", "passwordKey: pass-word", 1))
	eventually(t, "Failed condition", func() (bool, string) {
		kb := getKB(t, ns, "secure-backup")
		c := meta.FindStatusCondition(kb.Status.Conditions, kbv1.ConditionFailed)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == "SecretKeyNotFound" &&
				strings.Contains(c.Message, `"pass-word"`) && strings.Contains(c.Message, "spec.kafkaCluster.saslSecret.passwordKey"),
			condString(kb.Status.Conditions)
	})
}

// A schedule the pattern lets through but cron rejects (minute 61) is a Failed condition naming spec.schedule.
func TestInvalidCronValueFails(t *testing.T) {
	ns := newNamespace(t)
	applyYAML(t, ns, `
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackup
metadata: {name: minute-61}
spec:
  kafkaCluster: {bootstrapServers: ["127.0.0.1:9092"]}
  schedule: "61 * * * *"
`)
	eventually(t, "InvalidSchedule", func() (bool, string) {
		kb := getKB(t, ns, "minute-61")
		c := meta.FindStatusCondition(kb.Status.Conditions, kbv1.ConditionFailed)
		return c != nil && c.Reason == "InvalidSchedule" && strings.Contains(c.Message, "spec.schedule"), condString(kb.Status.Conditions)
	})
}

// A failed run: Failed with the error kafka-backup wrote in its summary, and a Warning event.
func TestFailedRunReportsSummaryError(t *testing.T) {
	ns := newNamespace(t)
	seedSecrets(t, ns)
	applyYAML(t, ns, seedKafkaBackup)
	job := waitJob(t, ns, "secure-backup-g1")
	finishJob(t, job, 3, `{"command":"backup","backup_id":"secure-backup-g1","exit_code":3,"outcome":"failed","records":0,`+
		`"bytes":0,"partitions":0,"segments":0,"duration_seconds":0.2,"errors":["SASL authentication failed for backup-user at 127.0.0.1:9093: check the password"]}`)
	eventually(t, "Failed", func() (bool, string) {
		kb := getKB(t, ns, "secure-backup")
		c := meta.FindStatusCondition(kb.Status.Conditions, kbv1.ConditionFailed)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == "BackupFailed" &&
			strings.Contains(c.Message, "exit 3") && strings.Contains(c.Message, "SASL authentication failed"), condString(kb.Status.Conditions)
	})
}

// KafkaRestore of a KafkaBackup's newest backup: a Job running `restore` with the mapping, the
// time window and the groups in its config, and the restored record count in the status.
func TestKafkaRestoreRunsJob(t *testing.T) {
	ns := newNamespace(t)
	seedSecrets(t, ns)
	applyYAML(t, ns, seedKafkaBackup)
	job := waitJob(t, ns, "secure-backup-g1")
	finishJob(t, job, 0, `{"command":"backup","backup_id":"secure-backup-g1","exit_code":0,"outcome":"succeeded","records":10,"bytes":100,"partitions":1,"segments":1,"duration_seconds":1,"errors":[]}`)
	eventually(t, "lastBackupId", func() (bool, string) {
		kb := getKB(t, ns, "secure-backup")
		return kb.Status.LastBackupID == "secure-backup-g1", fmt.Sprintf("%+v", kb.Status)
	})
	applyYAML(t, ns, `
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaRestore
metadata: {name: restore-orders}
spec:
  backupRef: {name: secure-backup}
  topicMapping: {orders: orders-restored}
  repartitioning: {payments: {strategy: murmur2, targetPartitions: 6}}
  pitr: {startTime: "2026-01-01T00:00:00Z", endTime: "1767312000000"}
  createTopics: true
  consumerGroups: [billing]
`)
	rj := waitJob(t, ns, "restore-orders-restore")
	c := rj.Spec.Template.Spec.Containers[0]
	if c.Args[0] != "restore" {
		t.Errorf("args %q", c.Args)
	}
	checkSecretEnv(t, c, "KAFKA_PASSWORD", "kafka-credentials", "password")
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "restore-orders-restore-config"}, cm); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mode: restore", "backup_id: secure-backup-g1", "orders: orders-restored", "target_partitions: 6",
		"time_window_start: \"2026-01-01T00:00:00Z\"", "time_window_end: 1767312000000", "create_topics: true", "- billing",
		"reset_consumer_offsets: true", "sasl_password: ${KAFKA_PASSWORD}"} {
		if !strings.Contains(cm.Data[configKey], want) {
			t.Errorf("restore config lacks %q:\n%s", want, cm.Data[configKey])
		}
	}
	finishJob(t, rj, 0, `{"command":"restore","backup_id":"secure-backup-g1","restore_id":"r-1","exit_code":0,"outcome":"succeeded","records":10,"bytes":100,"partitions":1,"duration_seconds":1,"errors":[]}`)
	eventually(t, "restore Succeeded", func() (bool, string) {
		kr := &kbv1.KafkaRestore{}
		_ = k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "restore-orders"}, kr)
		return meta.IsStatusConditionTrue(kr.Status.Conditions, kbv1.ConditionSucceeded) && kr.Status.RecordsRestored == 10 &&
			kr.Status.ProgressPercent == 100, fmt.Sprintf("%+v", kr.Status)
	})
}

// KafkaBackupValidation runs `validate --deep` on the backup's storage and keeps an evidence report.
func TestValidationRunsDeepValidateAndWritesEvidence(t *testing.T) {
	ns := newNamespace(t)
	s3 := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s3-creds", Namespace: ns},
		StringData: map[string]string{"AWS_ACCESS_KEY_ID": randomSecret(t), "AWS_SECRET_ACCESS_KEY": randomSecret(t)}}
	if err := k8s.Create(testCtx, s3); err != nil {
		t.Fatal(err)
	}
	applyYAML(t, ns, `
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaBackupValidation
metadata: {name: check}
spec:
  backupRef:
    backupId: nightly-1
    storage:
      storageType: s3
      s3: {bucket: backups, region: us-east-1, endpoint: "http://127.0.0.1:7070", allowHttp: true, pathStyle: true,
           credentialsSecret: {name: s3-creds}}
`)
	job := waitJob(t, ns, "check-validate")
	c := job.Spec.Template.Spec.Containers[0]
	want := "validate --path s3://backups/?region=us-east-1&endpoint=http://127.0.0.1:7070&path_style=true --backup-id nightly-1 --no-progress --deep"
	if strings.Join(c.Args, " ") != want {
		t.Errorf("args %q; want %q", strings.Join(c.Args, " "), want)
	}
	checkSecretEnv(t, c, "AWS_SECRET_ACCESS_KEY", "s3-creds", "AWS_SECRET_ACCESS_KEY")
	finishJob(t, job, 0, "")
	var v kbv1.KafkaBackupValidation
	eventually(t, "validation Succeeded", func() (bool, string) {
		_ = k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "check"}, &v)
		return v.Status.Valid != nil && *v.Status.Valid && meta.IsStatusConditionTrue(v.Status.Conditions, kbv1.ConditionSucceeded),
			fmt.Sprintf("%+v", v.Status)
	})
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: v.Status.EvidenceReport}, cm); err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(cm.Data["report.json"]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["backup_id"] != "nightly-1" || ev["valid"] != true || ev["deep"] != true || ev["location"] != "s3://backups/" {
		t.Errorf("evidence %v", ev)
	}
}

// KafkaOffsetReset becomes a ConfigMap with the reset-offsets config (secrets only as env
// references) and a Job running `kafka-backup reset-offsets`; its run summary makes the status
// Succeeded with the partition count, and a failed run (an active group) makes it Failed naming why.
func TestOffsetResetRunsJob(t *testing.T) {
	ns := newNamespace(t)
	_, password := seedSecrets(t, ns)
	applyYAML(t, ns, `
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaOffsetReset
metadata: {name: reset}
spec:
  kafkaCluster:
    bootstrapServers: ["127.0.0.1:9093"]
    securityProtocol: SASL_SSL
    tlsSecret: {name: kafka-tls, caKey: ca.crt}
    saslSecret: {name: kafka-credentials, mechanism: SCRAM-SHA-512, usernameKey: username, passwordKey: password}
  consumerGroups: [billing, shipping]
  topics: [orders]
  resetStrategy: to-timestamp
  timestamp: "2026-01-01T00:00:00Z"
`)
	job := waitJob(t, ns, "reset-offset-reset")
	c := job.Spec.Template.Spec.Containers[0]
	if len(c.Args) < 3 || c.Args[0] != "reset-offsets" || c.Args[1] != "--config" {
		t.Errorf("args %q", c.Args)
	}
	checkSecretEnv(t, c, "KAFKA_PASSWORD", "kafka-credentials", "password")
	o := &kbv1.KafkaOffsetReset{}
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "reset"}, o); err != nil {
		t.Fatal(err)
	}
	checkControlledBy(t, job, o)
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "reset-offset-reset-config"}, cm); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"reset_offsets:", "strategy: to-timestamp", "timestamp: \"2026-01-01T00:00:00Z\"",
		"- billing", "- shipping", "- orders", "sasl_password: ${KAFKA_PASSWORD}", "bootstrap_servers:"} {
		if !strings.Contains(cm.Data[configKey], want) {
			t.Errorf("reset config lacks %q:\n%s", want, cm.Data[configKey])
		}
	}
	if strings.Contains(cm.Data[configKey], password) {
		t.Error("the password reached the ConfigMap")
	}
	finishJob(t, job, 0, `{"command":"reset-offsets","backup_id":"","exit_code":0,"outcome":"succeeded","records":0,"bytes":0,"partitions":6,"duration_seconds":1,"errors":[]}`)
	eventually(t, "offset reset Succeeded", func() (bool, string) {
		o := &kbv1.KafkaOffsetReset{}
		_ = k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "reset"}, o)
		c := meta.FindStatusCondition(o.Status.Conditions, kbv1.ConditionSucceeded)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == "OffsetResetSucceeded" &&
			strings.Contains(c.Message, "reset 6 partition(s) of 2 group(s) (to-timestamp)"), fmt.Sprintf("%+v", o.Status)
	})

	// An active group: the run exits 1 and the status names the group.
	applyYAML(t, ns, `
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaOffsetReset
metadata: {name: busy}
spec:
  kafkaCluster: {bootstrapServers: ["127.0.0.1:9092"]}
  consumerGroups: [orders-app]
  resetStrategy: to-offset
  offset: 42
`)
	busy := waitJob(t, ns, "busy-offset-reset")
	cm = &corev1.ConfigMap{}
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "busy-offset-reset-config"}, cm); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cm.Data[configKey], "offset: 42") {
		t.Errorf("reset config lacks the offset:\n%s", cm.Data[configKey])
	}
	finishJob(t, busy, 1, `{"command":"reset-offsets","backup_id":"","exit_code":1,"outcome":"failed","records":0,"bytes":0,"partitions":0,"duration_seconds":1,"errors":["error: consumer group 'orders-app' is Stable with 1 member(s): m-1 (client app, host /127.0.0.1); offsets can only be reset when the group is inactive (Empty): stop its consumers and run again"]}`)
	eventually(t, "offset reset Failed", func() (bool, string) {
		o := &kbv1.KafkaOffsetReset{}
		_ = k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "busy"}, o)
		c := meta.FindStatusCondition(o.Status.Conditions, kbv1.ConditionFailed)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == "OffsetResetFailed" &&
				strings.Contains(c.Message, "(exit 1)") && strings.Contains(c.Message, "consumer group 'orders-app' is Stable"),
			fmt.Sprintf("%+v", o.Status)
	})

	// to-offset without spec.offset is a problem with the resource: Failed, no Job.
	applyYAML(t, ns, `
apiVersion: kafka.oso.sh/v1alpha1
kind: KafkaOffsetReset
metadata: {name: no-offset}
spec:
  kafkaCluster: {bootstrapServers: ["127.0.0.1:9092"]}
  consumerGroups: [g]
  resetStrategy: to-offset
`)
	eventually(t, "InvalidSpec", func() (bool, string) {
		o := &kbv1.KafkaOffsetReset{}
		_ = k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: "no-offset"}, o)
		c := meta.FindStatusCondition(o.Status.Conditions, kbv1.ConditionFailed)
		return c != nil && c.Reason == "InvalidSpec" && strings.Contains(c.Message, "spec.offset is required"),
			fmt.Sprintf("%+v", o.Status)
	})
}

// The operator's own deployment (config/rbac + config/manager) is accepted by the API server as
// written, every field known (strict), and the role grants what the controllers use.
func TestOperatorDeploymentManifestsApply(t *testing.T) {
	if k8s == nil {
		t.Fatal("no control plane: unset KB_OPERATOR_NO_ENVTEST and set KUBEBUILDER_ASSETS")
	}
	kinds := map[string]bool{}
	for _, f := range []string{"rbac/role.yaml", "manager/manager.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "config", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(b), "\n---") {
			if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(doc), "---")) == "" {
				continue
			}
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			if err := k8s.Create(testCtx, u, client.FieldValidation("Strict")); err != nil {
				t.Fatalf("%s: %s %s refused: %v", f, u.GetKind(), u.GetName(), err)
			}
			kinds[u.GetKind()] = true
		}
	}
	for _, k := range []string{"ClusterRole", "Namespace", "ServiceAccount", "ClusterRoleBinding", "Deployment"} {
		if !kinds[k] {
			t.Errorf("no %s in config/rbac + config/manager", k)
		}
	}
}

// No Secret value appears in any ConfigMap, status, event, workload spec or operator log line of the whole run
// (this test runs last: Go runs tests in source order).
func TestZZNoSecretValueOutsideSecrets(t *testing.T) {
	if k8s == nil {
		t.Fatal("no control plane: unset KB_OPERATOR_NO_ENVTEST and set KUBEBUILDER_ASSETS")
	}
	if len(secretValues) < 5 {
		t.Fatalf("only %d secret values were created by the tests before this one", len(secretValues))
	}
	var dump []string
	add := func(what string, obj any) {
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		dump = append(dump, what+": "+string(b))
	}
	lists := map[string]client.ObjectList{
		"configmaps": &corev1.ConfigMapList{}, "events": &corev1.EventList{}, "events.k8s.io": &eventsv1.EventList{},
		"jobs": &batchv1.JobList{}, "cronjobs": &batchv1.CronJobList{}, "pods": &corev1.PodList{},
		"kafkabackups": &kbv1.KafkaBackupList{}, "kafkarestores": &kbv1.KafkaRestoreList{},
		"kafkabackupvalidations": &kbv1.KafkaBackupValidationList{}, "kafkaoffsetresets": &kbv1.KafkaOffsetResetList{},
	}
	items := 0
	for name, l := range lists {
		if err := k8s.List(testCtx, l); err != nil {
			t.Fatal(err)
		}
		items += meta.LenList(l)
		add(name, l)
	}
	if items < 20 {
		t.Fatalf("only %d objects to search: the other tests did not run?", items)
	}
	logText := operatorLog.String()
	if !strings.Contains(logText, "reconciled") {
		t.Fatalf("the operator log holds no reconcile lines (%d bytes): nothing to search", len(logText))
	}
	dump = append(dump, "operator log: "+logText)
	all := strings.Join(dump, "\n")
	for _, v := range secretValues {
		if strings.Contains(all, v) || strings.Contains(all, base64.StdEncoding.EncodeToString([]byte(v))) {
			t.Errorf("a secret value appears outside the Secrets (%d objects searched)", items)
		}
	}
	// The Secrets themselves do hold them: the search is not vacuous.
	var secrets corev1.SecretList
	if err := k8s.List(testCtx, &secrets); err != nil {
		t.Fatal(err)
	}
	held := ""
	for _, sec := range secrets.Items {
		for _, v := range sec.Data {
			held += string(v) + "\n"
		}
	}
	if !strings.Contains(held, secretValues[0]) {
		t.Errorf("the first secret value is not in any Secret: the search would find nothing")
	}
}
