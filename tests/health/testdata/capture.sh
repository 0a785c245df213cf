#!/usr/bin/env bash
# Captures the CLUSTER NODES fixtures in this directory from real redis-server processes
# (127.0.0.1 only, temp dir, every server stopped by pid). Usage: ./capture.sh [out-dir]
set -euo pipefail
out=${1:-$(cd "$(dirname "$0")" && pwd)}
dir=$(mktemp -d)
base=$((20000 + RANDOM % 20000))
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
start() {  # start <port> <subdir>
  mkdir -p "$dir/$2"
  redis-server --port "$1" --bind 127.0.0.1 --cluster-enabled yes --cluster-node-timeout 2000 \
    --cluster-config-file nodes.conf --dir "$dir/$2" --save '' --appendonly no --daemonize no \
    --logfile "$dir/$2/log" &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis on $1 did not start" >&2; exit 1
}
cli() { redis-cli -p "$@"; }
for i in 0 1 2 3 4 5; do start $((base + i)) "n$i"; done
cli $base cluster nodes > "$out/fresh_node.txt"
redis-cli --cluster create $(for i in 0 1 2 3 4 5; do echo 127.0.0.1:$((base + i)); done) \
  --cluster-replicas 1 --cluster-yes >/dev/null
for _ in $(seq 100); do
  [ "$(cli $base cluster info | tr -d '\r' | grep cluster_state)" = "cluster_state:ok" ] && break; sleep 0.1
done
sleep 2
cli $base cluster nodes > "$out/formed_myself_master.txt"
cli $((base + 5)) cluster nodes > "$out/formed_myself_replica.txt"
# Hostnames (Redis 7 "ip:port@cport,hostname").
for i in 0 1 2 3 4 5; do cli $((base + i)) config set cluster-announce-hostname "host$i.example" >/dev/null; done
sleep 1.5
cli $base cluster nodes > "$out/formed_with_hostnames.txt"
for i in 0 1 2 3 4 5; do cli $((base + i)) config set cluster-announce-hostname "" >/dev/null; done
sleep 1.5
# Open slots: move slot 0 (owned by the first master) towards the second master.
src=$(cli $base cluster myid); dst=$(cli $((base + 1)) cluster myid)
cli $((base + 1)) cluster setslot 0 importing "$src" >/dev/null
cli $base cluster setslot 0 migrating "$dst" >/dev/null
cli $base cluster nodes > "$out/migrating_source.txt"
cli $((base + 1)) cluster nodes > "$out/importing_target.txt"
cli $base cluster setslot 0 stable >/dev/null; cli $((base + 1)) cluster setslot 0 stable >/dev/null
# A handshake line: MEET an address where nothing answers.
cli $base cluster meet 127.0.0.1 $((base + 9)) >/dev/null
sleep 0.2
cli $base cluster nodes > "$out/handshake.txt"
# A failed master: fail? first, then fail once the majority agrees.
kill -9 "${pids[2]}"
for _ in $(seq 100); do cli $base cluster nodes | grep -q 'master,fail? ' && break; sleep 0.05; done
cli $base cluster nodes > "$out/pfail.txt"
for _ in $(seq 100); do cli $base cluster nodes | grep -q ' master,fail ' && break; sleep 0.1; done
cli $base cluster nodes > "$out/fail.txt"
cli $base cluster info > "$out/cluster_info_fail.txt"
# noaddr: a fresh node with a new id now answers at a known node's address.
kill -9 "${pids[4]}"
start $((base + 4)) "n4-new"
for _ in $(seq 50); do cli $base cluster nodes | grep -q noaddr && break; sleep 0.1; done
cli $base cluster nodes > "$out/noaddr.txt"
echo "captured into $out (ports from $base)"
