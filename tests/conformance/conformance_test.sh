#!/usr/bin/env bash
# The ctest check: scripts/conformance.sh through redis-proxy on 3 masters without replicas, then
# passed >= the number in tests/conformance/floor. Usage: conformance_test.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=$1
BUILD=$2
floor=$(grep -v '^[[:space:]]*#' "$ROOT/tests/conformance/floor" | tr -d '[:space:]')
if ! [[ "$floor" =~ ^[0-9]+$ ]]; then
  echo "conformance test: no number in $ROOT/tests/conformance/floor" >&2
  exit 1
fi
logs=$BUILD/conformance-logs
rm -rf "$logs"
mkdir -p "$logs"
out=$logs/conformance.out
status=0
# The longest test takes ~45 s and the longest unit ~60 s here: a unit in which no test starts or
# ends for 75 s is waiting for a reply that will not come, and ends then; no unit runs past 300 s;
# the whole run ends at 780 s, inside ctest's TIMEOUT, so that the script's trap still stops what
# it started.
CONFORMANCE_TARGET=proxy CONFORMANCE_REPLICAS=0 CONFORMANCE_LOG_DIR=$logs \
  CONFORMANCE_TEST_TIMEOUT=${CONFORMANCE_TEST_TIMEOUT:-75} \
  CONFORMANCE_UNIT_TIMEOUT=${CONFORMANCE_UNIT_TIMEOUT:-300} BUILD_DIR=$BUILD \
  timeout -s TERM 780 "$ROOT/scripts/conformance.sh" 2>&1 | tee "$out" || status=$?
if [ "$status" != 0 ]; then
  echo "conformance test: scripts/conformance.sh failed (exit $status)" >&2
  exit 1
fi
passed=$(sed -n 's/^conformance: passed=\([0-9]*\) .*/\1/p' "$out" | tail -1)
if [ -z "$passed" ]; then
  echo "conformance test: no summary line from scripts/conformance.sh" >&2
  exit 1
fi
if ((passed < floor)); then
  echo "conformance test: $passed tests passed, below the floor of $floor" \
    "(tests/conformance/floor); failed tests in $logs/failed.txt" >&2
  exit 1
fi
if ((passed > floor)); then
  echo "conformance test: $passed passed, above the floor of $floor: raise tests/conformance/floor"
fi
echo "conformance test: ok ($passed passed, floor $floor)"
