#!/usr/bin/env bash
# Build the reflex Lambda package for the provided.al2023 runtime:
#   scripts/build-lambda.sh [arm64|x86_64 …] [--config reflex.yaml]
# writes dist/reflex-lambda-<arch>.zip holding the static `bootstrap`
# (and reflex.yaml when --config is given). Builds are reproducible: the same
# commit gives byte-identical zips (-trimpath, no build id, fixed zip times).
set -euo pipefail
cd "$(dirname "$0")/.."

archs=()
config=""
while [ $# -gt 0 ]; do
  case "$1" in
    arm64|x86_64) archs+=("$1") ;;
    --config) config="$2"; shift ;;
    *) echo "usage: $0 [arm64|x86_64 …] [--config FILE]" >&2; exit 2 ;;
  esac
  shift
done
[ ${#archs[@]} -gt 0 ] || archs=(arm64 x86_64)

version="${REFLEX_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}"
ldflags="-s -w -buildid= -X main.version=${version}"
mkdir -p dist
for arch in "${archs[@]}"; do
  goarch=$arch; [ "$arch" = x86_64 ] && goarch=amd64
  work=$(mktemp -d)
  CGO_ENABLED=0 GOOS=linux GOARCH=$goarch go build -trimpath -buildvcs=false -tags lambda.norpc \
    -ldflags "$ldflags" -o "$work/bootstrap" ./cmd/reflex
  extra=()
  [ -n "$config" ] && extra+=("reflex.yaml=$config")
  go run ./internal/lambdazip/cmd -o "dist/reflex-lambda-$arch.zip" "$work/bootstrap" "${extra[@]}"
  rm -rf "$work"
  echo "dist/reflex-lambda-$arch.zip ($version)"
done
