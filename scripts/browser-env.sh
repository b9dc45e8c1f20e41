#!/usr/bin/env bash
# Prepares the real headless browser for the share-page test and prints two
# lines to stdout: `CAUSEWAY_TEST_CHROMIUM=<path>` and
# `CAUSEWAY_TEST_PLAYWRIGHT=<path to playwright-core's folder>`.
#
# Chromium comes from Debian (`chromium`), installed only when missing;
# playwright-core comes from npm, pinned, into
# $CAUSEWAY_CACHE_DIR/playwright (default ~/.cache/causeway). No browser is
# ever downloaded by playwright: it drives /usr/bin/chromium.
# Idempotent: a second run only prints the paths.
set -euo pipefail

playwright_version="1.49.1"
cache="${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}"
prefix="$cache/playwright"
chromium="${CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$chromium" ]]; then
  echo "installing Debian chromium" >&2
  sudo_cmd=()
  if [[ "$(id -u)" != 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi

module="$prefix/node_modules/playwright-core"
installed="$(node -p "require('$module/package.json').version" 2>/dev/null || true)"
if [[ "$installed" != "$playwright_version" ]]; then
  echo "installing playwright-core $playwright_version into $prefix" >&2
  mkdir -p "$prefix"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund --prefix "$prefix" \
    "playwright-core@$playwright_version" >&2
fi

echo "CAUSEWAY_TEST_CHROMIUM=$chromium"
echo "CAUSEWAY_TEST_PLAYWRIGHT=$module"
