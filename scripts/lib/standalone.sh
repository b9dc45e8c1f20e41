# Shared by the benchmark scripts: starts `causeway standalone` ($BIN) with
# every listener on port 0 and its data in DIR/data, output in DIR/stdout and
# DIR/log, and sets `pid`, `http`, `grpc` and `admin` from what it prints.
# The caller exports the environment it needs (CAUSEWAY_DEV_API_KEY, …).

start_standalone() {
  local dir="$1"
  "$BIN" standalone --data-dir "$dir/data" --http-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 \
    --admin-addr 127.0.0.1:0 >"$dir/stdout" 2>>"$dir/log" &
  pid=$!
  for _ in $(seq 1 3000); do
    grep -q '^admin  listening' "$dir/stdout" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
    sleep 0.1
  done
  http=$(sed -n 's/^http   listening on //p' "$dir/stdout")
  grpc=$(sed -n 's/^grpc   listening on //p' "$dir/stdout")
  admin=$(sed -n 's/^admin  listening on \([^ ]*\).*/\1/p' "$dir/stdout")
}
