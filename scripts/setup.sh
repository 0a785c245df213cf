#!/usr/bin/env bash
# Installs every Debian 12 package the project, its tests and its demo need, then configures and
# builds into build/ (RelWithDebInfo). Idempotent; quiet when everything is present.
#   BUILD_DIR=dir   build directory (default: build)
#   CMAKE_ARGS=...  extra cmake arguments
#   SKIP_BUILD=1    install packages only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libuv1-dev libhiredis-dev librocksdb-dev capnproto libcapnp-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  redis-server redis-tools python3 python3-redis python3-yaml curl procps tcl
  chromium
)
# The browser tests drive Chromium with playwright-core from npm: Debian's node and npm unless
# the machine already has them.
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${SKIP_BUILD:-0}" = 1 ] && exit 0

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  # shellcheck disable=SC2086
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
