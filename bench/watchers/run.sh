#!/usr/bin/env bash
# Topology watchers: many proxies long-polling one redis-ctl. Prints `name: value unit` lines:
#   healthz_p99_baseline_ms: /healthz p99 with no watchers (one new connection per request)
#   healthz_p99_ms: the same under W long-polls and H half-open connections (a request line
#     and nothing more, opened again when the server drops them; target <= 50 ms)
#   api_cluster_p99_ms: GET /v1/cluster p99 under the same load
#   watcher_memory_bytes: redis-ctl's RSS growth with the long-polls open, per long-poll
#   epoch_fanout_ms: a one-slot migration's new epoch, from the first watcher answered to the
#     last (target <= 1000 ms); epoch_request_to_all_ms: from the request to the last
#
#   bench/run.sh watchers [--watchers 2000] [--half-open 300] [--samples 200]
#       starts 6 redis-server nodes over 127.0.0.1-3 and a redis-ctl that forms them
#   bench/run.sh watchers --ctl http://127.0.0.1:PORT [--pid PID] [--token TOKEN] [...]
#       only measures against a running redis-ctl (memory needs --pid, the fan-out --token)
#   BUILD_DIR (default build), BENCH_BASE_PORT (default 35100), REDIS_CTL (default the built one)
# The client is python3 asyncio (bench/watchers/watchers.py); it raises its own open-files limit.
# Everything started here is stopped by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
BASE=${BENCH_BASE_PORT:-35100}
case "$BUILD_DIR" in /*) BIN=$BUILD_DIR/bin ;; *) BIN=$ROOT/$BUILD_DIR/bin ;; esac
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

CTL="" PID="" TOKEN="" ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --ctl) CTL=$2; shift 2 ;;
    --pid) PID=$2; shift 2 ;;
    --token) TOKEN=$2; shift 2 ;;
    --watchers | --half-open | --samples) ARGS+=("$1" "$2"); shift 2 ;;
    -h | --help)
      sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
    *)
      echo "bench/run.sh watchers: unknown argument '$1'" >&2
      exit 2
      ;;
  esac
done

measure() {
  local extra=()
  [ -n "$PID" ] && extra+=(--pid "$PID")
  [ -n "$TOKEN" ] && extra+=(--token "$TOKEN")
  "$PY" bench/watchers/watchers.py --url "$CTL" "${extra[@]}" "${ARGS[@]}"
}

if [ -n "$CTL" ]; then
  measure
  exit 0
fi

# shellcheck source=scripts/lib/redis_nodes.sh
source scripts/lib/redis_nodes.sh
REDIS_CTL=${REDIS_CTL:-}
if [ -z "$REDIS_CTL" ]; then
  cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target redis-ctl >&2
  REDIS_CTL=$BIN/redis-ctl
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rs-bench-watchers-XXXXXX")
CTL_PIDS=()
cleanup() {
  rs_stop_pids 10 "${CTL_PIDS[@]}"
  CTL_PIDS=()
  rs_stop_nodes
}
trap 'cleanup; rm -rf "$WORK"' EXIT INT TERM

HOSTS=(127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.1 127.0.0.2 127.0.0.3)
PORTS=()
: >"$WORK/members.txt"
for i in "${!HOSTS[@]}"; do
  port=$((BASE + i)) dir="$WORK/n$i"
  # The thousands of client connections of a previous run take ephemeral ports, which can hold a
  # node's port or its bus port (+10000) for a minute: then any free pair.
  if ! rs_port_free "${HOSTS[$i]}" "$port" || ! rs_port_free "${HOSTS[$i]}" $((port + 10000)); then
    port=$(rs_free_port "${HOSTS[$i]}")
  fi
  PORTS+=("$port")
  rs_write_node_conf "$dir" "${HOSTS[$i]}" "$port" 15000
  echo "repl-diskless-sync-delay 0" >>"$dir/redis.conf"
  rs_start_node "$dir"
  echo "${HOSTS[$i]}:$port host-${HOSTS[$i]}" >>"$WORK/members.txt"
done
for i in "${!HOSTS[@]}"; do rs_wait_ready "${HOSTS[$i]}" "${PORTS[$i]}" 10; done

TOKEN=bench-watchers-token
CTL_PORT=$((BASE + 20))
rs_port_free 127.0.0.1 "$CTL_PORT" || CTL_PORT=$(rs_free_port 127.0.0.1)
"${RS_PDEATH[@]}" "$REDIS_CTL" --data-dir "$WORK/eventlog" --discovery "file:$WORK/members.txt" \
  --listen "127.0.0.1:$CTL_PORT" --probe-interval-ms 200 --admin-token "bench:$TOKEN" \
  >"$WORK/redis-ctl.log" 2>&1 &
PID=$!
CTL_PIDS+=("$PID")
CTL=http://127.0.0.1:$CTL_PORT

# Formed: state ok with all six up, so the migration is not refused.
for _ in $(seq 1 600); do
  if "$PY" - "$CTL" <<'PY' 2>/dev/null; then break; fi
import json, sys, urllib.request
c = json.load(urllib.request.urlopen(sys.argv[1] + "/v1/cluster", timeout=2))
sys.exit(0 if c["state"] == "ok" and c["health"] == {"up": 6} else 1)
PY
  sleep 0.1
done
measure
