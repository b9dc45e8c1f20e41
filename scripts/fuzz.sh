#!/usr/bin/env bash
# Fuzzes every decoder and assembly (docs/reliability.md#fuzzing) with
# cargo-fuzz (libFuzzer) on nightly Rust, one target after another, one
# process each. Exits non-zero when a target crashes; its input is left in
# fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                          every target, 10 s each (scripts/test.sh: 5 s each)
#   scripts/fuzz.sh --seconds 3600 ce_batch  one target for an hour
#   scripts/fuzz.sh --runs 10000000          every target for 10M executions
#   scripts/fuzz.sh --list                   the target names
#
# cargo-fuzz is installed once into ${CAUSEWAY_CACHE_DIR:-~/.cache/causeway}/cargo-fuzz,
# and the nightly toolchain (minimal profile) when rustup lacks it. The
# working corpus of each target lives in ${CAUSEWAY_CACHE_DIR}/fuzz-corpus/<target>
# (outside the clone), seeded from the committed fuzz/seeds/<target>/, and the
# build in ${CAUSEWAY_CACHE_DIR}/fuzz-target.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}"
CARGO_FUZZ_VERSION="0.13.2"
seconds=10
runs=""
targets=()

log() { printf 'fuzz: %s\n' "$*" >&2; }

while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --list) targets=(--list); shift ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) log "unknown option $1"; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

all_targets() {
  sed -n 's/^name = "\([a-z0-9_]*\)"$/\1/p' "$repo/fuzz/Cargo.toml" | grep -v '^causeway-fuzz$'
}
if [[ "${targets[0]:-}" == "--list" ]]; then
  all_targets
  exit 0
fi
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(all_targets)
fi

if ! rustup toolchain list | grep -q '^nightly'; then
  log "installing the nightly toolchain (minimal profile)"
  RUSTUP_AUTO_INSTALL=1 rustup toolchain install nightly --profile minimal >&2
fi
cargo_fuzz="$cache/cargo-fuzz/bin/cargo-fuzz"
if [[ ! -x "$cargo_fuzz" ]] || ! "$cargo_fuzz" --version | grep -q " $CARGO_FUZZ_VERSION\$"; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION into $cache/cargo-fuzz"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$cache/cargo-fuzz" >&2
fi

cd "$repo/fuzz"
export PATH="$cache/cargo-fuzz/bin:$PATH"
# Safe Rust: no sanitizer (panics, overflow checks and the product's
# debug_assert! invariants are what the targets catch), at twice the speed.
# The build goes to the cache too, so the next run (and the next clone)
# rebuilds only what changed.
flags=(--release --debug-assertions --sanitizer none --target-dir "${CAUSEWAY_FUZZ_TARGET_DIR:-$cache/fuzz-target}")
cargo +nightly fetch --locked >&2
log "building every target (one build)"
started=$SECONDS
cargo +nightly fuzz build "${flags[@]}" >&2
log "built in $((SECONDS - started)) s"

limit=(-max_total_time="$seconds")
[[ -n "$runs" ]] && limit=(-runs="$runs")
failed=()
for target in "${targets[@]}"; do
  corpus="$cache/fuzz-corpus/$target"
  mkdir -p "$corpus" "artifacts/$target"
  log "$target: ${limit[*]}"
  target_started=$SECONDS
  dict=()
  [[ -f "dicts/$target.dict" ]] && dict=(-dict="dicts/$target.dict")
  # -jobs/-workers stay at one process: the machine has two cores.
  if ! cargo +nightly fuzz run "${flags[@]}" "$target" "$corpus" "seeds/$target" -- \
    "${limit[@]}" "${dict[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" 2>"artifacts/$target/last-run.log"; then
    tail -n 40 "artifacts/$target/last-run.log" >&2
    failed+=("$target")
  else
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
      "artifacts/$target/last-run.log" | sed "s/^/fuzz: $target: /" >&2 || true
  fi
  log "$target: $((SECONDS - target_started)) s"
done
if ((${#failed[@]})); then
  log "CRASHED: ${failed[*]} (inputs in fuzz/artifacts/<target>/)"
  exit 1
fi
log "no crash in ${#targets[@]} target(s)"
