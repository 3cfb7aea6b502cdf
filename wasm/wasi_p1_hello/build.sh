#!/usr/bin/env bash
# Builds the WASI Preview 1 guest and installs it as a test fixture.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixtures="$here/../../test/fixtures"

rustup target add wasm32-wasip1
cargo build --release --target wasm32-wasip1 --manifest-path "$here/Cargo.toml"

mkdir -p "$fixtures"
cp "$here/target/wasm32-wasip1/release/wasi_p1_hello.wasm" "$fixtures/wasi_p1_hello.wasm"
echo "wrote test/fixtures/wasi_p1_hello.wasm ($(wc -c < "$fixtures/wasi_p1_hello.wasm") bytes)"
