#!/usr/bin/env bash
# The demo: redis-service running a Redis Cluster on this machine.
#   - 8 redis-server nodes on loopback, spread over 127.0.0.1, 127.0.0.2 and 127.0.0.3 (three
#     stand-in hosts, so the controller's anti-affinity is visible); 6 of them are members.
#   - redis-ctl with a file: discovery source (DEMO_DIR/members.txt): it forms the cluster
#     (3 masters, 3 replicas, no replica on its master's host) and grows, shrinks and heals it
#     when you edit the file or kill a node.
#   - redis-proxy on 127.0.0.1:8889 following the controller's committed topology.
# Ctrl-C, SIGTERM or any exit stops exactly the processes it started (by pid); killed with
# SIGKILL, it leaves them SIGTERM on their way (setpriv --pdeathsig, where available).
#
#   scripts/demo.sh           run until Ctrl-C
#   scripts/demo.sh --check   form the cluster, SET/GET through the proxy, add the two spare
#                             nodes and wait for 4 balanced masters, check the keys, show the
#                             event log, stop everything, exit 0 (also: DEMO_CHECK=1)
#
#   DEMO_DIR=dir          data, logs and the members file (default: .demo/ in the repo; wiped)
#   DEMO_BASE_PORT=n      first node port (default 7001; nodes use n..n+7, buses n+10000..)
#   DEMO_ADMIN=host:port  redis-ctl's admin HTTP (default 127.0.0.1:8080)
#   DEMO_PROXY=host:port  redis-proxy (default 127.0.0.1:8889)
#   DEMO_NODE_TIMEOUT=ms  cluster-node-timeout (default 15000, Redis's default)
#   DEMO_SKIP_SETUP=1     do not run scripts/setup.sh first
#   BUILD_DIR=dir         where the binaries were built (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/lib/redis_nodes.sh
source scripts/lib/redis_nodes.sh

CHECK=${DEMO_CHECK:-0}
for arg in "$@"; do
  case "$arg" in
    --check) CHECK=1 ;;
    -h | --help)
      sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "demo: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

DEMO_DIR=${DEMO_DIR:-$ROOT/.demo}
BASE_PORT=${DEMO_BASE_PORT:-7001}
ADMIN=${DEMO_ADMIN:-127.0.0.1:8080}
PROXY=${DEMO_PROXY:-127.0.0.1:8889}
NODE_TIMEOUT=${DEMO_NODE_TIMEOUT:-15000}
BUILD_DIR=${BUILD_DIR:-build}
HOSTS=(127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.2 127.0.0.3)
MEMBERS=6
# The console's and API's actions need a token; the demo makes one up.
DEMO_TOKEN=${DEMO_TOKEN:-demo-$RANDOM$RANDOM}

if [ "${DEMO_SKIP_SETUP:-0}" != 1 ]; then
  scripts/setup.sh
fi
case "$BUILD_DIR" in
  /*) BIN=$BUILD_DIR/bin ;;
  *) BIN=$ROOT/$BUILD_DIR/bin ;;
esac

SERVICE_PIDS=()
# Stops what the demo started, by pid: the services first (redis-ctl must not plan around nodes
# going away), then the nodes. Nothing may cut it short: not set -e, not an output whose reader
# is gone (`demo.sh | tee log` stopped as a job: the first echo would die of SIGPIPE and leave
# every node running), not a service that does not stop (SIGKILL after 10 s).
cleanup() {
  trap - INT TERM EXIT
  trap '' PIPE
  set +e
  if ((${#SERVICE_PIDS[@]} + ${#RS_NODE_PIDS[@]})); then
    echo "demo: stopping redis-ctl, redis-proxy and redis-server pids ${SERVICE_PIDS[*]} ${RS_NODE_PIDS[*]}" 2>/dev/null
  fi
  rs_stop_pids 10 "${SERVICE_PIDS[@]}"
  SERVICE_PIDS=()
  rs_stop_nodes
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

addrs=()
for i in "${!HOSTS[@]}"; do
  host=${HOSTS[$i]}
  port=$((BASE_PORT + i))
  for p in "$port" "$((port + 10000))"; do
    if ! rs_port_free "$host" "$p"; then
      echo "demo: $host:$p is in use (another demo still running?); set DEMO_BASE_PORT" >&2
      exit 1
    fi
  done
  addrs+=("$host:$port")
done
for hp in "$ADMIN" "$PROXY"; do
  if ! rs_port_free "${hp%:*}" "${hp##*:}"; then
    echo "demo: $hp is in use; set DEMO_ADMIN / DEMO_PROXY" >&2
    exit 1
  fi
done

rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
for i in "${!HOSTS[@]}"; do
  port=$((BASE_PORT + i))
  node_dir="$DEMO_DIR/node-$port"
  rs_write_node_conf "$node_dir" "${HOSTS[$i]}" "$port" "$NODE_TIMEOUT"
  # One replica per master: no reason to wait 5 s for more replicas before the first sync.
  echo "repl-diskless-sync-delay 0" >>"$node_dir/redis.conf"
  rs_start_node "$node_dir"
done
for addr in "${addrs[@]}"; do
  rs_wait_ready "${addr%:*}" "${addr##*:}" 10
done

# members.txt: "host:port host-label" per line; the controller re-reads it when it changes.
write_members() {
  local n=$1 i
  : >"$DEMO_DIR/members.txt.tmp"
  for ((i = 0; i < n; i++)); do
    echo "${addrs[$i]} host-${HOSTS[$i]}" >>"$DEMO_DIR/members.txt.tmp"
  done
  mv "$DEMO_DIR/members.txt.tmp" "$DEMO_DIR/members.txt"
}
write_members "$MEMBERS"

"${RS_PDEATH[@]}" "$BIN/redis-ctl" --data-dir "$DEMO_DIR/eventlog" --discovery "file:$DEMO_DIR/members.txt" \
  --listen "$ADMIN" --probe-interval-ms 250 --removal-grace-ms 5000 \
  --admin-token "demo:$DEMO_TOKEN" \
  >"$DEMO_DIR/redis-ctl.log" 2>&1 &
SERVICE_PIDS+=($!)
"${RS_PDEATH[@]}" "$BIN/redis-proxy" --listen "$PROXY" --controller "http://$ADMIN" \
  --seeds "$(IFS=,; echo "${addrs[*]:0:$MEMBERS}")" >"$DEMO_DIR/redis-proxy.log" 2>&1 &
SERVICE_PIDS+=($!)
echo "demo: 8 redis-server nodes (6 members), redis-ctl and redis-proxy started; forming the cluster"

# committed_masters: how many masters the topology redis-ctl committed has (what the proxy routes
# by; redis-ctl commits it once every node serves it, a moment after they say cluster_state:ok).
committed_masters() {
  curl -s "http://$ADMIN/v1/topology" 2>/dev/null |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin).get("shards", [])))' 2>/dev/null ||
    echo 0
}

# wait_masters SECONDS N: until node 0 sees N masters holding slots, each with a replica, every
# member says cluster_state:ok, and redis-ctl committed that topology.
wait_masters() {
  local seconds=$1 want=$2 deadline=$((SECONDS + $1))
  while true; do
    local nodes masters replicas
    nodes=$(redis-cli -h "${addrs[0]%:*}" -p "${addrs[0]##*:}" cluster nodes 2>/dev/null || true)
    masters=$(echo "$nodes" | awk '$3 ~ /master/ && NF > 8' | grep -vc '\[' || true)
    replicas=$(echo "$nodes" | awk '$3 ~ /slave/' | wc -l)
    if [ "$masters" = "$want" ] && [ "$replicas" -ge "$want" ] &&
      rs_wait_cluster_ok 1 "${addrs[@]:0:$MEMBERS}" 2>/dev/null &&
      [ "$(committed_masters)" = "$want" ]; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "demo: no $want-master cluster after ${seconds}s; see $DEMO_DIR/redis-ctl.log" >&2
      tail -20 "$DEMO_DIR/redis-ctl.log" >&2
      return 1
    fi
    for pid in "${SERVICE_PIDS[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "demo: a service exited; see $DEMO_DIR/*.log" >&2
        tail -n 20 "$DEMO_DIR/redis-ctl.log" "$DEMO_DIR/redis-proxy.log" >&2
        return 1
      fi
    done
    sleep 0.2
  done
}
wait_masters 30 3
echo
rs_print_nodes "${addrs[0]}"
echo

PHOST=${PROXY%:*}
PPORT=${PROXY##*:}
proxy_cli() { redis-cli -h "$PHOST" -p "$PPORT" "$@"; }

if [ "$CHECK" = 1 ]; then
  # The proxy takes the committed topology from its long-poll a moment after the commit.
  for ((i = 0; i < 50; i++)); do
    [ "$(proxy_cli set demo:ready 1 2>/dev/null)" = "OK" ] && break
    sleep 0.1
  done
  for i in $(seq 1 1000); do echo "SET demo:$i v$i"; done | proxy_cli >/dev/null
  [ "$(proxy_cli mget demo:1 demo:500 demo:1000 | tr '\n' ' ')" = "v1 v500 v1000 " ] ||
    { echo "demo check: MGET through the proxy failed" >&2; exit 1; }
  echo "demo check: 1000 keys written through the proxy; growing to 8 members"
  MEMBERS=8
  write_members 8
  wait_masters 60 4
  rs_print_nodes "${addrs[0]}"
  missing=0
  for i in $(seq 1 1000); do echo "GET demo:$i"; done | proxy_cli >"$DEMO_DIR/check-get.txt"
  for i in $(seq 1 1000); do
    [ "$(sed -n "${i}p" "$DEMO_DIR/check-get.txt")" = "v$i" ] || missing=$((missing + 1))
  done
  if [ "$missing" != 0 ]; then
    echo "demo check: FAILED, $missing of 1000 keys missing after the scale-out" >&2
    exit 1
  fi
  echo "demo check: 4 masters, all 1000 keys readable through the proxy. The event log:"
  "$BIN/redis-svc" log --data-dir "$DEMO_DIR/eventlog" --kind plan-proposed --kind topology-committed |
    tail -8 || true
  echo "demo check: ok"
  exit 0
fi

cat <<INFO
redis-service is running (data and logs: $DEMO_DIR):
  redis-cli -h $PHOST -p $PPORT                      # talk to the cluster through the proxy
  redis-cli -h $PHOST -p $PPORT mset a 1 b 2 c 3     # multi-key commands are split by slot
  curl -s http://$ADMIN/v1/topology                   # the topology the controller committed
  http://$ADMIN/                                      # the web console (token for actions: $DEMO_TOKEN)
  $BIN/redis-svc status --ctl http://$ADMIN
  $BIN/redis-svc rebalance --ctl http://$ADMIN --token $DEMO_TOKEN
  $BIN/redis-svc log --data-dir $DEMO_DIR/eventlog --follow
  $BIN/redis-svc audit --data-dir $DEMO_DIR/eventlog --plan 1
Grow the cluster: add the spare nodes to $DEMO_DIR/members.txt:
  echo "${addrs[6]} host-${HOSTS[6]}" >> $DEMO_DIR/members.txt
  echo "${addrs[7]} host-${HOSTS[7]}" >> $DEMO_DIR/members.txt
Shrink it: delete a line (the node is drained, forgotten and reset after 5 s).
Heal it: kill -9 a master's redis-server pid; its replica is promoted within about a second.
Press Ctrl-C to stop everything.
INFO
# `wait` returns when a signal arrives, so the INT/TERM traps run at once.
while true; do
  wait "${SERVICE_PIDS[@]}" 2>/dev/null || true
  for pid in "${SERVICE_PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: pid $pid exited; stopping the rest (logs in $DEMO_DIR)" >&2
      exit 1
    fi
  done
done
