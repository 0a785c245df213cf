#!/usr/bin/env bash
# deploy/lain/redis-entrypoint.sh run as lain would run it (LAIN_* and DEPLOYD_* set, a temp dir as
# the persistent volume): the generated config, a real redis-server in cluster mode, and the same
# node id after a restart. With a redis-ctl binary as $2, six such nodes must become one healthy
# cluster under the controller, and a restarted node must rejoin it under its old id.
#
# With redis-ctl, the rest of the lain deployment runs too: a fake lainlet lists the nodes,
# ctl-entrypoint.sh starts the controller with lainlet discovery, and with redis-proxy as $3,
# proxy-entrypoint.sh's redis-proxy follows the controller and watches lainlet for the nodes, and
# serves keys on every slot.
#
# Usage: redis_entrypoint_test.sh ENTRYPOINT [REDIS_CTL [REDIS_PROXY]]
set -euo pipefail

entrypoint=$1
redis_ctl=${2:-}
redis_proxy=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
deploy_dir=$(cd "$(dirname "$entrypoint")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rs-entrypoint.XXXXXX")
pids=()

# Stops every process this script started (by pid), also when a check failed. redis-server refuses
# SIGTERM when its final save fails, so whatever is still there after 10 s gets SIGKILL.
cleanup() {
  local pid i
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for ((i = 0; i < 100; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$tmp/ctl.log" ]; then
    echo "--- last lines of redis-ctl's log" >&2
    tail -n 40 "$tmp/ctl.log" >&2
  fi
  exit 1
}

# A free port whose cluster bus port (+10000) is free too, so below 55536.
free_port() {
  python3 -c '
import random, socket
while True:
    port = random.randint(20000, 45000)
    try:
        for p in (port, port + 10000):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            s.close()
    except OSError:
        continue
    print(port)
    break
'
}

# Waits up to $1 tenths of a second for the command after it to succeed.
wait_for() {
  local tries=$1 n
  shift
  for ((n = 0; n < tries; n++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

lain_env() {
  env LAIN_APPNAME=redis-service LAIN_PROCNAME=redis DEPLOYD_POD_INSTANCE_NO="$1" \
    DEPLOYD_POD_NAME=redis-service.worker.redis REDIS_ANNOUNCE_IP=127.0.0.1 \
    REDIS_CLUSTER_NODE_TIMEOUT=2000 "${@:2}"
}

# Starts instance $1 on port $2 with data dir $3 (plus env assignments after); the entrypoint
# execs, so the pid recorded is redis-server's.
start_node() {
  local inst=$1 port=$2 dir=$3
  # A plain command, not the lain_env function: a function would run in a subshell whose pid is
  # not redis-server's.
  env LAIN_APPNAME=redis-service LAIN_PROCNAME=redis DEPLOYD_POD_INSTANCE_NO="$inst" \
    DEPLOYD_POD_NAME=redis-service.worker.redis REDIS_ANNOUNCE_IP=127.0.0.1 \
    REDIS_CLUSTER_NODE_TIMEOUT=2000 REDIS_PORT="$port" REDIS_DATA_DIR="$dir" "${@:4}" \
    "$entrypoint" >>"$tmp/node-$inst.log" 2>&1 &
  pids+=("$!")
  last_pid=$!
  wait_for 100 redis-cli -p "$port" ping || fail "node $inst on port $port did not answer PING"
}

# Stops a pid this script started and forgets it, so cleanup never signals a reused pid.
stop_pid() {
  local keep=() pid
  kill "$1"
  wait "$1" 2>/dev/null || true
  for pid in "${pids[@]}"; do
    [ "$pid" = "$1" ] || keep+=("$pid")
  done
  pids=("${keep[@]}")
}

echo "--- generated config"
conf=$(lain_env 1 REDIS_ENTRYPOINT_DRY_RUN=1 REDIS_DATA_DIR=/persistent REDIS_PORT=7000 \
  REDIS_MEMORY_LIMIT_BYTES=1073741824 REDIS_PASSWORD=pa55 "$entrypoint")
grep -qx 'cluster-enabled yes' <<<"$conf" || fail "no cluster-enabled"
grep -qx 'cluster-config-file "/persistent/nodes.conf"' <<<"$conf" || fail "nodes.conf not on the volume"
grep -qx 'dir "/persistent"' <<<"$conf" || fail "data not on the volume"
grep -qx 'appendonly yes' <<<"$conf" || fail "no AOF"
grep -qx 'port 7000' <<<"$conf" || fail "REDIS_PORT ignored"
grep -qx 'cluster-announce-ip 127.0.0.1' <<<"$conf" || fail "REDIS_ANNOUNCE_IP ignored"
grep -qx 'cluster-node-timeout 2000' <<<"$conf" || fail "REDIS_CLUSTER_NODE_TIMEOUT ignored"
grep -qx 'repl-diskless-sync-delay 0' <<<"$conf" || fail "repl-diskless-sync-delay"
# 75% of 1 GiB: a quarter stays free for fork copy-on-write and buffers.
grep -qx 'maxmemory 805306368' <<<"$conf" || fail "maxmemory is not 75% of the limit"
grep -qx 'requirepass "pa55"' <<<"$conf" || fail "no requirepass"
grep -qx 'masterauth "pa55"' <<<"$conf" || fail "no masterauth"
conf=$(lain_env 1 REDIS_DATA_DIR=/persistent REDIS_MEMORY_LIMIT_BYTES=max "$entrypoint" --print-config)
grep -qx 'maxmemory 0' <<<"$conf" || fail "an unlimited cgroup must give maxmemory 0"
grep -q 'requirepass' <<<"$conf" && fail "requirepass without a password"
grep -qx 'port 6379' <<<"$conf" || fail "default port is not 6379"
conf=$(lain_env 1 REDIS_MAXMEMORY=300mb REDIS_MEMORY_LIMIT_BYTES=1073741824 "$entrypoint" --print-config)
grep -qx 'maxmemory 300mb' <<<"$conf" || fail "REDIS_MAXMEMORY does not win over the limit"
conf=$(lain_env 1 REDIS_MEMORY_LIMIT_BYTES=9223372036854771712 "$entrypoint" --print-config)
grep -qx 'maxmemory 0' <<<"$conf" || fail "cgroup v1 'unlimited' must give maxmemory 0"
echo pa55-from-file >"$tmp/secret"
conf=$(lain_env 1 REDIS_PASSWORD_FILE="$tmp/secret" "$entrypoint" --print-config)
grep -qx 'requirepass "pa55-from-file"' <<<"$conf" || fail "REDIS_PASSWORD_FILE ignored"
if lain_env 1 REDIS_PORT=abc "$entrypoint" --print-config >/dev/null 2>&1; then
  fail "a bad REDIS_PORT was accepted"
fi

echo "--- one node, restarted"
port=$(free_port)
start_node 1 "$port" "$tmp/vol1" REDIS_PASSWORD=pa55
pid=$last_pid
[ "$(ps -o comm= -p "$pid")" = redis-server ] || fail "the entrypoint did not exec redis-server"
redis-cli -p "$port" ping 2>&1 | grep -q NOAUTH || fail "no password required"
info=$(redis-cli -p "$port" --no-auth-warning -a pa55 cluster info)
grep -q '^cluster_state:' <<<"$info" || fail "CLUSTER INFO did not answer: $info"
[ "$(redis-cli -p "$port" --no-auth-warning -a pa55 info cluster | tr -d '\r' | grep cluster_enabled)" \
  = cluster_enabled:1 ] || fail "cluster mode is off"
id1=$(redis-cli -p "$port" --no-auth-warning -a pa55 cluster myid | tr -d '\r')
[ ${#id1} -eq 40 ] || fail "bad node id '$id1'"
[ -f "$tmp/vol1/nodes.conf" ] || fail "nodes.conf is not on the persistent dir"
[ -d "$tmp/vol1/appendonlydir" ] || fail "the AOF is not on the persistent dir"
[ "$(stat -c %a "$tmp/vol1/redis.conf")" = 600 ] || fail "the config holding the password is readable by others"
stop_pid "$pid"
start_node 1 "$port" "$tmp/vol1" REDIS_PASSWORD=pa55
id2=$(redis-cli -p "$port" --no-auth-warning -a pa55 cluster myid | tr -d '\r')
[ "$id1" = "$id2" ] || fail "node id changed across a restart: $id1 -> $id2"
grep -q 'restarting as the node recorded' "$tmp/node-1.log" || fail "the restart was not logged"
stop_pid "$last_pid"
echo "node id kept across a restart: $id1"

if [ -z "$redis_ctl" ]; then
  echo "no redis-ctl given: skipping the controller part"
  exit 0
fi

echo "--- six nodes under redis-ctl, started as on lain"
ports=()
node_pids=()
pods=""
for inst in 1 2 3 4 5 6; do
  p=$(free_port)
  ports+=("$p")
  start_node "$inst" "$p" "$tmp/c$inst"
  node_pids+=("$last_pid")
  pods+="${pods:+,}{\"InstanceNo\":$inst,\"IP\":\"127.0.0.1\",\"Port\":$p,\"ProcName\":\"redis\"}"
done
ctl_port=$(free_port)
# What lainlet's procwatcher would list for the app: the redis proc and the redis-ctl proc.
printf '[{"proc":[%s]},{"proc":[{"InstanceNo":1,"IP":"127.0.0.1","Port":%s,"ProcName":"redis-ctl"}]}]\n' \
  "$pods" "$ctl_port" >"$tmp/pods.json"
python3 "$here/fake_lainlet.py" redis-service "$tmp/pods.json" "$tmp/lainlet.port" \
  >"$tmp/lainlet.log" 2>&1 &
pids+=("$!")
wait_for 100 test -s "$tmp/lainlet.port" || fail "the fake lainlet did not start"
lainlet="127.0.0.1:$(cat "$tmp/lainlet.port")"
# The redis-ctl proc's cmd, through its entrypoint, which execs redis-ctl.
echo "ops:t0ken" >"$tmp/tokens"
env LAIN_APPNAME=redis-service LAIN_PROCNAME=redis-ctl DEPLOYD_POD_INSTANCE_NO=1 \
  LAINLET_ADDR="$lainlet" REDIS_CTL="$redis_ctl" REDIS_CTL_DATA_DIR="$tmp/ctl/eventlog" \
  REDIS_CTL_LISTEN="127.0.0.1:$ctl_port" REDIS_CTL_ADMIN_TOKEN_FILE="$tmp/tokens" \
  "$deploy_dir/ctl-entrypoint.sh" --probe-interval-ms 200 --removal-grace-ms 3000 \
  >"$tmp/ctl.log" 2>&1 &
pids+=("$!")
cluster_ok() {
  local p
  for p in "${ports[@]}"; do
    redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' || return 1
    [ "$(redis-cli -p "$p" cluster info | tr -d '\r' | awk -F: '/cluster_known_nodes/ {print $2}')" = ${#ports[@]} ] \
      || return 1
  done
}
if ! wait_for 600 cluster_ok; then
  tail -n 30 "$tmp/ctl.log" >&2
  fail "redis-ctl (lainlet discovery) did not form a cluster of the six entrypoint nodes in 60 s"
fi
echo "cluster formed"
# Restart a master: it must come back under the same id and the cluster must be whole again.
victim=${ports[0]}
victim_id=$(redis-cli -p "$victim" cluster myid | tr -d '\r')
stop_pid "${node_pids[0]}"
start_node 1 "$victim" "$tmp/c1"
[ "$(redis-cli -p "$victim" cluster myid | tr -d '\r')" = "$victim_id" ] \
  || fail "a restarted cluster member got a new id"
wait_for 600 cluster_ok || fail "the cluster did not heal after a member restarted"
nodes=$(redis-cli -p "${ports[1]}" cluster nodes)
grep -q "^$victim_id 127.0.0.1:$victim" <<<"$nodes" || fail "peers do not know $victim_id at its address"
echo "restarted member rejoined as $victim_id"

if [ -n "$redis_proxy" ]; then
  echo "--- the portal"
  proxy_port=$(free_port)
  env LAIN_APPNAME=redis-service LAIN_PROCNAME=portal-redis DEPLOYD_POD_INSTANCE_NO=0 \
    LAINLET_ADDR="$lainlet" REDIS_PROXY="$redis_proxy" REDIS_PROXY_LISTEN="127.0.0.1:$proxy_port" \
    REDIS_CTL_URL="http://127.0.0.1:$ctl_port" REDIS_PROXY_THREADS=1 \
    "$deploy_dir/proxy-entrypoint.sh" >"$tmp/proxy.log" 2>&1 &
  pids+=("$!")
  wait_for 100 redis-cli -p "$proxy_port" ping || fail "the portal's redis-proxy did not answer"
  # proxy_info FIELD: the value in the portal's INFO proxy section.
  proxy_info() { redis-cli -p "$proxy_port" info proxy | tr -d '\r' | sed -n "s/^$1://p"; }
  portal_sees() { [ "$(proxy_info topology_discovered_nodes)" = "$1" ]; }
  wait_for 100 portal_sees 6 \
    || fail "the portal did not get the 6 nodes from lainlet: $(cat "$tmp/proxy.log")"
  controller_followed() { [ "$(proxy_info topology_source)" = controller ]; }
  wait_for 100 controller_followed \
    || fail "the portal does not follow redis-ctl: $(proxy_info topology_source)"
  # Keys on many slots, so every master is reached through the proxy.
  # redis-cli exits 0 on error replies too, so the reply itself is compared.
  set_ok() { [ "$(redis-cli -p "$proxy_port" set "$1" "$2")" = OK ]; }
  for i in $(seq 1 50); do
    wait_for 50 set_ok "key:$i" "v$i" || fail "SET key:$i through the portal"
  done
  for i in 1 17 37 50; do
    [ "$(redis-cli -p "$proxy_port" get "key:$i")" = "v$i" ] || fail "GET key:$i through the portal"
  done
  # And the keys are really spread over the cluster's masters, not kept by the proxy.
  total=0
  for p in "${ports[@]}"; do
    if redis-cli -p "$p" role | head -n 1 | grep -q master; then
      total=$((total + $(redis-cli -p "$p" dbsize)))
    fi
  done
  [ "$total" -eq 50 ] || fail "the masters hold $total keys, not 50"
  echo "50 keys written and read through the portal"

  # docs/operations.md's scale-out: num_instances raised, two more instances in lainlet, the
  # controller makes them a new shard and moves slots to it while the portal keeps serving.
  echo "--- scale out to 8 nodes"
  admin="http://127.0.0.1:$ctl_port"
  # The token file given to ctl-entrypoint.sh guards mutating calls.
  code() { curl -s -o /dev/null -w '%{http_code}' "$@" -d '{"kind":"resume"}' "$admin/v1/operations"; }
  [ "$(code)" = 401 ] || fail "a mutating call without a token was not refused"
  [ "$(code -H "Authorization: Bearer t0ken")" = 202 ] \
    || fail "REDIS_CTL_ADMIN_TOKEN_FILE's token was not accepted"
  # cluster_is MEMBERS MASTERS [any]: settled, no plan in flight, nothing pending, and state "ok"
  # unless "any" (a forgotten node stays in the controller's health as down, so "degraded").
  cluster_is() {
    curl -fsS "$admin/v1/cluster" | python3 -c '
import json, sys
c = json.load(sys.stdin)
ok = ((c["state"] == "ok" or sys.argv[3] == "any") and c["members"] == int(sys.argv[1])
      and c["masters"] == int(sys.argv[2]) and c["plan"] is None and c["pending_requests"] == 0)
sys.exit(0 if ok else 1)' "$1" "$2" "${3:-}"
  }
  keys_ok() {
    local i
    for i in 1 9 17 25 33 41 50; do
      [ "$(redis-cli -p "$proxy_port" get "key:$i")" = "v$i" ] || return 1
    done
  }
  write_pods() {
    printf '[{"proc":[%s]},{"proc":[{"InstanceNo":1,"IP":"127.0.0.1","Port":%s,"ProcName":"redis-ctl"}]}]\n' \
      "$1" "$ctl_port" >"$tmp/pods.json.tmp"
    mv "$tmp/pods.json.tmp" "$tmp/pods.json"
  }
  for inst in 7 8; do
    p=$(free_port)
    ports+=("$p")
    start_node "$inst" "$p" "$tmp/c$inst"
    node_pids+=("$last_pid")
    pods+=",{\"InstanceNo\":$inst,\"IP\":\"127.0.0.1\",\"Port\":$p,\"ProcName\":\"redis\"}"
  done
  write_pods "$pods"
  started=$SECONDS
  if ! wait_for 1200 cluster_is 8 4; then
    curl -sS "$admin/v1/cluster" >&2
    fail "the controller did not add instances 7 and 8 as a new shard within 120 s"
  fi
  wait_for 600 cluster_ok || fail "the nodes do not agree on the 8-node cluster"
  keys_ok || fail "keys lost or unreadable through the portal after the scale-out"
  portal_sees 8 || fail "the portal's lainlet watch lists $(proxy_info topology_discovered_nodes) nodes, not 8"
  echo "scaled out: 4 masters, keys intact ($((SECONDS - started)) s)"

  # docs/operations.md's safe scale-in: the instance lain stops (the highest, 8) must be a
  # replica; if it is the new shard's master, its replica (instance 7) takes over first.
  echo "--- scale in to 7: instance 8 as a replica"
  role_of() { redis-cli -p "$1" role | head -n 1; }
  if [ "$(role_of "${ports[7]}")" = master ]; then
    curl -fsS -H "Authorization: Bearer t0ken" \
      -d "{\"kind\":\"failover\",\"node\":\"127.0.0.1:${ports[6]}\"}" \
      "$admin/v1/operations" >/dev/null || fail "the failover request was refused"
    handed_over() { [ "$(role_of "${ports[7]}")" = slave ] && cluster_is 8 4; }
    wait_for 600 handed_over || fail "instance 7 did not take over from instance 8"
    echo "instance 8 handed its shard to instance 7"
  fi
  [ "$(role_of "${ports[7]}")" = slave ] || fail "instance 8 is not a replica"
  started=$SECONDS
  stop_pid "${node_pids[7]}"
  ports=("${ports[@]:0:7}")
  pods=${pods%,\{*}  # lainlet no longer lists instance 8
  write_pods "$pods"
  if ! wait_for 600 cluster_is 7 4 any; then
    curl -sS "$admin/v1/cluster" >&2
    fail "the controller did not settle at 7 members after instance 8 went"
  fi
  wait_for 600 cluster_ok || fail "the seven remaining nodes do not agree after the scale-in"
  keys_ok || fail "keys lost or unreadable through the portal after the scale-in"
  portal_sees 7 || fail "the portal's lainlet watch lists $(proxy_info topology_discovered_nodes) nodes, not 7"
  echo "scaled in: instance 8 forgotten, 7 nodes, keys intact ($((SECONDS - started)) s)"

fi
echo PASS
