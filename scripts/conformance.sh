#!/usr/bin/env bash
# Redis's own Tcl test suite (from Debian's `redis` source package, the version of the installed
# redis-server) run through redis-proxy in front of a fresh local Redis Cluster, unit by unit.
#
#   scripts/conformance.sh [UNIT...]   e.g. scripts/conformance.sh unit/type/incr unit/expire
#
# Without UNITs it runs every unit of the suite's ::all_tests. Each unit is one
# `runtest --single UNIT` in external cluster mode; a unit that aborts (a Tcl exception, runtest
# dying, the per-unit timeout, the proxy dying) is counted as aborted and the run goes on. The
# tests of tests/conformance/skiplist.txt are skipped and counted as failures. Prints a per-unit
# table, then one line `conformance: passed=N failed=M aborted_units=K seconds=S` (failed includes
# the skip list's tests). Exits 0 when the run completed, whatever the figures; non-zero when it
# could not run (no suite, no binary, no cluster).
#
#   CONFORMANCE_TARGET=proxy|direct  proxy (default): 3 masters behind redis-proxy; direct: one
#                                    cluster-mode node owning all 16384 slots, no proxy (the
#                                    reference figure)
#   CONFORMANCE_REPLICAS=0|1         replicas per master in proxy mode (default 0)
#   CONFORMANCE_UNIT_TIMEOUT=s       per-unit timeout (default 600)
#   CONFORMANCE_TEST_TIMEOUT=s       a unit in which no test starts or ends for this long (one
#                                    waiting for a reply that never comes) ends sooner: runtest's
#                                    own --timeout (default 300; the longest test takes ~45 s)
#   CONFORMANCE_LOG_DIR=dir          runtest, proxy and node logs, failed.txt, table.txt (default:
#                                    a new temp dir, kept and named at the end)
#   BUILD_DIR=dir                    where redis-proxy was built (default build)
#
# The suite (tests/ and runtest only) is fetched once with apt-get source, using a private apt
# state and deb-src lines derived from this machine's apt sources, into
# ${XDG_CACHE_HOME:-~/.cache}/redis-service/conformance/redis-VERSION/; later runs use that.
# Every process started here is stopped by pid (runtest by its own process group) on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/lib/redis_nodes.sh
source scripts/lib/redis_nodes.sh

for arg in "$@"; do
  case "$arg" in
    -h | --help)
      sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "conformance: unknown option '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

TARGET=${CONFORMANCE_TARGET:-proxy}
REPLICAS=${CONFORMANCE_REPLICAS:-0}
UNIT_TIMEOUT=${CONFORMANCE_UNIT_TIMEOUT:-600}
TEST_TIMEOUT=${CONFORMANCE_TEST_TIMEOUT:-300}
BUILD_DIR=${BUILD_DIR:-build}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/redis-service/conformance
SKIPLIST=$ROOT/tests/conformance/skiplist.txt
HOST=127.0.0.1
# Long enough that a unit's slow command (a busy script, a big SORT) does not get a master
# marked as failed by the others.
NODE_TIMEOUT=15000

case "$TARGET" in proxy | direct) ;; *)
  echo "conformance: CONFORMANCE_TARGET must be proxy or direct, not '$TARGET'" >&2
  exit 2
  ;;
esac
case "$REPLICAS" in 0 | 1) ;; *)
  echo "conformance: CONFORMANCE_REPLICAS must be 0 or 1, not '$REPLICAS'" >&2
  exit 2
  ;;
esac
if ! [[ "$UNIT_TIMEOUT" =~ ^[1-9][0-9]*$ && "$TEST_TIMEOUT" =~ ^[1-9][0-9]*$ ]]; then
  echo "conformance: CONFORMANCE_UNIT_TIMEOUT and CONFORMANCE_TEST_TIMEOUT must be numbers of" \
    "seconds" >&2
  exit 2
fi
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
PROXY_BIN=$BUILD_DIR/bin/redis-proxy
if [ "$TARGET" = proxy ] && [ ! -x "$PROXY_BIN" ]; then
  echo "conformance: no $PROXY_BIN; build it first (scripts/setup.sh, or" \
    "cmake --build $BUILD_DIR --target redis-proxy)" >&2
  exit 1
fi
for tool in redis-server redis-cli tclsh python3 dpkg-query; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "conformance: $tool not found (scripts/setup.sh installs what is needed)" >&2
    exit 1
  fi
done

if [ -n "${CONFORMANCE_LOG_DIR:-}" ]; then
  LOG_DIR=$CONFORMANCE_LOG_DIR
  mkdir -p "$LOG_DIR"
else
  LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rs-conformance-XXXXXX")
fi
LOG_DIR=$(cd "$LOG_DIR" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rs-conformance-work-XXXXXX")

say() { echo "conformance: $*" >&2; }
say "logs in $LOG_DIR"

# --- processes, and stopping exactly them ----------------------------------------------------

PROXY_PID=""
RUNTEST_PID=""
CLUSTER_GEN=0
PROXY_GEN=0
NODES=()     # host:port of every node, in the order of RS_NODE_PIDS
NODE_DIRS=()

# group_alive PGID: a process of that group is still running. Zombies do not count: the test
# client outlives runtest's test server and waits, a zombie, for init to reap it.
group_alive() {
  ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ {found = 1} END {exit !found}'
}

# stop_group PGID: runtest runs in its own session; its test server, test client and whatever
# they exec are all in that process group. SIGTERM, then SIGKILL after 5 s.
stop_group() {
  local pgid=$1 i
  group_alive "$pgid" || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    group_alive "$pgid" || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
}

stop_proxy() {
  local i
  [ -n "$PROXY_PID" ] || return 0
  kill -TERM "$PROXY_PID" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$PROXY_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$PROXY_PID" 2>/dev/null || true
  wait "$PROXY_PID" 2>/dev/null || true
  PROXY_PID=""
}

stop_cluster() {
  local dir
  rs_stop_nodes
  for dir in "${NODE_DIRS[@]}"; do
    mkdir -p "$LOG_DIR/cluster-$CLUSTER_GEN"
    cp "$dir/redis.log" "$LOG_DIR/cluster-$CLUSTER_GEN/$(basename "$dir").log" 2>/dev/null || true
  done
  NODES=()
  NODE_DIRS=()
}

cleanup() {
  trap - EXIT INT TERM
  if [ -n "$RUNTEST_PID" ]; then
    stop_group "$RUNTEST_PID"
    wait "$RUNTEST_PID" 2>/dev/null || true
    RUNTEST_PID=""
  fi
  stop_proxy
  stop_cluster
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'say "interrupted; logs in $LOG_DIR"; cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# --- the suite ---------------------------------------------------------------------------------

# The deb-src twins of this machine's apt sources, in DIR: one-line .list files (deb -> deb-src)
# and deb822 .sources files (Types: deb -> Types: deb-src). Other files (*.disabled-by-farm, ...)
# are not sources apt reads, so neither do we.
write_src_parts() {
  local dir=$1 f
  : >"$dir/lines.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n -e 's/^[[:space:]]*deb[[:space:]]\{1,\}/deb-src /p' \
      -e '/^[[:space:]]*deb-src[[:space:]]/p' "$f" >>"$dir/lines.list"
  done
  awk '!seen[$0]++' "$dir/lines.list" >"$dir/lines.tmp" && mv "$dir/lines.tmp" "$dir/lines.list"
  [ -s "$dir/lines.list" ] || rm -f "$dir/lines.list"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed '/^Types:/{/[[:space:]]deb\([[:space:]]\|$\)/s/.*/Types: deb-src/}' "$f" \
      >"$dir/$(basename "$f")"
  done
}

# fetch_suite FULL_VERSION UPSTREAM_VERSION: apt-get source --download-only of redis with a
# private apt state under $CACHE/apt, then tests/ and runtest of the orig tarball extracted into
# $CACHE/redis-<its upstream version>/ (moved into place only when complete). Prints that dir.
fetch_suite() {
  local version=$1 upstream=$2 apt_dir=$CACHE/apt log=$LOG_DIR/apt.log
  rm -rf "$apt_dir"
  mkdir -p "$apt_dir/srcparts" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" \
    "$apt_dir/src"
  : >"$apt_dir/empty.list"
  write_src_parts "$apt_dir/srcparts"
  if [ -z "$(ls -A "$apt_dir/srcparts")" ]; then
    say "no apt sources found in /etc/apt to derive deb-src lines from"
    return 1
  fi
  local apt=(apt-get -q -o "Dir::Etc::SourceList=$apt_dir/empty.list"
    -o "Dir::Etc::SourceParts=$apt_dir/srcparts" -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache" -o Debug::NoLocking=1)
  # As root apt would drop to _apt for the download, which cannot write into a private dir.
  if [ "$(id -u)" = 0 ]; then apt+=(-o APT::Sandbox::User=root); fi
  say "fetching Redis's test suite: apt-get update with a private state in $apt_dir"
  if ! "${apt[@]}" update >"$log" 2>&1; then
    say "apt-get update failed (log: $log):"
    tail -5 "$log" >&2
    return 1
  fi
  # apt-get update succeeds with warnings when it could fetch nothing.
  if ! find "$apt_dir/lists" -maxdepth 1 -name '*_Sources*' | grep -q .; then
    say "apt-get update fetched no source index (log: $log):"
    grep -E '^(W|E|Err):' "$log" | tail -5 >&2
    return 1
  fi
  # The installed package's exact version (with its epoch: redis=5:7.0.15-1~deb12u10) pins the
  # source; the index may have moved on, in which case the newest redis source there has to do.
  local source_ok=1
  if ! (cd "$apt_dir/src" && "${apt[@]}" source --download-only "redis=$version") >>"$log" 2>&1
  then
    source_ok=0
    if grep -q "Can not find version" "$log"; then
      say "redis $version is not in the source index; using the newest redis source there"
      (cd "$apt_dir/src" && "${apt[@]}" source --download-only redis) >>"$log" 2>&1 &&
        source_ok=1
    fi
  fi
  if [ "$source_ok" = 0 ]; then
    say "apt-get source redis failed (log: $log):"
    grep -E '^(W|E|Err):' "$log" | tail -5 >&2
    return 1
  fi
  local orig
  orig=$(find "$apt_dir/src" -maxdepth 1 -name 'redis_*.orig.tar.*' | head -1)
  if [ -z "$orig" ]; then
    say "apt-get source redis gave no orig tarball (log: $log)"
    return 1
  fi
  local got=${orig##*/redis_}
  got=${got%%.orig.tar.*}
  if [ "$got" != "$upstream" ]; then
    say "note: the suite is Redis $got's, the installed redis-server is $upstream"
  fi
  local top tmp=$CACHE/.extract-$$
  top=$(tar -tf "$orig" | head -1)
  top=${top%%/*}
  rm -rf "$tmp"
  mkdir -p "$tmp" || return 1
  # (Called in a condition, where set -e is off: every step checks.)
  tar -xf "$orig" -C "$tmp" --strip-components=1 "$top/tests" "$top/runtest" || return 1
  rm -rf "$CACHE/redis-$got"
  mv "$tmp" "$CACHE/redis-$got" || return 1
  rm -rf "$apt_dir"
  echo "$CACHE/redis-$got"
}

VERSION=$(dpkg-query -W -f='${Version}' redis-server 2>/dev/null || true)
if [ -z "$VERSION" ]; then
  say "the redis-server package is not installed (its version picks the suite)"
  exit 1
fi
UPSTREAM=${VERSION#*:}
UPSTREAM=${UPSTREAM%%-*}
SUITE=$CACHE/redis-$UPSTREAM
if [ -f "$SUITE/runtest" ] && [ -f "$SUITE/tests/test_helper.tcl" ]; then
  say "using the cached suite $SUITE"
else
  mkdir -p "$CACHE"
  if ! SUITE=$(fetch_suite "$VERSION" "$UPSTREAM"); then
    say "could not get Redis's test suite from Debian's redis source package"
    exit 1
  fi
fi
# The suite execs src/redis-server, src/redis-cli, ...: the system's binaries.
mkdir -p "$SUITE/src"
for bin in redis-server redis-cli redis-benchmark redis-check-aof; do
  if command -v "$bin" >/dev/null 2>&1; then
    ln -sfn "$(command -v "$bin")" "$SUITE/src/$bin"
  fi
done

# This run's view of the suite: symlinks to the cache, with its own tests/tmp.
RUN_SUITE=$WORK/suite
mkdir -p "$RUN_SUITE/tests/tmp"
ln -s "$SUITE/runtest" "$SUITE/src" "$RUN_SUITE/"
for entry in "$SUITE"/tests/*; do
  [ "$(basename "$entry")" = tmp ] || ln -s "$entry" "$RUN_SUITE/tests/"
done

mapfile -t ALL_UNITS < <(sed -n '/^set ::all_tests {/,/^}/{/^[[:space:]]\{1,\}[a-z]/p}' \
  "$SUITE/tests/test_helper.tcl" | awk '{print $1}')
if (($#)); then
  UNITS=("$@")
else
  UNITS=("${ALL_UNITS[@]}")
fi
for unit in "${UNITS[@]}"; do
  if [ ! -f "$SUITE/tests/$unit.tcl" ]; then
    say "no unit $unit in the suite (tests/$unit.tcl; see $SUITE/tests/test_helper.tcl)"
    exit 2
  fi
done

# The skip list: unit<TAB>test name or /regexp<TAB>reason; # comments.
SKIP_UNITS=()
SKIP_TESTS=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
  IFS=$'\t' read -r s_unit s_test s_reason <<<"$line"
  if [ -z "$s_unit" ] || [ -z "${s_test:-}" ] || [ -z "${s_reason:-}" ]; then
    say "$SKIPLIST:$lineno: want unit<TAB>test<TAB>reason"
    exit 2
  fi
  SKIP_UNITS+=("$s_unit")
  SKIP_TESTS+=("$s_test")
done <"$SKIPLIST"

# --- the cluster and the proxy -----------------------------------------------------------------

start_cluster() {
  local masters=3 replicas=$REPLICAS i port dir
  if [ "$TARGET" = direct ]; then masters=1 replicas=0; fi
  CLUSTER_GEN=$((CLUSTER_GEN + 1))
  for ((i = 0; i < masters * (1 + replicas); i++)); do
    port=$(rs_free_port "$HOST")
    while [[ " ${NODES[*]} " == *" $HOST:$port "* ]]; do port=$(rs_free_port "$HOST"); done
    dir=$WORK/cluster-$CLUSTER_GEN/node-$port
    rs_write_node_conf "$dir" "$HOST" "$port" "$NODE_TIMEOUT"
    rs_start_node "$dir"
    NODES+=("$HOST:$port")
    NODE_DIRS+=("$dir")
  done
  for addr in "${NODES[@]}"; do rs_wait_ready "${addr%:*}" "${addr##*:}" 10; done
  if [ "$TARGET" = direct ]; then
    redis-cli -h "$HOST" -p "${NODES[0]##*:}" cluster addslotsrange 0 16383 \
      >"$WORK/create.log" 2>&1
  else
    redis-cli --cluster create "${NODES[@]}" --cluster-replicas "$replicas" --cluster-yes \
      >"$WORK/create.log" 2>&1 || {
      cat "$WORK/create.log" >&2
      return 1
    }
  fi
  rs_wait_cluster_ok 60 "${NODES[@]}"
  if ((replicas)); then rs_wait_replicas 30 "$masters" "${NODES[0]}"; fi
}

start_proxy() {
  local i
  PROXY_GEN=$((PROXY_GEN + 1))
  PROXY_PORT=$(rs_free_port "$HOST")
  PROXY_LOG=$LOG_DIR/proxy-$PROXY_GEN.log
  "$PROXY_BIN" --allow-admin-commands --seeds "$(IFS=,; echo "${NODES[*]}")" \
    --listen "$HOST:$PROXY_PORT" >"$PROXY_LOG" 2>&1 </dev/null &
  PROXY_PID=$!
  # Ready once it routes: DBSIZE goes to every master.
  for ((i = 0; i < 100; i++)); do
    [[ "$(redis-cli -h "$HOST" -p "$PROXY_PORT" dbsize 2>/dev/null)" =~ ^[0-9]+$ ]] && return 0
    kill -0 "$PROXY_PID" 2>/dev/null || break
    sleep 0.1
  done
  say "redis-proxy did not come up (log: $PROXY_LOG)"
  tail -5 "$PROXY_LOG" >&2
  return 1
}

start_all() {
  start_cluster
  if [ "$TARGET" = proxy ]; then
    start_proxy
    PORT=$PROXY_PORT
  else
    PORT=${NODES[0]##*:}
  fi
}

restart_all() {
  stop_proxy
  stop_cluster
  start_all
}

cluster_healthy() {
  local i addr reply
  for i in "${!RS_NODE_PIDS[@]}"; do
    if ! kill -0 "${RS_NODE_PIDS[$i]}" 2>/dev/null; then
      say "redis-server ${NODES[$i]} (pid ${RS_NODE_PIDS[$i]}) died;" \
        "log in $LOG_DIR/cluster-$CLUSTER_GEN/"
      return 1
    fi
  done
  # A node still running a script the unit left behind answers -BUSY.
  for addr in "${NODES[@]}"; do
    reply=$(timeout 5 redis-cli -h "${addr%:*}" -p "${addr##*:}" ping 2>&1 || true)
    if [ "$reply" != PONG ]; then
      say "redis-server $addr answers PING with '${reply:0:60}'"
      return 1
    fi
  done
  for addr in "${NODES[@]}"; do
    if [ "$(rs_cluster_field "${addr%:*}" "${addr##*:}" cluster_state)" != ok ]; then
      rs_wait_cluster_ok 30 "${NODES[@]}" 2>/dev/null && return 0
      say "cluster_state is not ok on $addr after 30 s"
      return 1
    fi
  done
}

# --- running the units -------------------------------------------------------------------------

# run_unit UNIT LOG: one runtest --single UNIT; sets ABORT to why it aborted ("" if it did not).
run_unit() {
  local unit=$1 log=$2 i start=$SECONDS status=0
  local args=(--host "$HOST" --port "$PORT" --cluster-mode --tags -needs:debug
    --ignore-encoding --ignore-digest --durable --timeout "$TEST_TIMEOUT" --single "$unit")
  for i in "${!SKIP_UNITS[@]}"; do
    if [ "${SKIP_UNITS[$i]}" = "$unit" ]; then args+=(--skiptest "${SKIP_TESTS[$i]}"); fi
  done
  ABORT=""
  # setsid: runtest and every process it starts get a process group of their own to stop.
  (cd "$RUN_SUITE" && TERM=dumb exec setsid ./runtest "${args[@]}") >"$log" 2>&1 </dev/null &
  RUNTEST_PID=$!
  while kill -0 "$RUNTEST_PID" 2>/dev/null; do
    if ((SECONDS - start >= UNIT_TIMEOUT)); then
      ABORT="timeout after ${UNIT_TIMEOUT}s"
      break
    fi
    if [ -n "$PROXY_PID" ] && ! kill -0 "$PROXY_PID" 2>/dev/null; then
      ABORT="the proxy died"
      break
    fi
    sleep 0.2
  done
  stop_group "$RUNTEST_PID"
  wait "$RUNTEST_PID" 2>/dev/null || status=$?
  RUNTEST_PID=""
  if [ -z "$ABORT" ] && [ -n "$PROXY_PID" ] && ! kill -0 "$PROXY_PID" 2>/dev/null; then
    ABORT="the proxy died"
  fi
  if [ -z "$ABORT" ]; then
    if grep -q '^\[exception\]' "$log"; then
      ABORT="Tcl exception"
    elif grep -q '^\[TIMEOUT\]' "$log"; then
      ABORT="no test started or ended for ${TEST_TIMEOUT}s"
    elif ! grep -q 'The End' "$log"; then
      ABORT="runtest exited with status $status before the end"
    fi
  fi
}

# health_check UNIT: after a unit, a dead proxy is reported and restarted (with the cluster if a
# node died or the cluster is not ok).
health_check() {
  local unit=$1 status=0
  if [ -n "$PROXY_PID" ] && ! kill -0 "$PROXY_PID" 2>/dev/null; then
    wait "$PROXY_PID" 2>/dev/null || status=$?
    say "redis-proxy (pid $PROXY_PID) died during $unit, exit status $status; log: $PROXY_LOG"
    tail -3 "$PROXY_LOG" | sed 's/^/  /' >&2
    PROXY_PID=""
  fi
  if ! cluster_healthy; then
    say "restarting the cluster$([ "$TARGET" = proxy ] && echo " and the proxy")"
    restart_all
  elif [ "$TARGET" = proxy ] && [ -z "$PROXY_PID" ]; then
    say "restarting the proxy"
    start_proxy
    PORT=$PROXY_PORT
  fi
}

start_all
if [ "$TARGET" = proxy ]; then
  say "${#NODES[@]} nodes (${NODES[*]}), redis-proxy on $HOST:$PORT, ${#UNITS[@]} units"
else
  say "direct: one node owning every slot on $HOST:$PORT, ${#UNITS[@]} units"
fi

TOTAL_PASSED=0
TOTAL_FAILED=0
ABORTED_UNITS=0
TABLE=$LOG_DIR/table.txt
FAILED=$LOG_DIR/failed.txt
row_format='%-42s %6s %6s %8s %7s %7s  %s\n'
# shellcheck disable=SC2059  # the format is ours
printf "$row_format" unit passed failed skiplist aborted seconds "" >"$TABLE"
: >"$FAILED"
for unit in "${UNITS[@]}"; do
  log=$LOG_DIR/${unit//\//_}.log
  unit_start=$SECONDS
  run_unit "$unit" "$log"
  seconds=$((SECONDS - unit_start))
  tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;]*m//g' >"$log.plain"
  mv "$log.plain" "$log"
  passed=$(grep -c '^\[ok\]: ' "$log" || true)
  failed=$(grep -c '^\[err\]: ' "$log" || true)
  skipped=$(grep -c '^\[skip\]: ' "$log" || true)
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed + skipped))
  aborted=no
  if [ -n "$ABORT" ]; then
    aborted=yes
    ABORTED_UNITS=$((ABORTED_UNITS + 1))
  fi
  {
    sed -n 's/^\[err\]: \(.*\) in tests\/.*\.tcl$/\1/p; t; s/^\[err\]: //p' "$log" |
      sed "s|^|$unit\t|"
    sed -n 's/^\[skip\]: //p' "$log" | sed "s|^|$unit\t|; s|\$|\t(skip list)|"
    if [ -n "$ABORT" ]; then printf '%s\t(aborted: %s)\n' "$unit" "$ABORT"; fi
  } >>"$FAILED"
  # shellcheck disable=SC2059
  printf "$row_format" "$unit" "$passed" "$failed" "$skipped" "$aborted" "$seconds" \
    "${ABORT:+($ABORT)}" >>"$TABLE"
  say "$unit: $passed passed, $failed failed, $skipped skip list$([ -n "$ABORT" ] &&
    echo ", aborted: $ABORT"), ${seconds}s"
  health_check "$unit"
done

cat "$TABLE"
say "logs in $LOG_DIR (failed tests: $FAILED)"
echo "conformance: passed=$TOTAL_PASSED failed=$TOTAL_FAILED" \
  "aborted_units=$ABORTED_UNITS seconds=$SECONDS"
