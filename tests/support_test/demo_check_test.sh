#!/usr/bin/env bash
# Runs `scripts/demo.sh --check` on a free block of ports in a temp dir, then checks that no
# process it started is left. Usage: demo_check_test.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=$1
BUILD=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/rs-demo-check-XXXXXX")
trap 'rm -rf "$dir"' EXIT

# Ten consecutive ports free on 127.0.0.1-3 (8 nodes with their bus ports, then the admin API and
# the proxy), away from the usual 7001.
base=$(python3 - <<'PY'
import random, socket, sys
def free(host, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    base = random.randrange(20000, 29990)
    if all(free(h, p) for p in range(base, base + 10) for h in ("127.0.0.1", "127.0.0.2", "127.0.0.3")
           for p in (p, p + 10000)):
        print(base)
        sys.exit(0)
sys.exit("no free block of ports")
PY
)

out="$dir/demo.out"
DEMO_SKIP_SETUP=1 DEMO_DIR="$dir/nodes" DEMO_BASE_PORT="$base" DEMO_NODE_TIMEOUT=2000 \
  DEMO_ADMIN="127.0.0.1:$((base + 8))" DEMO_PROXY="127.0.0.1:$((base + 9))" BUILD_DIR="$BUILD" \
  "$ROOT/scripts/demo.sh" --check >"$out" 2>&1 || {
  cat "$out"
  exit 1
}
cat "$out"
grep -q "^demo check: ok" "$out"
pids=$(sed -n 's/^demo: stopping redis-ctl, redis-proxy and redis-server pids //p' "$out")
[ "$(echo "$pids" | wc -w)" = 10 ] || { echo "expected 10 pids, got '$pids'"; exit 1; }
for pid in $pids; do
  if [ -e "/proc/$pid" ] && ! grep -q '^State:.*[ZX]' "/proc/$pid/status" 2>/dev/null; then
    echo "pid $pid is still running after the demo"
    exit 1
  fi
done
echo "demo check test: ok (ports $base..$((base + 9)))"
