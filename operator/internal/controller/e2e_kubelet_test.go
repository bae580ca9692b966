//go:build e2e

package controller

// End to end on a real node: the kubelet (scripts/k8s-binaries.sh --all) with containerd + runc
// (scripts/kubelet-node.sh) runs the operator's Job pods from OUR image (deploy/image/build.sh's OCI
// layout, loaded into containerd) with hostNetwork, the Secrets as env and the certificates as a
// volume: the seed's KafkaBackup (SASL_SSL/SCRAM against the harness broker, S3 storage) backs the
// records up, the container exits 0, the kubelet hands its termination message (the run summary)
// to the Pod status, the operator sets Succeeded + lastBackupId + the record count. Then a
// KafkaRestore of that backup runs on the same node, and the restored topic is compared record by
// record with the source by confluent-kafka. Nothing here plays the kubelet's part.
//
// Needs (besides the e2e's KUBEBUILDER_ASSETS with kube-controller-manager and kubelet, KB_TEST_ENV):
// KB_IMAGE_DIR (deploy/image/build.sh --out DIR: DIR/oci and DIR/image.json), root, containerd, runc.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// e2eEnv is the envtest control plane (set by the e2e's startExtras), for the node's credentials.
var e2eEnv *envtest.Environment

type imageInfo struct {
	Tag     string `json:"tag"`
	Digest  string `json:"digest"`
	ImageID string `json:"image_id"`
}

type kubeletNode struct {
	name   string
	runDir string
	image  string // the reference the pods name
}

// startKubeletNode brings up containerd + the kubelet with our image loaded, joined to the envtest
// API server as a system:masters user; the node is torn down (by PID, mounts and cgroups removed)
// when the test ends.
func startKubeletNode(t *testing.T, layout, ref string) *kubeletNode {
	t.Helper()
	if e2eEnv == nil {
		t.Fatal("no envtest control plane recorded for the node")
	}
	kubelet := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubelet")
	if _, err := os.Stat(kubelet); err != nil {
		t.Fatalf("%s is missing: build it with scripts/k8s-binaries.sh --all", kubelet)
	}
	user, err := e2eEnv.AddUser(envtest.User{Name: "kubelet-node", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	// KB_KUBELET_RUN_ROOT: where scripts/test.sh looks for a node a killed test left behind.
	runDir, err := os.MkdirTemp(os.Getenv("KB_KUBELET_RUN_ROOT"), "kb-kubelet-node-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runDir, "kubeconfig"), kc, 0o600); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	n := &kubeletNode{name: "kb-kubelet-" + hex.EncodeToString(b), runDir: runDir, image: ref}
	script, _ := filepath.Abs(filepath.Join("..", "..", "..", "scripts", "kubelet-node.sh"))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "bash", script, "down", "--run-dir", runDir).CombinedOutput()
		if err != nil {
			t.Errorf("kubelet-node.sh down: %v\n%s", err, out)
			return
		}
		if !t.Failed() {
			_ = os.RemoveAll(runDir)
		} else {
			t.Logf("the node's logs: %s/logs", runDir)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "bash", script, "up", "--run-dir", runDir, "--kubeconfig", filepath.Join(runDir, "kubeconfig"),
		"--node-name", n.name, "--kubelet", kubelet, "--image", layout+"="+ref)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubelet-node.sh up: %v\n%s", err, stderr.String())
	}
	t.Logf("node %s up in %.1f s:\n%s", n.name, time.Since(start).Seconds(), out)
	eventuallyWithin(t, 60*time.Second, "the Node object "+n.name, func() (bool, string) {
		node := &corev1.Node{}
		if err := k8s.Get(testCtx, types.NamespacedName{Name: n.name}, node); err != nil {
			return false, err.Error()
		}
		return node.Status.NodeInfo.KubeletVersion != "", fmt.Sprintf("%+v", node.Status.NodeInfo)
	})
	return n
}

// podSpecYAML is the spec.pod block that puts a run on this node: the node is NotReady (no CNI),
// so the pod is bound to it by name, tolerates its taints, and uses the host's network (loopback).
func (n *kubeletNode) podSpecYAML() string {
	return fmt.Sprintf(`
  pod:
    image: %s
    imagePullPolicy: Never
    hostNetwork: true
    nodeName: %s
    tolerations: [{operator: Exists}]
`, n.image, n.name)
}

// waitPodEnded polls the Job's pod until the kubelet reports it Succeeded or Failed (at most 4 min).
func (n *kubeletNode) waitPodEnded(t *testing.T, ns, job string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	deadline := time.Now().Add(4 * time.Minute)
	last := ""
	for i := 0; i < 960 && time.Now().Before(deadline); i++ {
		var pods corev1.PodList
		if err := k8s.List(testCtx, &pods, client.InNamespace(ns), client.MatchingLabels{jobLabel: job}); err != nil {
			last = err.Error()
		} else if len(pods.Items) > 0 {
			pod = &pods.Items[0]
			if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
				return pod
			}
			st, _ := json.Marshal(pod.Status.ContainerStatuses)
			last = fmt.Sprintf("phase %s, containers %s", pod.Status.Phase, st)
		} else {
			last = "no pod yet"
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("the kubelet did not finish the pod of Job %s within 4 min; last state: %s\nkubelet errors:\n%s",
		job, last, n.logErrors())
	return nil
}

// logErrors is the tail of the kubelet's and containerd's error lines, for a failure message.
func (n *kubeletNode) logErrors() string {
	var out []string
	for _, f := range []string{"kubelet.log", "containerd.log"} {
		b, _ := os.ReadFile(filepath.Join(n.runDir, "logs", f))
		var errs []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "E") || strings.Contains(l, "level=error") {
				errs = append(errs, l)
			}
		}
		if len(errs) > 15 {
			errs = errs[len(errs)-15:]
		}
		out = append(out, f+":", strings.Join(errs, "\n"))
	}
	return strings.Join(out, "\n")
}

// containerLog is what the container printed, from the kubelet's pod log directory.
func (n *kubeletNode) containerLog(pod *corev1.Pod) string {
	dir := filepath.Join(n.runDir, "pod-logs", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID), containerName)
	b, _ := os.ReadFile(filepath.Join(dir, "0.log"))
	return string(b)
}

// checkRanOnNode checks what only the kubelet writes: the pod ran on this node from our image
// (the digest deploy/image/build.sh reported) through containerd, exited 0 and left the run
// summary as its termination message; it returns that summary.
func (n *kubeletNode) checkRanOnNode(t *testing.T, pod *corev1.Pod, img imageInfo) runSummary {
	t.Helper()
	if pod.Spec.NodeName != n.name || !pod.Spec.HostNetwork {
		t.Fatalf("pod %s on node %q hostNetwork %v; want node %s with the host network", pod.Name, pod.Spec.NodeName, pod.Spec.HostNetwork, n.name)
	}
	if len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Fatalf("pod %s container statuses %+v", pod.Name, pod.Status.ContainerStatuses)
	}
	cs := pod.Status.ContainerStatuses[0]
	term := cs.State.Terminated
	if pod.Status.Phase != corev1.PodSucceeded || term.ExitCode != 0 {
		t.Fatalf("pod %s phase %s, exit %d (%s): %s\ncontainer output:\n%.3000s\nnode errors:\n%s", pod.Name, pod.Status.Phase,
			term.ExitCode, term.Reason, term.Message, n.containerLog(pod), n.logErrors())
	}
	if !strings.HasPrefix(cs.ContainerID, "containerd://") {
		t.Fatalf("container id %q: not run by containerd", cs.ContainerID)
	}
	if !strings.Contains(cs.ImageID, img.Digest) && !strings.Contains(cs.ImageID, img.ImageID) {
		t.Fatalf("the container ran image %q (%s); want our image %s (id %s)", cs.ImageID, cs.Image, img.Digest, img.ImageID)
	}
	sum, ok := parseSummary(term.Message)
	if !ok || sum.ExitCode != 0 || sum.Outcome == "" {
		t.Fatalf("the termination message is not a successful run summary: %q", term.Message)
	}
	return sum
}

func loadImageInfo(t *testing.T) (string, imageInfo) {
	t.Helper()
	dir := os.Getenv("KB_IMAGE_DIR")
	if dir == "" {
		t.Fatal("KB_IMAGE_DIR must name deploy/image/build.sh's output directory (DIR/oci, DIR/image.json): " +
			"the kubelet runs the image, not the binary")
	}
	b, err := os.ReadFile(filepath.Join(dir, "image.json"))
	if err != nil {
		t.Fatalf("%v (build the image: deploy/image/build.sh --out %s)", err, dir)
	}
	var img imageInfo
	if err := json.Unmarshal(b, &img); err != nil || img.Tag == "" || img.Digest == "" {
		t.Fatalf("%s/image.json: %v %+v", dir, err, img)
	}
	return filepath.Join(dir, "oci"), img
}

func TestE2EKubeletRunsSeedBackupFromOurImage(t *testing.T) {
	e := loadHarness(t)
	layout, img := loadImageInfo(t)
	if kcmError != nil {
		t.Fatalf("kube-controller-manager: %v", kcmError)
	}
	// The kubelet and CRI normalize a short name to docker.io/library/...; the image is loaded as that.
	node := startKubeletNode(t, layout, "docker.io/library/"+img.Tag)

	ns := newNamespace(t)
	topic := ns + "-payments"
	const n = 250
	runClient(t, e, "produce", topic, n)
	ca, err := os.ReadFile(e.TLS.CA)
	if err != nil {
		t.Fatal(err)
	}
	// The seed page's Secrets, as it writes them.
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "kafka-credentials", Namespace: ns},
			StringData: map[string]string{"username": "backup", "password": e.Users["backup"]}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kafka-restore-credentials", Namespace: ns},
			StringData: map[string]string{"username": "restore", "password": e.Users["restore"]}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kafka-tls", Namespace: ns}, Data: map[string][]byte{"ca.crt": ca}},
		{ObjectMeta: metav1.ObjectMeta{Name: "s3-creds", Namespace: ns},
			StringData: map[string]string{"AWS_ACCESS_KEY_ID": e.S3.AccessKey, "AWS_SECRET_ACCESS_KEY": e.S3.SecretKey}},
	} {
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
`, topic, e.S3.Bucket, e.S3.Region, e.S3.Endpoint, ns) + node.podSpecYAML()
	applyYAML(t, ns, seed)
	job := waitJob(t, ns, "secure-backup-g1")
	pod := node.waitPodEnded(t, ns, job.Name)
	sum := node.checkRanOnNode(t, pod, img)
	if sum.BackupID != "secure-backup-g1" || sum.Records != n {
		t.Fatalf("the run summary names backup id %q with %d records; want secure-backup-g1 with %d", sum.BackupID, sum.Records, n)
	}
	eventuallyWithin(t, 60*time.Second, "backup Succeeded", func() (bool, string) {
		kb := getKB(t, ns, "secure-backup")
		return meta.IsStatusConditionTrue(kb.Status.Conditions, kbv1.ConditionSucceeded) &&
			kb.Status.LastBackupID == "secure-backup-g1" && kb.Status.RecordsProcessed == n, fmt.Sprintf("%+v", kb.Status)
	})

	// The backup, checked independently: restored by a second pod on the node into a new topic,
	// then both topics read back by confluent-kafka and compared record by record.
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
`, e.Kafka.Listeners["SASL_SSL"], topic, topic+"-restored")+node.podSpecYAML())
	rjob := waitJob(t, ns, "restore-restore")
	rpod := node.waitPodEnded(t, ns, rjob.Name)
	node.checkRanOnNode(t, rpod, img)
	eventuallyWithin(t, 60*time.Second, "restore Succeeded", func() (bool, string) {
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
	node.checkNoSecretInLogs(t, e.Users["backup"], e.Users["restore"], e.S3.SecretKey)
}

// checkNoSecretInLogs greps the node's logs (kubelet, containerd, image import) and what the
// containers printed for the secret values the pods got through secretKeyRef env (the kubelet
// hands their values to containerd); the API objects and the operator's log are
// TestZZNoSecretValueOutsideSecrets's.
func (n *kubeletNode) checkNoSecretInLogs(t *testing.T, secrets ...string) {
	t.Helper()
	files := 0
	for _, dir := range []string{"logs", "pod-logs"} {
		err := filepath.Walk(filepath.Join(n.runDir, dir), func(path string, info os.FileInfo, err error) error {
			if err != nil || !info.Mode().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for i, s := range secrets {
				if s != "" && strings.Contains(string(b), s) {
					t.Errorf("secret value #%d appears in %s", i, path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 4 { // kubelet.log, containerd.log, import.log and the two containers' logs
		t.Fatalf("only %d log files under %s: the grep saw too little", files, n.runDir)
	}
}
