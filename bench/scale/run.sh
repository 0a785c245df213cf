#!/usr/bin/env bash
# redis-ctl at scale: for each N (default 6 30 60), N empty redis-server nodes spread over
# 127.0.0.1/2/3 (repl-diskless-sync-delay 0), formed by redis-ctl into N/2 masters + N/2 replicas.
# Prints `name: value unit` lines per N:
#   scale_N_formation_ms            redis-ctl start -> epoch >= 1 with N/2 masters and N/2 replicas
#                                   committed and every replica's first sync done
#   scale_N_views_settled_ms        formation -> the last health or observation change (then 5 s
#                                   without one; gossip spreading the layout: real changes)
#   scale_N_plans_after_bootstrap   plans proposed after the bootstrap plan, until the end of the
#   scale_N_epochs_after_bootstrap  idle window; topology epochs after epoch 1 (target 0 for both)
#   scale_N_idle_cpu_pct            redis-ctl's CPU (utime+stime) over the idle window
#   scale_N_idle_rss_mb             redis-ctl's RSS at the end of the idle window
#   scale_N_idle_events_per_min     events recorded in the idle window (by kind on stderr)
#   scale_N_probe_calls_per_node_s  the prober's commands (PING, CLUSTER NODES/INFO, ROLE, INFO)
#   scale_N_probe_usec_per_node_s   per node and second, and the time Redis spent in them
#   scale_N_planner_decision_us     mean time of one planner decision (from /metrics)
# then scale_growth_{cpu,rss,events}_A_to_B ratios between the smallest and the largest N.
# The idle window starts at least BENCH_SETTLE_S (default 10) after formation, once the views
# settled, and lasts BENCH_IDLE_S (default 30); nothing is sent to the nodes in it. Then
# bench/watchers/run.sh runs against the largest N's redis-ctl (--ctl URL --pid --token): /healthz
# p99 under 2,000 long-polls and 300 half-open connections, epoch fan-out, memory per watcher.
# Everything started here is stopped by pid.
#
#   bench/run.sh scale [N...]   BUILD_DIR (default build), BENCH_BASE_PORT (default 31000),
#   BENCH_NODE_TIMEOUT (cluster-node-timeout, default 15000), BENCH_KEEP=1 keeps the work dir
#   (redis-ctl logs, the idle window's events as JSON lines) and prints its path; BENCH_PERF=1
#   records redis-ctl with perf(1) over the idle window into that dir (perf.data);
#   BENCH_REDIS_CTL=path runs that redis-ctl binary (e.g. an older build, to compare).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
BASE=${BENCH_BASE_PORT:-31000}
SETTLE=${BENCH_SETTLE_S:-10}
IDLE=${BENCH_IDLE_S:-30}
NODE_TIMEOUT=${BENCH_NODE_TIMEOUT:-15000}
case "$BUILD_DIR" in /*) BIN=$BUILD_DIR/bin ;; *) BIN=$ROOT/$BUILD_DIR/bin ;; esac
CTL=${BENCH_REDIS_CTL:-$BIN/redis-ctl}
PY=/usr/bin/python3
HELPER=$ROOT/bench/scale/scale_helper.py
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(6 30 60)
for n in "${SIZES[@]}"; do
  if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n < 2 || n % 2)); then
    echo "bench/run.sh scale: N must be an even number >= 2, not '$n'" >&2
    exit 2
  fi
done
# shellcheck source=scripts/lib/redis_nodes.sh
source scripts/lib/redis_nodes.sh

cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target redis-ctl >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rs-bench-scale-XXXXXX")
CTL_PIDS=()
cleanup() {
  rs_stop_pids 10 "${CTL_PIDS[@]}"
  CTL_PIDS=()
  rs_stop_nodes
}
finish() {
  cleanup
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap finish EXIT INT TERM

HOSTS=(127.0.0.1 127.0.0.2 127.0.0.3)
TOKEN=bench-scale-token  # For the watcher bench's migration (its epoch fan-out figure).
ms() { date +%s%3N; }
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

declare -A CPU RSS EVENTS

# run_size N: one full measurement on fresh nodes and a fresh event log.
run_size() {
  local n=$1 i dir addrs=() t0 t1 url pid
  mapfile -t addrs < <("$PY" "$HELPER" addrs "$BASE" "$n" "${HOSTS[@]}")
  for ((i = 0; i < n; i++)); do
    dir="$WORK/n$n/node$i"
    rs_write_node_conf "$dir" "${addrs[$i]%:*}" "${addrs[$i]##*:}" "$NODE_TIMEOUT"
    echo "repl-diskless-sync-delay 0" >>"$dir/redis.conf"
    rs_start_node "$dir"
  done
  for a in "${addrs[@]}"; do rs_wait_ready "${a%:*}" "${a##*:}" 20; done
  : >"$WORK/n$n/members.txt"
  for a in "${addrs[@]}"; do echo "$a host-${a%:*}" >>"$WORK/n$n/members.txt"; done

  t0=$(ms)
  "${RS_PDEATH[@]}" "$CTL" --data-dir "$WORK/n$n/eventlog" \
    --discovery "file:$WORK/n$n/members.txt" --min-masters $((n / 2)) \
    --listen 127.0.0.1:0 --admin-port-file "$WORK/n$n/admin.port" --admin-token "bench:$TOKEN" \
    >"$WORK/n$n/redis-ctl.log" 2>&1 &
  pid=$!
  CTL_PIDS+=("$pid")
  local deadline=$((SECONDS + 30))
  until [ -s "$WORK/n$n/admin.port" ]; do
    if ((SECONDS >= deadline)); then echo "bench: redis-ctl did not start" >&2; return 1; fi
    sleep 0.05
  done
  url="http://127.0.0.1:$(cat "$WORK/n$n/admin.port")"
  deadline=$((SECONDS + 120 + n * 2))
  until "$PY" "$HELPER" formed "$url" "$n" "${addrs[@]}" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "bench: $n nodes not formed within $((120 + n * 2)) s" >&2
      return 1
    fi
    sleep 0.1
  done
  t1=$(ms)
  echo "scale_${n}_formation_ms: $((t1 - t0)) ms"

  # Gossip spreads the new layout for a while after the commit (at 60 nodes, 20-40 s): each node
  # learns each master's slots only from that master's own messages. Those are real changes and
  # recorded; the idle window starts once none has been recorded for 5 s.
  sleep "$SETTLE"
  local last_change
  if last_change=$("$PY" "$HELPER" quiet "$url" 5 120); then
    echo "scale_${n}_views_settled_ms: $((last_change > t1 ? last_change - t1 : 0)) ms"
  else
    echo "bench: views of $n nodes still changing 2 minutes after formation" >&2
  fi
  "$PY" "$HELPER" cmdstats "${addrs[@]}" >"$WORK/n$n/cmd_before.json"
  local seq0 c0 c1
  seq0=$("$PY" "$HELPER" seq "$url")
  c0=$(cpu_ticks "$pid")
  if [ "${BENCH_PERF:-0}" = 1 ]; then
    perf record -F 499 -g -p "$pid" -o "$WORK/n$n/perf.data" -- sleep "$IDLE" >/dev/null 2>&1 ||
      sleep "$IDLE"
  else
    sleep "$IDLE"
  fi
  c1=$(cpu_ticks "$pid")
  "$PY" "$HELPER" cmdstats "${addrs[@]}" >"$WORK/n$n/cmd_after.json"
  CPU[$n]=$(awk -v a="$c0" -v b="$c1" -v t="$TICK" -v s="$IDLE" \
    'BEGIN { printf "%.2f", (b - a) / t / s * 100 }')
  RSS[$n]=$(awk -v k="$(rss_kb "$pid")" 'BEGIN { printf "%.1f", k / 1024 }')
  local plans epoch
  plans=$("$PY" "$HELPER" count "$url" plan-proposed)
  epoch=$(curl -s "$url/v1/cluster" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["epoch"])')
  echo "scale_${n}_plans_after_bootstrap: $((plans - 1)) plans"
  echo "scale_${n}_epochs_after_bootstrap: $((epoch - 1)) epochs"
  echo "scale_${n}_idle_cpu_pct: ${CPU[$n]} %"
  echo "scale_${n}_idle_rss_mb: ${RSS[$n]} MB"
  local line
  line=$("$PY" "$HELPER" events "$url" "$seq0" "$IDLE" "scale_$n" "$WORK/n$n/idle_events.jsonl")
  echo "$line"
  EVENTS[$n]=$(echo "$line" | awk '{ print $2 }')
  "$PY" "$HELPER" cmddelta "$WORK/n$n/cmd_before.json" "$WORK/n$n/cmd_after.json" "$IDLE" "$n" \
    "scale_$n"
  local count secs
  count=$("$PY" "$HELPER" metric "$url" redis_ctl_planner_decisions_total)
  secs=$("$PY" "$HELPER" metric "$url" redis_ctl_planner_decision_seconds_total)
  if [ "$count" = 0 ]; then
    echo "scale_${n}_planner_decision_us: n/a (no redis_ctl_planner_decisions_total in /metrics)"
  else
    awk -v c="$count" -v s="$secs" -v n="$n" \
      'BEGIN { printf "scale_%d_planner_decision_us: %.0f us\n", n, s / c * 1e6 }'
  fi

  if [ "$n" = "${LARGEST}" ]; then
    if [ -x bench/watchers/run.sh ]; then
      bench/watchers/run.sh --ctl "$url" --pid "$pid" --token "$TOKEN" ||
        echo "bench: bench/watchers/run.sh failed" >&2
    else
      echo "bench: bench/watchers/run.sh does not exist; watcher figures skipped" >&2
    fi
  fi
  cleanup
}

LARGEST=$(printf '%s\n' "${SIZES[@]}" | sort -n | tail -1)
for n in "${SIZES[@]}"; do run_size "$n"; done

SMALLEST=$(printf '%s\n' "${SIZES[@]}" | sort -n | head -1)
if [ "$SMALLEST" != "$LARGEST" ]; then
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.1f", b / a; else print "n/a" }'; }
  echo "scale_growth_cpu_${SMALLEST}_to_${LARGEST}: $(ratio "${CPU[$SMALLEST]}" "${CPU[$LARGEST]}") ratio"
  echo "scale_growth_rss_${SMALLEST}_to_${LARGEST}: $(ratio "${RSS[$SMALLEST]}" "${RSS[$LARGEST]}") ratio"
  echo "scale_growth_events_${SMALLEST}_to_${LARGEST}: $(ratio "${EVENTS[$SMALLEST]}" "${EVENTS[$LARGEST]}") ratio"
fi
