#!/usr/bin/env bash
# The real tools the deployment checks use, installed once into a cache
# outside the clone and printed as a path on stdout:
#
#   scripts/deploy-tools.sh helm                 Helm, built from the Go module proxy
#   scripts/deploy-tools.sh kustomize            kustomize, built from the Go module proxy
#   scripts/deploy-tools.sh kubernetes-validate  kubernetes-validate (PyPI) in its own venv;
#                                                it ships the Kubernetes API schemas
#   scripts/deploy-tools.sh promtool             promtool from Debian's `prometheus` package
#
# The cache is ${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}. Each Go tool gets
# its own GOPATH, GOCACHE and GOMODCACHE there; the build caches are removed
# after a successful build (only the binary is kept, about 1 GB less).
set -euo pipefail

HELM_VERSION="v3.21.4"
KUSTOMIZE_VERSION="v5.7.1" # v5.8 needs go 1.27
KUBERNETES_VALIDATE_VERSION="1.37.0"
cache="${CAUSEWAY_CACHE_DIR:-$HOME/.cache/causeway}"

log() { printf 'deploy-tools: %s\n' "$*" >&2; }

# go_tool NAME VERSION MODULE_PATH: builds MODULE_PATH@VERSION into the cache.
go_tool() {
  local name="$1" version="$2" module="$3"
  local root="$cache/$name-$version"
  local bin="$root/bin/$name"
  if [[ -x "$bin" && -f "$root/.complete" ]]; then
    echo "$bin"
    return
  fi
  command -v go >/dev/null || { log "go is needed to build $name $version"; exit 1; }
  log "building $name $version into $root (a few minutes the first time)"
  mkdir -p "$root"
  GOBIN="$root/bin" GOPATH="$root/go" GOCACHE="$root/go-build" GOMODCACHE="$root/go/pkg/mod" \
    GOFLAGS=-modcacherw CGO_ENABLED=0 GOTOOLCHAIN=local \
    go install "$module@$version" >&2
  rm -rf "$root/go" "$root/go-build"
  touch "$root/.complete"
  echo "$bin"
}

kubernetes_validate() {
  local root="$cache/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
  if [[ -x "$root/bin/kubernetes-validate" && -f "$root/.complete" ]]; then
    echo "$root/bin/kubernetes-validate"
    return
  fi
  log "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $root"
  rm -rf "$root"
  python3 -m venv "$root" >&2
  "$root/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
  touch "$root/.complete"
  echo "$root/bin/kubernetes-validate"
}

# Debian's prometheus package ships promtool. Its maintainer scripts would
# start the prometheus service: a policy-rc.d that refuses every start keeps
# anything from running, and any daemon that still started is stopped.
promtool_path() {
  if command -v promtool >/dev/null; then
    command -v promtool
    return
  fi
  [[ "$(id -u)" == 0 ]] || { log "promtool is missing; install Debian's prometheus package (needs root)"; exit 1; }
  log "installing promtool (Debian package prometheus, no recommends, services not started)"
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    own_policy=1
  fi
  local status=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; } >&2 || status=$?
  [[ "$own_policy" == 1 ]] && rm -f "$policy"
  [[ "$status" == 0 ]] || { log "apt-get install prometheus failed"; exit 1; }
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl stop prometheus >&2 || true
    systemctl disable prometheus >&2 || true
  fi
  command -v promtool
}

case "${1:-}" in
  helm) go_tool helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm ;;
  kustomize) go_tool kustomize "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5 ;;
  kubernetes-validate) kubernetes_validate ;;
  promtool) promtool_path ;;
  *)
    echo "usage: $0 helm|kustomize|kubernetes-validate|promtool" >&2
    exit 2
    ;;
esac
