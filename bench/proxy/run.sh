#!/usr/bin/env bash
# redis-proxy side by side with direct Redis, on a local 3-master cluster (loopback, free ports).
#   bench/proxy/run.sh [all|core|sessions]   (bench/run.sh proxy [all|core|sessions])
# all (the default) runs both sections; core takes several minutes, sessions about a minute.
# Prints `name: value unit` lines. The core section:
#   proxy_get_rps / direct_get_rps / proxy_get_ratio (same for set): redis-benchmark -t get,set
#     -P 16 -c 50 -n $BENCH_N through the proxy (1 thread) and against the master owning the key,
#     alternating, $BENCH_ROUNDS rounds each; the medians and the ratio of the medians (this
#     machine is shared and noisy: single runs of the direct baseline vary by 30%);
#   direct_p50 / relay_p50 / proxy_p50 and their _overhead over direct: p50 round trip of one
#     client's GETs (bench_proxy_rtt, 0.1 µs resolution; medians of the rounds) straight to the
#     master, through a bare TCP relay (bench_proxy_relay: no parsing, the floor for any proxy on
#     this machine) and through the proxy; the same with busy polling (relay and proxy started
#     with --busy-poll / --busy-poll-usec 100), and proxy_over_relay_p50: what the proxy's own
#     work adds to the bare relay;
#   proxy_mget10_rps / proxy_mget100_rps: MGET of 10 and 100 keys spread over the 3 masters;
#   proxy_rss_per_idle_client: RSS growth of the proxy per idle client connection (10,000);
#   proxy_reshard_worst_batch: the worst pipelined batch while slots move (tests/proxy load test),
#     beside direct_reshard_worst_batch, a cluster-aware client doing the same without the proxy.
# The sessions section (bench_proxy_sessions; sessions.h says what each measures and checks), each
# through the proxy and straight to the master owning the keys' hash tag {bench}, with the ratio
# proxy / direct; medians of $BENCH_ROUNDS interleaved rounds:
#   proxy_multi_tps / direct_multi_tps / proxy_multi_ratio: transactions per second, 50 clients
#     each looping MULTI; SET; INCR; EXEC as one pipelined write, $BENCH_SESSION_SECONDS s a run;
#   proxy_blpop_wakeup_p50 / _p99, direct_..., proxy_blpop_wakeup_p50_ratio / _p99_ratio: from the
#     LPUSH (sent once the master's INFO counts the BLPOP as blocked) until the blocker has its
#     reply, 2000 rounds;
#   proxy_publish_msgs_per_s / direct_... / proxy_publish_ratio: deliveries per second of PUBLISH
#     to 100 subscribers of one channel (every message checked: none lost, none out of order);
#   proxy_rss_per_blocked_client (BLPOP on distinct keys), proxy_rss_per_subscriber (one channel),
#     proxy_rss_per_subscriber_distinct_channels, and direct_... for each: RSS growth per client
#     holding the session, $BENCH_SESSION_CLIENTS clients, each measured on a freshly started
#     proxy and, for direct, a freshly started standalone redis-server (a process that already
#     served other runs reuses the memory they freed and shows less growth).
# A figure the proxy refuses (-ERR proxy: ... not supported) prints `unsupported`; a run that
# fails prints `failed`, with bench_proxy_sessions's message on stderr, and the section goes on.
# Everything started here is stopped by pid on exit.
#   BUILD_DIR (default build), BENCH_N (default 2000000), BENCH_ROUNDS (default 3),
#   BENCH_IDLE_CLIENTS (default 10000), BENCH_SESSION_SECONDS (default 5),
#   BENCH_SESSION_CLIENTS (default 5000),
#   BENCH_BASELINE_PROXY: another redis-proxy binary (an earlier commit's build) run beside this
#     one in the core section, same flags, interleaved: baseline_proxy_{get,set}_rps and
#     baseline_proxy_p50, and proxy_{get,set}_vs_baseline / proxy_p50_vs_baseline (this / that)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECTION=${1:-all}
case "$SECTION" in
  all | core | sessions) ;;
  *)
    echo "usage: bench/proxy/run.sh [all|core|sessions]" >&2
    exit 2
    ;;
esac
BUILD_DIR=${BUILD_DIR:-build}
N=${BENCH_N:-2000000}
ROUNDS=${BENCH_ROUNDS:-3}
IDLE=${BENCH_IDLE_CLIENTS:-10000}
SESSION_SECONDS=${BENCH_SESSION_SECONDS:-5}
SESSION_CLIENTS=${BENCH_SESSION_CLIENTS:-5000}
PROXY_BIN="$BUILD_DIR/bin/redis-proxy"
SESSIONS_BIN="$BUILD_DIR/bin/bench_proxy_sessions"

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-2}" \
  --target redis-proxy bench_proxy_relay bench_proxy_rtt bench_proxy_sessions >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rs-bench-proxy-XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# shellcheck source=scripts/lib/redis_nodes.sh
source scripts/lib/redis_nodes.sh
free_port() { rs_free_port 127.0.0.1; }  # its cluster bus port (+10000) is free too

# Raised before any server starts: Redis sizes maxclients by it, and a proxy holding thousands of
# blocked clients may hold as many connections to a master.
FDS=$((IDLE > 2 * SESSION_CLIENTS ? IDLE : 2 * SESSION_CLIENTS))
ulimit -n $((FDS + 2048)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"

PORTS=()
for i in 0 1 2; do
  port=$(free_port)
  mkdir -p "$WORK/n$port"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "$WORK/n$port/nodes.conf" --dir "$WORK/n$port" --save "" \
    --appendonly no --logfile "$WORK/n$port/redis.log" &
  PIDS+=($!)
  PORTS+=("$port")
done
for port in "${PORTS[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
redis-cli --cluster create "127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}" "127.0.0.1:${PORTS[2]}" \
  --cluster-yes >"$WORK/create.log" 2>&1
for _ in $(seq 200); do
  ok=1
  for port in "${PORTS[@]}"; do
    redis-cli -p "$port" cluster info | grep -q cluster_state:ok || ok=0
  done
  [ $ok = 1 ] && break
  sleep 0.1
done

PROXY_PORT=$(free_port)
BUSY_PORT=$(free_port)
"$PROXY_BIN" --listen "127.0.0.1:$PROXY_PORT" --threads 1 --seeds "127.0.0.1:${PORTS[0]}" \
  --max-clients $((IDLE + 1000)) --log-level warn >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
PIDS+=($PROXY_PID)
"$PROXY_BIN" --listen "127.0.0.1:$BUSY_PORT" --threads 1 --seeds "127.0.0.1:${PORTS[0]}" \
  --busy-poll-usec 100 --log-level warn >"$WORK/proxy-busy.log" 2>&1 &
PIDS+=($!)
BASE_PORT=""
if [ -n "${BENCH_BASELINE_PROXY:-}" ]; then
  BASE_PORT=$(free_port)
  "$BENCH_BASELINE_PROXY" --listen "127.0.0.1:$BASE_PORT" --threads 1 \
    --seeds "127.0.0.1:${PORTS[0]}" --max-clients $((IDLE + 1000)) --log-level warn \
    >"$WORK/proxy-baseline.log" 2>&1 &
  PIDS+=($!)
fi
for port in "$PROXY_PORT" "$BUSY_PORT" $BASE_PORT; do
  for _ in $(seq 100); do redis-cli -p "$port" get probe >/dev/null 2>&1 && break; sleep 0.05; done
done

# The master owning redis-benchmark's key (it uses "key:__rand_int__" without -r).
DIRECT_PORT=""
for port in "${PORTS[@]}"; do
  if ! redis-cli -p "$port" get key:__rand_int__ 2>&1 | grep -q MOVED; then DIRECT_PORT=$port; fi
done

per_second() { tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1; }
rps() {  # rps PORT TEST [extra args]: requests per second of one redis-benchmark -q run
  local port=$1 test=$2
  shift 2
  redis-benchmark -p "$port" -t "$test" "$@" -q 2>/dev/null | per_second
}
p50() {  # p50 PORT: p50 round trip of one client's GETs, in microseconds
  "$BUILD_DIR/bin/bench_proxy_rtt" "$1" 30000 | awk '{print $1}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# --- The sessions section ---------------------------------------------------------------------
is_number() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
# session ARGS...: bench_proxy_sessions's output; when it fails, its message goes to stderr (and
# the figures it did not print read `failed`).
session() {
  local out
  if ! out=$("$SESSIONS_BIN" "$@" 2>"$WORK/session.err"); then
    echo "bench/proxy/run.sh: bench_proxy_sessions $* failed:" >&2
    cat "$WORK/session.err" >&2
  fi
  echo "$out"
}
field() {  # field OUTPUT NAME: the value of OUTPUT's `NAME: value unit` line, or "failed"
  awk -v n="$2:" '$1 == n {v = $2} END {print (v == "" ? "failed" : v)}' <<<"$1"
}
median_of() {  # the median of numbers, or the first word that is not one (unsupported, failed)
  local v
  for v in "$@"; do is_number "$v" || { echo "$v"; return; }; done
  median "$@"
}
ratio_of() {  # ratio_of A B: A / B, or the first of them that is not a number
  local v
  for v in "$1" "$2"; do is_number "$v" || { echo "$v"; return; }; done
  ratio "$1" "$2"
}
show() {  # show NAME VALUE UNIT: `NAME: VALUE UNIT`, without the unit when VALUE is not a number
  if is_number "$2"; then echo "$1: $2 $3"; else echo "$1: $2"; fi
}
stop() {  # stop PID: kills a process started here and forgets it, so exit does not kill it again
  local pid kept=()
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  PIDS=("${kept[@]}")
}

# session_rss WHO SUBCOMMAND [args]: sets RSS_OUT to SUBCOMMAND's output, measured on a proxy
# (WHO=proxy) or a standalone redis-server (WHO=direct) started for it and stopped afterwards.
RSS_OUT=""
session_rss() {
  local who=$1 command=$2 port pid
  shift 2
  port=$(free_port)
  if [ "$who" = proxy ]; then
    "$PROXY_BIN" --listen "127.0.0.1:$port" --threads 1 --seeds "127.0.0.1:${PORTS[0]}" \
      --max-clients $((SESSION_CLIENTS + 1000)) --log-level warn >>"$WORK/proxy-rss.log" 2>&1 &
  else
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --maxclients $((SESSION_CLIENTS + 1000)) --logfile "$WORK/redis-rss.log" &
  fi
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 100); do redis-cli -p "$port" get probe >/dev/null 2>&1 && break; sleep 0.05; done
  RSS_OUT=$(session "$command" "$port" "$pid" --clients "$SESSION_CLIENTS" "$@")
  stop "$pid"
}

session_figures() {
  # Every key bench_proxy_sessions uses has the hash tag {bench}: direct runs go to its master.
  local tag_port="" port who out q name
  for port in "${PORTS[@]}"; do
    redis-cli -p "$port" get "{bench}probe" 2>&1 | grep -q MOVED || tag_port=$port
  done
  local -A got=() med=()
  for _ in $(seq "$ROUNDS"); do
    for who in direct proxy; do
      port=$tag_port
      [ "$who" = proxy ] && port=$PROXY_PORT
      out=$(session multi "$port" --seconds "$SESSION_SECONDS")
      got[${who}_multi_tps]+=" $(field "$out" multi_tps)"
      out=$(session blpop "$port" --watch "$tag_port")
      for q in p50 p99; do got[${who}_blpop_$q]+=" $(field "$out" "blpop_wakeup_$q")"; done
      out=$(session pubsub "$port")
      got[${who}_publish]+=" $(field "$out" publish_msgs_per_s)"
    done
  done
  for name in "${!got[@]}"; do
    # shellcheck disable=SC2086  # the rounds are words
    med[$name]=$(median_of ${got[$name]})
  done
  for who in proxy direct; do show "${who}_multi_tps" "${med[${who}_multi_tps]}" tx/s; done
  echo "proxy_multi_ratio: $(ratio_of "${med[proxy_multi_tps]}" "${med[direct_multi_tps]}")"
  for q in p50 p99; do
    for who in proxy direct; do show "${who}_blpop_wakeup_$q" "${med[${who}_blpop_$q]}" us; done
    echo "proxy_blpop_wakeup_${q}_ratio:" \
      "$(ratio_of "${med[proxy_blpop_$q]}" "${med[direct_blpop_$q]}")"
  done
  for who in proxy direct; do show "${who}_publish_msgs_per_s" "${med[${who}_publish]}" msg/s; done
  echo "proxy_publish_ratio: $(ratio_of "${med[proxy_publish]}" "${med[direct_publish]}")"

  # Through the proxy the clients block in the master owning the tag, which --watch counts.
  session_rss proxy blocked-rss --watch "$tag_port"
  show proxy_rss_per_blocked_client "$(field "$RSS_OUT" rss_per_blocked_client)" bytes
  session_rss direct blocked-rss
  show direct_rss_per_blocked_client "$(field "$RSS_OUT" rss_per_blocked_client)" bytes
  for channels in same distinct; do
    name=rss_per_subscriber
    [ "$channels" = distinct ] && name=rss_per_subscriber_distinct_channels
    for who in proxy direct; do
      session_rss "$who" subscriber-rss --channels "$channels"
      show "${who}_$name" "$(field "$RSS_OUT" rss_per_subscriber)" bytes
    done
  done
}

if [ "$SECTION" = sessions ]; then
  session_figures
  exit 0
fi

for t in set get; do
  direct=()
  proxy=()
  base=()
  for _ in $(seq "$ROUNDS"); do
    direct+=("$(rps "$DIRECT_PORT" "$t" -P 16 -c 50 -n "$N")")
    proxy+=("$(rps "$PROXY_PORT" "$t" -P 16 -c 50 -n "$N")")
    [ -n "$BASE_PORT" ] && base+=("$(rps "$BASE_PORT" "$t" -P 16 -c 50 -n "$N")")
  done
  d=$(median "${direct[@]}")
  p=$(median "${proxy[@]}")
  echo "proxy_${t}_rps: ${p%.*} req/s"
  echo "direct_${t}_rps: ${d%.*} req/s"
  echo "proxy_${t}_ratio: $(ratio "$p" "$d")"
  if [ -n "$BASE_PORT" ]; then
    b=$(median "${base[@]}")
    echo "baseline_proxy_${t}_rps: ${b%.*} req/s"
    echo "proxy_${t}_vs_baseline: $(ratio "$p" "$b")"
  fi
done

# The bare relays, to the master owning the key (started here: it is known only now).
RELAY_PORT=$(free_port)
"$BUILD_DIR/bin/bench_proxy_relay" "$RELAY_PORT" "$DIRECT_PORT" &
PIDS+=($!)
BUSY_RELAY_PORT=$(free_port)
"$BUILD_DIR/bin/bench_proxy_relay" "$BUSY_RELAY_PORT" "$DIRECT_PORT" --busy-poll &
PIDS+=($!)
for port in "$RELAY_PORT" "$BUSY_RELAY_PORT"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
declare -A rtt
targets=(direct:$DIRECT_PORT relay:$RELAY_PORT proxy:$PROXY_PORT
         relay_busy_poll:$BUSY_RELAY_PORT proxy_busy_poll:$BUSY_PORT)
[ -n "$BASE_PORT" ] && targets+=(baseline_proxy:$BASE_PORT)
for _ in $(seq "$ROUNDS"); do
  for target in "${targets[@]}"; do
    rtt[${target%%:*}]+=" $(p50 "${target#*:}")"
  done
done
declare -A med
for name in direct relay proxy relay_busy_poll proxy_busy_poll; do
  # shellcheck disable=SC2086  # the rounds are words
  med[$name]=$(median ${rtt[$name]})
  echo "${name}_p50: ${med[$name]} us"
done
diff_us() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a - b}'; }
for name in relay proxy relay_busy_poll proxy_busy_poll; do
  echo "${name}_p50_overhead: $(diff_us "${med[$name]}" "${med[direct]}") us"
done
echo "proxy_over_relay_p50: $(diff_us "${med[proxy]}" "${med[relay]}") us"
echo "proxy_over_relay_busy_poll_p50:" \
  "$(diff_us "${med[proxy_busy_poll]}" "${med[relay_busy_poll]}") us"
if [ -n "$BASE_PORT" ]; then
  # shellcheck disable=SC2086  # the rounds are words
  med[baseline_proxy]=$(median ${rtt[baseline_proxy]})
  echo "baseline_proxy_p50: ${med[baseline_proxy]} us"
  echo "proxy_p50_vs_baseline: $(ratio "${med[proxy]}" "${med[baseline_proxy]}")"
fi

for n in 10 100; do
  keys=()
  for i in $(seq "$n"); do keys+=("mk:$i"); done
  redis-cli -p "$PROXY_PORT" mset $(for k in "${keys[@]}"; do echo "$k v"; done) >/dev/null
  r=$(redis-benchmark -p "$PROXY_PORT" -c 50 -P 4 -n $((N / 20 / (n / 10))) -q MGET "${keys[@]}" \
        2>/dev/null | per_second)
  echo "proxy_mget${n}_rps: ${r%.*} req/s"
  echo "proxy_mget${n}_keys_per_sec: $(awk -v r="$r" -v n="$n" 'BEGIN {printf "%d", r * n}') keys/s"
done

# A fresh proxy, so memory freed by the runs above does not hide what idle clients cost.
IDLE_PORT=$(free_port)
"$PROXY_BIN" --listen "127.0.0.1:$IDLE_PORT" --threads 1 --seeds "127.0.0.1:${PORTS[0]}" \
  --max-clients $((IDLE + 1000)) --log-level warn >"$WORK/proxy-idle.log" 2>&1 &
IDLE_PROXY_PID=$!
PIDS+=($IDLE_PROXY_PID)
for _ in $(seq 100); do redis-cli -p "$IDLE_PORT" get probe >/dev/null 2>&1 && break; sleep 0.05; done
rss() { awk '/VmRSS/ {print $2 * 1024}' "/proc/$IDLE_PROXY_PID/status"; }
before=$(rss)
python3 - "$IDLE_PORT" "$IDLE" "$WORK/idle.ready" <<'PY' &
import socket, sys, time, os
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"PING\r\n")
    socks.append(s)
for s in socks:
    assert s.recv(16) == b"+PONG\r\n"
open(ready, "w").close()
time.sleep(60)
PY
IDLE_PID=$!
PIDS+=($IDLE_PID)
for _ in $(seq 1200); do [ -f "$WORK/idle.ready" ] && break; sleep 0.05; done
sleep 1.5  # one idle sweep releases the per-client queues
after=$(rss)
echo "proxy_idle_clients: $(redis-cli -p "$IDLE_PORT" info | awk -F: '/^proxy_connected_clients/ {print $2+0}') clients"
echo "proxy_rss_per_idle_client: $(( (after - before) / IDLE )) bytes"

# Live resharding under load (the test in tests/proxy/proxy_load_test.cc, with its 10 ms bound
# on): the worst pipelined batch of 50 SET/GET pairs while 1000 slots move away and back, through
# the proxy and then, same cluster and moves, with a cluster-aware client straight to the masters.
if cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target proxy_load_test >/dev/null 2>&1; then
  out=$(RS_STRICT_LATENCY=1 "$BUILD_DIR/tests/proxy_load_test" \
          --gtest_filter='ProxyLoadTest.LiveResharding*' 2>&1 | grep '^reshard' || true)
  for who in proxy direct; do
    line=$(grep -m1 "^reshard $([ $who = proxy ] && echo through || echo direct)" <<<"$out" || true)
    worst=$(sed -n 's/.*worst batch \([0-9]*\) us.*/\1/p' <<<"$line")
    over=$(sed -n 's/.*, \([0-9]*\) batches over 10 ms.*/\1/p' <<<"$line")
    echo "${who}_reshard_worst_batch: $worst us"
    echo "${who}_reshard_batches_over_10ms: $over"
  done
fi

if [ "$SECTION" = all ]; then session_figures; fi
