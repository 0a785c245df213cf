#!/bin/sh
# Entrypoint of the portal `portal-redis`: one redis-proxy per client node, on port 8889. It asks
# lainlet (procwatcher, the service app) where the `redis-ctl` instance and the `redis` nodes are,
# and starts redis-proxy following the controller's topology with the nodes as fallback seeds.
# The proxy itself keeps working without the controller (CLUSTER SLOTS from the seeds, MOVED/ASK).
#
# When lainlet does not answer with usable data (it restarts daily and answers [] while its cache
# fills), the instance host names lain's DNS gives every proc are used instead:
# redis-ctl-1.<app>.lain and redis-<n>.<app>.lain.
#
# Environment (all optional):
#   LAINLET_ADDR               lainlet host:port (default lainlet.lain:9001)
#   REDIS_CTL_PROC, REDIS_CTL_PORT   the controller's proc and admin port (redis-ctl, 8080)
#   REDIS_PROC, REDIS_PORT     the Redis nodes' proc and port (redis, 6379)
#   REDIS_NUM_INSTANCES        nodes to name in the DNS fallback (default 6)
#   REDIS_PROXY_LISTEN         default 0.0.0.0:8889
#   REDIS_PROXY_THREADS        worker threads (default 2)
#   REDIS_PASSWORD(_FILE)      the nodes' password: --backend-password
#   REDIS_PROXY_PASSWORD(_FILE)  the password clients AUTH with: --requirepass
#   REDIS_PROXY_LAINLET_TRIES  lainlet attempts before the DNS fallback (default 5, 2 s apart)
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
tries=${REDIS_PROXY_LAINLET_TRIES:-5}

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

# Prints "controller URL" and "seeds host:port,..." from a procwatcher body on stdin. Pods without
# an IP (not yet inspected) are skipped; the group order is random, so groups are found by ProcName.
parse_procwatcher() {
  python3 -c '
import json, sys
ctl_proc, ctl_port, redis_proc, redis_port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ctl, seeds = [], []
for group in json.load(sys.stdin) or []:
    for pod in group.get("proc") or []:
        ip, name, no = pod.get("IP") or "", pod.get("ProcName") or "", pod.get("InstanceNo", 0)
        if not ip:
            continue
        if name == ctl_proc:
            ctl.append((no, "http://%s:%d" % (ip, ctl_port)))
        elif name == redis_proc:
            seeds.append((no, "%s:%d" % (ip, pod.get("Port") or redis_port)))
if ctl:
    print("controller", sorted(ctl)[0][1])
if seeds:
    print("seeds", ",".join(s for _, s in sorted(seeds)))
' "$ctl_proc" "$ctl_port" "$redis_proc" "$redis_port"
}

controller=""
seeds=""
i=0
while [ "$i" -lt "$tries" ]; do
  i=$((i + 1))
  if body=$(curl -fsS --max-time 5 "http://$lainlet/v2/procwatcher/?appname=$app" 2>/dev/null) &&
     found=$(printf '%s' "$body" | parse_procwatcher 2>/dev/null); then
    controller=$(printf '%s\n' "$found" | awk '$1 == "controller" { print $2 }')
    seeds=$(printf '%s\n' "$found" | awk '$1 == "seeds" { print $2 }')
    [ -n "$seeds" ] && break
  fi
  log "lainlet $lainlet gave no $redis_proc nodes for $app (attempt $i of $tries)"
  [ "$i" -lt "$tries" ] && sleep 2
done

if [ -z "$seeds" ]; then
  n=1
  while [ "$n" -le "${REDIS_NUM_INSTANCES:-6}" ]; do
    seeds="$seeds${seeds:+,}$redis_proc-$n.$app.lain:$redis_port"
    n=$((n + 1))
  done
  log "using lain DNS names as seeds: $seeds"
fi
if [ -z "$controller" ]; then
  controller="http://$ctl_proc-1.$app.lain:$ctl_port"
  log "using the controller's lain DNS name: $controller"
fi

set -- --listen "${REDIS_PROXY_LISTEN:-0.0.0.0:8889}" \
  --threads "${REDIS_PROXY_THREADS:-2}" \
  --controller "$controller" \
  --seeds "$seeds" \
  "$@"
[ -n "$backend_password" ] && set -- --backend-password "$backend_password" "$@"
[ -n "$client_password" ] && set -- --requirepass "$client_password" "$@"

if [ "${REDIS_PROXY_ENTRYPOINT_DRY_RUN:-0}" = 1 ]; then
  printf '%s\n' "${REDIS_PROXY:-redis-proxy}" "$@"
  exit 0
fi
log "controller $controller, seeds $seeds"
exec "${REDIS_PROXY:-redis-proxy}" "$@"
