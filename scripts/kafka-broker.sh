#!/usr/bin/env bash
# A real Kafka-protocol broker for the Kafka bus tests: tansu 0.6.0 on its
# SQLite storage engine, on a free loopback port.
#
#   scripts/kafka-broker.sh install   build tansu once into a cache outside the
#                                     clone (skipped when already there)
#   scripts/kafka-broker.sh start     start a broker in a fresh temporary
#                                     directory; prints its bootstrap address
#                                     (127.0.0.1:PORT) on stdout
#   scripts/kafka-broker.sh stop [DIR]  stop the broker started last (or the
#                                     one in DIR) and remove its directory
#
# The cache is ${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}/tansu-0.6.0. The
# memory engine is never used: it stalls a consumer that resumes inside a
# record batch.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="0.6.0"
root="${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}/tansu-$version"
tansu="$root/bin/tansu"
last_dir_file="$repo/target/kafka-broker.dir"

log() { printf 'kafka-broker: %s\n' "$*" >&2; }

install() {
  if [[ -x "$tansu" ]] && "$tansu" --version >/dev/null 2>&1; then
    log "tansu $version already installed at $tansu"
    return
  fi
  log "building tansu $version into $root (about 10 minutes on 2 cores)"
  mkdir -p "$root"
  cargo install --locked "tansu@$version" --features libsql --root "$root" -j "${CAUSEWAY_TANSU_JOBS:-2}" >&2
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Sends a Kafka Metadata (v0) request and checks that an answer with the same
# correlation id comes back: the broker is up and serving the protocol.
metadata_answers() {
  python3 - "$1" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
client = b"causeway-probe"
body = struct.pack(">hhih", 3, 0, 4242, len(client)) + client + struct.pack(">i", 0)
try:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.sendall(struct.pack(">i", len(body)) + body)
        header = conn.recv(8)
        sys.exit(0 if len(header) == 8 and struct.unpack(">ii", header)[1] == 4242 else 1)
except OSError:
    sys.exit(1)
PY
}

start() {
  [[ -x "$tansu" ]] || { log "tansu is not installed: run scripts/kafka-broker.sh install"; exit 1; }
  local dir port pid
  dir="$(mktemp -d "${TMPDIR:-/tmp}/causeway-kafka.XXXXXX")"
  port="$(free_port)"
  # The SQLite file is given relative to the working directory: an absolute
  # path loses its leading slash in the storage URL.
  (
    cd "$dir"
    exec "$tansu" broker \
      --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "sqlite://broker.db" \
      >"$dir/broker.log" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$dir/pid"
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  mkdir -p "$(dirname "$last_dir_file")"
  echo "$dir" >"$last_dir_file"
  for _ in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "tansu exited during startup; its log:"
      cat "$dir/broker.log" >&2
      exit 1
    fi
    if metadata_answers "$port"; then
      log "tansu $version (sqlite) serving on 127.0.0.1:$port, pid $pid, dir $dir"
      echo "127.0.0.1:$port"
      return
    fi
    sleep 0.2
  done
  log "tansu did not answer a metadata request within 30s; its log:"
  cat "$dir/broker.log" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
}

stop() {
  local dir="${1:-}"
  if [[ -z "$dir" && -f "$last_dir_file" ]]; then
    dir="$(cat "$last_dir_file")"
  fi
  if [[ -z "$dir" || ! -f "$dir/pid" ]]; then
    log "no broker to stop"
    return
  fi
  local pid
  pid="$(cat "$dir/pid")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  if [[ -f "$last_dir_file" && "$(cat "$last_dir_file")" == "$dir" ]]; then
    rm -f "$last_dir_file"
  fi
  log "stopped broker pid $pid"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 install|start|stop [DIR]" >&2; exit 2 ;;
esac
