#!/usr/bin/env bash
# Kafka mode (release): `causeway gateway` and `causeway run --targets
# windower,assembler` as separate processes on one Apache Kafka broker
# (scripts/kafka-broker.sh), each on its own embedded store; loadgen drives
# the gateway. Prints loadgen's report (gateway CPU per CE), the windower's
# CPU per CE until every accepted CE is in its window, then a raw librdkafka
# producer against KafkaBus::publish on the same broker
# (crates/bus/examples/kafka_throughput.rs). See BENCHMARKS.md, "Kafka mode".
#
#   scripts/bench-kafka.sh                        # 500k OTLP/HTTP CEs, 8 requests in flight
#   CONCURRENCY=32 CES=1000000 scripts/bench-kafka.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CES=${CES:-500000}
PROTOCOL=${PROTOCOL:-otlp-http}
CONCURRENCY=${CONCURRENCY:-8}
RAW=${RAW:-100000}
KEY=bench-key-0123456789abcdef
cargo build --release -p causeway >&2
cargo build --release -p causeway-bus --example kafka_throughput >&2
BIN=${CARGO_TARGET_DIR:-target}/release/causeway
broker=$(scripts/kafka-broker.sh start)
dir=$(mktemp -d)
# The broker this run started goes too: runs one after another must not
# leave brokers behind sharing the cores with the next.
trap 'kill "${gateway:-}" "${windower:-}" 2>/dev/null || true; rm -rf "$dir"; scripts/kafka-broker.sh stop >/dev/null 2>&1 || true' EXIT
prefix=bench$(date +%s)
export CAUSEWAY_DEV_API_KEY=$KEY CAUSEWAY_TOPICS__PREFIX=$prefix CAUSEWAY_TOPICS__CE_PARTITIONS=8 \
  CAUSEWAY_WINDOWER__GROUP=$prefix-windower
"$BIN" topics create --bus "kafka://$broker" >/dev/null
"$BIN" gateway --bus "kafka://$broker" --store "embedded://$dir/gateway" --http-addr 127.0.0.1:0 \
  --grpc-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 >"$dir/gateway.out" 2>"$dir/gateway.log" &
gateway=$!
"$BIN" run --targets windower,assembler --bus "kafka://$broker" --store "embedded://$dir/windower" \
  --http-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 >"$dir/windower.out" 2>"$dir/windower.log" &
windower=$!
for _ in $(seq 1 300); do
  grep -q '^admin' "$dir/gateway.out" 2>/dev/null && grep -q '^admin' "$dir/windower.out" 2>/dev/null && break
  sleep 0.1
done
admin_of() { sed -n 's/^admin  listening on \([^ ]*\).*/\1/p' "$1"; }
http=$(sed -n 's/^http   listening on //p' "$dir/gateway.out")
gateway_admin=$(admin_of "$dir/gateway.out")
windower_admin=$(admin_of "$dir/windower.out")
counter() { curl -s "$1/metrics" | grep "^$2" | awk '{s += $2} END {print s + 0}'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
w0=$(ticks $windower)
t0=$(date +%s.%N)
"$BIN" loadgen --api-key $KEY --protocol "$PROTOCOL" --target "$http" --ces "$CES" --batch 500 \
  --concurrency "$CONCURRENCY" --max --report-server-cpu $gateway 2>&1 | grep -E 'CE/s over|µs CPU|by thread|rejected'
accepted=$(counter "$gateway_admin" causeway_gateway_events_accepted_total)
until [ "$(counter "$windower_admin" causeway_windower_events_written_total)" = "$accepted" ]; do sleep 0.5; done
t1=$(date +%s.%N)
w1=$(ticks $windower)
records=$(counter "$windower_admin" causeway_windower_records_consumed_total)
python3 -c "print('windower: $accepted CEs in $records records, all in the window after %.1f s; %.2f µs CPU per CE' % ($t1 - $t0, ($w1 - $w0) / 100 / $accepted * 1e6))"
kill -TERM $gateway $windower
wait $gateway $windower 2>/dev/null || true
echo "raw librdkafka against KafkaBus::publish (records like the gateway's):"
"${CARGO_TARGET_DIR:-target}/release/examples/kafka_throughput" "$broker" "$RAW" 20 "" 8 2>/dev/null | tail -4
