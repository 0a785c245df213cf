# shellcheck shell=bash
# Shell helpers to run redis-server nodes on loopback and stop exactly the ones started here.
# Source it from bash: `source scripts/lib/redis_nodes.sh`. Pids go into the RS_NODE_PIDS array;
# call the functions from the main shell (not in $(...)), or the pids are lost.

RS_NODE_PIDS=()

# Prefix for a command started in the background: where setpriv(1) can, the process gets SIGTERM
# when this shell dies without cleaning up (SIGKILL), so nothing outlives the script that
# started it. Empty elsewhere.
RS_PDEATH=()
if setpriv --pdeathsig TERM true 2>/dev/null; then RS_PDEATH=(setpriv --pdeathsig TERM); fi

# rs_port_free HOST PORT: true if a listener could bind HOST:PORT now. SO_REUSEADDR like Redis,
# so connections of an earlier run lingering in TIME_WAIT do not count.
rs_port_free() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

# rs_free_port HOST: prints a port free on HOST whose cluster bus port (+10000) is free too. Call
# it in $(...); another process may still take the port before it is used.
rs_free_port() {
  python3 - "$1" <<'PY'
import socket, sys
host = sys.argv[1]
def bind(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    return s
for _ in range(1000):
    s = bind(0)
    p = s.getsockname()[1]
    try:
        if p + 10000 <= 65535:
            bind(p + 10000).close()
            print(p)
            sys.exit(0)
    except OSError:
        pass
    finally:
        s.close()
sys.exit("no free port with a free bus port on " + host)
PY
}

# rs_write_node_conf DIR HOST PORT NODE_TIMEOUT_MS: a cluster-enabled, persistence-free redis.conf
# in DIR (same settings as the C++ test harness, tests/support/local_redis.cc).
rs_write_node_conf() {
  local dir=$1 host=$2 port=$3 timeout=$4
  mkdir -p "$dir"
  cat >"$dir/redis.conf" <<CONF
bind $host
bind-source-addr $host
port $port
protected-mode no
daemonize no
dir "$dir"
logfile ""
save ""
appendonly no
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout $timeout
cluster-announce-ip $host
CONF
}

# rs_start_node DIR: starts redis-server on DIR/redis.conf in the background (with RS_PDEATH),
# log in DIR/redis.log, and records its pid in RS_NODE_PIDS.
rs_start_node() {
  local dir=$1
  "${RS_PDEATH[@]}" redis-server "$dir/redis.conf" >>"$dir/redis.log" 2>&1 </dev/null &
  RS_NODE_PIDS+=($!)
}

# rs_wait_ready HOST PORT [SECONDS]: waits until the node answers PING.
rs_wait_ready() {
  local host=$1 port=$2 seconds=${3:-10}
  local deadline=$((SECONDS + seconds))
  until [ "$(redis-cli -h "$host" -p "$port" ping 2>/dev/null)" = "PONG" ]; do
    if ((SECONDS >= deadline)); then
      echo "redis $host:$port did not answer PING within ${seconds}s" >&2
      return 1
    fi
    sleep 0.05
  done
}

# rs_cluster_field HOST PORT FIELD: one field of CLUSTER INFO ("ok" for cluster_state).
rs_cluster_field() {
  redis-cli -h "$1" -p "$2" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$3://p"
}

# rs_wait_cluster_ok SECONDS HOST:PORT...: waits until every node says cluster_state:ok.
rs_wait_cluster_ok() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds)) addr
  for addr in "$@"; do
    until [ "$(rs_cluster_field "${addr%:*}" "${addr##*:}" cluster_state)" = "ok" ]; do
      if ((SECONDS >= deadline)); then
        echo "cluster_state of $addr is not ok after ${seconds}s" >&2
        return 1
      fi
      sleep 0.1
    done
  done
}

# rs_wait_replicas SECONDS COUNT HOST:PORT: waits until that node sees COUNT replicas (gossip takes
# a moment to spread the roles `redis-cli --cluster create` assigned).
rs_wait_replicas() {
  local seconds=$1 count=$2 addr=$3
  local deadline=$((SECONDS + seconds))
  until [ "$(redis-cli -h "${addr%:*}" -p "${addr##*:}" cluster nodes 2>/dev/null |
    awk '$3 ~ /slave/' | wc -l)" -ge "$count" ]; do
    if ((SECONDS >= deadline)); then
      echo "$addr does not see $count replicas after ${seconds}s" >&2
      return 1
    fi
    sleep 0.1
  done
}

# rs_print_nodes HOST:PORT: one line per node as that node sees the cluster.
rs_print_nodes() {
  local addr=$1
  redis-cli -h "${addr%:*}" -p "${addr##*:}" cluster nodes | tr -d '\r' | awk '
    { addr[$1] = $2; sub(/@.*/, "", addr[$1]); line[NR] = $0 }
    END {
      for (i = 1; i <= NR; i++) {
        split(line[i], f, " ")
        slots = ""
        for (j = 9; j in f; j++) slots = slots " " f[j]
        if (f[3] ~ /master/) role = "master  slots" slots
        else role = "replica of " addr[f[4]]
        print "  " addr[f[1]] "  " role
      }
    }' | sort
}

# rs_stop_pids SECONDS PID...: SIGTERM to each pid (and SIGCONT, in case it was paused), then
# SIGKILL to whatever has not exited after SECONDS in all; reaps them. Only those pids.
rs_stop_pids() {
  local seconds=$1 pid waited=0
  shift
  (($#)) || return 0
  for pid in "$@"; do
    kill -TERM "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true
  done
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null && ((waited < seconds * 10)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# rs_stop_nodes: rs_stop_pids 5 on every pid in RS_NODE_PIDS, then forgets them.
rs_stop_nodes() {
  rs_stop_pids 5 "${RS_NODE_PIDS[@]}"
  RS_NODE_PIDS=()
}
