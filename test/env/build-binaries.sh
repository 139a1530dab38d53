#!/usr/bin/env bash
# Builds the real control-plane binaries the integration tests run against, once, into a cache outside the repo.
#   kube-apiserver: from the k8s.io/kubernetes Go module at a pinned release. That module's go.mod replaces every
#                   k8s.io/* staging module with a local path, which only works inside its own repo, so we build it
#                   from a throwaway wrapper module that pins each staging module to the matching v0.x release.
#   etcd:           from the etcd server module at a pinned 3.5 release (Debian bookworm ships 3.4, which the 1.33
#                   apiserver no longer supports for consistent reads from the watch cache).
# Prints nothing but progress on stderr; idempotent: a binary already in the cache is reused.
set -euo pipefail

K8S_VERSION="${DRAWBRIDGE_K8S_VERSION:-1.33.13}"
ETCD_VERSION="${DRAWBRIDGE_ETCD_VERSION:-3.5.21}"
CACHE="${DRAWBRIDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drawbridge}"
BIN="$CACHE/bin"
APISERVER="$BIN/kube-apiserver-v$K8S_VERSION"
ETCD="$BIN/etcd-v$ETCD_VERSION"
mkdir -p "$BIN"

need_go() {
  command -v go >/dev/null || { echo "drawbridge: Go is required to build kube-apiserver and etcd (apt-get install golang-go, or a newer Go)" >&2; exit 1; }
}

# Serialise concurrent callers (parallel test files, `up` twice) so the build runs once.
exec 9>"$CACHE/build.lock"
flock 9

# go install refuses modules whose go.mod has replace directives (both of ours do), so each binary is built from a
# small wrapper module that requires the pinned release; `pin` adds extra replace lines first.
build_in_wrapper() { # <name> <module@version> <main package> <output> [extra go mod edit args...]
  local name="$1" modver="$2" pkg="$3" out="$4"; shift 4
  local work="$CACHE/build-$name"
  rm -rf "$work" && mkdir -p "$work" && cd "$work"
  go mod init "drawbridge.local/build-$name" >/dev/null 2>&1
  go mod edit -require="$modver" "$@"
  # A throwaway file importing the target makes `go mod tidy` record every module it needs (an import of a
  # main package is refused at build time, but tidy still resolves its dependencies).
  printf 'package main\n\nimport _ "%s"\n\nfunc main() {}\n' "$pkg" > tools.go
  GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true
  rm -f tools.go
  GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" "$pkg"
  mv "$out.tmp" "$out"
  cd / && rm -rf "$work"
}

if [ ! -x "$ETCD" ]; then
  need_go
  echo "drawbridge: building etcd v$ETCD_VERSION (first run only, about a minute)..." >&2
  build_in_wrapper etcd "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" go.etcd.io/etcd/server/v3 "$ETCD"
fi

if [ ! -x "$APISERVER" ]; then
  need_go
  echo "drawbridge: building kube-apiserver v$K8S_VERSION (first run only; ten minutes or more on 2 cores)..." >&2
  # Every staging module k8s.io/kubernetes requires at v0.0.0 is pinned to the release with the same minor.
  GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" >/dev/null 2>&1 || true
  modfile="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S_VERSION.mod"
  [ -f "$modfile" ] || { echo "drawbridge: could not fetch k8s.io/kubernetes v$K8S_VERSION from the Go module proxy" >&2; exit 1; }
  pins=()
  for m in $(awk '/=> \.\/staging\/src\//{print $1}' "$modfile" | sort -u); do
    pins+=("-replace=$m=$m@v0.${K8S_VERSION#1.}")
  done
  build_in_wrapper kube-apiserver "k8s.io/kubernetes@v$K8S_VERSION" k8s.io/kubernetes/cmd/kube-apiserver "$APISERVER" "${pins[@]}"
fi

echo "$APISERVER"
echo "$ETCD"
