# The compiled-code cache on disk: MIX_ENV=prod mix run bench/cache.exs
#
# A component server's start (`Wasmex.Components.start_link/1`), first boot (an empty cache
# directory: Cranelift compiles, the file is written) against later boots (the file is
# verified and loaded). Each boot uses a new engine, so the in-memory cache (per engine) cannot
# answer, as in a new VM. Uses the chat-room component (`make chat-room-component`) when it is
# built, else the largest committed component fixture; the table names the file. BENCH_SMOKE=1
# checks the script quickly (the fixture, fewer runs).
# All timed code lives in modules (compiled).

Code.require_file("support/harness.exs", __DIR__)

defmodule Bench.Cache do
  @moduledoc false

  alias Bench.Harness, as: H

  @root Path.expand("..", __DIR__)

  def run do
    H.machine_info()
    path = H.big_component()
    bytes = File.read!(path)
    dir = Path.join(System.tmp_dir!(), "wasmex_bench_cache_#{System.os_time()}")

    H.heading("Component server start: compile vs compiled-code cache")
    IO.puts("#{Path.relative_to(path, @root)}: #{H.fmt_bytes(byte_size(bytes))}\n")

    {uncached_runs, cached_runs} = if H.smoke?(), do: {1, 3}, else: {2, 10}
    uncached = for _ <- 1..uncached_runs, do: boot(bytes, nil)
    first = boot(bytes, dir)
    cached = for _ <- 1..cached_runs, do: boot(bytes, dir)
    [file] = File.ls!(dir)
    File.rm_rf!(dir)

    H.table(["boot", "runs", "median", "max"], [
      row("no cache (compile)", uncached),
      row("first boot, empty cache (compile + write)", [first]),
      row("second boot on (load the cached file)", cached)
    ])

    IO.puts("cache file: #{file}")
  end

  defp row(label, samples) do
    stats = H.stats(samples)
    [label, length(samples), H.fmt_ns(stats.median), H.fmt_ns(stats.max)]
  end

  # One server start with a new engine caching in `dir` (nil: no cache), in nanoseconds.
  defp boot(bytes, dir) do
    {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{cache_dir: dir})
    {:ok, store} = Wasmex.Components.Store.new_wasi(%Wasmex.Wasi.WasiP2Options{}, nil, engine)
    imports = %{"publish-message" => {:fn, fn _message -> :ok end}}
    started = :erlang.monotonic_time(:nanosecond)
    {:ok, pid} = Wasmex.Components.start_link(bytes: bytes, store: store, imports: imports)
    elapsed = :erlang.monotonic_time(:nanosecond) - started
    GenServer.stop(pid)
    elapsed
  end
end

Bench.Cache.run()
