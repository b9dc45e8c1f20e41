#!/usr/bin/env bash
# Alert -> artifact with a large window: starts a fresh `causeway standalone`
# (release build, settle 1 s), loads CES OTLP/HTTP CEs with `causeway
# loadgen`, waits until the windower is level, posts one 1,000-CE trace on
# `payments` (whose leaf also calls GHOSTS, dependencies without the SDK that
# loadgen's traffic calls too), fires ALERTS alerts naming it, 1.5 s apart,
# prints the newest artifact's ghosts and cuts and the assembler's
# histograms; then restarts on the same data and times the reopen. See
# BENCHMARKS.md, "With 10M CEs in the window".
#
#   scripts/bench-alert.sh                                   # 10M CEs, no ghost
#   GHOSTS=postgres,stripe-api scripts/bench-alert.sh        # two ghosts with many calls
#   BIN=/path/to/other/causeway CES=1000000 scripts/bench-alert.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CES=${CES:-10000000}
ALERTS=${ALERTS:-30}
GHOSTS=${GHOSTS:-}
KEY=bench-key-0123456789abcdef
if [ -z "${BIN:-}" ]; then
  cargo build --release -p causeway >&2
  BIN=${CARGO_TARGET_DIR:-target}/release/causeway
fi
dir=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT

export CAUSEWAY_DEV_API_KEY=$KEY CAUSEWAY_ASSEMBLER__SETTLE_MS=1000
# shellcheck source=lib/standalone.sh
. scripts/lib/standalone.sh
metric() { curl -s "$admin/metrics" | grep -E "^$1" || true; }

start_standalone "$dir"
"$BIN" loadgen --api-key $KEY --protocol otlp-http --target "$http" --ces "$CES" --batch 500 \
  --concurrency 4 --max --json |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("loaded", d["acked_ces"], "CEs, rejected", d["rejected_by_reason"])'
until [ "$(metric causeway_windower_consumer_lag_records | awk '{print $2}')" = "0" ]; do sleep 1; done
echo "window level; $(grep VmRSS /proc/$pid/status)"
trace=$(python3 -c 'import uuid; print(uuid.uuid4())')
python3 scripts/bench_alert.py trace "$http" $KEY "$trace" 1000 "$GHOSTS"
sleep 3
python3 scripts/bench_alert.py alerts "$http" $KEY "$trace" "$ALERTS"
sleep 5
python3 scripts/bench_alert.py show "$http" $KEY
metric 'causeway_assembler_(assembly_duration|alert_to_artifact)_seconds_(bucket|sum|count)'
kill -TERM "$pid"; wait "$pid" || true
echo "data directory: $(du -sh "$dir/data" | cut -f1)"
t0=$(date +%s.%N)
start_standalone "$dir"
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$admin/ready")" = "200" ]; do sleep 0.1; done
t1=$(date +%s.%N)
echo "reopen to ready: $(python3 -c "print(round($t1 - $t0, 1))") s; $(grep VmRSS /proc/$pid/status)"
kill -TERM "$pid"; wait "$pid" || true
