#!/usr/bin/env bash
# Renders the plain manifests in k8s/ from the Helm chart (the source of
# truth): k8s/base from k8s/base.values.yaml, k8s/overlays/production from
# helm/causeway/values-production.yaml as patches on the base.
#
#   scripts/k8s-generate.sh [OUTDIR]   (default: k8s/ of this clone)
#
# scripts/deploy-check.sh regenerates into a temporary directory and fails
# when the committed files differ.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$repo/k8s}"
# The Kubernetes version the manifests are rendered and validated for.
kube_version="${CAUSEWAY_TEST_KUBE_VERSION:-1.33.0}"

helm="$("$repo/scripts/deploy-tools.sh" helm)"
validate="$("$repo/scripts/deploy-tools.sh" kubernetes-validate)"
python="$(dirname "$validate")/python" # that venv has PyYAML

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
render() {
  "$helm" template causeway "$repo/helm/causeway" --kube-version "$kube_version" "$@"
}
render -f "$repo/k8s/base.values.yaml" >"$work/base.yaml"
render -f "$repo/helm/causeway/values-production.yaml" >"$work/production.yaml"
mkdir -p "$out"
"$python" "$repo/scripts/k8s_manifests.py" generate "$work/base.yaml" "$work/production.yaml" "$out"
echo "k8s-generate: wrote $out/base and $out/overlays/production" >&2
