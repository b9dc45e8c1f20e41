#!/usr/bin/env bash
# Every test of the project, from a fresh clone: installs what the tests need
# (Python SDKs into a cached virtualenv, Apache Kafka and Apache Cassandra
# from Maven Central into a cache outside the clone), checks format and lints, fuzzes
# every decoder briefly, then runs every test. Exits non-zero on any failure.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

step() { printf '\n== %s\n' "$*"; }

# One full build per run: incremental state would only add gigabytes to
# target/ (a developer's own `cargo test` keeps it).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step "python test environment (real incidentary and OpenTelemetry SDKs)"
CAUSEWAY_TEST_PYTHON="$(scripts/python-env.sh)"
export CAUSEWAY_TEST_PYTHON
echo "python: $CAUSEWAY_TEST_PYTHON"

step "headless browser (Debian chromium, playwright-core from npm)"
eval "$(scripts/browser-env.sh)"
export CAUSEWAY_TEST_CHROMIUM CAUSEWAY_TEST_PLAYWRIGHT
echo "chromium: $CAUSEWAY_TEST_CHROMIUM"

step "kafka broker (apache kafka from maven central, for the Kafka bus tests)"
scripts/kafka-broker.sh install

step "cql node (apache cassandra from maven central, for the ScyllaDB store tests)"
scripts/cql-node.sh install

step "format"
cargo fmt --all --check
cargo fmt --all --check --manifest-path fuzz/Cargo.toml

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "fuzz: every decoder and assembly, a short bounded run each (nightly, cargo-fuzz)"
scripts/fuzz.sh --seconds "${CAUSEWAY_FUZZ_SECONDS:-5}"

step "causeway binary (the multi-process tests run it)"
cargo build -p causeway --locked

step "tests"
CAUSEWAY_TEST_KAFKA="$(scripts/kafka-broker.sh start)"
export CAUSEWAY_TEST_KAFKA
trap 'scripts/kafka-broker.sh stop' EXIT
echo "kafka: $CAUSEWAY_TEST_KAFKA"
CAUSEWAY_TEST_CQL="$(scripts/cql-node.sh start)"
export CAUSEWAY_TEST_CQL
trap 'scripts/cql-node.sh stop; scripts/kafka-broker.sh stop' EXIT
echo "cql: $CAUSEWAY_TEST_CQL"
step "deployment: helm chart, k8s/, prometheus rules, dashboard, live /metrics" && scripts/deploy-check.sh
cargo test --workspace --all-targets --locked
