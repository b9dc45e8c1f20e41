#!/usr/bin/env bash
# Checks everything under helm/, k8s/ and deploy/ with the real tools
# (installed once by scripts/deploy-tools.sh into the cache outside the clone):
#
#   1. the chart: `helm lint --strict` and `helm template` with the base,
#      production and standalone values; every file in helm/tests/bad must
#      fail with the error its `# expect:` line names; README.md documents
#      every value with its default;
#   2. every rendered object validates against the Kubernetes API schemas
#      (kubernetes-validate, Kubernetes $KUBE_VERSION, strict);
#   3. k8s/ is what scripts/k8s-generate.sh makes from the chart today, and
#      `kustomize build` of the base and of the production overlay gives back
#      exactly what the chart renders;
#   4. `promtool check rules` and `promtool test rules` on deploy/prometheus;
#   5. live /metrics: `causeway standalone` (and, when $CAUSEWAY_TEST_KAFKA
#      names a broker, the gateway and the windower+assembler as separate
#      processes on it) driven by `causeway demo` and an over-quota tenant;
#      `promtool check metrics` on each /metrics, and every metric the rules
#      and the dashboard query must be on one of them.
#
# Needs target/debug/causeway (`cargo build -p causeway`). Exits non-zero on
# the first failure.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
KUBE_VERSION="${CAUSEWAY_TEST_KUBE_VERSION:-1.33.0}"
causeway="${CAUSEWAY_TEST_BIN:-$repo/target/debug/causeway}"

step() { printf '\n-- deploy-check: %s\n' "$*"; }
fail() { printf 'deploy-check: FAILED: %s\n' "$*" >&2; exit 1; }

started_at=$SECONDS
step "tools"
helm="$(scripts/deploy-tools.sh helm)"
kustomize="$(scripts/deploy-tools.sh kustomize)"
validate="$(scripts/deploy-tools.sh kubernetes-validate)"
promtool="$(scripts/deploy-tools.sh promtool)"
python="$(dirname "$validate")/python" # kubernetes-validate's venv: has PyYAML
echo "helm: $helm"
echo "kustomize: $kustomize"
echo "kubernetes-validate: $validate (Kubernetes $KUBE_VERSION)"
echo "promtool: $promtool"
[[ -x "$causeway" ]] || fail "$causeway is missing: run cargo build -p causeway"

work="$(mktemp -d "${TMPDIR:-/tmp}/causeway-deploy-check.XXXXXX")"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

chart="helm/causeway"
render() { "$helm" template causeway "$chart" --kube-version "$KUBE_VERSION" "$@"; }

# Validates a rendered stream; objects of kinds Kubernetes has no schema for
# (the Prometheus Operator's ServiceMonitor) are named in a SKIPPED line.
validate_stream() {
  local file="$1" out
  out="$("$validate" -k "$KUBE_VERSION" --strict "$file" 2>&1)" || { echo "$out" >&2; fail "$file does not validate"; }
  if grep -q "Couldn't find schema" <<<"$out"; then
    grep "Couldn't find schema" <<<"$out" | sed 's/^WARN .*for kind \([A-Za-z]*\) with api version \([^ ]*\).*/SKIPPED: \1 (\2) not validated: its CRD schema is not part of Kubernetes/' | sort -u >&2
  fi
  grep -c "passed for resource" <<<"$out" | sed "s|^|validated objects in $(basename "$file"): |"
}

step "chart: lint and render (base, production, standalone values)"
declare -A values=(
  [base]="k8s/base.values.yaml"
  [production]="$chart/values-production.yaml"
  [standalone]="$chart/values-standalone.yaml"
)
for name in base production standalone; do
  "$helm" lint --strict "$chart" --kube-version "$KUBE_VERSION" -f "${values[$name]}" >"$work/lint-$name.txt" 2>&1 ||
    { cat "$work/lint-$name.txt" >&2; fail "helm lint ($name values)"; }
  render -f "${values[$name]}" >"$work/$name.yaml" 2>"$work/render-$name.err" ||
    { cat "$work/render-$name.err" >&2; fail "helm template ($name values)"; }
  echo "$name: lint ok, $(grep -c '^kind:' "$work/$name.yaml") objects"
done
# The windower's HPA on consumer lag needs a metrics adapter, so no example
# enables it; render it here so its template is checked too.
render -f "${values[production]}" --set windower.autoscaling.enabled=true >"$work/production-lag-hpa.yaml"
grep -q 'name: causeway_windower_consumer_lag_records' "$work/production-lag-hpa.yaml" ||
  fail "windower.autoscaling.enabled renders no HPA on consumer lag"
# What each mode must contain: a wrong template that renders nothing fails here.
kinds() { grep '^kind:' "$1" | sort | uniq -c | awk '{print $3 "=" $1}' | tr '\n' ' '; }
echo "base kinds: $(kinds "$work/base.yaml")"
[[ "$(kinds "$work/base.yaml")" == *"Deployment=3 "* && "$(kinds "$work/base.yaml")" == *"Job=2 "* ]] ||
  fail "base render lacks the three Deployments or the two Jobs"
[[ "$(kinds "$work/standalone.yaml")" == *"StatefulSet=1 "* && "$(kinds "$work/standalone.yaml")" != *"Deployment="* ]] ||
  fail "standalone render is not one StatefulSet without Deployments"
for kind in HorizontalPodAutoscaler Ingress ServiceMonitor; do
  grep -q "^kind: $kind$" "$work/production.yaml" || fail "production render lacks a $kind"
done

step "chart: values that must fail"
bad_count=0
for bad in helm/tests/bad/*.yaml; do
  expect="$(sed -n 's/^# expect: //p' "$bad" | head -n 1)"
  [[ -n "$expect" ]] || fail "$bad has no '# expect: <error text>' line"
  if render -f "$bad" >/dev/null 2>"$work/bad.err"; then
    fail "$bad rendered, but must fail with: $expect"
  fi
  grep -qF -- "$expect" "$work/bad.err" || { cat "$work/bad.err" >&2; fail "$bad failed, but not with: $expect"; }
  echo "rejected as expected: $(basename "$bad") ($expect)"
  bad_count=$((bad_count + 1))
done
[[ "$bad_count" -gt 0 ]] || fail "no bad values files in helm/tests/bad"

step "chart: every value documented with its default"
"$python" scripts/check_chart_readme.py "$chart" || fail "$chart/README.md does not document every value"

step "kubernetes API schemas ($KUBE_VERSION, strict)"
for name in base production production-lag-hpa standalone; do
  validate_stream "$work/$name.yaml"
done

step "k8s/ in step with the chart"
scripts/k8s-generate.sh "$work/k8s" 2>/dev/null
for dir in base overlays; do
  diff -ru "k8s/$dir" "$work/k8s/$dir" >"$work/k8s.diff" ||
    { head -n 60 "$work/k8s.diff" >&2; fail "k8s/$dir differs from the chart: run scripts/k8s-generate.sh and commit"; }
done
echo "k8s/ matches scripts/k8s-generate.sh"
"$kustomize" build k8s/base >"$work/kustomize-base.yaml"
"$kustomize" build k8s/overlays/production >"$work/kustomize-production.yaml"
"$python" scripts/k8s_manifests.py same "$work/base.yaml" "$work/kustomize-base.yaml" ||
  fail "kustomize build k8s/base differs from the chart's base render"
"$python" scripts/k8s_manifests.py same "$work/production.yaml" "$work/kustomize-production.yaml" ||
  fail "kustomize build k8s/overlays/production differs from the chart's production render"
echo "kustomize build of base and production overlay equals the chart's renders"
validate_stream "$work/kustomize-production.yaml"

step "prometheus rules"
"$promtool" check rules deploy/prometheus/rules.yaml
"$promtool" test rules deploy/prometheus/rules.test.yaml

step "live /metrics"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dev_key="deploy-check-key-$RANDOM$RANDOM"
quota_key="deploy-check-quota-$RANDOM$RANDOM"
quota_hash="$(env -u CAUSEWAY_CACHE_DIR "$causeway" hash-key "$quota_key")"
# The tenants as one inline TOML array, as the chart's secrets.tenants passes them.
tenants="[{id = \"quota1\", plan = \"free\", api_key_sha256 = [\"$quota_hash\"], monthly_ce_quota = 1}]"

# start NAME ARGS...: starts causeway with free ports; sets $http and $admin.
start() {
  local name="$1"
  shift
  http="$(free_port)"
  admin="$(free_port)"
  local grpc
  grpc="$(free_port)"
  # CAUSEWAY_CACHE_DIR is the scripts' setting, not causeway's: every other
  # CAUSEWAY_* variable is configuration, and causeway rejects unknown keys.
  env -u CAUSEWAY_CACHE_DIR CAUSEWAY_DEV_API_KEY="$dev_key" CAUSEWAY_TENANTS="$tenants" \
    "$causeway" "$@" --http-addr "127.0.0.1:$http" --grpc-addr "127.0.0.1:$grpc" --admin-addr "127.0.0.1:$admin" \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
  local pid=$!
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$admin/ready" >/dev/null 2>&1; then
      echo "$name ready (http $http, admin $admin)"
      return
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.log" >&2; fail "$name exited during startup"; }
    sleep 0.2
  done
  cat "$work/$name.log" >&2
  fail "$name not ready within 60 s"
}

# Traffic that makes every metric appear: the demo (SDK and OTLP ingest, an
# alert, an artifact, a share link) and one request over the quota.
drive() {
  local url="$1" wait="$2"
  env -u CAUSEWAY_CACHE_DIR "$causeway" demo --url "$url" --key "$dev_key" --traces 20 --wait-seconds "$wait" --no-color \
    >"$work/demo.out" 2>"$work/demo.err" || return 1
}
over_quota() {
  local url="$1" status
  status="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/api/v1/ingest/batch" \
    -H "authorization: Bearer $quota_key" -H 'content-type: application/json' \
    --data-binary @crates/model/fixtures/sdk_v1_payments.json)"
  [[ "$status" == 429 ]] || fail "the over-quota request got $status, not 429"
}

scrape() {
  local name="$1" port="$2"
  curl -fsS "http://127.0.0.1:$port/metrics" >"$work/metrics-$name.txt" || fail "no /metrics from $name"
  "$promtool" check metrics <"$work/metrics-$name.txt" >"$work/promtool-$name.txt" 2>&1 ||
    { cat "$work/promtool-$name.txt" >&2; fail "promtool check metrics: $name"; }
  echo "$name: /metrics passes promtool check metrics ($(grep -c '^causeway_' "$work/metrics-$name.txt") causeway samples)"
}

# wait_for_metric PORT METRIC: polls /metrics until METRIC appears (120 s: the test broker is slow).
wait_for_metric() {
  local port="$1" metric="$2"
  for _ in $(seq 1 480); do
    curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null | grep -q "^$metric" && return 0
    sleep 0.25
  done
  return 1
}

start standalone standalone --data-dir "$work/standalone-data"
standalone_http="$http" standalone_admin="$admin"
drive "http://127.0.0.1:$standalone_http" 60 || { cat "$work/demo.err" >&2; fail "the demo against standalone failed"; }
grep -q '^share link: ' "$work/demo.out" || fail "the demo printed no share link"
over_quota "http://127.0.0.1:$standalone_http"
scrape standalone "$standalone_admin"
scraped=("$work/metrics-standalone.txt")

if [[ -n "${CAUSEWAY_TEST_KAFKA:-}" ]]; then
  # The split targets on the broker. The embedded store cannot be shared
  # between processes, so the windower and the assembler run together
  # (`run --targets windower,assembler`) and the gateway keeps its own
  # store for metering, as with ScyllaDB they would share one.
  run_id="deploycheck$$$RANDOM"
  export CAUSEWAY_TOPICS__PREFIX="$run_id" CAUSEWAY_WINDOWER__GROUP="$run_id-w" CAUSEWAY_ASSEMBLER__GROUP="$run_id-a"
  bus="kafka://$CAUSEWAY_TEST_KAFKA"
  start gateway gateway --bus "$bus" --store "embedded://$work/gateway-store"
  gateway_http="$http" gateway_admin="$admin"
  start consumers run --targets windower,assembler --bus "$bus" --store "embedded://$work/consumer-store"
  consumers_admin="$admin"
  # The gateway serves no read API, so the demo cannot see the artifact:
  # it sends the traffic and the alert, and the assembler's /metrics shows
  # the artifact.
  drive "http://127.0.0.1:$gateway_http" 1 || true
  grep -q 'alert fired' "$work/demo.err" || { cat "$work/demo.err" >&2; fail "the demo against the gateway fired no alert"; }
  over_quota "http://127.0.0.1:$gateway_http"
  wait_for_metric "$consumers_admin" causeway_assembler_artifacts_assembled_total ||
    { tail -n 40 "$work/consumers.log" >&2; fail "no artifact assembled from the broker within 120 s"; }
  scrape gateway "$gateway_admin"
  scrape windower+assembler "$consumers_admin"
  scraped+=("$work/metrics-gateway.txt" "$work/metrics-windower+assembler.txt")
  unset CAUSEWAY_TOPICS__PREFIX CAUSEWAY_WINDOWER__GROUP CAUSEWAY_ASSEMBLER__GROUP
elif [[ -n "${CI:-}" ]]; then
  fail "CI is set but CAUSEWAY_TEST_KAFKA is not: the split targets must be checked on a broker"
else
  echo "SKIPPED: split targets (no broker): set CAUSEWAY_TEST_KAFKA (scripts/test.sh does)" >&2
fi

step "rules and dashboard query only metrics that exist"
"$python" scripts/check_queried_metrics.py deploy/prometheus/rules.yaml deploy/grafana/causeway.json docs/metrics.md -- "${scraped[@]}"

echo
echo "deploy-check: all passed in $((SECONDS - started_at)) s"
