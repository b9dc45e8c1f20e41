#!/usr/bin/env bash
# Server CPU per acknowledged CE: starts a fresh `causeway standalone`
# (release build) per protocol, drives it with `causeway loadgen
# --report-server-cpu`, which reads the server's utime + stime from /proc
# from the first send until the server is idle again (the windower included),
# and prints loadgen's report. See BENCHMARKS.md, "Ingest (loadgen)".
#
#   scripts/bench-ingest.sh                       # 100k CEs, 500-event batches, sdk-json and otlp-http
#   CES=200000 BATCH=1000 PROTOCOLS="grpc" scripts/bench-ingest.sh
#   JSON=1 scripts/bench-ingest.sh                # one JSON object per protocol
set -euo pipefail
cd "$(dirname "$0")/.."

CES=${CES:-100000}
BATCH=${BATCH:-500}
CONCURRENCY=${CONCURRENCY:-4}
PROTOCOLS=${PROTOCOLS:-"sdk-json otlp-http"}
KEY=bench-key-0123456789abcdef
export CAUSEWAY_DEV_API_KEY=$KEY
# shellcheck source=lib/standalone.sh
. scripts/lib/standalone.sh

cargo build --release -p causeway >&2
BIN=${CARGO_TARGET_DIR:-target}/release/causeway

for protocol in $PROTOCOLS; do
  dir=$(mktemp -d)
  start_standalone "$dir"
  case $protocol in
    otlp-grpc | grpc) target="http://$grpc" ;;
    *) target=$http ;;
  esac
  echo "== $protocol: $CES CEs, batches of $BATCH, $CONCURRENCY in flight, standalone pid $pid" >&2
  "$BIN" loadgen --api-key "$KEY" --protocol "$protocol" --target "$target" --read-url "$http" \
    --ces "$CES" --batch "$BATCH" --concurrency "$CONCURRENCY" --max \
    --report-server-cpu "$pid" ${JSON:+--json} || status=$?
  kill -TERM "$pid"
  wait "$pid" || true
  rm -rf "$dir"
  [ "${status:-0}" -eq 0 ] || exit "$status"
done
