#!/bin/sh
# Runs the console browser test; installs playwright-core from the lockfile on first use.
# Exit 77 (ctest: skipped) when chromium or node is not installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
chromium=${RS_CHROMIUM:-/usr/bin/chromium}
if ! command -v node >/dev/null 2>&1 || [ ! -x "$chromium" ]; then
  echo "skipped: needs node and $chromium (Debian package chromium)"
  exit 77
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi
exec node "$here/console_test.mjs"
