#!/bin/sh
# Entrypoint of the lain proc `redis-ctl`. lain splits a proc's `cmd` on spaces without a shell, so
# anything that needs the environment ($LAIN_APPNAME, secret files) is resolved here.
#
# Environment (all optional):
#   REDIS_CTL_DATA_DIR          event log dir (default /data/eventlog, on the persistent dir)
#   REDIS_CTL_BACKUP_DIR        where POST /v1/backup writes (default: backups beside the data
#                               dir, /data/backups on the persistent dir)
#   REDIS_CTL_LISTEN            admin HTTP address (default 0.0.0.0:8080, the proc's port)
#   REDIS_CTL_REDIS_PROC        proc whose instances are the Redis nodes (default redis)
#   REDIS_PASSWORD_FILE         file holding the nodes' password (a lain secret_file)
#   REDIS_CTL_ADMIN_TOKEN_FILE  file of admin tokens, one name:secret a line (a lain secret_file),
#                               passed as --admin-token-file
#   LAINLET_ADDR                lainlet host:port (redis-ctl's default: lainlet.lain:9001)
#   REDIS_CTL                   the binary (default: redis-ctl on PATH)
# Arguments are passed on to redis-ctl (e.g. --replicas 1 --min-masters 3).
set -eu

die() { printf 'ctl-entrypoint: %s\n' "$*" >&2; exit 1; }

[ -n "${LAIN_APPNAME:-}" ] || die "LAIN_APPNAME is not set: this entrypoint is for a lain proc"
if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
  [ -r "$REDIS_PASSWORD_FILE" ] || die "cannot read REDIS_PASSWORD_FILE $REDIS_PASSWORD_FILE"
  REDIS_PASSWORD=$(head -n 1 "$REDIS_PASSWORD_FILE")
  export REDIS_PASSWORD
fi
if [ -n "${REDIS_CTL_ADMIN_TOKEN_FILE:-}" ]; then
  [ -r "$REDIS_CTL_ADMIN_TOKEN_FILE" ] || die "cannot read REDIS_CTL_ADMIN_TOKEN_FILE"
  set -- --admin-token-file "$REDIS_CTL_ADMIN_TOKEN_FILE" "$@"
fi

data_dir=${REDIS_CTL_DATA_DIR:-/data/eventlog}
exec "${REDIS_CTL:-redis-ctl}" \
  --data-dir "$data_dir" \
  --backup-dir "${REDIS_CTL_BACKUP_DIR:-$(dirname "$data_dir")/backups}" \
  --listen "${REDIS_CTL_LISTEN:-0.0.0.0:8080}" \
  --discovery lainlet \
  --appname "$LAIN_APPNAME" \
  --redis-proc "${REDIS_CTL_REDIS_PROC:-redis}" \
  "$@"
