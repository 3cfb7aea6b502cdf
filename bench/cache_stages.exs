# The cached boot of a component server, stage by stage: MIX_ENV=prod mix run bench/cache_stages.exs
#
# Fills a cache directory once, then times each stage of a second boot with a new engine (as
# in a new VM): reading the source, loading the compiled component from the cache
# (`Component.new`: hashing the source for the key, verifying and mapping the cached file),
# instantiating it in a WASI store, and the whole `Wasmex.Components.start_link/1` for
# comparison. The stages inside the load are in the Rust profile (native/wasmex/src/cache/
# disk_profile_tests.rs). Uses the chat-room component when built, else the largest fixture.
# All timed code lives in modules (compiled).

Code.require_file("support/harness.exs", __DIR__)

defmodule Bench.CacheStages do
  @moduledoc false

  alias Bench.Harness, as: H
  alias Wasmex.Components.{Component, Instance, Store}

  @root Path.expand("..", __DIR__)
  @chat_room Path.join(@root, "wasm/chat_room/chat-room.wasm")
  @fixtures Path.join(@root, "test/fixtures/components")
  @imports %{"publish-message" => {:fn, &__MODULE__.publish/1}}
  @runs 10

  def publish(_message), do: :ok

  def run do
    H.machine_info()
    path = component()
    dir = Path.join(System.tmp_dir!(), "wasmex_bench_stages_#{System.os_time()}")
    bytes = File.read!(path)
    {:ok, _} = Component.new(store(dir), bytes)

    H.heading("Cached boot, stage by stage")
    IO.puts("#{Path.relative_to(path, @root)}: #{H.fmt_bytes(byte_size(bytes))}\n")

    rows = [
      stage("read the source file", fn -> fn -> File.read!(path) end end),
      stage("new engine + WASI store", fn -> fn -> store(dir) end end),
      stage("Component.new (key, verify, map the cached file)", fn ->
        store = store(dir)
        fn -> {:ok, _} = Component.new(store, bytes) end
      end),
      stage("Instance.new (instantiate in the WASI store)", fn ->
        {store, component} = compiled(dir, bytes)
        fn -> {:ok, _} = Instance.new(store, component, @imports) end
      end),
      stage("Components.start_link (compile + instantiate + server)", fn ->
        store = store(dir)

        fn ->
          {:ok, _} = Wasmex.Components.start_link(bytes: bytes, store: store, imports: @imports)
        end
      end)
    ]

    File.rm_rf!(dir)
    H.table(["stage", "runs", "min", "median", "max"], rows)
  end

  # `prepare.()` makes what a run needs (untimed) and returns the timed function.
  defp stage(label, prepare) do
    samples =
      for _ <- 1..@runs do
        {ns, _} = H.time(prepare.())
        ns
      end

    row(label, samples)
  end

  defp row(label, samples) do
    stats = H.stats(samples)
    [label, length(samples), H.fmt_ns(stats.min), H.fmt_ns(stats.median), H.fmt_ns(stats.max)]
  end

  defp store(dir) do
    {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{cache_dir: dir})
    {:ok, store} = Store.new_wasi(%Wasmex.Wasi.WasiP2Options{}, nil, engine)
    store
  end

  defp compiled(dir, bytes) do
    store = store(dir)
    {:ok, component} = Component.new(store, bytes)
    {store, component}
  end

  defp component do
    if File.exists?(@chat_room) do
      @chat_room
    else
      @fixtures |> Path.join("*.wasm") |> Path.wildcard() |> Enum.max_by(&File.stat!(&1).size)
    end
  end
end

Bench.CacheStages.run()
