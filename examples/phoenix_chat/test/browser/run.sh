#!/usr/bin/env bash
# The phoenix_chat example's browser test (`make phoenix-test` in the
# repository root): starts the app with MIX_ENV=test, then drives Debian's
# chromium through it with puppeteer-core (chat.test.mjs, node's test runner).
#
# Needs: chromium (CHROMIUM names another binary), Node.js 20+ with npm, and
# the chat-room component (make chat-room-component). Dependencies come from
# Hex, or from the package sources in WASMEX_DEPS_DIR when that is set.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
app="$(cd "$here/../.." && pwd)"
port="${PORT:-4012}"
log="$here/server.log"

chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [ -z "$chromium" ]; then
  echo "error: chromium not found (apt-get install chromium, or set CHROMIUM)" >&2
  exit 1
fi

cd "$here"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing puppeteer-core (npm ci in test/browser)"
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

cd "$app"
if [ -z "${WASMEX_DEPS_DIR:-}" ]; then
  MIX_ENV=test mix deps.get
fi
echo "==> compiling the example (MIX_ENV=test)"
MIX_ENV=test mix compile

echo "==> starting the app on port $port (log: $log)"
MIX_ENV=test PORT="$port" mix run --no-halt >"$log" 2>&1 &
server=$!
stop() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
trap stop EXIT

# The first start compiles the 12 MB component (seconds, more on a busy machine).
for _ in $(seq 1 600); do
  if curl -fs -o /dev/null "http://127.0.0.1:$port/"; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "error: the app exited; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
if ! curl -fs -o /dev/null "http://127.0.0.1:$port/"; then
  echo "error: the app did not answer on port $port within 300 s; its log:" >&2
  cat "$log" >&2
  exit 1
fi

echo "==> running the browser test with $chromium"
cd "$here"
status=0
CHAT_URL="http://127.0.0.1:$port" CHROMIUM="$chromium" node --test chat.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "==> the app's log:" >&2
  cat "$log" >&2
fi
exit "$status"
