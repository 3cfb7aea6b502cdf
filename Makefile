# Entry points for people and CI. `make demo` / `make test` work on a fresh
# Debian machine that has Rust (cargo) installed: `setup` installs Elixir.

# rustup installs cargo here; make sure it is found even if PATH lacks it.
export PATH := $(HOME)/.cargo/bin:$(PATH)

# Optional dependencies (telemetry) come from Hex for users; on machines without Hex access,
# from a folder of package sources (mix.exs reads WASMEX_DEPS_DIR): the variable's own value,
# else ../shared/hex beside the repository, else /work/shared/hex.
WASMEX_DEPS_DIR ?= $(firstword $(abspath $(wildcard $(CURDIR)/../shared/hex /work/shared/hex)))
ifneq ($(WASMEX_DEPS_DIR),)
export WASMEX_DEPS_DIR
endif

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: setup deps demo chat-room-component test bench cargo-test spec docs phoenix-test

setup:
	@if ! command -v mix >/dev/null 2>&1; then \
		echo "==> mix not found: installing Elixir and Erlang from apt"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y elixir erlang-dev erlang-nox; \
	fi
	@if ! command -v cargo >/dev/null 2>&1; then \
		echo "error: cargo not found; install Rust (https://rustup.rs) to build the NIF" >&2; \
		exit 1; \
	fi

demo: deps
	mix run examples/demo.exs
	@$(MAKE) --no-print-directory chat-room-component
	mix run examples/chat_room.exs

# The chat-room demo's component is built from JavaScript with componentize-js,
# which needs Node.js 20+ and npm (wasm/chat_room/build.sh checks the version;
# Debian 12's own nodejs is 18: a machine without npm needs a newer Node.js).
chat-room-component:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "==> npm not found: installing Node.js and npm from apt"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm; \
	fi
	bash wasm/chat_room/build.sh

# Without a folder of package sources, the optional dependencies come from Hex.
deps: setup
	@if [ -z "$(WASMEX_DEPS_DIR)" ]; then mix local.hex --force --if-missing && mix deps.get; fi

test: deps
	mix test

# The folder of package sources found above (empty: Hex).
DEPS_DIR := $(WASMEX_DEPS_DIR)

# The HTML docs in doc/ (ExDoc, MIX_ENV=docs); warnings fail the build, and so
# does a public module or function without docs and an example (tools/doc_gaps.exs).
docs: setup
	@if [ -z "$(DEPS_DIR)" ]; then MIX_ENV=docs mix deps.get; fi
	WASMEX_DEPS_DIR=$(DEPS_DIR) mix docs --warnings-as-errors
	WASMEX_DEPS_DIR=$(DEPS_DIR) MIX_ENV=docs mix run tools/doc_gaps.exs --strict

# The LiveView chat example in a real browser (examples/phoenix_chat/test/browser):
# Debian's chromium driven by puppeteer-core; builds the chat-room component first.
phoenix-test: setup chat-room-component
	@if ! command -v chromium >/dev/null 2>&1 && [ -z "$$CHROMIUM" ]; then \
		echo "==> chromium not found: installing it from apt"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi
	WASMEX_DEPS_DIR=$(DEPS_DIR) bash examples/phoenix_chat/test/browser/run.sh

# The WebAssembly core spec tests through the public API (a few minutes; not part of `test`).
# Installs wasm-tools with cargo when missing. SPEC_ARGS="--only f32,i32 --failures 20".
spec: deps
	mix run spec/run.exs $(SPEC_ARGS)

bench: deps
	MIX_ENV=prod mix run bench/core.exs

# Rust unit tests of the NIF crate, like `cargo test --release`. Plain `cargo
# test` cannot link a NIF's test harness on Linux: the enif_* symbols exist only
# inside the BEAM. So build the same harness with `cargo rustc --profile bench`
# (the dependencies are shared with `cargo build --release`), link it with GNU
# ld as a non-PIE executable that leaves those symbols unresolved, and run it.
# Unit tests must therefore not call into the NIF API. ARGS go to the harness.
CRATE_MANIFEST := native/wasmex/Cargo.toml
NIF_TEST_LINK_ARGS := -C link-arg=-fuse-ld=bfd -C link-arg=-no-pie \
	-C link-arg=-Wl,--unresolved-symbols=ignore-all

cargo-test:
ifeq ($(shell uname -s),Linux)
	@exe=$$(cargo rustc --manifest-path $(CRATE_MANIFEST) --lib --profile bench \
		--message-format=json-render-diagnostics -- $(NIF_TEST_LINK_ARGS) \
		| sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1); \
	if [ -z "$$exe" ]; then echo "error: building the unit-test harness failed" >&2; exit 1; fi; \
	echo "Running $$exe"; \
	"$$exe" $(ARGS)
else
	cargo test --release --manifest-path $(CRATE_MANIFEST) -- $(ARGS)
endif
