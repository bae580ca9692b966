"""The Kubernetes manifests (deploy/kubernetes/base, its test-only hostNetwork overlay) and the Helm
chart (deploy/helm/kafka-backup): `helm lint`; `helm template` and `kubectl kustomize` output
parsed and checked object by object (the seed's secret wiring, probes, securityContext, resources,
scrape annotations); no secret value in any rendered ConfigMap; the chart and the plain manifests
agree on every essential field; the configurations in the ConfigMaps load with `kafka-backup
config`; and every object is checked against the Kubernetes API: `kubectl apply --dry-run=server`
against a real kube-apiserver when one is built (scripts/k8s-binaries.sh, $KUBEBUILDER_ASSETS),
otherwise offline against the API's OpenAPI schema (swagger.json of the k8s.io/kubernetes module
in the Go module cache), every field known and of the right type.

Environment: KB_BINARY (kafka-backup), KB_HELM (default $KB_CACHE/helm-v3.21.4/helm, installed by
scripts/install-deps.sh)."""
from __future__ import annotations

import copy
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "deploy" / "kubernetes" / "base"
OVERLAY = REPO / "deploy" / "kubernetes" / "overlays" / "test-hostnetwork"
CHART = REPO / "deploy" / "helm" / "kafka-backup"
KB_CACHE = Path(os.environ.get("KB_CACHE", Path.home() / ".cache" / "kafka-backup"))
HELM_VERSION = "v3.21.4"
NS = "kafka-backup"
UID = 65532


def sh(*args, timeout=120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="module")
def helm() -> Path:
    p = Path(os.environ.get("KB_HELM", KB_CACHE / f"helm-{HELM_VERSION}" / "helm"))
    assert p.is_file(), f"helm not found at {p}: scripts/install-deps.sh installs it (go install helm.sh/helm/v3/cmd/helm@{HELM_VERSION})"
    return p


def yaml_to_json(text: str, many: bool = False):
    """YAML through Debian's python3-yaml (the test venv has no YAML parser): safe_load, as JSON."""
    code = ("import json, sys, yaml\n"
            "t = sys.stdin.read()\n"
            f"json.dump({'list(yaml.safe_load_all(t))' if many else 'yaml.safe_load(t)'}, sys.stdout)\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, "python3-yaml (apt-get install python3-yaml): " + r.stderr[-2000:]
    return json.loads(r.stdout)


def docs(text: str) -> list[dict]:
    return [d for d in yaml_to_json(text, many=True) if d]


class yaml:  # the two calls the checks below make, on python3-yaml
    safe_load = staticmethod(yaml_to_json)

    @staticmethod
    def safe_dump(obj) -> str:
        return json.dumps(obj)  # JSON is YAML


def by_key(objs: list[dict]) -> dict[tuple[str, str], dict]:
    out = {}
    for o in objs:
        key = (o["kind"], o["metadata"]["name"])
        assert key not in out, f"{key} rendered twice"
        out[key] = o
    return out


def render_chart(helm, *sets: str) -> dict[tuple[str, str], dict]:
    args = [helm, "template", "kafka-backup", CHART, "--namespace", NS, "--set", "namespace.create=true"]
    for s in sets:
        args += ["--set", s]
    r = sh(*args)
    assert r.returncode == 0, r.stderr
    return by_key(docs(r.stdout))


def render_plain(path=BASE) -> dict[tuple[str, str], dict]:
    r = sh("kubectl", "kustomize", path)
    assert r.returncode == 0, r.stderr
    return by_key(docs(r.stdout))


EXPECTED = {("Namespace", NS), ("ServiceAccount", "kafka-backup"), ("Secret", "kafka-credentials"),
            ("Secret", "kafka-tls"), ("ConfigMap", "kafka-backup-config"),
            ("CronJob", "kafka-backup-snapshot"), ("CronJob", "kafka-backup-prune"),
            ("Deployment", "kafka-backup-continuous")}


def pod_spec(o: dict) -> dict:
    if o["kind"] == "CronJob":
        return o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return o["spec"]["template"]["spec"]


def pod_meta(o: dict) -> dict:
    if o["kind"] == "CronJob":
        return o["spec"]["jobTemplate"]["spec"]["template"]["metadata"]
    return o["spec"]["template"]["metadata"]


# The security guide's "Use in Deployment" snippet (shared/seed/security-setup.md), verbatim.
SEED_ENV = [
    {"name": "KAFKA_USERNAME", "valueFrom": {"secretKeyRef": {"name": "kafka-credentials", "key": "username"}}},
    {"name": "KAFKA_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "kafka-credentials", "key": "password"}}},
]
SEED_MOUNT = {"name": "tls", "mountPath": "/certs", "readOnly": True}
SEED_VOLUME = {"name": "tls", "secret": {"secretName": "kafka-tls"}}


def check_objects(objs: dict[tuple[str, str], dict], where: str) -> None:
    assert set(objs) == EXPECTED, f"{where}: {sorted(set(objs) ^ EXPECTED)}"
    for (kind, name), o in objs.items():
        if kind != "Namespace":
            assert o["metadata"]["namespace"] == NS, (where, kind, name)
    # The seed's two Secrets: names, keys, types.
    cred = objs[("Secret", "kafka-credentials")]
    assert cred["type"] == "Opaque" and set(cred["stringData"]) == {"username", "password"}
    tls = objs[("Secret", "kafka-tls")]
    assert tls["type"] == "Opaque" and set(tls["data"]) == {"ca.crt", "client.crt", "client.key"}
    assert objs[("ServiceAccount", "kafka-backup")].get("automountServiceAccountToken") is False

    for key in [("Deployment", "kafka-backup-continuous"), ("CronJob", "kafka-backup-snapshot"),
                ("CronJob", "kafka-backup-prune")]:
        o = objs[key]
        spec = pod_spec(o)
        (c,) = spec["containers"]
        assert c["image"].startswith("kafka-backup:"), c["image"]
        # securityContext: non-root 65532, read-only root, no capabilities, no escalation.
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] == UID and psc["runAsGroup"] == UID
        csc = c["securityContext"]
        assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
        assert csc["capabilities"]["drop"] == ["ALL"]
        assert spec["serviceAccountName"] == "kafka-backup"
        assert not spec.get("hostNetwork"), f"{where} {key}: hostNetwork belongs to the test overlay only"
        res = c["resources"]
        assert res["requests"]["memory"] and res["limits"]["memory"] and res["requests"]["cpu"]
        env = {e["name"]: e for e in c.get("env", [])}
        for e in env.values():
            assert "value" not in e or "PASSWORD" not in e["name"], "a secret as a literal env value"
        if key[1] == "kafka-backup-prune":
            assert c["args"][0] == "prune" and "--keep-last" in c["args"], c["args"]
            assert "KAFKA_PASSWORD" not in env, "prune needs no Kafka credentials"
            continue
        # The seed's wiring, exactly: secretKeyRef env and the TLS Secret read-only at /certs.
        for seed in SEED_ENV:
            assert env[seed["name"]] == seed, (where, key, env.get(seed["name"]))
        assert SEED_MOUNT in c["volumeMounts"], c["volumeMounts"]
        assert SEED_VOLUME in spec["volumes"], spec["volumes"]
        cfg_mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/config")
        assert cfg_mount["readOnly"] is True
        cfg_vol = next(v for v in spec["volumes"] if v["name"] == cfg_mount["name"])
        assert cfg_vol["configMap"]["name"] == "kafka-backup-config"
        # Probes on the metrics port: /health (alive) and /ready (brokers and store reached).
        port = next(p for p in c["ports"] if p["name"] == "metrics")["containerPort"]
        assert c["livenessProbe"]["httpGet"] == {"path": "/health", "port": "metrics"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "metrics"}
        ann = pod_meta(o)["annotations"]
        assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == str(port)
        assert ann["prometheus.io/path"] == "/metrics"
        config_file = c["args"][c["args"].index("--config") + 1]
        assert c["args"][0] == "backup" and config_file.startswith("/config/")
        if key[0] == "CronJob":
            assert env["BACKUP_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == \
                "metadata.labels['batch.kubernetes.io/job-name']"
            assert spec["restartPolicy"] == "Never" and o["spec"]["concurrencyPolicy"] == "Forbid"
        else:
            assert o["spec"]["replicas"] == 1 and o["spec"]["strategy"]["type"] == "Recreate"
    # The ConfigMap: the two configurations, the metrics endpoint reachable by the kubelet's probes.
    data = objs[("ConfigMap", "kafka-backup-config")]["data"]
    assert set(data) == {"snapshot.yaml", "continuous.yaml"}
    port = pod_spec(objs[("Deployment", "kafka-backup-continuous")])["containers"][0]["ports"][0]["containerPort"]
    for name, text in data.items():
        cfg = yaml.safe_load(text)
        assert cfg["metrics"] == {"enabled": True, "bind_address": "0.0.0.0", "port": port}, name
        assert cfg["source"]["security"]["sasl_password"] == "${KAFKA_PASSWORD}"
        assert cfg["source"]["security"]["ssl_ca_location"] == "/certs/ca.crt"
    assert yaml.safe_load(data["continuous.yaml"])["backup"]["continuous"] is True
    assert yaml.safe_load(data["snapshot.yaml"])["backup_id"] == "${BACKUP_ID}"


def test_helm_lint(helm):
    r = sh(helm, "lint", CHART)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in r.stdout
    # A retention that would delete every snapshot is refused when rendering.
    r = sh(helm, "template", "kafka-backup", CHART, "--set", "retention.keepLast=0", "--set", "retention.maxAgeDays=0")
    assert r.returncode != 0 and "would delete every snapshot" in r.stderr, r.stdout + r.stderr


def test_chart_renders_the_objects_and_wires_the_secrets(helm):
    check_objects(render_chart(helm), "helm template")


def test_plain_manifests_render_the_objects_and_wire_the_secrets():
    check_objects(render_plain(), "deploy/kubernetes/base")


def test_hostnetwork_overlay_only_adds_host_networking():
    base, test = render_plain(), render_plain(OVERLAY)
    assert set(base) == set(test)
    for key, o in test.items():
        if key[0] in ("Deployment", "CronJob"):
            spec = pod_spec(o)
            assert spec.pop("hostNetwork") is True and spec.pop("dnsPolicy") == "ClusterFirstWithHostNet"
        assert o == base[key], key


def test_no_secret_value_in_any_configmap_or_pod_spec(helm):
    secrets = {"password": "pw-" + uuid.uuid4().hex, "username": "user-" + uuid.uuid4().hex,
               "ca": "CA-" + uuid.uuid4().hex}
    objs = render_chart(helm, f"secrets.credentials.password={secrets['password']}",
                        f"secrets.credentials.username={secrets['username']}",
                        f"secrets.tls.caCrt={secrets['ca']}")
    import base64
    cred = objs[("Secret", "kafka-credentials")]["stringData"]
    assert cred["password"] == secrets["password"], "the value did reach its Secret"
    assert base64.b64decode(objs[("Secret", "kafka-tls")]["data"]["ca.crt"]).decode() == secrets["ca"]
    for key, o in objs.items():
        if key[0] == "Secret":
            continue
        text = json.dumps(o)
        for name, value in secrets.items():
            assert value not in text, f"{name} leaked into {key}"
            assert base64.b64encode(value.encode()).decode() not in text, f"{name} (base64) leaked into {key}"
    # The plain manifests' placeholder password stays in its Secret too.
    plain = render_plain()
    pw = plain[("Secret", "kafka-credentials")]["stringData"]["password"]
    for key, o in plain.items():
        if key[0] != "Secret":
            assert pw not in json.dumps(o), key


def essentials(o: dict) -> dict:
    """What must agree between the chart and the plain manifests (labels and comments may differ)."""
    kind = o["kind"]
    if kind == "ConfigMap":
        return {k: yaml.safe_load(v) for k, v in o["data"].items()}
    if kind == "Secret":
        return {"type": o["type"], "keys": sorted(o.get("data", {})) + sorted(o.get("stringData", {}))}
    if kind in ("Namespace",):
        return {}
    if kind == "ServiceAccount":
        return {"automount": o.get("automountServiceAccountToken")}
    spec = copy.deepcopy(pod_spec(o))
    out = {"pod": spec, "annotations": {k: v for k, v in (pod_meta(o).get("annotations") or {}).items()
                                        if k.startswith("prometheus.io/")}}
    if kind == "CronJob":
        out["cron"] = {k: v for k, v in o["spec"].items() if k != "jobTemplate"}
        out["job"] = {k: v for k, v in o["spec"]["jobTemplate"]["spec"].items() if k != "template"}
    else:
        out["deploy"] = {"replicas": o["spec"]["replicas"], "strategy": o["spec"]["strategy"]}
    return out


def test_chart_and_plain_manifests_agree(helm):
    chart, plain = render_chart(helm), render_plain()
    assert set(chart) == set(plain)
    for key in sorted(plain):
        a, b = essentials(plain[key]), essentials(chart[key])
        assert a == b, f"{key} differs:\nplain: {json.dumps(a, sort_keys=True)}\nchart: {json.dumps(b, sort_keys=True)}"


@pytest.mark.parametrize("source", ["plain", "chart"])
def test_configmap_configs_load_with_kafka_backup_config(helm, binary, tmp_path, source):
    objs = render_plain() if source == "plain" else render_chart(helm)
    env = dict(os.environ, KAFKA_USERNAME="u", KAFKA_PASSWORD="secret-" + uuid.uuid4().hex, BACKUP_ID="kafka-backup-snapshot-29412345")
    for name, text in objs[("ConfigMap", "kafka-backup-config")]["data"].items():
        f = tmp_path / name
        f.write_text(text)
        r = sh(binary, "config", "--config", f, "--format", "json", env=env)
        assert r.returncode == 0, (name, r.stderr)
        cfg = json.loads(r.stdout)
        assert env["KAFKA_PASSWORD"] not in r.stdout
        assert cfg["backup_id"] in ("continuous", env["BACKUP_ID"])


# ---- against the Kubernetes API ---------------------------------------------------------------

def apiserver_dir() -> Path | None:
    cands = []
    if os.environ.get("KUBEBUILDER_ASSETS"):
        cands.append(Path(os.environ["KUBEBUILDER_ASSETS"]))
    script = REPO / "scripts" / "k8s-binaries.sh"
    if script.is_file():
        r = sh("bash", script, "--print-dir")
        if r.returncode == 0 and r.stdout.strip():
            cands.append(Path(r.stdout.strip().splitlines()[-1]))
    cands += [Path(p) for p in sorted(glob.glob(str(KB_CACHE / "k8s" / "*")))]
    for d in cands:
        if (d / "kube-apiserver").is_file() and (d / "etcd").is_file():
            # A binary built without its version stamp panics at start: not a usable one.
            r = sh(d / "kube-apiserver", "--version", timeout=60)
            if r.returncode == 0 and r.stdout.startswith("Kubernetes v1."):
                return d
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_dry_run(bins: Path, manifests: dict[str, str], tmp: Path) -> None:
    """etcd + kube-apiserver on 127.0.0.1, then `kubectl apply --dry-run=server` of each rendering."""
    procs = []
    try:
        eport, epeer, aport = free_port(), free_port(), free_port()
        procs.append(subprocess.Popen([bins / "etcd", "--data-dir", tmp / "etcd", "--listen-client-urls",
                                       f"http://127.0.0.1:{eport}", "--advertise-client-urls", f"http://127.0.0.1:{eport}",
                                       "--listen-peer-urls", f"http://127.0.0.1:{epeer}"],
                                      stdout=open(tmp / "etcd.log", "w"), stderr=subprocess.STDOUT))
        pki = tmp / "pki"
        pki.mkdir()
        for args in (["genrsa", "-out", pki / "ca.key", "2048"],
                     ["req", "-x509", "-new", "-key", pki / "ca.key", "-subj", "/CN=kb-test-ca", "-days", "1", "-out", pki / "ca.crt"],
                     ["genrsa", "-out", pki / "server.key", "2048"],
                     ["req", "-new", "-key", pki / "server.key", "-subj", "/CN=127.0.0.1", "-out", pki / "server.csr"],
                     ["genrsa", "-out", pki / "sa.key", "2048"]):
            r = sh("openssl", *args)
            assert r.returncode == 0, r.stderr
        (pki / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
        r = sh("openssl", "x509", "-req", "-in", pki / "server.csr", "-CA", pki / "ca.crt", "-CAkey", pki / "ca.key",
               "-CAcreateserial", "-days", "1", "-extfile", pki / "ext.cnf", "-out", pki / "server.crt")
        assert r.returncode == 0, r.stderr
        token = uuid.uuid4().hex
        (tmp / "tokens.csv").write_text(f'{token},kb-admin,kb-admin,"system:masters"\n')
        procs.append(subprocess.Popen([bins / "kube-apiserver", f"--etcd-servers=http://127.0.0.1:{eport}",
                                       "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={aport}",
                                       f"--tls-cert-file={pki / 'server.crt'}", f"--tls-private-key-file={pki / 'server.key'}",
                                       f"--client-ca-file={pki / 'ca.crt'}", f"--token-auth-file={tmp / 'tokens.csv'}",
                                       f"--service-account-key-file={pki / 'sa.key'}",
                                       f"--service-account-signing-key-file={pki / 'sa.key'}",
                                       "--service-account-issuer=https://kubernetes.default.svc",
                                       "--service-cluster-ip-range=10.0.0.0/24", "--authorization-mode=RBAC"],
                                      stdout=open(tmp / "apiserver.log", "w"), stderr=subprocess.STDOUT))
        kubeconfig = tmp / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "kb",
            "clusters": [{"name": "kb", "cluster": {"server": f"https://127.0.0.1:{aport}",
                                                    "certificate-authority": str(pki / "ca.crt")}}],
            "users": [{"name": "kb", "user": {"token": token}}],
            "contexts": [{"name": "kb", "context": {"cluster": "kb", "user": "kb"}}]}))
        kc = ["kubectl", "--kubeconfig", kubeconfig]
        deadline = time.time() + 90
        while True:  # bounded: until /readyz answers or 90 s
            r = sh(*kc, "get", "--raw", "/readyz", timeout=10)
            if r.returncode == 0 and r.stdout.strip() == "ok":
                break
            assert time.time() < deadline, "kube-apiserver not ready in 90 s: " + (tmp / "apiserver.log").read_text()[-3000:]
            assert all(p.poll() is None for p in procs), (tmp / "apiserver.log").read_text()[-3000:]
            time.sleep(0.5)
        # The namespace must exist for a server-side dry run of namespaced objects.
        r = sh(*kc, "create", "namespace", NS)
        assert r.returncode == 0, r.stderr
        for name, text in manifests.items():
            f = tmp / f"{name}.yaml"
            f.write_text(text)
            r = sh(*kc, "apply", "--dry-run=server", "--validate=strict", "-f", f)
            assert r.returncode == 0, f"{name}: {r.stdout}{r.stderr}"
            assert r.stdout.count("(server dry run)") == len(docs(text)), r.stdout
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=30)


def swagger_path() -> Path | None:
    r = sh("go", "env", "GOMODCACHE") if shutil.which("go") else None
    root = Path(r.stdout.strip()) if r and r.returncode == 0 else Path.home() / "go" / "pkg" / "mod"
    found = sorted(glob.glob(str(root / "k8s.io" / "kubernetes@v1.*" / "api" / "openapi-spec" / "swagger.json")))
    return Path(found[-1]) if found else None


GVK = {("v1", "Namespace"): "io.k8s.api.core.v1.Namespace", ("v1", "ServiceAccount"): "io.k8s.api.core.v1.ServiceAccount",
       ("v1", "Secret"): "io.k8s.api.core.v1.Secret", ("v1", "ConfigMap"): "io.k8s.api.core.v1.ConfigMap",
       ("batch/v1", "CronJob"): "io.k8s.api.batch.v1.CronJob", ("apps/v1", "Deployment"): "io.k8s.api.apps.v1.Deployment"}


def schema_errors(defs: dict, schema: dict, value, path: str) -> list[str]:
    """Strict OpenAPI v2 check: every field known, every type right, required fields present."""
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        if name == "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
            return [] if isinstance(value, (int, str)) and not isinstance(value, bool) else [f"{path}: not int-or-string"]
        return schema_errors(defs, defs[name], value, path)
    t = schema.get("type")
    if t == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        errs = [f"{path}.{r}: required" for r in schema.get("required", []) if r not in value]
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                errs += schema_errors(defs, props[k], v, f"{path}.{k}")
            elif "additionalProperties" in schema:
                errs += schema_errors(defs, schema["additionalProperties"], v, f"{path}.{k}")
            else:
                errs.append(f"{path}.{k}: unknown field")
        return errs
    if t == "array":
        if not isinstance(value, list):
            return [f"{path}: not an array"]
        return [e for i, v in enumerate(value) for e in schema_errors(defs, schema.get("items", {}), v, f"{path}[{i}]")]
    checks = {"string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}
    if t in checks and not checks[t](value):
        return [f"{path}: {value!r} is not a {t}"]
    return []


def openapi_validate(swagger: Path, manifests: dict[str, str]) -> None:
    defs = json.loads(swagger.read_text())["definitions"]
    for name, text in manifests.items():
        for o in docs(text):
            ref = GVK[(o["apiVersion"], o["kind"])]
            errs = schema_errors(defs, {"$ref": f"#/definitions/{ref}"}, o, f"{name}:{o['kind']}/{o['metadata']['name']}")
            assert not errs, "\n".join(errs)


def test_manifests_and_chart_are_valid_kubernetes_objects(helm, tmp_path):
    manifests = {"plain": sh("kubectl", "kustomize", BASE).stdout,
                 "overlay": sh("kubectl", "kustomize", OVERLAY).stdout,
                 "chart": sh(helm, "template", "kafka-backup", CHART, "--namespace", NS).stdout}
    assert all(manifests.values())
    # The offline schema check catches a mistyped field even where a server would too; negative control first.
    swagger = swagger_path()
    bins = apiserver_dir()
    assert swagger or bins, ("neither a kube-apiserver (scripts/k8s-binaries.sh) nor the k8s.io/kubernetes "
                             "module's swagger.json (go mod download k8s.io/kubernetes@v1.31.14) is available")
    if swagger:
        bad = manifests["plain"].replace("readOnlyRootFilesystem", "readOnlyRootFileSystem", 1)
        with pytest.raises(AssertionError, match="unknown field"):
            openapi_validate(swagger, {"bad": bad})
        openapi_validate(swagger, manifests)
    if bins:
        server_dry_run(bins, manifests, tmp_path)
