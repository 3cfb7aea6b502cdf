#!/usr/bin/env bash
# Builds one Rust component guest under wasm/ (a WASI Preview 2 component) and installs it as a
# test fixture: `wasm/build_component.sh component_types`. Each guest's build.sh calls this.
set -euo pipefail

name="$1"
wasm="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
here="$wasm/$name"
fixtures="$wasm/../test/fixtures/components"

rustup target add wasm32-wasip2
cargo build --release --target wasm32-wasip2 --manifest-path "$here/Cargo.toml"

mkdir -p "$fixtures"
cp "$here/target/wasm32-wasip2/release/$name.wasm" "$fixtures/$name.wasm"
echo "wrote test/fixtures/components/$name.wasm ($(wc -c < "$fixtures/$name.wasm") bytes)"
