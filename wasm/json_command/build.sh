#!/usr/bin/env bash
# Builds the JSON command for WASI Preview 1 (a core module) and Preview 2 (a component) and
# installs both as test fixtures: test/fixtures/json_command.wasm and
# test/fixtures/components/json_command.wasm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixtures="$here/../../test/fixtures"

rustup target add wasm32-wasip1 wasm32-wasip2
cargo build --release --target wasm32-wasip1 --manifest-path "$here/Cargo.toml"
cargo build --release --target wasm32-wasip2 --manifest-path "$here/Cargo.toml"

mkdir -p "$fixtures/components"
cp "$here/target/wasm32-wasip1/release/json_command.wasm" "$fixtures/json_command.wasm"
cp "$here/target/wasm32-wasip2/release/json_command.wasm" "$fixtures/components/json_command.wasm"
echo "wrote test/fixtures/json_command.wasm ($(wc -c < "$fixtures/json_command.wasm") bytes)"
echo "wrote test/fixtures/components/json_command.wasm ($(wc -c < "$fixtures/components/json_command.wasm") bytes)"
