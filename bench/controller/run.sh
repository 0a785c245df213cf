#!/usr/bin/env bash
# redis-ctl against real redis-server nodes on loopback, with redis-cli as the baseline.
# Prints `name: value unit` lines:
#   controller_form_ms: 6 members -> cluster_state:ok on every node (target <= 5000 ms)
#   controller_failover_ms: kill -9 of a master -> first successful write to one of its keys,
#     with cluster-node-timeout 15000 (target <= 2000 ms; Redis alone takes about 20 s)
#   controller_scale_out_ms / rediscli_scale_out_ms / controller_scale_out_ratio: 3 -> 4 masters
#     holding BENCH_KEYS keys (default 1,000,000), on identical data. redis-ctl: from adding 2
#     members to the file to 4 balanced masters; redis-cli: `--cluster add-node` (master, then
#     its replica) and `--cluster rebalance --cluster-use-empty-masters --cluster-pipeline 1000`.
#     Both include Redis's own rejoin delay for a new master (up to 5 s; target ratio <= 0.7).
#   controller_form_synced_ms / rediscli_form_synced_ms: 6 members -> 3 masters with slots and 3
#     replicas done with their first sync, cluster_state:ok everywhere, with Redis's default
#     replication settings (repl-diskless-sync-delay 5: a master holds a first sync 5 s for more
#     replicas; target <= 7000 ms). redis-ctl: from its start; redis-cli: `--cluster create
#     --cluster-replicas 1` on the same kind of nodes, until the same state.
#   controller_form_synced_delay0_ms / rediscli_form_synced_delay0_ms: the same with
#     repl-diskless-sync-delay 0 (target <= 3000 ms).
# Everything started here is stopped by pid on exit.
#
#   controller_form60_ms / controller_form60_synced_ms / controller_form60_state_ok_ms (mode
#     form60 only): FORM_NODES (default 60) members, 20 on each of 127.0.0.1/2/3, with
#     --min-masters FORM_NODES/2 and repl-diskless-sync-delay 0: from redis-ctl's start to epoch 1
#     committed with every master and replica (target <= 5000 ms), to every replica's link up,
#     and to cluster_state:ok on every node (after the commit). FORM_RUNS runs (default 3);
#     each also prints the CPU time redis-ctl and the nodes used until then
#     (controller_form60_cpu:) and the bootstrap's steps by kind (controller_form60_steps: lines:
#     count, first start, last completion, sum of step times, the most at once) from the log.
#     FORM_CTL: another redis-ctl binary to time (an older build, to compare); FORM_SAVE=PREFIX
#     keeps each run's event log (PREFIX.<ms>.jsonl) and the nodes' and redis-ctl's logs (.tgz).
#     The nodes take ports BASE.. BASE+N-1 and their bus ports 10000 above: a BASE of about 20000
#     keeps both below the ephemeral range, where other clients' connections may hold them.
#
#   bench/run.sh controller [all|form|form60]   form: only the four formation figures (about a
#     minute); form60: only the figures above
#   BUILD_DIR (default build), BENCH_KEYS (default 1000000), BENCH_BASE_PORT (default 27101)
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:-all}
case "$MODE" in
  all | form | form60) ;;
  *)
    echo "usage: bench/run.sh controller [all|form|form60]" >&2
    exit 2
    ;;
esac
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
KEYS=${BENCH_KEYS:-1000000}
BASE=${BENCH_BASE_PORT:-27101}
case "$BUILD_DIR" in /*) BIN=$BUILD_DIR/bin ;; *) BIN=$ROOT/$BUILD_DIR/bin ;; esac
# shellcheck source=scripts/lib/redis_nodes.sh
source scripts/lib/redis_nodes.sh

cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target redis-ctl redis-proxy >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rs-bench-controller-XXXXXX")
OTHER_PIDS=()
cleanup() {
  rs_stop_pids 10 "${OTHER_PIDS[@]}"
  OTHER_PIDS=()
  rs_stop_nodes
}
trap 'cleanup; rm -rf "$WORK"' EXIT INT TERM

HOSTS=(127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.2 127.0.0.3)
ms() { date +%s%3N; }

# start_nodes TAG [DELAY]: 8 empty cluster nodes; sets ADDRS. DELAY: repl-diskless-sync-delay
# (default 0; "default" leaves Redis's own, 5 s).
start_nodes() {
  local tag=$1 delay=${2:-0} i
  ADDRS=()
  for i in "${!HOSTS[@]}"; do
    local port=$((BASE + i)) dir="$WORK/$tag/n$i"
    rs_write_node_conf "$dir" "${HOSTS[$i]}" "$port" 15000
    if [ "$delay" != default ]; then echo "repl-diskless-sync-delay $delay" >>"$dir/redis.conf"; fi
    rs_start_node "$dir"
    ADDRS+=("${HOSTS[$i]}:$port")
  done
  for a in "${ADDRS[@]}"; do rs_wait_ready "${a%:*}" "${a##*:}" 10; done
}

members() {  # members N: the first N nodes into the members file
  local i
  : >"$WORK/members.tmp"
  for ((i = 0; i < $1; i++)); do echo "${ADDRS[$i]} host-${HOSTS[$i]}" >>"$WORK/members.tmp"; done
  mv "$WORK/members.tmp" "$WORK/members.txt"
}

masters_with_slots() {
  redis-cli -h "${ADDRS[0]%:*}" -p "${ADDRS[0]##*:}" cluster nodes | tr -d '\r' |
    awk '$3 ~ /master/ && $3 !~ /fail/ && NF > 8' | grep -vc '\[' || true
}

balanced4() {  # 4 masters, each within 3% of 4096 slots, no open slots, state ok
  local out
  out=$(redis-cli -h "${ADDRS[0]%:*}" -p "${ADDRS[0]##*:}" cluster nodes | tr -d '\r')
  echo "$out" | grep -q '\[' && return 1
  echo "$out" | awk '$3 ~ /master/ && NF > 8 {
      n = 0; for (i = 9; i <= NF; i++) { split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1) }
      m++; if (n < 3973 || n > 4219) bad = 1 }
    END { exit !(m == 4 && !bad) }'
}

# load_keys PROXY_PORT: KEYS keys of 16-byte values through a proxy with --pipe.
load_keys() {
  "$ROOT/bench/controller/gen_sets.sh" "$KEYS" |
    redis-cli -h 127.0.0.1 -p "$1" --pipe >"$WORK/pipe.log" 2>&1
}

wait_until() {  # wait_until SECONDS CMD...
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    if ((SECONDS >= deadline)); then
      echo "bench: timed out waiting for: $*" >&2
      return 1
    fi
    sleep 0.05
  done
}

all_ok() { rs_wait_cluster_ok 1 "${ADDRS[@]:0:6}" 2>/dev/null && [ "$(masters_with_slots)" = 3 ]; }

# all_synced: all_ok, and 3 of the 6 members are replicas whose link to the master is up (the
# first sync is done: until then a replica protects nothing).
all_synced() {
  all_ok || return 1
  local a up=0
  for a in "${ADDRS[@]:0:6}"; do
    if redis-cli -h "${a%:*}" -p "${a##*:}" info replication 2>/dev/null | tr -d '\r' |
      grep -q '^master_link_status:up$'; then
      up=$((up + 1))
    fi
  done
  [ "$up" = 3 ]
}

# start_ctl SUFFIX: starts redis-ctl on the members file, with its event log in
# $WORK/eventlog$SUFFIX and its output in $WORK/redis-ctl$SUFFIX.log.
start_ctl() {
  "$BIN/redis-ctl" --data-dir "$WORK/eventlog$1" --discovery "file:$WORK/members.txt" \
    --listen 127.0.0.1:$((BASE + 20)) --probe-interval-ms 200 >"$WORK/redis-ctl$1.log" 2>&1 &
  OTHER_PIDS+=($!)
}

# form_synced NAME DELAY: forms 6 members with redis-ctl, then with redis-cli, on fresh nodes
# with that repl-diskless-sync-delay; prints both times until all_synced.
form_synced() {
  local name=$1 delay=$2 t0 t1
  start_nodes "ctl-$name" "$delay"
  members 6
  t0=$(ms)
  start_ctl "-$name"
  wait_until 60 all_synced
  t1=$(ms)
  echo "controller_${name}_ms: $((t1 - t0)) ms"
  cleanup
  start_nodes "cli-$name" "$delay"
  t0=$(ms)
  redis-cli --cluster create "${ADDRS[@]:0:6}" --cluster-replicas 1 --cluster-yes \
    >"$WORK/create-$name.log" 2>&1
  wait_until 60 all_synced
  t1=$(ms)
  echo "rediscli_${name}_ms: $((t1 - t0)) ms"
  cleanup
}

# form60_run: one formation of FORM_NODES fresh members; prints the two times and the steps.
form60_run() {
  local n=$1 i t0 dir ctl
  ADDRS=()
  rm -rf "$WORK/f60"
  for ((i = 0; i < n; i++)); do
    local host=127.0.0.$((i % 3 + 1)) port=$((BASE + i))
    dir="$WORK/f60/n$i"
    rs_write_node_conf "$dir" "$host" "$port" 15000
    echo "repl-diskless-sync-delay 0" >>"$dir/redis.conf"
    rs_start_node "$dir"
    ADDRS+=("$host:$port")
  done
  for a in "${ADDRS[@]}"; do rs_wait_ready "${a%:*}" "${a##*:}" 20; done
  : >"$WORK/members.tmp"
  for a in "${ADDRS[@]}"; do echo "$a host-${a%:*}" >>"$WORK/members.tmp"; done
  mv "$WORK/members.tmp" "$WORK/members.txt"
  rm -rf "$WORK/eventlog-f60"
  t0=$(ms)
  "${FORM_CTL:-$BIN/redis-ctl}" --data-dir "$WORK/eventlog-f60" --discovery "file:$WORK/members.txt" \
    --listen 127.0.0.1:$((BASE + n)) --min-masters $((n / 2)) >"$WORK/redis-ctl-f60.log" 2>&1 &
  ctl=$!
  OTHER_PIDS+=("$ctl")
  /usr/bin/python3 "$ROOT/bench/controller/form_watch.py" watch "$t0" "127.0.0.1:$((BASE + n))" \
    $((n / 2)) "${ADDRS[@]}"
  # CPU time used so far (formation and the few probes after it): redis-ctl, all the nodes.
  local tick ctl_cpu nodes_cpu=0 p
  tick=$(getconf CLK_TCK)
  ctl_cpu=$(awk -v t="$tick" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$ctl/stat")
  for p in "${RS_NODE_PIDS[@]}"; do
    nodes_cpu=$((nodes_cpu + $(awk -v t="$tick" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$p/stat")))
  done
  echo "controller_form60_cpu: redis-ctl $ctl_cpu ms, the $n nodes $nodes_cpu ms (load $(cut -d' ' -f1 /proc/loadavg))"
  rs_stop_pids 10 "$ctl"
  "$BIN/redis-svc" export --data-dir "$WORK/eventlog-f60" --out "$WORK/f60.jsonl"
  /usr/bin/python3 "$ROOT/bench/controller/form_watch.py" steps "$WORK/f60.jsonl"
  if [ -n "${FORM_SAVE:-}" ]; then  # The log, redis-ctl's output and the nodes' logs, to look into.
    local save
    save=$FORM_SAVE.$(ms)
    cp "$WORK/f60.jsonl" "$save.jsonl"
    tar -czf "$save.tgz" -C "$WORK" redis-ctl-f60.log f60
  fi
  cleanup
}

if [ "$MODE" = form60 ]; then
  echo "bench: load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  for ((run = 1; run <= ${FORM_RUNS:-3}; run++)); do form60_run "${FORM_NODES:-60}"; done
  echo "controller_form60_target: 5000 ms"
  exit 0
fi

form_synced form_synced default
echo "controller_form_synced_target: 7000 ms"
form_synced form_synced_delay0 0
echo "controller_form_synced_delay0_target: 3000 ms"
[ "$MODE" = form ] && exit 0

# --- redis-ctl: form, fill, grow, fail over ---
start_nodes ctl
members 6
t0=$(ms)
start_ctl ""
wait_until 60 all_ok
t1=$(ms)
echo "controller_form_ms: $((t1 - t0)) ms"
echo "controller_form_target: 5000 ms"

"$BIN/redis-proxy" --listen 127.0.0.1:$((BASE + 21)) --seeds "${ADDRS[0]}" \
  >"$WORK/redis-proxy.log" 2>&1 &
OTHER_PIDS+=($!)
wait_until 10 sh -c "[ \"\$(redis-cli -p $((BASE + 21)) ping 2>/dev/null)\" = PONG ]"
load_keys $((BASE + 21))
members 8
t0=$(ms)
wait_until 600 balanced4
t1=$(ms)
ctl_ms=$((t1 - t0))
echo "controller_scale_out_ms: $ctl_ms ms"
dbsize=0
for a in "${ADDRS[@]}"; do
  if redis-cli -h "${a%:*}" -p "${a##*:}" role | head -1 | grep -q master; then
    dbsize=$((dbsize + $(redis-cli -h "${a%:*}" -p "${a##*:}" dbsize)))
  fi
done
echo "controller_rebalance_keys: $dbsize keys"

# Failover: kill -9 a master (not node 0), then SET a key of its slots until it succeeds.
victim=""
while read -r id addr flags rest; do
  if [[ "$flags" == master* ]] && [ "${addr%@*}" != "${ADDRS[0]}" ]; then
    victim=${addr%@*}
    slot=$(echo "$rest" | awk '{print $NF}' | cut -d- -f1)
    break
  fi
done < <(redis-cli -h "${ADDRS[0]%:*}" -p "${ADDRS[0]##*:}" cluster nodes | awk 'NF > 8')
key=""
for i in $(seq 1 100000); do
  if [ "$(redis-cli -h "${ADDRS[0]%:*}" -p "${ADDRS[0]##*:}" cluster keyslot "k$i")" = "$slot" ]; then
    key="k$i"
    break
  fi
done
for i in "${!ADDRS[@]}"; do
  if [ "${ADDRS[$i]}" = "$victim" ]; then victim_pid=${RS_NODE_PIDS[$i]}; fi
done
t0=$(ms)
kill -9 "$victim_pid"
until [ "$(redis-cli -c -h "${ADDRS[0]%:*}" -p "${ADDRS[0]##*:}" set "$key" after 2>/dev/null)" = OK ]; do
  sleep 0.01
  if (($(ms) - t0 > 60000)); then echo "bench: no failover within 60 s" >&2; exit 1; fi
done
t1=$(ms)
echo "controller_failover_ms: $((t1 - t0)) ms"
echo "controller_failover_target: 2000 ms"
cleanup

# --- baseline: redis-cli create, the same keys, add-node, rebalance ---
start_nodes cli
redis-cli --cluster create "${ADDRS[@]:0:6}" --cluster-replicas 1 --cluster-yes >"$WORK/create.log" 2>&1
wait_until 60 all_ok
"$BIN/redis-proxy" --listen 127.0.0.1:$((BASE + 21)) --seeds "${ADDRS[0]}" \
  >"$WORK/redis-proxy-cli.log" 2>&1 &
OTHER_PIDS+=($!)
wait_until 10 sh -c "[ \"\$(redis-cli -p $((BASE + 21)) ping 2>/dev/null)\" = PONG ]"
load_keys $((BASE + 21))
t0=$(ms)
redis-cli --cluster add-node "${ADDRS[6]}" "${ADDRS[0]}" >"$WORK/add.log" 2>&1
wait_until 30 sh -c "redis-cli -h ${ADDRS[6]%:*} -p ${ADDRS[6]##*:} cluster info | grep -q cluster_state:ok"
new_id=$(redis-cli -h "${ADDRS[6]%:*}" -p "${ADDRS[6]##*:}" cluster myid)
redis-cli --cluster add-node "${ADDRS[7]}" "${ADDRS[0]}" --cluster-slave --cluster-master-id "$new_id" \
  >>"$WORK/add.log" 2>&1
redis-cli --cluster rebalance "${ADDRS[0]}" --cluster-use-empty-masters --cluster-pipeline 1000 \
  >"$WORK/rebalance.log" 2>&1
t1=$(ms)
cli_ms=$((t1 - t0))
echo "rediscli_scale_out_ms: $cli_ms ms"
awk -v a="$ctl_ms" -v b="$cli_ms" 'BEGIN { printf "controller_scale_out_ratio: %.2f x\n", a / b }'
echo "controller_scale_out_ratio_target: 0.7 x"
