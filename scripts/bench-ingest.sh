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

cargo build --release -p causeway >&2
BIN=${CARGO_TARGET_DIR:-target}/release/causeway

for protocol in $PROTOCOLS; do
  dir=$(mktemp -d)
  CAUSEWAY_DEV_API_KEY=$KEY "$BIN" standalone --data-dir "$dir/data" \
    --http-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 \
    >"$dir/stdout" 2>"$dir/log" &
  pid=$!
  for _ in $(seq 1 300); do
    grep -q '^admin  listening' "$dir/stdout" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
    sleep 0.1
  done
  http=$(sed -n 's/^http   listening on //p' "$dir/stdout")
  grpc=$(sed -n 's/^grpc   listening on //p' "$dir/stdout")
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
