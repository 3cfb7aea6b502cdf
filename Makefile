# Entry points for people and CI. `make demo` / `make test` work on a fresh
# Debian machine that has Rust (cargo) installed: `setup` installs Elixir.

# rustup installs cargo here; make sure it is found even if PATH lacks it.
export PATH := $(HOME)/.cargo/bin:$(PATH)

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: setup demo test bench

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

demo: setup
	mix run examples/demo.exs

test: setup
	mix test

bench: setup
	MIX_ENV=prod mix run bench/core.exs
