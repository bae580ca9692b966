#!/usr/bin/env bash
# Installs what kafka-backup needs to build and test on Debian 12: the Debian packages, then
# the test tools into a cache outside the repository ($KB_CACHE):
#   kafka-<V>/lib       Apache Kafka broker + CLI tool jars (mvn copy-dependencies)
#   kafka-<OLD>/lib     older brokers for tests/compat (3.9.1 KRaft, 2.8.2 ZooKeeper; tests/compat/pom.xml)
#   bin/versitygw       S3 server that verifies SigV4 (go install)
#   bin/ec2-metadata-mock  AWS's EC2 instance metadata mock, for the IMDSv2 credential test (go install)
#   npm-azurite-<V>/    Azurite, Microsoft's Azure Blob emulator (checks SharedKey/SAS) (npm install)
#   mock-oauth2-server-<V>/lib  an OAuth2/OIDC server issuing the Azure AD tokens Azurite checks and the
#                       OAUTHBEARER tokens of tests/net/test_oauthbearer.py (mvn)
#   bin/fake-gcs-server    GCS JSON API emulator, for the GCS backend tests (go install)
#   venv/               Python venv with pytest and confluent-kafka (tests/harness/requirements.txt)
#   helm-<V>/helm       Helm, for the chart's lint and template test (go install); plus the
#                       k8s.io/kubernetes module in the Go module cache (its OpenAPI schema, swagger.json)
#   moto-venv/          moto[server], the STS implementation of the credential-chain tests (pip)
# Idempotent: each tool is keyed by its version (and input file hash) with a .complete marker
# and is reused when present. Runs as root, reads no stdin.
#
# Usage: scripts/install-deps.sh [--no-apt] [--tools-only]
#   --no-apt      skip apt-get (Debian packages assumed present)
#   --tools-only  install only the cached test tools (implies --no-apt)
# Environment: KB_CACHE (default $HOME/.cache/kafka-backup), KAFKA_VERSION (4.1.1),
#   LOG4J2_VERSION (2.24.3), VERSITYGW_VERSION (v1.7.0), AZURITE_VERSION (3.35.0),
#   TOXIPROXY_VERSION (v2.12.0), KAFKA_OLD_VERSIONS ("3.9.1 2.8.2").
set -euo pipefail

KB_CACHE="${KB_CACHE:-$HOME/.cache/kafka-backup}"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
LOG4J2_VERSION="${LOG4J2_VERSION:-2.24.3}"
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.7.0}"
AEMM_VERSION="${AEMM_VERSION:-v1.13.0}"
HELM_VERSION="${HELM_VERSION:-v3.21.4}"
K8S_SCHEMA_VERSION="${K8S_SCHEMA_VERSION:-v1.31.14}"
AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"
MOCK_OAUTH2_VERSION="${MOCK_OAUTH2_VERSION:-2.1.10}"
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
TOXIPROXY_VERSION="${TOXIPROXY_VERSION:-v2.12.0}"
FAKE_GCS_VERSION="${FAKE_GCS_VERSION:-v1.55.1}"
KAFKA_OLD_VERSIONS="${KAFKA_OLD_VERSIONS:-3.9.1 2.8.2}"
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/tests/harness/kafka/pom.xml"
REQS="$ROOT/tests/harness/requirements.txt"

DO_APT=1
for arg in "$@"; do
  case "$arg" in
    --no-apt) DO_APT=0 ;;
    --tools-only) DO_APT=0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown flag '$arg' (use --no-apt, --tools-only)" >&2; exit 2 ;;
  esac
done

export DEBIAN_FRONTEND=noninteractive
# Go lives outside PATH on some images.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="$PATH:/usr/local/go/bin"
fi

T_ALL=$(date +%s)
now() { date +%s; }
say() { echo "install-deps: $*"; }
die() { echo "install-deps: ERROR: $*" >&2; exit 1; }
step_done() { say "$1 ($(( $(now) - $2 )) s)"; }

APT_PKGS=(meson ninja-build pkg-config g++ clang-14 clang-tidy-14 clang-format-14
  libclang-rt-14-dev libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libsasl2-dev libzstd-dev
  liblz4-dev libxxhash-dev libsnappy-dev zlib1g-dev libyaml-cpp-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libexpected-dev libfmt-dev libcli11-dev kcat openssl curl ccache
  iproute2 python3-venv
  # tests/pipeline/restore/test_restore_durability.py and tests/pipeline/backup/test_durability_order.py:
  # the fsync/rename order of restore state and of the backup's segments and checkpoints.
  strace
  # bench/e2e/run.py: one plain zstd stream of a dataset's log files, the stored size's reference.
  zstd
  # deploy tests (tests/deploy/test_k8s_manifests.py): YAML parsing of the rendered manifests.
  python3-yaml
  # The container image (deploy/image): Docker Engine, daemon-less OCI tools, the Debian base for
  # the Dockerfile, and what the image carries besides the binary.
  docker.io umoci skopeo debootstrap ca-certificates tzdata
  # The operator's kubelet end-to-end test (scripts/kubelet-node.sh): containerd's CRI + runc.
  containerd runc
  # GSSAPI (-Dgssapi=enabled): MIT GSS-API headers, the Cyrus GSSAPI plugin, and the KDC and
  # tools tests/harness/kerberos.py runs.
  libkrb5-dev libsasl2-modules-gssapi-mit krb5-kdc krb5-admin-server krb5-user
  # tests/reliability/test_clock_skew.py: the tool's clock moved with LD_PRELOAD libfaketime.
  faketime libfaketime)
# Needed by the tool steps; installed through apt only when missing.
command -v java >/dev/null 2>&1 || APT_PKGS+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || APT_PKGS+=(maven)
command -v npm >/dev/null 2>&1 || APT_PKGS+=(nodejs npm)

# ---------------------------------------------------------------- Debian packages
if [ "$DO_APT" = 1 ]; then
  t=$(now)
  missing=()
  for p in "${APT_PKGS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    step_done "apt: all ${#APT_PKGS[@]} Debian packages already installed, skipped" "$t"
  else
    say "apt: installing ${missing[*]}"
    apt-get update -q || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null \
      || die "apt-get install failed for: ${missing[*]}"
    step_done "apt: installed ${#missing[@]} package(s)" "$t"
  fi
fi

mkdir -p "$KB_CACHE/bin"

# ---------------------------------------------------------------- Kafka jars
sha() { sha256sum "$1" | cut -c1-16; }
kafka_dir="$KB_CACHE/kafka-$KAFKA_VERSION"
kafka_key="kafka=$KAFKA_VERSION log4j2=$LOG4J2_VERSION pom=$(sha "$POM")"
t=$(now)
if [ -f "$kafka_dir/.complete" ] && [ "$(cat "$kafka_dir/.complete")" = "$kafka_key" ]; then
  step_done "kafka $KAFKA_VERSION: reused $kafka_dir/lib" "$t"
else
  command -v mvn >/dev/null 2>&1 || die "mvn not found (apt-get install maven)"
  command -v java >/dev/null 2>&1 || die "java not found (apt-get install openjdk-17-jre-headless)"
  say "kafka $KAFKA_VERSION: fetching jars with mvn into $kafka_dir/lib"
  rm -rf "$kafka_dir"
  mkdir -p "$kafka_dir"
  if ! mvn -B -q -f "$POM" -Dkafka.version="$KAFKA_VERSION" -Dlog4j2.version="$LOG4J2_VERSION" \
      "$DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime \
      -DoutputDirectory="$kafka_dir/lib" </dev/null >"$kafka_dir/mvn.log" 2>&1; then
    tail -n 30 "$kafka_dir/mvn.log" >&2
    die "mvn could not fetch Kafka $KAFKA_VERSION jars (log: $kafka_dir/mvn.log)"
  fi
  # Both halves must be there: the broker (kafka_2.13) and the CLI tools (kafka-tools).
  ls "$kafka_dir/lib/kafka_2.13-$KAFKA_VERSION.jar" "$kafka_dir/lib/kafka-tools-$KAFKA_VERSION.jar" \
     "$kafka_dir/lib/log4j-slf4j-impl-$LOG4J2_VERSION.jar" >/dev/null \
    || die "Kafka jars incomplete in $kafka_dir/lib"
  v=$(java -cp "$kafka_dir/lib/*" kafka.Kafka --version 2>/dev/null | head -n 1 || true)
  case "$v" in
    "$KAFKA_VERSION"*) ;;
    *) die "java -cp $kafka_dir/lib/* kafka.Kafka --version printed '$v', expected $KAFKA_VERSION" ;;
  esac
  echo "$kafka_key" >"$kafka_dir/.complete"
  step_done "kafka $KAFKA_VERSION: installed $(ls "$kafka_dir/lib" | wc -l) jars, $(du -sm "$kafka_dir/lib" | cut -f1) MB" "$t"
fi

# ---------------------------------------------------------------- older Kafka brokers (tests/compat)
# Broker jars only (kafka_2.13 brings the ZooKeeper server 2.8 needs) plus reload4j: these
# versions log through log4j 1. tests/harness/old_broker.py starts them.
OLD_POM="$ROOT/tests/compat/pom.xml"
for old_v in $KAFKA_OLD_VERSIONS; do
  old_dir="$KB_CACHE/kafka-$old_v"
  old_key="kafka=$old_v pom=$(sha "$OLD_POM")"
  t=$(now)
  if [ -f "$old_dir/.complete" ] && [ "$(cat "$old_dir/.complete")" = "$old_key" ]; then
    step_done "kafka $old_v (compat): reused $old_dir/lib" "$t"
    continue
  fi
  say "kafka $old_v (compat): fetching jars with mvn into $old_dir/lib"
  rm -rf "$old_dir"
  mkdir -p "$old_dir"
  if ! mvn -B -q -f "$OLD_POM" -Dkafka.version="$old_v" "$DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime \
      -DoutputDirectory="$old_dir/lib" </dev/null >"$old_dir/mvn.log" 2>&1; then
    tail -n 30 "$old_dir/mvn.log" >&2
    die "mvn could not fetch Kafka $old_v jars (log: $old_dir/mvn.log)"
  fi
  v=$(java -cp "$old_dir/lib/*" kafka.Kafka --version 2>/dev/null | head -n 1 || true)
  case "$v" in
    "$old_v"*) ;;
    *) die "java -cp $old_dir/lib/* kafka.Kafka --version printed '$v', expected $old_v" ;;
  esac
  echo "$old_key" >"$old_dir/.complete"
  step_done "kafka $old_v (compat): installed $(ls "$old_dir/lib" | wc -l) jars, $(du -sm "$old_dir/lib" | cut -f1) MB" "$t"
done

# ---------------------------------------------------------------- versitygw
t=$(now)
vgw_marker="$KB_CACHE/bin/.versitygw.complete"
if [ -f "$vgw_marker" ] && [ -x "$KB_CACHE/bin/versitygw" ] \
   && grep -qx "requested=$VERSITYGW_VERSION .*" "$vgw_marker"; then
  step_done "versitygw: reused $KB_CACHE/bin/versitygw ($(cat "$vgw_marker"))" "$t"
else
  command -v go >/dev/null 2>&1 || die "go not found (Go >= 1.25 is needed to build versitygw)"
  say "versitygw $VERSITYGW_VERSION: go install (a cold build takes minutes)"
  rm -f "$vgw_marker"
  gi() { GOBIN="$KB_CACHE/bin" GOTOOLCHAIN=local CGO_ENABLED=0 \
           go install "github.com/versity/versitygw/cmd/versitygw@$1" </dev/null >"$KB_CACHE/versitygw-install.log" 2>&1; }
  got="$VERSITYGW_VERSION"
  if ! gi "$VERSITYGW_VERSION"; then
    tail -n 20 "$KB_CACHE/versitygw-install.log" >&2
    newest=$(GOTOOLCHAIN=local go list -m -versions github.com/versity/versitygw 2>/dev/null | tr ' ' '\n' | tail -n 1)
    [ -n "$newest" ] && [ "$newest" != "$VERSITYGW_VERSION" ] \
      || die "go install versitygw@$VERSITYGW_VERSION failed (log: $KB_CACHE/versitygw-install.log)"
    say "versitygw $VERSITYGW_VERSION was refused; trying the newest offered version $newest"
    gi "$newest" || { tail -n 20 "$KB_CACHE/versitygw-install.log" >&2;
                      die "go install versitygw@$newest failed too"; }
    got="$newest"
  fi
  [ -x "$KB_CACHE/bin/versitygw" ] || die "go install succeeded but $KB_CACHE/bin/versitygw is missing"
  echo "requested=$VERSITYGW_VERSION installed=$got" >"$vgw_marker"
  step_done "versitygw: installed $got into $KB_CACHE/bin" "$t"
fi

# ---------------------------------------------------------------- ec2-metadata-mock
t=$(now)
aemm_marker="$KB_CACHE/bin/.ec2-metadata-mock.complete"
if [ -f "$aemm_marker" ] && [ -x "$KB_CACHE/bin/ec2-metadata-mock" ] && grep -qx "$AEMM_VERSION" "$aemm_marker"; then
  step_done "ec2-metadata-mock: reused $KB_CACHE/bin/ec2-metadata-mock ($AEMM_VERSION)" "$t"
else
  command -v go >/dev/null 2>&1 || die "go not found (needed to build ec2-metadata-mock)"
  say "ec2-metadata-mock $AEMM_VERSION: go install"
  rm -f "$aemm_marker"
  GOBIN="$KB_CACHE/bin" GOTOOLCHAIN=local CGO_ENABLED=0 \
    go install "github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock@$AEMM_VERSION" </dev/null \
    >"$KB_CACHE/ec2-metadata-mock-install.log" 2>&1 \
    || { tail -n 20 "$KB_CACHE/ec2-metadata-mock-install.log" >&2; die "go install ec2-metadata-mock@$AEMM_VERSION failed"; }
  [ -x "$KB_CACHE/bin/ec2-metadata-mock" ] || die "go install succeeded but $KB_CACHE/bin/ec2-metadata-mock is missing"
  echo "$AEMM_VERSION" >"$aemm_marker"
  step_done "ec2-metadata-mock: installed $AEMM_VERSION into $KB_CACHE/bin" "$t"
fi

# ---------------------------------------------------------------- toxiproxy (tests/reliability)
# Network faults between the tool and a broker or the S3 server. `go install` names the binaries
# after their directories (server, cli), so they are built into a scratch GOBIN and renamed.
t=$(now)
toxi_marker="$KB_CACHE/bin/.toxiproxy.complete"
if [ -f "$toxi_marker" ] && [ -x "$KB_CACHE/bin/toxiproxy-server" ] && [ -x "$KB_CACHE/bin/toxiproxy-cli" ] \
   && grep -qx "$TOXIPROXY_VERSION" "$toxi_marker"; then
  step_done "toxiproxy: reused $KB_CACHE/bin/toxiproxy-server ($TOXIPROXY_VERSION)" "$t"
else
  command -v go >/dev/null 2>&1 || die "go not found (needed to build toxiproxy)"
  say "toxiproxy $TOXIPROXY_VERSION: go install"
  rm -f "$toxi_marker"
  toxi_gobin="$KB_CACHE/toxiproxy-gobin"
  rm -rf "$toxi_gobin" && mkdir -p "$toxi_gobin"
  for c in server cli; do
    GOBIN="$toxi_gobin" GOTOOLCHAIN=local CGO_ENABLED=0 \
      go install "github.com/Shopify/toxiproxy/v2/cmd/$c@$TOXIPROXY_VERSION" </dev/null \
      >>"$KB_CACHE/toxiproxy-install.log" 2>&1 \
      || { tail -n 20 "$KB_CACHE/toxiproxy-install.log" >&2; die "go install toxiproxy cmd/$c@$TOXIPROXY_VERSION failed"; }
    [ -x "$toxi_gobin/$c" ] || die "go install succeeded but $toxi_gobin/$c is missing"
    mv -f "$toxi_gobin/$c" "$KB_CACHE/bin/toxiproxy-$c"
  done
  rm -rf "$toxi_gobin"
  echo "$TOXIPROXY_VERSION" >"$toxi_marker"
  step_done "toxiproxy: installed $TOXIPROXY_VERSION into $KB_CACHE/bin (toxiproxy-server, toxiproxy-cli)" "$t"
fi

# ---------------------------------------------------------------- helm + the Kubernetes OpenAPI schema
# tests/deploy/test_k8s_manifests.py: `helm lint`/`helm template` of deploy/helm/kafka-backup, and
# the rendered objects checked against the API's OpenAPI schema when no kube-apiserver is built.
t=$(now)
helm_dir="$KB_CACHE/helm-$HELM_VERSION"
if [ -x "$helm_dir/helm" ] && [ -f "$helm_dir/.complete" ]; then
  step_done "helm: reused $helm_dir/helm" "$t"
else
  command -v go >/dev/null 2>&1 || die "go not found (needed to build helm)"
  say "helm $HELM_VERSION: go install (a cold build takes minutes)"
  mkdir -p "$helm_dir"
  GOBIN="$helm_dir" GOTOOLCHAIN=local CGO_ENABLED=0 go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" </dev/null \
    >"$KB_CACHE/helm-install.log" 2>&1 \
    || { tail -n 20 "$KB_CACHE/helm-install.log" >&2; die "go install helm@$HELM_VERSION failed (log: $KB_CACHE/helm-install.log)"; }
  [ -x "$helm_dir/helm" ] || die "go install succeeded but $helm_dir/helm is missing"
  touch "$helm_dir/.complete"
  step_done "helm: installed $HELM_VERSION into $helm_dir" "$t"
fi
t=$(now)
if GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_SCHEMA_VERSION" </dev/null \
    >"$KB_CACHE/k8s-schema-download.log" 2>&1; then
  step_done "k8s.io/kubernetes@$K8S_SCHEMA_VERSION in the Go module cache (OpenAPI schema)" "$t"
else
  tail -n 5 "$KB_CACHE/k8s-schema-download.log" >&2
  die "go mod download k8s.io/kubernetes@$K8S_SCHEMA_VERSION failed (log: $KB_CACHE/k8s-schema-download.log)"
fi

# ---------------------------------------------------------------- Azurite (Azure Blob emulator)
t=$(now)
az_dir="$KB_CACHE/npm-azurite-$AZURITE_VERSION"
if [ -f "$az_dir/.complete" ] && [ -x "$az_dir/node_modules/.bin/azurite-blob" ]; then
  step_done "azurite: reused $az_dir ($AZURITE_VERSION)" "$t"
else
  command -v npm >/dev/null 2>&1 || die "npm not found (apt-get install nodejs npm); needed for azurite"
  say "azurite $AZURITE_VERSION: npm install into $az_dir"
  rm -rf "$az_dir"
  mkdir -p "$az_dir"
  if ! npm install --prefix "$az_dir" --no-audit --no-fund "azurite@$AZURITE_VERSION" </dev/null \
      >"$KB_CACHE/azurite-install.log" 2>&1; then
    tail -n 20 "$KB_CACHE/azurite-install.log" >&2
    die "npm install azurite@$AZURITE_VERSION failed (log: $KB_CACHE/azurite-install.log)"
  fi
  [ -x "$az_dir/node_modules/.bin/azurite-blob" ] || die "npm install succeeded but azurite-blob is missing"
  echo "$AZURITE_VERSION" >"$az_dir/.complete"
  step_done "azurite: installed $AZURITE_VERSION into $az_dir" "$t"
fi

# ---------------------------------------------------------------- moto (STS for the credential-chain tests)
# Its own venv: moto's dependency tree stays out of the test venv (and changing it never
# rebuilds that venv under running tests).
t=$(now)
moto_venv="$KB_CACHE/moto-venv"
if [ -f "$moto_venv/.complete" ] && [ "$(cat "$moto_venv/.complete")" = "$MOTO_VERSION" ] && [ -x "$moto_venv/bin/python" ]; then
  step_done "moto: reused $moto_venv ($MOTO_VERSION)" "$t"
else
  say "moto[server] $MOTO_VERSION: pip install into $moto_venv"
  rm -rf "$moto_venv"
  /usr/bin/python3 -m venv "$moto_venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  if ! "$moto_venv/bin/python" -m pip install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" </dev/null \
      >"$KB_CACHE/moto-install.log" 2>&1; then
    tail -n 20 "$KB_CACHE/moto-install.log" >&2
    die "pip install moto[server]==$MOTO_VERSION failed (log: $KB_CACHE/moto-install.log)"
  fi
  "$moto_venv/bin/python" -c 'import moto.server, moto.sts' || die "moto imports failed"
  echo "$MOTO_VERSION" >"$moto_venv/.complete"
  step_done "moto: installed $MOTO_VERSION into $moto_venv" "$t"
fi

# ---------------------------------------------------------------- mock-oauth2-server (Azure AD tokens)
t=$(now)
oauth_dir="$KB_CACHE/mock-oauth2-server-$MOCK_OAUTH2_VERSION"
if [ -f "$oauth_dir/.complete" ] && ls "$oauth_dir/lib/mock-oauth2-server-$MOCK_OAUTH2_VERSION.jar" >/dev/null 2>&1; then
  step_done "mock-oauth2-server: reused $oauth_dir ($MOCK_OAUTH2_VERSION)" "$t"
else
  say "mock-oauth2-server $MOCK_OAUTH2_VERSION: fetching jars with mvn into $oauth_dir/lib"
  rm -rf "$oauth_dir"
  mkdir -p "$oauth_dir"
  if ! mvn -B -q -f "$ROOT/tests/harness/oauth/pom.xml" -Doauth.version="$MOCK_OAUTH2_VERSION" \
      "$DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$oauth_dir/lib" </dev/null \
      >"$KB_CACHE/mock-oauth2-server-install.log" 2>&1; then
    tail -n 20 "$KB_CACHE/mock-oauth2-server-install.log" >&2
    die "mvn could not fetch mock-oauth2-server $MOCK_OAUTH2_VERSION (log: $KB_CACHE/mock-oauth2-server-install.log)"
  fi
  echo "$MOCK_OAUTH2_VERSION" >"$oauth_dir/.complete"
  step_done "mock-oauth2-server: installed $MOCK_OAUTH2_VERSION into $oauth_dir" "$t"
fi

# ---------------------------------------------------------------- fake-gcs-server
t=$(now)
fgcs_marker="$KB_CACHE/bin/.fake-gcs-server.complete"
if [ -f "$fgcs_marker" ] && [ -x "$KB_CACHE/bin/fake-gcs-server" ] && grep -qx "$FAKE_GCS_VERSION" "$fgcs_marker"; then
  step_done "fake-gcs-server: reused $KB_CACHE/bin/fake-gcs-server ($FAKE_GCS_VERSION)" "$t"
else
  command -v go >/dev/null 2>&1 || die "go not found (needed to build fake-gcs-server)"
  say "fake-gcs-server $FAKE_GCS_VERSION: go install (a cold build takes minutes)"
  rm -f "$fgcs_marker"
  GOBIN="$KB_CACHE/bin" GOTOOLCHAIN=local CGO_ENABLED=0 \
    go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION" </dev/null \
    >"$KB_CACHE/fake-gcs-server-install.log" 2>&1 \
    || { tail -n 20 "$KB_CACHE/fake-gcs-server-install.log" >&2; die "go install fake-gcs-server@$FAKE_GCS_VERSION failed"; }
  [ -x "$KB_CACHE/bin/fake-gcs-server" ] || die "go install succeeded but $KB_CACHE/bin/fake-gcs-server is missing"
  echo "$FAKE_GCS_VERSION" >"$fgcs_marker"
  step_done "fake-gcs-server: installed $FAKE_GCS_VERSION into $KB_CACHE/bin" "$t"
fi

# ---------------------------------------------------------------- Python venv
t=$(now)
venv="$KB_CACHE/venv"
venv_key="requirements=$(sha "$REQS")"
if [ -f "$venv/.complete" ] && [ "$(cat "$venv/.complete")" = "$venv_key" ] && [ -x "$venv/bin/python" ]; then
  step_done "venv: reused $venv" "$t"
else
  # Debian's interpreter has the venv module (python3-venv); prefer it over other pythons on PATH.
  py=/usr/bin/python3
  [ -x "$py" ] || py=$(command -v python3) || die "python3 not found"
  say "venv: creating $venv with $py and installing $(grep -v '^#' "$REQS" | xargs)"
  rm -rf "$venv"
  "$py" -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS" </dev/null \
      >"$KB_CACHE/venv-install.log" 2>&1; then
    tail -n 20 "$KB_CACHE/venv-install.log" >&2
    die "pip install -r $REQS failed (log: $KB_CACHE/venv-install.log)"
  fi
  "$venv/bin/python" -c 'import confluent_kafka, pytest' || die "venv imports failed"
  echo "$venv_key" >"$venv/.complete"
  step_done "venv: installed $("$venv/bin/python" -c 'import confluent_kafka, pytest; print("confluent-kafka", confluent_kafka.__version__, "librdkafka", confluent_kafka.libversion()[0], "pytest", pytest.__version__)')" "$t"
fi

say "done in $(( $(now) - T_ALL )) s; cache $KB_CACHE"
