#!/usr/bin/env bash
# Sets up, builds and runs every test with ctest. CI runs exactly this (see .ci/run).
#   TEST_ARGS="-L unit"  extra ctest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
# shellcheck disable=SC2086
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${TEST_JOBS:-2}" ${TEST_ARGS:-}
