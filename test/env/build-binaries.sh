#!/usr/bin/env bash
# Builds the real control-plane binaries the integration tests run against, once, into a cache outside the repo.
#   kube-apiserver: from the k8s.io/kubernetes Go module at a pinned release. That module's go.mod replaces every
#                   k8s.io/* staging module with a local path, which only works inside its own repo, so we build it
#                   from a throwaway wrapper module that pins each staging module to the matching v0.x release.
#                   It is stamped with the version ldflags the Kubernetes build uses, so /version reports the release.
#   etcd:           from the etcd server module at a pinned 3.5 release (Debian bookworm ships 3.4, which the 1.33
#                   apiserver no longer supports for consistent reads from the watch cache).
# Prints the apiserver path, the etcd path and the Kubernetes version on stdout, progress on stderr. Idempotent: a
# binary already in the cache is reused.
set -euo pipefail

K8S_VERSION="${DRAWBRIDGE_K8S_VERSION:-1.33.13}"
ETCD_VERSION="${DRAWBRIDGE_ETCD_VERSION:-3.5.21}"
# The Go module proxy carries no commit for a module version; set this to the release tag's commit to stamp it.
K8S_COMMIT="${DRAWBRIDGE_K8S_COMMIT:-}"
CACHE="${DRAWBRIDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drawbridge}"
BIN="$CACHE/bin"
# "-r2": built with the version ldflags. Bump the suffix whenever the recipe changes what the binary is, so every
# machine rebuilds into a new path instead of reusing (or overwriting under a running test) the old binary.
APISERVER="$BIN/kube-apiserver-v$K8S_VERSION-r2"
ETCD="$BIN/etcd-v$ETCD_VERSION"
mkdir -p "$BIN"

done_() {
  echo "$APISERVER"
  echo "$ETCD"
  echo "v$K8S_VERSION"
  exit 0
}

# Fast path, no lock: both binaries are in place (they only ever appear by an atomic rename).
[ -x "$APISERVER" ] && [ -x "$ETCD" ] && done_

need_go() {
  command -v go >/dev/null || { echo "drawbridge: kube-apiserver and etcd are not in $BIN, and building them (once, about ten minutes) needs Go 1.24 or newer on PATH (go.dev/dl)" >&2; exit 1; }
}

# go install refuses modules whose go.mod has replace directives (both of ours do), so each binary is built from a
# small wrapper module that requires the pinned release; `pin` adds extra replace lines first.
# One lock, work directory and temp file per output binary: concurrent callers wanting the same binary wait for one
# build, while callers that only need binaries already built (older checkouts hold the old build.lock) never wait.
build_in_wrapper() { # <output> <module@version> <main package> <ldflags> [extra go mod edit args...]
  local out="$1" modver="$2" pkg="$3" ldflags="$4"; shift 4
  local name work
  name="$(basename "$out")"
  work="$CACHE/build-$name"
  exec 9>"$CACHE/build-$name.lock"
  flock 9
  if [ -x "$out" ]; then exec 9>&-; return 0; fi  # built by another caller while we waited
  need_go
  rm -rf "$work" && mkdir -p "$work" && cd "$work"
  go mod init "drawbridge.local/build-$name" >/dev/null 2>&1
  go mod edit -require="$modver" "$@"
  # A throwaway file importing the target makes `go mod tidy` record every module it needs (an import of a
  # main package is refused at build time, but tidy still resolves its dependencies).
  printf 'package main\n\nimport _ "%s"\n\nfunc main() {}\n' "$pkg" > tools.go
  GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true
  rm -f tools.go
  GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg"
  mv "$out.tmp" "$out"
  cd / && rm -rf "$work"
  exec 9>&-
}

# The -X flags hack/lib/version.sh (kube::version::ldflags) passes for a release build, for both packages that
# carry version variables (k8s.io/component-base/version/base.go and k8s.io/client-go/pkg/version/base.go).
k8s_ldflags() {
  local major="${K8S_VERSION%%.*}" rest="${K8S_VERSION#*.}" flags="" key val pkg
  local minor="${rest%%.*}"
  local -a vars=(
    "gitVersion=v$K8S_VERSION"
    "gitMajor=$major"
    "gitMinor=$minor"
    "gitCommit=$K8S_COMMIT"
    "gitTreeState=$([ -n "$K8S_COMMIT" ] && echo clean)"
    "buildDate=$(date -u +'%Y-%m-%dT%H:%M:%SZ')"
  )
  for kv in "${vars[@]}"; do
    key="${kv%%=*}" val="${kv#*=}"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      flags+=" -X '$pkg.$key=$val'"
    done
  done
  echo "${flags# }"
}

if [ ! -x "$ETCD" ]; then
  need_go
  echo "drawbridge: building etcd v$ETCD_VERSION (first run only, about a minute)..." >&2
  build_in_wrapper "$ETCD" "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" go.etcd.io/etcd/server/v3 ""
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
  build_in_wrapper "$APISERVER" "k8s.io/kubernetes@v$K8S_VERSION" k8s.io/kubernetes/cmd/kube-apiserver "$(k8s_ldflags)" "${pins[@]}"
fi

done_
