#!/usr/bin/env bash
# Builds chat-room.wasm, the WebAssembly component of examples/chat_room.exs,
# from chat-room.js and chat-room.wit with componentize-js (pinned in
# package.json and package-lock.json, installed into node_modules/ here).
#
# Needs Node.js 20 or later with npm and the npm registry. The result is about
# 12 MB (the SpiderMonkey engine is inside) and is not committed: it and
# node_modules/ are in .gitignore. Does nothing when chat-room.wasm is newer
# than its sources.
set -euo pipefail
cd "$(dirname "$0")"

out=chat-room.wasm
sources=(chat-room.js chat-room.wit package.json package-lock.json build.sh)

up_to_date=true
if [ -f "$out" ]; then
    for src in "${sources[@]}"; do
        if [ "$src" -nt "$out" ]; then up_to_date=false; fi
    done
else
    up_to_date=false
fi
if $up_to_date; then
    echo "==> wasm/chat_room/$out is up to date"
    exit 0
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "error: building the chat-room component needs Node.js (20 or later) and npm" >&2
    exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    echo "error: building the chat-room component needs Node.js 20 or later, found $(node --version)" >&2
    exit 1
fi

# npm ci writes node_modules/.package-lock.json: reinstall only when the lock
# file changed since.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "==> installing componentize-js (npm ci in wasm/chat_room)"
    npm ci --no-audit --no-fund
fi

# http (fetch) and fetch-event are disabled: the room needs no network, and
# without them the component imports no wasi:http interface, so a host need
# not link wasi:http to instantiate it. (With them it imports
# wasi:http/types and wasi:http/outgoing-handler.)
echo "==> building wasm/chat_room/$out from chat-room.js with componentize-js $(node -p 'require("./node_modules/@bytecodealliance/componentize-js/package.json").version')"
node_modules/.bin/componentize-js chat-room.js \
    --wit chat-room.wit \
    --world-name chat-room \
    --disable http fetch-event \
    --out "$out.tmp"
mv "$out.tmp" "$out"
echo "==> built wasm/chat_room/$out ($(wc -c <"$out") bytes)"
