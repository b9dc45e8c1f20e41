#!/usr/bin/env bash
# Creates (or refreshes) the test virtualenv at $CAUSEWAY_CACHE_DIR/venv
# (default: ~/.cache/causeway, outside the clone so CI runs reuse it) from
# scripts/requirements-test.txt and prints the path of its python.
# Idempotent: when the requirements file has not changed since the last
# install (same sha256), it only prints the path.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$repo/scripts/requirements-test.txt"
cache="${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}"
venv="$cache/venv"
stamp="$venv/.requirements.sha256"
python_bin="${PYTHON:-python3}"

wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "$venv/bin/python"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  mkdir -p "$cache"
  "$python_bin" -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
echo "$wanted" > "$stamp"
echo "$venv/bin/python"
