#!/usr/bin/env bash
# Builds the `component_wasi` guest (a WASI Preview 2 component) and installs
# it as a test fixture.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixtures="$here/../../test/fixtures/components"

rustup target add wasm32-wasip2
cargo build --release --target wasm32-wasip2 --manifest-path "$here/Cargo.toml"

mkdir -p "$fixtures"
cp "$here/target/wasm32-wasip2/release/component_wasi.wasm" "$fixtures/component_wasi.wasm"
echo "wrote test/fixtures/components/component_wasi.wasm ($(wc -c < "$fixtures/component_wasi.wasm") bytes)"
