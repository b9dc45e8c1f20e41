#!/usr/bin/env bash
# Every test of the project, from a fresh clone: installs what the tests need
# (Python SDKs into a cached virtualenv), checks format and lints, then runs
# every test. Exits non-zero on any failure.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

step() { printf '\n== %s\n' "$*"; }

step "python test environment (real incidentary and OpenTelemetry SDKs)"
CAUSEWAY_TEST_PYTHON="$(scripts/python-env.sh)"
export CAUSEWAY_TEST_PYTHON
echo "python: $CAUSEWAY_TEST_PYTHON"

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
cargo test --workspace --all-targets --locked
