#!/usr/bin/env bash
# Pub/sub through redis-proxy: its multiplexing (one subscriber connection per worker and node,
# shared by every client) against one node connection per subscribing client (the hidden
# diagnostic flag --pubsub-connection-per-client). For each mode, on a fresh 3-master cluster and
# a fresh proxy (1 thread):
#   <mode>_publish_msgs_per_s: bench_proxy_sessions pubsub through the proxy (100 subscribers of
#     one channel, 20,000 PUBLISHes, every delivery checked), the median of $BENCH_ROUNDS runs;
#   <mode>_proxy_rss_per_subscriber / <mode>_node_rss_per_subscriber: RSS growth per subscriber of
#     the proxy / of the master holding the subscriptions (the proxy's home node), while
#     $BENCH_SESSION_CLIENTS clients subscribe to one channel (bench_proxy_sessions
#     subscriber-rss; each process freshly started);
#   <mode>_node_clients: that master's connected_clients while they are subscribed.
#   BUILD_DIR (default build), BENCH_ROUNDS (default 3), BENCH_SESSION_CLIENTS (default 5000)
# Everything started here is stopped by pid on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
ROUNDS=${BENCH_ROUNDS:-3}
CLIENTS=${BENCH_SESSION_CLIENTS:-5000}
PROXY_BIN="$BUILD_DIR/bin/redis-proxy"
SESSIONS_BIN="$BUILD_DIR/bin/bench_proxy_sessions"
cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target redis-proxy bench_proxy_sessions >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rs-bench-pubsub-XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
# Per-client connections: CLIENTS to the proxy and as many from it to one master.
ulimit -n $((3 * CLIENTS + 2048)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# shellcheck source=scripts/lib/redis_nodes.sh
source scripts/lib/redis_nodes.sh
free_port() { rs_free_port 127.0.0.1; }  # its cluster bus port (+10000) is free too
wait_for() {  # wait_for PORT COMMAND...: until the server at PORT answers COMMAND
  for _ in $(seq 100); do
    redis-cli -p "$1" "${@:2}" >/dev/null 2>&1 && return
    sleep 0.05
  done
}
stop_all() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
field() { awk -v n="$2:" '$1 == n {v = $2} END {print (v == "" ? "failed" : v)}' <<<"$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# start MODE_FLAGS: a fresh cluster (PORTS, NODE_PID[port]) and proxy (PROXY_PORT, PROXY_PID).
declare -A NODE_PID
start() {
  PORTS=()
  for _ in 0 1 2; do
    local port
    port=$(free_port)
    mkdir -p "$WORK/n$port"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --maxclients $((2 * CLIENTS + 1000)) --cluster-config-file "$WORK/n$port/nodes.conf" \
      --dir "$WORK/n$port" --save "" --appendonly no --logfile "$WORK/n$port/redis.log" &
    PIDS+=($!)
    NODE_PID[$port]=$!
    PORTS+=("$port")
  done
  for port in "${PORTS[@]}"; do wait_for "$port" ping; done
  redis-cli --cluster create "${PORTS[@]/#/127.0.0.1:}" --cluster-yes >"$WORK/create.log" 2>&1
  for _ in $(seq 200); do
    local ok=1
    for port in "${PORTS[@]}"; do
      redis-cli -p "$port" cluster info | grep -q cluster_state:ok || ok=0
    done
    [ $ok = 1 ] && break
    sleep 0.1
  done
  start_proxy "$@"
}
start_proxy() {
  PROXY_PORT=$(free_port)
  "$PROXY_BIN" --listen "127.0.0.1:$PROXY_PORT" --threads 1 --seeds "127.0.0.1:${PORTS[0]}" \
    --max-clients $((CLIENTS + 1000)) --log-level warn "$@" >>"$WORK/proxy.log" 2>&1 &
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  wait_for "$PROXY_PORT" get probe
}
# The master a subscription through the proxy lands on (the worker's home, chosen the same way
# by every fresh proxy on the same cluster).
home_port() {
  redis-cli -p "$PROXY_PORT" subscribe bench:probe >/dev/null 2>&1 &
  local cli=$! port found=""
  for _ in $(seq 50); do
    for port in "${PORTS[@]}"; do
      [ "$(redis-cli -p "$port" pubsub numsub bench:probe | tail -1)" = 1 ] && found=$port
    done
    [ -n "$found" ] && break
    sleep 0.1
  done
  kill "$cli" 2>/dev/null || true
  wait "$cli" 2>/dev/null || true
  echo "$found"
}

for mode in multiplexed per_client; do
  flags=()
  [ "$mode" = per_client ] && flags=(--pubsub-connection-per-client)
  # Node memory: a fresh cluster, whose home master serves nothing else before.
  start "${flags[@]}"
  home=$(home_port)
  "$SESSIONS_BIN" subscriber-rss "$PROXY_PORT" "${NODE_PID[$home]}" --clients "$CLIENTS" \
    --channels same >"$WORK/node.out" 2>"$WORK/node.err" &
  bench=$!
  # The master's connected clients while every subscriber holds its subscription.
  clients=0
  while kill -0 "$bench" 2>/dev/null; do
    n=$(redis-cli -p "$home" info clients | awk -F: '/^connected_clients/ {print $2+0}')
    [ "${n:-0}" -gt "$clients" ] && clients=$n
    sleep 0.2
  done
  wait "$bench" || cat "$WORK/node.err" >&2
  node_rss=$(field "$(cat "$WORK/node.out")" rss_per_subscriber)
  echo "${mode}_node_rss_per_subscriber: $node_rss bytes"
  echo "${mode}_node_clients: $clients"
  # Proxy memory: a fresh proxy.
  kill -9 "$PROXY_PID"
  wait "$PROXY_PID" 2>/dev/null || true
  start_proxy "${flags[@]}"
  out=$("$SESSIONS_BIN" subscriber-rss "$PROXY_PORT" "$PROXY_PID" --clients "$CLIENTS" \
    --channels same 2>"$WORK/proxy.err") || cat "$WORK/proxy.err" >&2
  echo "${mode}_proxy_rss_per_subscriber: $(field "$out" rss_per_subscriber) bytes"
  rates=()
  for _ in $(seq "$ROUNDS"); do
    out=$("$SESSIONS_BIN" pubsub "$PROXY_PORT" 2>"$WORK/pubsub.err") || cat "$WORK/pubsub.err" >&2
    rates+=("$(field "$out" publish_msgs_per_s)")
  done
  echo "${mode}_publish_msgs_per_s: $(median "${rates[@]}") msg/s (runs: ${rates[*]})"
  stop_all
done
