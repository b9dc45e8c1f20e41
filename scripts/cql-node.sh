#!/usr/bin/env bash
# A real CQL node for the ScyllaDB store tests: Apache Cassandra 5.0, one
# node on loopback with a small heap. The store's driver speaks CQL v4 to it
# as to ScyllaDB.
#
#   scripts/cql-node.sh install   fetch Cassandra's jars from Maven Central
#                                 once into a cache outside the clone
#                                 (skipped when already there)
#   scripts/cql-node.sh start     start a node in a fresh temporary directory;
#                                 prints its native-protocol address
#                                 (127.0.0.1:PORT) on stdout once it answers
#   scripts/cql-node.sh stop [DIR]  stop the node started last (or the one in
#                                 DIR) and remove its directory
#
# The cache is ${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}/cassandra-<version>
# (the jars under libs/) with Maven's local repository beside it (m2/). The
# Maven artifact ships no conf/: the JVM options of Cassandra's
# conf/jvm17-server.options and a minimal cassandra.yaml are written here.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="5.0.6"
cache="${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}"
root="$cache/cassandra-$version"
libs="$root/libs"
last_dir_file="$repo/target/cql-node.dir"
heap="${CAUSEWAY_CQL_HEAP:-2G}"
timeout="${CAUSEWAY_CQL_START_TIMEOUT:-180}"

log() { printf 'cql-node: %s\n' "$*" >&2; }

# shellcheck source=lib/jvm-node.sh
source "$repo/scripts/lib/jvm-node.sh"

installed() { [[ -f "$root/.complete" && -f "$libs/cassandra-all-$version.jar" ]]; }

install() {
  if installed; then
    log "apache cassandra $version already installed at $root"
    return
  fi
  command -v java >/dev/null || { log "java 17 is needed to run cassandra"; exit 1; }
  command -v mvn >/dev/null || { log "maven (mvn) is needed to fetch cassandra from maven central"; exit 1; }
  log "fetching apache cassandra $version and its dependencies from maven central into $root"
  maven_fetch cql-node '    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>'"$version"'</version>
    </dependency>'
  log "installed apache cassandra $version ($(ls "$libs" | wc -l) jars)"
}


# Sends a CQL OPTIONS frame (protocol v4) and checks that a SUPPORTED frame
# with the same stream id comes back: the native transport is serving.
native_answers() {
  python3 - "$1" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
try:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(struct.pack(">BBhBi", 0x04, 0, 7, 0x05, 0))
        header = conn.recv(9)
        ok = len(header) == 9 and header[0] == 0x84 and struct.unpack(">h", header[2:4])[0] == 7 and header[4] == 0x06
        sys.exit(0 if ok else 1)
except OSError:
    sys.exit(1)
PY
}

write_config() {
  local dir="$1" native_port="$2" storage_port="$3"
  mkdir -p "$dir/data" "$dir/commitlog" "$dir/saved_caches" "$dir/hints" "$dir/cdc_raw"
  cat >"$dir/cassandra.yaml" <<EOF
cluster_name: causeway-test
num_tokens: 1
initial_token: 0
allocate_tokens_for_local_replication_factor: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:$storage_port"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: $storage_port
native_transport_port: $native_port
start_native_transport: true
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
role_manager: CassandraRoleManager
data_file_directories:
  - $dir/data
commitlog_directory: $dir/commitlog
saved_caches_directory: $dir/saved_caches
hints_directory: $dir/hints
cdc_raw_directory: $dir/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 8MiB
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
concurrent_compactors: 1
memtable_heap_space: 128MiB
memtable_offheap_space: 128MiB
key_cache_size: 16MiB
counter_cache_size: 8MiB
hinted_handoff_enabled: false
dynamic_snitch: false
disk_failure_policy: stop
commit_failure_policy: stop
# Tests create and drop a keyspace per case: no snapshot on drop.
auto_snapshot: false
EOF
  cat >"$dir/logback.xml" <<EOF
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$dir/node.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
EOF
}

# The JVM command line: the module exports and opens of Cassandra's
# conf/jvm17-server.options (Cassandra reaches into JDK internals), a small
# heap, and the system properties that skip the waits meant for a
# multi-node ring.
java_cmd() {
  local dir="$1"
  jvm=(java "-Xms$heap" "-Xmx$heap" -Xss512k -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError
    -XX:+UseStringDeduplication -XX:TieredStopAtLevel=1
    -Djdk.attach.allowAttachSelf=true
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
    --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    "-javaagent:$(ls "$libs"/jamm-*.jar | head -1)"
    "-Dcassandra.config=file://$dir/cassandra.yaml"
    "-Dlogback.configurationFile=$dir/logback.xml"
    "-Dcassandra.storagedir=$dir"
    "-Dcassandra.logdir=$dir"
    "-Dcassandra.triggers_dir=$dir"
    -Dcassandra-foreground=yes
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    -Dcassandra.ring_delay_ms=0
    -Dcassandra.superuser_setup_delay_ms=0
    -Dcassandra.available_processors=2
    -cp "$libs/*")
}

start() {
  installed || { log "apache cassandra is not installed: run scripts/cql-node.sh install"; exit 1; }
  local dir native_port storage_port pid jvm
  dir="$(mktemp -d "${TMPDIR:-/tmp}/causeway-cql.XXXXXX")"
  native_port="$(free_port)"
  storage_port="$(free_port)"
  while [[ "$storage_port" == "$native_port" ]]; do storage_port="$(free_port)"; done
  write_config "$dir" "$native_port" "$storage_port"
  java_cmd "$dir"
  (exec "${jvm[@]}" org.apache.cassandra.service.CassandraDaemon >"$dir/stdout.log" 2>&1) &
  pid=$!
  echo "$pid" >"$dir/pid"
  echo "127.0.0.1:$native_port" >"$dir/address"
  mkdir -p "$(dirname "$last_dir_file")"
  echo "$dir" >"$last_dir_file"
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "cassandra exited during startup; its output and log:"
      tail -40 "$dir/stdout.log" >&2 2>/dev/null || true
      tail -40 "$dir/node.log" >&2 2>/dev/null || true
      exit 1
    fi
    if native_answers "$native_port"; then
      log "apache cassandra $version serving CQL on 127.0.0.1:$native_port, pid $pid, dir $dir"
      echo "127.0.0.1:$native_port"
      return
    fi
    sleep 0.5
  done
  log "cassandra did not answer a CQL OPTIONS request within ${timeout}s; its log:"
  tail -50 "$dir/node.log" >&2 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  exit 1
}


case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_node "${2:-}" "cql node" 150 ;;
  *) echo "usage: $0 install|start|stop [DIR]" >&2; exit 2 ;;
esac
