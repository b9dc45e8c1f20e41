# Shared by scripts/kafka-broker.sh and scripts/cql-node.sh: fetching a JVM
# server's jars from Maven Central, free ports, and stopping a node started
# in its own directory. The caller sets `cache`, `root`, `libs`,
# `last_dir_file` and defines `log`.

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# maven_fetch NAME DEPENDENCIES_XML: copies the runtime closure of the
# dependencies into $libs through a throwaway pom, with Maven's local
# repository in $cache/m2, then marks $root complete.
maven_fetch() {
  local name="$1" dependencies="$2" work
  work="$(mktemp -d "${TMPDIR:-/tmp}/causeway-$name-install.XXXXXX")"
  cat >"$work/pom.xml" <<EOF_POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>causeway</groupId>
  <artifactId>$name-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
$dependencies
  </dependencies>
</project>
EOF_POM
  rm -rf "$libs"
  mkdir -p "$libs"
  (cd "$work" && mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$cache/m2" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2)
  rm -rf "$work"
  touch "$root/.complete"
}

# stop_node DIR WHAT WAIT_TENTHS: stops the node started last (or the one in
# DIR): TERM, up to WAIT_TENTHS tenths of a second to exit, then KILL; its
# directory is removed.
stop_node() {
  local dir="$1" what="$2" wait_tenths="$3" pid
  if [[ -z "$dir" && -f "$last_dir_file" ]]; then
    dir="$(cat "$last_dir_file")"
  fi
  if [[ -z "$dir" || ! -f "$dir/pid" ]]; then
    log "no $what to stop"
    return
  fi
  pid="$(cat "$dir/pid")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 "$wait_tenths"); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  if [[ -f "$last_dir_file" && "$(cat "$last_dir_file")" == "$dir" ]]; then
    rm -f "$last_dir_file"
  fi
  log "stopped $what pid $pid"
}
