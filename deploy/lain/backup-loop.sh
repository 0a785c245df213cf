#!/bin/sh
# A cron-like lain proc: every BACKUP_EVERY_S seconds it asks redis-ctl for a backup of its event
# log (POST /v1/backup). redis-ctl writes the verified checkpoint under its own --backup-dir, on
# its persistent dir (a proc cannot write into another proc's volume), and removes its
# automatically named backups beyond the newest BACKUP_KEEP. docs/operations.md has the
# lain.yaml snippet.
#
# Environment:
#   REDIS_CTL_URL               redis-ctl's admin URL (default http://redis-ctl-1.<app>.lain:8080, the
#                               instance name lain's DNS gives the proc)
#   REDIS_CTL_ADMIN_TOKEN_FILE  file of admin tokens (a lain secret_file); its first
#                               name:secret line is used
#   BACKUP_EVERY_S              seconds between backups (default 3600)
#   BACKUP_KEEP                 backups to keep (default 24)
set -eu

die() { printf 'backup-loop: %s\n' "$*" >&2; exit 1; }

[ -n "${REDIS_CTL_ADMIN_TOKEN_FILE:-}" ] || die "REDIS_CTL_ADMIN_TOKEN_FILE is not set"
[ -r "$REDIS_CTL_ADMIN_TOKEN_FILE" ] || die "cannot read $REDIS_CTL_ADMIN_TOKEN_FILE"
url=${REDIS_CTL_URL:-http://redis-ctl-1.${LAIN_APPNAME:?LAIN_APPNAME is not set}.lain:8080}
every=${BACKUP_EVERY_S:-3600}
keep=${BACKUP_KEEP:-24}
case "$every$keep" in *[!0-9]*) die "BACKUP_EVERY_S and BACKUP_KEEP must be whole numbers" ;; esac
[ "$keep" -ge 1 ] || die "BACKUP_KEEP must be at least 1"

# The secret of the first token line ("name:secret", or a bare secret).
secret=$(grep -v '^[[:space:]]*#' "$REDIS_CTL_ADMIN_TOKEN_FILE" | grep -v '^[[:space:]]*$' | head -n 1)
secret=${secret#*:}
[ -n "$secret" ] || die "no token in $REDIS_CTL_ADMIN_TOKEN_FILE"

trap 'exit 0' TERM INT
while :; do
  # A failed backup is logged and tried again at the next round; the proc keeps running.
  if answer=$(curl -sS --fail-with-body --max-time 600 -X POST -H "Authorization: Bearer $secret" \
      -H 'Content-Type: application/json' -d "{\"keep\": $keep}" "$url/v1/backup" 2>&1); then
    printf '%s backup: %s\n' "$(date -u +%FT%TZ)" "$answer"
  else
    printf '%s backup failed: %s\n' "$(date -u +%FT%TZ)" "$answer" >&2
  fi
  sleep "$every" &
  wait $! || true
done
