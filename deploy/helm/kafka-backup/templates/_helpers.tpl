{{/* Names, labels and the pieces every pod of the chart shares. */}}

{{- define "kafka-backup.fullname" -}}
{{- if contains "kafka-backup" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kafka-backup" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kafka-backup.labels" -}}
app.kubernetes.io/name: kafka-backup
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: kafka-backup
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kafka-backup.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "kafka-backup.serviceAccountName" -}}
{{ .Values.serviceAccount.name | default (include "kafka-backup.fullname" .) }}
{{- end -}}

{{/* Pod-level settings: non-root uid 65532 (the image's user), RuntimeDefault seccomp. */}}
{{- define "kafka-backup.podSettings" -}}
serviceAccountName: {{ include "kafka-backup.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- if .Values.hostNetwork }}
hostNetwork: true
dnsPolicy: ClusterFirstWithHostNet
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "kafka-backup.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{/* The optional static S3 keys; absent Secret: the AWS chain. */}}
{{- define "kafka-backup.s3Env" -}}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.s3.name }}
      key: access-key-id
      optional: true
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.s3.name }}
      key: secret-access-key
      optional: true
{{- end -}}

{{/* The security guide's wiring: the SASL user as env from kafka-credentials. */}}
{{- define "kafka-backup.kafkaEnv" -}}
- name: KAFKA_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.credentials.name }}
      key: {{ .Values.secrets.credentials.usernameKey }}
- name: KAFKA_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.credentials.name }}
      key: {{ .Values.secrets.credentials.passwordKey }}
{{ include "kafka-backup.s3Env" . }}
{{- end -}}

{{/* The backup container's probes, port, resources and mounts (TLS Secret read-only at /certs). */}}
{{- define "kafka-backup.backupContainerRest" -}}
ports:
  - name: metrics
    containerPort: {{ .Values.metrics.port }}
    protocol: TCP
livenessProbe:
  httpGet:
    path: /health
    port: metrics
  initialDelaySeconds: 10
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /ready
    port: metrics
  initialDelaySeconds: 5
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
resources:
  {{- toYaml .Values.resources | nindent 2 }}
{{ include "kafka-backup.containerSecurityContext" . }}
terminationMessagePath: /dev/termination-log
terminationMessagePolicy: File
volumeMounts:
  - name: tls
    mountPath: /certs
    readOnly: true
  - name: config
    mountPath: /config
    readOnly: true
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{- define "kafka-backup.backupVolumes" -}}
volumes:
  - name: tls
    secret:
      secretName: {{ .Values.secrets.tls.name }}
  - name: config
    configMap:
      name: {{ include "kafka-backup.fullname" . }}-config
  - name: tmp
    emptyDir:
      sizeLimit: 16Mi
{{- end -}}

{{- define "kafka-backup.podAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.metrics.port | quote }}
prometheus.io/path: /metrics
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* One backup configuration (DESIGN.md §3); never a secret: ${VAR}s come from the pod's env. */}}
{{- define "kafka-backup.config" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
mode: backup
backup_id: {{ .backupId }}
source:
  bootstrap_servers:
    {{- range $v.kafka.bootstrapServers }}
    - {{ . | quote }}
    {{- end }}
  security:
    security_protocol: {{ $v.kafka.securityProtocol }}
    {{- if hasPrefix "SASL" $v.kafka.securityProtocol }}
    sasl_mechanism: {{ $v.kafka.saslMechanism }}
    sasl_username: ${KAFKA_USERNAME}
    sasl_password: ${KAFKA_PASSWORD}
    {{- end }}
    {{- if hasSuffix "SSL" $v.kafka.securityProtocol }}
    ssl_ca_location: /certs/{{ $v.secrets.tls.caKey }}
    {{- if $v.kafka.mtls }}
    ssl_certificate_location: /certs/client.crt
    ssl_key_location: /certs/client.key
    {{- end }}
    {{- end }}
  topics:
    include:
      {{- range $v.kafka.topics.include }}
      - {{ . | quote }}
      {{- end }}
    {{- with $v.kafka.topics.exclude }}
    exclude:
      {{- range . }}
      - {{ . | quote }}
      {{- end }}
    {{- end }}
storage:
  backend: s3
  bucket: {{ $v.storage.bucket }}
  region: {{ $v.storage.region }}
  {{- with $v.storage.endpoint }}
  endpoint: {{ . }}
  {{- end }}
  {{- if $v.storage.pathStyle }}
  path_style: true
  {{- end }}
  prefix: {{ .prefix }}
backup:
  compression: {{ $v.backup.compression }}
  compression_level: {{ $v.backup.compressionLevel }}
  {{- if .continuous }}
  continuous: true
  {{- else }}
  stop_at_current_offsets: true
  {{- end }}
metrics:
  enabled: true
  bind_address: 0.0.0.0
  port: {{ $v.metrics.port }}
{{- end -}}

{{/* The S3 URL prune reads (the snapshots' prefix). */}}
{{- define "kafka-backup.snapshotUrl" -}}
{{- $v := .Values -}}
{{- $q := list (printf "region=%s" $v.storage.region) -}}
{{- if $v.storage.endpoint }}{{ $q = append $q (printf "endpoint=%s" $v.storage.endpoint) }}{{ end -}}
{{- if $v.storage.pathStyle }}{{ $q = append $q "path_style=true" }}{{ end -}}
s3://{{ $v.storage.bucket }}/{{ trimSuffix "/" $v.snapshot.prefix }}?{{ join "&" $q }}
{{- end -}}
