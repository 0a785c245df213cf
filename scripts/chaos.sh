#!/usr/bin/env bash
# The chaos suite: faults under load (docs/chaos.md). Each scenario starts a fresh cluster (8
# redis-server nodes over 127.0.0.1/2/3, redis-ctl, redis-proxy), writes through the proxy,
# injects its fault, heals it and checks every acknowledged write. One line per scenario:
#   chaos: scenario=S acked=N lost=L wrong=W errors=E max_slot_outage_ms=M converge_ms=C
#
#   scripts/chaos.sh [--short] [--wait] [--long] [--keep] [SCENARIO...]
#   scripts/chaos.sh --list
#
#   --short        short loads; without SCENARIOs, the CI set (ctest -L chaos)
#   --wait         WAIT 1 100 after each batch; loss counted among the writes WAIT confirmed
#   --long         longer loads (bench/run.sh chaos)
#   --keep         keep the temp dirs of scenarios that passed (failed ones are always kept)
#   --build-dir D  where redis-ctl, redis-proxy and fake-lainlet were built (default: build, or
#                  BUILD_DIR); they are built first when missing
# Exit status: 0 when every scenario passed, 1 when one failed (its logs are named), 2 on usage.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
args=()
while (($#)); do
  case "$1" in
    --build-dir)
      BUILD_DIR=$2
      shift 2
      ;;
    -h | --help)
      sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      args+=("$1")
      shift
      ;;
  esac
done
for bin in bin/redis-ctl bin/redis-proxy tests/fake-lainlet; do
  if [ ! -x "$BUILD_DIR/$bin" ]; then
    echo "chaos: building redis-ctl, redis-proxy and fake-lainlet in $BUILD_DIR" >&2
    cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target redis-ctl redis-proxy fake-lainlet >&2
    break
  fi
done
# redis-py lives in the system python (the python3 first on PATH may lack it).
PYTHON=${CHAOS_PYTHON:-/usr/bin/python3}
exec "$PYTHON" tests/chaos/chaos.py --bin-dir "$BUILD_DIR/bin" --tests-dir "$BUILD_DIR/tests" \
  ${args[@]+"${args[@]}"}
