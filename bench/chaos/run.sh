#!/usr/bin/env bash
# The chaos suite's figures (docs/chaos.md): every scenario of scripts/chaos.sh with the longer
# load (--long), plain and with WAIT 1 100 after each batch (--wait), each on a fresh cluster.
#   bench/chaos/run.sh [SCENARIO...]   (bench/run.sh chaos [SCENARIO...]); about 20 minutes
# Prints `name: value unit` lines per scenario S and mode M (plain or wait):
#   chaos_S_lost / chaos_S_wait_lost: acknowledged writes lost (plain: Redis's asynchronous
#     replication window at a failover; wait: among the writes WAIT confirmed, the target is 0);
#   chaos_S[_wait]_acked, _wrong, _errors, _max_slot_outage (ms), _converge (ms, heal to the
#     controller's state ok with every slot covered; -1 when it did not converge).
# A failed scenario's check is reported on stderr with its logs' place; the figures still print.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD_DIR=${BUILD_DIR:-build}
status=0
for mode in plain wait; do
  flags=(--long --build-dir "$BUILD_DIR")
  [ "$mode" = wait ] && flags+=(--wait)
  out=$(scripts/chaos.sh "${flags[@]}" "$@" | tee /dev/stderr) || status=1
  suffix=""
  [ "$mode" = wait ] && suffix="_wait"
  echo "$out" | awk -v suffix="$suffix" '
    /^chaos: scenario=/ {
      sub(/^scenario=/, "", $2); sc = $2; sub(/\+wait$/, "", sc)
      for (i = 3; i <= NF; i++) {
        split($i, kv, "=")
        unit = "writes"
        if (kv[1] == "errors") unit = "errors"
        if (kv[1] ~ /_ms$/) { unit = "ms"; sub(/_ms$/, "", kv[1]) }
        if (kv[1] == "wrong") unit = "keys"
        printf "chaos_%s%s_%s: %s %s\n", sc, suffix, kv[1], kv[2], unit
      }
    }'
done
exit $status
