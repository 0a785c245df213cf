#!/usr/bin/env bash
# The demo: a 6-node Redis Cluster (3 masters, 3 replicas) on loopback, two nodes on each of
# 127.0.0.1, 127.0.0.2 and 127.0.0.3 standing in for three hosts, formed with
# `redis-cli --cluster create`. Ctrl-C stops exactly the processes it started.
#
#   scripts/demo.sh           run until Ctrl-C
#   scripts/demo.sh --check   form the cluster, check cluster_state:ok and a SET/GET through
#                             `redis-cli -c`, stop everything, exit 0 (also: DEMO_CHECK=1)
#
#   DEMO_DIR=dir        node data and logs (default: .demo/ in the repo; wiped at start)
#   DEMO_BASE_PORT=n    first port (default 7001; nodes use n..n+5, buses n+10000..n+10005)
#   DEMO_NODE_TIMEOUT=ms  cluster-node-timeout (default 5000)
#   DEMO_SKIP_SETUP=1   do not run scripts/setup.sh first
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
      sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
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
NODE_TIMEOUT=${DEMO_NODE_TIMEOUT:-5000}
HOSTS=(127.0.0.1 127.0.0.1 127.0.0.2 127.0.0.2 127.0.0.3 127.0.0.3)

if [ "${DEMO_SKIP_SETUP:-0}" != 1 ]; then
  scripts/setup.sh
fi

cleanup() {
  trap - INT TERM EXIT
  if ((${#RS_NODE_PIDS[@]})); then
    echo "demo: stopping redis-server pids ${RS_NODE_PIDS[*]}"
    rs_stop_nodes
  fi
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

mkdir -p "$DEMO_DIR"
for i in "${!HOSTS[@]}"; do
  port=$((BASE_PORT + i))
  node_dir="$DEMO_DIR/node-$port"
  rm -rf "$node_dir"  # A fresh cluster every time: old nodes.conf would remember the old one.
  rs_write_node_conf "$node_dir" "${HOSTS[$i]}" "$port" "$NODE_TIMEOUT"
  rs_start_node "$node_dir"
done
for addr in "${addrs[@]}"; do
  rs_wait_ready "${addr%:*}" "${addr##*:}" 10
done
echo "demo: 6 redis-server nodes up (pids ${RS_NODE_PIDS[*]}), forming the cluster"

if ! redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
  >"$DEMO_DIR/cluster-create.log" 2>&1; then
  echo "demo: redis-cli --cluster create failed:" >&2
  tail -20 "$DEMO_DIR/cluster-create.log" >&2
  exit 1
fi
rs_wait_cluster_ok 30 "${addrs[@]}"
rs_wait_replicas 30 3 "${addrs[0]}"

FIRST_HOST=${addrs[0]%:*}
FIRST_PORT=${addrs[0]##*:}
echo
rs_print_nodes "${addrs[0]}"
echo

if [ "$CHECK" = 1 ]; then
  value="hello-$$"
  set_reply=$(redis-cli -c -h "$FIRST_HOST" -p "$FIRST_PORT" set demo:greeting "$value")
  last=${addrs[5]}
  get_reply=$(redis-cli -c -h "${last%:*}" -p "${last##*:}" get demo:greeting)
  if [ "$set_reply" != "OK" ] || [ "$get_reply" != "$value" ]; then
    echo "demo check: FAILED (SET said '$set_reply', GET said '$get_reply')" >&2
    exit 1
  fi
  echo "demo check: cluster_state:ok on all 6 nodes; SET via ${addrs[0]}, GET via $last: ok"
  exit 0
fi

cat <<INFO
Redis Cluster is running: 3 masters and 3 replicas on 127.0.0.1-3 (data and logs: $DEMO_DIR).
  redis-cli -c -h $FIRST_HOST -p $FIRST_PORT          # a cluster-aware shell
  redis-cli -h $FIRST_HOST -p $FIRST_PORT cluster nodes
  redis-cli --cluster check $FIRST_HOST:$FIRST_PORT
Press Ctrl-C to stop the 6 nodes.
INFO
# `wait` returns when a signal arrives, so the INT/TERM traps run at once.
while ((${#RS_NODE_PIDS[@]})); do
  wait "${RS_NODE_PIDS[@]}" 2>/dev/null || true
  for pid in "${RS_NODE_PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: redis-server pid $pid exited; stopping the rest" >&2
      exit 1
    fi
  done
done
