# Sourced by the scripts in this folder: pins, the cache location, and the Node 24 toolchain on PATH.
# Everything the project installs lives under $DRAWBRIDGE_CACHE (outside the repo) or node_modules/.
NODE_VERSION="24.21.0"
DRAWBRIDGE_CACHE="${DRAWBRIDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drawbridge}"
export DRAWBRIDGE_CACHE
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_HOME="$DRAWBRIDGE_CACHE/node-v$NODE_VERSION"
export PATH="$NODE_HOME/bin:$REPO/node_modules/.bin:$PATH"
say() { printf 'drawbridge: %s\n' "$*" >&2; }
# Manifest tools for the deploy tests (scripts/install-tools builds them; test/env/tools.ts finds them).
KUSTOMIZE_VERSION="v5.8.1"
HELM_VERSION="v3.22.0"
