#!/usr/bin/env bash
# Builds the `component_imports` guest (a WASI Preview 2 component) and installs
# it as a test fixture.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixtures="$here/../../test/fixtures/components"

rustup target add wasm32-wasip2
cargo build --release --target wasm32-wasip2 --manifest-path "$here/Cargo.toml"

mkdir -p "$fixtures"
cp "$here/target/wasm32-wasip2/release/component_imports.wasm" "$fixtures/component_imports.wasm"
echo "wrote test/fixtures/components/component_imports.wasm ($(wc -c < "$fixtures/component_imports.wasm") bytes)"
