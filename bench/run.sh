#!/usr/bin/env bash
# Runs one benchmark and prints its figures as `name: value unit` lines (a baseline, where the
# benchmark has one, printed beside it the same way, with the ratio).
#
#   bench/run.sh NAME [args...]   e.g. bench/run.sh slots, bench/run.sh resp
#   bench/run.sh --list           names that can be run
#
# NAME runs bench/NAME/run.sh when that script exists (benchmarks that start servers), otherwise
# the binary <build>/bin/bench_NAME, built first with `cmake --build`.
#   BUILD_DIR=dir   build directory (default: build); configured if it is not yet
#   JOBS=n          build parallelism (default: 2)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}

usage() {
  echo "usage: bench/run.sh NAME [args...] | --list" >&2
  exit 2
}

list_benchmarks() {
  for dir in "$ROOT"/bench/*/; do
    name=$(basename "$dir")
    if [ -f "$dir/run.sh" ] || [ -f "$dir/CMakeLists.txt" ]; then echo "$name"; fi
  done
}

[ $# -ge 1 ] || usage
NAME=$1
shift
case "$NAME" in
  -h | --help) usage ;;
  --list)
    list_benchmarks
    exit 0
    ;;
esac
if ! [[ "$NAME" =~ ^[a-z0-9_]+$ ]]; then
  echo "bench/run.sh: bad benchmark name '$NAME'" >&2
  exit 2
fi

# Exported so a bench/NAME/run.sh finds the same build and the binaries it needs.
export BUILD_DIR JOBS
export BENCH_BIN_DIR="$BUILD_DIR/bin"

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  echo "bench/run.sh: configuring $BUILD_DIR" >&2
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi

if [ -x "bench/$NAME/run.sh" ]; then
  exec "bench/$NAME/run.sh" "$@"
fi

binary="$BUILD_DIR/bin/bench_$NAME"
# Build only this benchmark, so a module someone else is changing cannot stop it. The build log
# goes to stderr; the figures on stdout stay clean for scripts.
if ! cmake --build "$BUILD_DIR" -j "$JOBS" --target "bench_$NAME" >&2; then
  if [ -x "$binary" ]; then
    echo "bench/run.sh: building bench_$NAME failed; running the binary built earlier" >&2
  else
    echo "bench/run.sh: no benchmark '$NAME' (could not build bench_$NAME); available:" >&2
    list_benchmarks | sed 's/^/  /' >&2
    exit 1
  fi
fi
if [ ! -x "$binary" ]; then
  echo "bench/run.sh: $binary does not exist after the build" >&2
  exit 1
fi
exec "$binary" "$@"
