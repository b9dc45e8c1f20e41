{{/* Names, labels and the pieces every workload shares. */}}

{{- define "causeway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "causeway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "causeway.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "causeway.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; call with (dict "root" $ "component" "gateway"). */}}
{{- define "causeway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: causeway
{{ include "causeway.selectorLabels" . }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "causeway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "causeway.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "causeway.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "causeway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "causeway.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* kafka://b1,b2?k=v&… from kafka.brokers and kafka.properties. */}}
{{- define "causeway.busUrl" -}}
{{- $query := list -}}
{{- range $key := keys .Values.kafka.properties | sortAlpha -}}
{{- $query = append $query (printf "%s=%s" $key (urlquery (toString (index $.Values.kafka.properties $key)))) -}}
{{- end -}}
{{- printf "kafka://%s" (join "," .Values.kafka.brokers) -}}
{{- if $query }}?{{ join "&" $query }}{{ end -}}
{{- end -}}

{{- define "causeway.storeUrl" -}}
{{- printf "scylla://%s" (join "," .Values.scylla.hosts) -}}
{{- end -}}

{{/* CAUSEWAY_BUS and CAUSEWAY_STORE (split mode), from values or Secrets. */}}
{{- define "causeway.busStoreEnv" -}}
- name: CAUSEWAY_BUS
{{- if .Values.kafka.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.existingSecret }}
      key: {{ .Values.kafka.existingSecretKey }}
{{- else }}
  value: {{ include "causeway.busUrl" . | quote }}
{{- end }}
- name: CAUSEWAY_STORE
{{- if .Values.scylla.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.scylla.existingSecret }}
      key: {{ .Values.scylla.existingSecretKey }}
{{- else }}
  value: {{ include "causeway.storeUrl" . | quote }}
{{- end }}
{{- end -}}

{{/* Environment of every serving container; call with (dict "root" $ "extra" list). */}}
{{- define "causeway.env" -}}
{{- $v := .root.Values -}}
{{- if eq $v.mode "split" }}
{{ include "causeway.busStoreEnv" .root }}
{{- end }}
{{- with $v.secrets.tenants.name }}
- name: CAUSEWAY_TENANTS
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $v.secrets.tenants.key }}
{{- end }}
{{- with $v.secrets.devApiKey.name }}
- name: CAUSEWAY_DEV_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $v.secrets.devApiKey.key }}
{{- end }}
{{- range $v.secrets.env }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .key }}
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Probes on the admin port. */}}
{{- define "causeway.probes" -}}
{{- $p := .Values.probes -}}
startupProbe:
  httpGet: {path: /live, port: admin}
  periodSeconds: {{ $p.startup.periodSeconds }}
  timeoutSeconds: {{ $p.startup.timeoutSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
livenessProbe:
  httpGet: {path: /live, port: admin}
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
readinessProbe:
  httpGet: {path: /ready, port: admin}
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
{{- end -}}

{{- define "causeway.podAnnotations" -}}
checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
{{- if .root.Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .root.Values.ports.admin | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod spec pieces shared by the Deployments and the StatefulSet; call with (dict "root" $ "component" name "spec" targetValues "args" list "ports" list "volumes" list "mounts" list). */}}
{{- define "causeway.podSpec" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $grace := int $v.terminationGracePeriodSeconds -}}
{{- $needed := add (int $v.config.shutdownDeadlineSeconds) (int $v.preStopSleepSeconds) -}}
{{- if le $grace (int $needed) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be above config.shutdownDeadlineSeconds + preStopSleepSeconds (%d)" $grace (int $needed)) -}}
{{- end -}}
serviceAccountName: {{ include "causeway.serviceAccountName" $root }}
automountServiceAccountToken: false
terminationGracePeriodSeconds: {{ $grace }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
containers:
  - name: causeway
    image: {{ include "causeway.image" $root | quote }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    ports:
      {{- range .ports }}
      - name: {{ . }}
        containerPort: {{ index $v.ports . }}
        protocol: TCP
      {{- end }}
    {{- with trim (include "causeway.env" (dict "root" $root "extra" .spec.extraEnv)) }}
    env:
      {{- . | nindent 6 }}
    {{- end }}
    {{- include "causeway.probes" $root | nindent 4 }}
    {{- if gt (int $v.preStopSleepSeconds) 0 }}
    lifecycle:
      preStop:
        sleep:
          seconds: {{ $v.preStopSleepSeconds }}
    {{- end }}
    resources:
      {{- toYaml .spec.resources | nindent 6 }}
    securityContext:
      {{- toYaml $v.securityContext | nindent 6 }}
    volumeMounts:
      - name: config
        mountPath: /etc/causeway
        readOnly: true
      - name: tmp
        mountPath: /tmp
      {{- with .mounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: config
    configMap:
      name: {{ include "causeway.fullname" $root }}
  - name: tmp
    emptyDir: {}
  {{- with .volumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .spec.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $v.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: {{ $v.topologySpread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $v.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "causeway.selectorLabels" (dict "root" $root "component" $.component) | nindent 8 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* One TOML value. Helm reads numbers from values files as floats, and
causeway rejects 8.0 where it wants an integer, so whole numbers print as
integers. Strings print as JSON strings, which TOML reads the same. */}}
{{- define "causeway.tomlValue" -}}
{{- if kindIs "float64" . -}}
{{- if eq (floor .) . }}{{ printf "%d" (int64 .) }}{{ else }}{{ printf "%v" . }}{{ end -}}
{{- else if or (kindIs "int" .) (kindIs "int64" .) -}}
{{- printf "%d" . -}}
{{- else if kindIs "bool" . -}}
{{- printf "%t" . -}}
{{- else if kindIs "slice" . -}}
{{- $items := list -}}
{{- range . }}{{ $items = append $items (include "causeway.tomlValue" .) }}{{ end -}}
[{{ join ", " $items }}]
{{- else if kindIs "map" . -}}
{{- $items := list -}}
{{- range $key := keys . | sortAlpha }}{{ $items = append $items (printf "%s = %s" $key (include "causeway.tomlValue" (index $ $key))) }}{{ end -}}
{ {{- join ", " $items -}} }
{{- else -}}
{{- toJson (toString .) -}}
{{- end -}}
{{- end -}}

{{/* `key = value` lines of a flat map, sorted by key. */}}
{{- define "causeway.tomlKeys" -}}
{{- $lines := list -}}
{{- range $key := keys . | sortAlpha }}{{ $lines = append $lines (printf "%s = %s" $key (include "causeway.tomlValue" (index $ $key))) }}{{ end -}}
{{- join "\n" $lines -}}
{{- end -}}
