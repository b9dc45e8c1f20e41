#!/usr/bin/env bash
# A real Kafka broker for the Kafka bus tests: Apache Kafka 4.x, one KRaft
# node acting as broker and controller, on free loopback ports.
#
#   scripts/kafka-broker.sh install   fetch Kafka's jars from Maven Central once
#                                     into a cache outside the clone (skipped
#                                     when already there)
#   scripts/kafka-broker.sh start     start a broker in a fresh temporary
#                                     directory; prints its bootstrap address
#                                     (127.0.0.1:PORT) on stdout
#   scripts/kafka-broker.sh start --private   the same, without becoming "the
#                                     broker started last" (a test's own broker:
#                                     the tests find scripts/test.sh's broker
#                                     through that record)
#   scripts/kafka-broker.sh stop [DIR]  stop the broker started last (or the
#                                     one in DIR) and remove its directory
#
# The cache is ${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}/kafka-<version>
# (the jars under libs/) with Maven's local repository beside it (m2/). It
# runs on the machine's Java 17 with a small heap: the tests need a real
# broker, not a fast one.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="4.1.0"
cache="${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}"
root="$cache/kafka-$version"
libs="$root/libs"
last_dir_file="$repo/target/kafka-broker.dir"
heap="${CAUSEWAY_KAFKA_HEAP:-512m}"

log() { printf 'kafka-broker: %s\n' "$*" >&2; }

# shellcheck source=lib/jvm-node.sh
source "$repo/scripts/lib/jvm-node.sh"

installed() { [[ -f "$root/.complete" && -f "$libs/kafka_2.13-$version.jar" ]]; }

install() {
  if installed; then
    log "apache kafka $version already installed at $root"
    return
  fi
  command -v java >/dev/null || { log "java (17 or newer) is needed to run kafka"; exit 1; }
  command -v mvn >/dev/null || { log "maven (mvn) is needed to fetch kafka from maven central"; exit 1; }
  log "fetching apache kafka $version and its dependencies from maven central into $root"
  # log4j-slf4j-impl routes the broker's slf4j logging to log4j2.
  maven_fetch kafka-broker '    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>'"$version"'</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>2.24.3</version>
    </dependency>'
  log "installed apache kafka $version ($(ls "$libs" | wc -l) jars)"
}


# Sends a Kafka ApiVersions (v0) request and checks that an answer with the
# same correlation id comes back: the broker listener is up and serving.
broker_answers() {
  python3 - "$1" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
client = b"causeway-probe"
body = struct.pack(">hhih", 18, 0, 4242, len(client)) + client
try:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(struct.pack(">i", len(body)) + body)
        header = conn.recv(8)
        sys.exit(0 if len(header) == 8 and struct.unpack(">ii", header)[1] == 4242 else 1)
except OSError:
    sys.exit(1)
PY
}

write_config() {
  local dir="$1" port="$2" controller_port="$3"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
log.retention.hours=1
log.segment.bytes=67108864
EOF
  cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
logger.server.name = org.apache.kafka.server
logger.server.level = info
EOF
}

# The JVM command line, minus the main class and its arguments: a small heap,
# the client compiler only and the serial collector keep start-up short on a
# busy 2-core machine.
java_cmd() {
  local dir="$1"
  jvm=(java "-Xms$heap" "-Xmx$heap" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$libs/*")
}

start() {
  installed || { log "apache kafka is not installed: run scripts/kafka-broker.sh install"; exit 1; }
  local dir port controller_port pid cluster_id
  dir="$(mktemp -d "${TMPDIR:-/tmp}/causeway-kafka.XXXXXX")"
  port="$(free_port)"
  controller_port="$(free_port)"
  while [[ "$controller_port" == "$port" ]]; do controller_port="$(free_port)"; done
  write_config "$dir" "$port" "$controller_port"
  # A fresh cluster id per broker; 22 characters of url-safe base64 as Kafka
  # expects (its own `random-uuid` command needs another JVM start). Never
  # one starting with "-": the tool would take it for an option (1 in 64
  # ids did; Kafka's own generator skips them the same way).
  cluster_id="$(python3 -c '
import base64, uuid
while True:
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[:22]
    if not cluster_id.startswith("-"):
        print(cluster_id)
        break
')"
  local jvm
  java_cmd "$dir"
  if ! "${jvm[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$dir/server.properties" >"$dir/format.log" 2>&1; then
    log "formatting the kafka storage failed:"
    cat "$dir/format.log" >&2
    exit 1
  fi
  (exec "${jvm[@]}" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1) &
  pid=$!
  echo "$pid" >"$dir/pid"
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  if [[ "${1:-}" != "--private" ]]; then
    mkdir -p "$(dirname "$last_dir_file")"
    echo "$dir" >"$last_dir_file"
  fi
  local deadline=$((SECONDS + ${CAUSEWAY_KAFKA_START_TIMEOUT:-180}))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "kafka exited during startup; its output and log:"
      cat "$dir/stdout.log" "$dir/broker.log" >&2 2>/dev/null || true
      exit 1
    fi
    if broker_answers "$port"; then
      log "apache kafka $version serving on 127.0.0.1:$port (controller $controller_port), pid $pid, dir $dir"
      echo "127.0.0.1:$port"
      return
    fi
    sleep 0.3
  done
  log "kafka did not answer an ApiVersions request within ${CAUSEWAY_KAFKA_START_TIMEOUT:-180}s; its log:"
  tail -50 "$dir/broker.log" >&2 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  exit 1
}


case "${1:-}" in
  install) install ;;
  start) start "${2:-}" ;;
  stop) stop_node "${2:-}" "broker" 100 ;;
  *) echo "usage: $0 install|start [--private]|stop [DIR]" >&2; exit 2 ;;
esac
