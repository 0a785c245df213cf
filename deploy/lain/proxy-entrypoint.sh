#!/bin/sh
# Entrypoint of the portal `portal-redis`: one redis-proxy per client node, on port 8889. The proxy
# follows the controller's committed topology, reached through the instance name lain's DNS gives
# the `redis-ctl` proc (redis-ctl-1.<app>.lain, which follows the instance when it moves), and
# watches lainlet (procwatcher, the service app) for the `redis` nodes, whose CLUSTER SLOTS it
# uses while the controller is unreachable. The nodes' DNS names (redis-<n>.<app>.lain) are the
# fixed seeds for when lainlet has nothing either (it answers [] for a while after its daily
# restart).
#
# Environment (all optional):
#   LAINLET_ADDR               lainlet host:port (default lainlet.lain:9001)
#   REDIS_CTL_URL              the controller's URL (default http://<ctl proc>-1.<app>.lain:<port>)
#   REDIS_CTL_PROC, REDIS_CTL_PORT   the controller's proc and admin port (redis-ctl, 8080)
#   REDIS_PROC, REDIS_PORT     the Redis nodes' proc and port (redis, 6379)
#   REDIS_NUM_INSTANCES        nodes to name as fixed seeds (default 6)
#   REDIS_PROXY_LISTEN         default 0.0.0.0:8889
#   REDIS_PROXY_THREADS        worker threads (default 2)
#   REDIS_PASSWORD(_FILE)      the nodes' password (passed to redis-proxy as REDIS_PASSWORD)
#   REDIS_PROXY_PASSWORD(_FILE)  the password clients AUTH with (as REDIS_PROXY_PASSWORD)
#   REDIS_PROXY                the binary (default: redis-proxy on PATH)
#   REDIS_PROXY_ENTRYPOINT_DRY_RUN=1  print the command, one argument a line, and exit
# Arguments are passed on to redis-proxy.
set -eu

log() { printf 'proxy-entrypoint: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -n "${LAIN_APPNAME:-}" ] || die "LAIN_APPNAME is not set: this entrypoint is for a lain portal"
app=$LAIN_APPNAME
lainlet=${LAINLET_ADDR:-lainlet.lain:9001}
ctl_proc=${REDIS_CTL_PROC:-redis-ctl}
ctl_port=${REDIS_CTL_PORT:-8080}
redis_proc=${REDIS_PROC:-redis}
redis_port=${REDIS_PORT:-6379}

secret() {  # secret VAR FILE_VAR: the value, from the file when one is named
  eval "file=\${$2:-}"
  if [ -n "$file" ]; then
    [ -r "$file" ] || die "cannot read $2 $file"
    head -n 1 "$file"
  else
    eval "printf '%s' \"\${$1:-}\""
  fi
}
backend_password=$(secret REDIS_PASSWORD REDIS_PASSWORD_FILE)
client_password=$(secret REDIS_PROXY_PASSWORD REDIS_PROXY_PASSWORD_FILE)

controller=${REDIS_CTL_URL:-http://$ctl_proc-1.$app.lain:$ctl_port}
seeds=""
n=1
while [ "$n" -le "${REDIS_NUM_INSTANCES:-6}" ]; do
  seeds="$seeds${seeds:+,}$redis_proc-$n.$app.lain:$redis_port"
  n=$((n + 1))
done

set -- --listen "${REDIS_PROXY_LISTEN:-0.0.0.0:8889}" \
  --threads "${REDIS_PROXY_THREADS:-2}" \
  --controller "$controller" \
  --discovery "lainlet:$lainlet" --appname "$app" --redis-proc "$redis_proc" \
  --seeds "$seeds" \
  "$@"
# Passwords reach redis-proxy through its environment (REDIS_PASSWORD, REDIS_PROXY_PASSWORD), not
# its command line, which ps shows to everyone.
unset REDIS_PASSWORD REDIS_PROXY_PASSWORD
if [ -n "$backend_password" ]; then
  REDIS_PASSWORD=$backend_password
  export REDIS_PASSWORD
fi
if [ -n "$client_password" ]; then
  REDIS_PROXY_PASSWORD=$client_password
  export REDIS_PROXY_PASSWORD
fi

if [ "${REDIS_PROXY_ENTRYPOINT_DRY_RUN:-0}" = 1 ]; then
  printf '%s\n' "${REDIS_PROXY:-redis-proxy}" "$@"
  exit 0
fi
log "controller $controller, nodes from lainlet $lainlet (proc $redis_proc), seeds $seeds"
exec "${REDIS_PROXY:-redis-proxy}" "$@"
