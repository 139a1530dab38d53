#!/usr/bin/env bash
# Builds MetalLB's controller at a pinned release from the Go module proxy, once, into the cache outside the repo,
# for the side-by-side bench (npm run bench:metallb). Prints the binary's path on stdout, progress on stderr.
# Also prints, on a second line, the folder holding MetalLB's CRDs (from the same module) so the bench installs the
# exact schema that release reads.
set -euo pipefail
METALLB_VERSION="${DRAWBRIDGE_METALLB_VERSION:-0.15.2}"
CACHE="${DRAWBRIDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drawbridge}"
OUT="$CACHE/bin/metallb-controller-v$METALLB_VERSION"
MODULE="go.universe.tf/metallb"
mkdir -p "$CACHE/bin"
command -v go >/dev/null || { echo "drawbridge: Go is required to build MetalLB's controller" >&2; exit 1; }

exec 9>"$CACHE/build-metallb.lock"
flock 9
if [ ! -x "$OUT" ]; then
  echo "drawbridge: building MetalLB controller v$METALLB_VERSION (once, a few minutes)" >&2
  work="$CACHE/build-metallb"
  rm -rf "$work" && mkdir -p "$work" && cd "$work"
  go mod init drawbridge.local/build-metallb >/dev/null 2>&1
  # The controller is a main package inside MetalLB's module: `go get` of it records every module it needs.
  go get "$MODULE/controller@v$METALLB_VERSION" >&2
  go build -trimpath -o "$OUT.tmp" "$MODULE/controller" >&2
  mv "$OUT.tmp" "$OUT"
fi
echo "$OUT"
cd "$CACHE" && GOFLAGS=-mod=mod go mod download -json "$MODULE@v$METALLB_VERSION" 2>/dev/null |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' | sed 's#$#/config/crd/bases#'
