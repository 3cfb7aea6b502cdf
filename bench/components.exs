# Component benchmarks: MIX_ENV=prod mix run bench/components.exs
#
# Uses the committed fixtures test/fixtures/components/component_types.wasm and
# component_imports.wasm (sources in wasm/), and the hand-written component of
# test/support/flat_list_fixtures.ex (numeric lists). All timed code lives in modules
# (compiled). BENCH_ONLY=lists runs only the numeric list rows.

Code.require_file("support/harness.exs", __DIR__)
Code.require_file("../test/support/flat_list_fixtures.ex", __DIR__)

defmodule Bench.Components do
  @moduledoc false

  alias Bench.Harness, as: H
  alias Wasmex.Components.{Component, Instance, Store}

  @fixtures Path.expand("../test/fixtures/components", __DIR__)

  def run do
    H.machine_info()
    {:ok, store} = Store.new()
    types = File.read!(Path.join(@fixtures, "component_types.wasm"))
    {:ok, component} = Component.new(store, types)
    {:ok, instance} = Instance.new(store, component, %{})
    # The same component with `list<u8>` results as binaries.
    {:ok, bcomponent} = Component.new(store, types, list_u8: :binary)
    {:ok, binstance} = Instance.new(store, bcomponent, %{})

    small = String.duplicate("x", 10)
    big = String.duplicate("y", 100_000)
    bytes = :crypto.strong_rand_bytes(1_048_576)

    record = %{
      "first-name" => "Ada",
      "age-years" => 36,
      "tags" => ["a", "b", "c"],
      "maybe-points" => {:some, for(i <- 1..20, do: %{"x" => i, "y" => -i})}
    }

    {:ok, ^small} = Instance.call(instance, "echo-string", [small])
    {:ok, ^big} = Instance.call(instance, "echo-string", [big])
    {:ok, list} = Instance.call(instance, "echo-list-u8", [bytes])
    1_048_576 = length(list)
    {:ok, ^bytes} = Instance.call(binstance, "echo-list-u8", [bytes])

    rows = [
      row(
        "echo-string, 10 bytes",
        20_000,
        fn -> Instance.call(instance, "echo-string", [small]) end,
        2_000
      ),
      row(
        "echo-string, 100 KB",
        2_000,
        fn -> Instance.call(instance, "echo-string", [big]) end,
        200
      ),
      row(
        "memcpy of the same 100 KB (`:binary.copy/1`, reference)",
        2_000,
        fn -> :binary.copy(big) end,
        200
      ),
      row(
        "echo-kebab-record (record with 20-point option<list<record>>)",
        20_000,
        fn -> Instance.call(instance, "echo-kebab-record", [record]) end,
        2_000
      ),
      row(
        "make-points(1000) (list of 1000 records out)",
        2_000,
        fn -> Instance.call(instance, "make-points", [1000]) end,
        200
      ),
      row(
        "echo-list-u8, 1 MiB binary in, list out",
        30,
        fn -> Instance.call(instance, "echo-list-u8", [bytes]) end,
        3
      ),
      row(
        "echo-list-u8, 1 MiB binary in, binary out (`list_u8: :binary`)",
        300,
        fn -> Instance.call(binstance, "echo-list-u8", [bytes]) end,
        20
      ),
      row(
        "memcpy of the same 1 MiB twice (`:binary.copy/1`, reference)",
        300,
        fn -> :binary.copy(:binary.copy(bytes)) end,
        20
      ),
      row(
        "add(1, 2) (baseline small call)",
        20_000,
        fn -> Instance.call(instance, "add", [1, 2]) end,
        2_000
      )
    ]

    {:ok, pid} = Wasmex.Components.start_link(bytes: types)

    server_row =
      row(
        "Wasmex.Components.call_function(pid, \"echo-string\", [10 bytes])",
        20_000,
        fn -> Wasmex.Components.call_function(pid, "echo-string", [small]) end,
        2_000
      )

    imports_bytes = File.read!(Path.join(@fixtures, "component_imports.wasm"))
    {:ok, istore} = Store.new()
    {:ok, icomponent} = Component.new(istore, imports_bytes)

    imports = %{
      "host-add" => {:fn, &__MODULE__.host_add/2},
      "host-fail" => {:fn, fn -> {:ok, 1} end},
      "wasmex:test/host@0.1.0" => %{"greet" => {:fn, fn name -> "Hello, " <> name end}}
    }

    {:ok, iinstance} = Instance.new(istore, icomponent, imports)
    {:ok, 3} = Instance.call(iinstance, "call-host-add", [1, 2])

    import_row =
      row(
        "call-host-add(1, 2): guest calls one Elixir import",
        20_000,
        fn -> Instance.call(iinstance, "call-host-add", [1, 2]) end,
        2_000
      )

    inst_row =
      row(
        "Store.new + Instance.new from a compiled component",
        2_000,
        fn ->
          {:ok, s} = Store.new()
          {:ok, _} = Instance.new(s, component, %{})
        end,
        200
      )

    # Fresh WASI store + instance, on-demand allocator vs pooling allocator, interleaved.
    {:ok, pooled} = Wasmex.Engine.new(Wasmex.EngineConfig.pooling(%Wasmex.EngineConfig{}, []))
    {:ok, pstore} = Store.new(nil, pooled)
    {:ok, pcomponent} = Component.new(pstore, types)
    wasi = %Wasmex.Wasi.WasiP2Options{}

    {demand, pooled_s} =
      H.sample_pair(
        2_000,
        fn -> wasi_instance(component, wasi, nil) end,
        fn -> wasi_instance(pcomponent, wasi, pooled) end
      )

    alloc_rows = [
      stat("Store.new_wasi + Instance.new (component_types), on-demand allocator", demand),
      stat("the same with `EngineConfig.pooling(config, [])` (target ≤ 10 µs)", pooled_s)
    ]

    H.heading(
      "component calls (low-level `Wasmex.Components.Instance.call/4` from the owning process)"
    )

    H.table(
      ["what", "median", "p99", "samples"],
      rows ++ [server_row, import_row, inst_row] ++ alloc_rows
    )

    H.heading("resources")
    H.table(["what", "median", "p99", "samples"], resource_rows())

    lists()

    H.heading("scheduler: a 1 ms ticker process while 10 `echo-list-u8` calls of 1 MiB run")
    IO.puts("list out: max ticker lateness #{ticker_lateness(instance, bytes)} µs")

    IO.puts(
      "binary out (`list_u8: :binary`): max ticker lateness #{ticker_lateness(binstance, bytes)} µs (target: at most 2000 µs)"
    )

    [{_, add_med}] = for [l, m | _] <- rows, l =~ "add(1, 2)", do: {l, m}

    IO.puts(
      "\nimport round trip cost = median(call-host-add) - median(add): see rows above (#{add_med} baseline)"
    )
  end

  def host_add(a, b), do: a + b

  @doc false
  # Numeric lists of 256 Ki elements through `echo-T` (the fast path, component/flat_nums.rs)
  # and `slow-T` (the same function with a `u32` parameter more: the dynamic path), next to a
  # memcpy of the list's bytes.
  def lists do
    {:ok, store} = Store.new()
    {:ok, c} = Component.new(store, Wasmex.FlatListFixtures.component())
    {:ok, instance} = Instance.new(store, c, %{})
    n = 256 * 1024
    u32s = for i <- 1..n, do: i * 16_381
    f64s = for i <- 1..n, do: i / 7
    {:ok, ^u32s} = Instance.call(instance, "echo-u32", [u32s])
    {:ok, ^u32s} = Instance.call(instance, "slow-u32", [u32s, 0])
    {:ok, ^f64s} = Instance.call(instance, "echo-f64", [f64s])
    {:ok, ^f64s} = Instance.call(instance, "slow-f64", [f64s, 0])
    bytes4 = :crypto.strong_rand_bytes(4 * n)
    bytes8 = :crypto.strong_rand_bytes(8 * n)

    rows = [
      row(
        "echo-u32, 256 Ki elements (fast path)",
        30,
        fn ->
          Instance.call(instance, "echo-u32", [u32s])
        end,
        3
      ),
      row(
        "slow-u32, the same list (dynamic path)",
        30,
        fn ->
          Instance.call(instance, "slow-u32", [u32s, 0])
        end,
        3
      ),
      row(
        "memcpy of the same 1 MiB twice (`:binary.copy/1`, reference)",
        300,
        fn ->
          :binary.copy(:binary.copy(bytes4))
        end,
        20
      ),
      row(
        "echo-f64, 256 Ki elements (fast path)",
        30,
        fn ->
          Instance.call(instance, "echo-f64", [f64s])
        end,
        3
      ),
      row(
        "slow-f64, the same list (dynamic path)",
        30,
        fn ->
          Instance.call(instance, "slow-f64", [f64s, 0])
        end,
        3
      ),
      row(
        "memcpy of the same 2 MiB twice (`:binary.copy/1`, reference)",
        300,
        fn ->
          :binary.copy(:binary.copy(bytes8))
        end,
        20
      )
    ]

    H.heading("numeric lists (a list of 256 Ki elements in, the same list out)")
    H.table(["what", "median", "p99", "samples"], rows)
  end

  # Large calls run on a dirty scheduler; a ticker on the normal schedulers should stay on time.
  defp ticker_lateness(instance, bytes) do
    parent = self()
    ticker = spawn(fn -> tick(0, parent) end)
    # Enum.each, not `for`: keeping the ten results alive would time the garbage collector.
    Enum.each(1..10, fn _ -> {:ok, _} = Instance.call(instance, "echo-list-u8", [bytes]) end)
    send(ticker, :stop)

    receive do
      {:lateness, max} -> max
    end
  end

  defp tick(max, parent) do
    start = System.monotonic_time(:microsecond)

    receive do
      :stop -> send(parent, {:lateness, max})
    after
      1 -> tick(max(max, System.monotonic_time(:microsecond) - start - 1000), parent)
    end
  end

  @counters ["wasmex:resources/counters@1.2.3", "accumulator"]

  defp resource_rows do
    alias Wasmex.Components.GuestResource
    {:ok, store} = Store.new()
    {:ok, c} = Component.new(store, File.read!(Path.join(@fixtures, "component_resources.wasm")))
    {:ok, instance} = Instance.new(store, c, %{})
    {:ok, acc} = GuestResource.new(instance, @counters, [0])

    guest = [
      row(
        "GuestResource.call(acc, :method, :add, [1])",
        20_000,
        fn -> GuestResource.call(acc, :method, :add, [1]) end,
        2_000
      ),
      row(
        "GuestResource.new + drop",
        20_000,
        fn ->
          {:ok, r} = GuestResource.new(instance, @counters, [1])
          :ok = GuestResource.drop(r)
        end,
        2_000
      )
    ]

    iface = "wasmex:host-resources/logging@0.1.0"

    imports = %{
      iface => %{
        "logger" => {:resource, fn _ -> :ok end},
        "[constructor]logger" => {:fn, fn prefix -> prefix end},
        "[method]logger.log" => {:fn, fn prefix, msg -> prefix <> msg end},
        "[method]logger.count" => {:fn, fn _ -> 0 end},
        "[static]logger.make-default" => {:fn, fn -> "" end},
        "consume-logger" => {:fn, fn prefix -> prefix end},
        "peek-logger" => {:fn, fn prefix -> prefix end},
        "maybe-logger" => {:fn, fn _ -> :none end}
      }
    }

    {:ok, hstore} = Store.new()
    hbytes = File.read!(Path.join(@fixtures, "component_host_resources.wasm"))
    {:ok, hc} = Component.new(hstore, hbytes)
    {:ok, hinstance} = Instance.new(hstore, hc, imports)
    {:ok, "a: b"} = Instance.call(hinstance, "use-logger", ["a: ", "b"])

    host =
      row(
        "use-logger: host resource constructor + method + drop (3 Elixir callbacks)",
        20_000,
        fn -> Instance.call(hinstance, "use-logger", ["a: ", "b"]) end,
        2_000
      )

    guest ++ [host]
  end

  defp wasi_instance(component, wasi, engine) do
    {:ok, s} = Store.new_wasi(wasi, nil, engine)
    {:ok, _} = Instance.new(s, component, %{})
  end

  defp stat(label, samples) do
    s = H.stats(samples)
    [label, H.fmt_ns(s.median), H.fmt_ns(s.p99), s.n]
  end

  defp row(label, n, fun, warmup) do
    s = H.stats(H.sample(n, fun, warmup))
    [label, H.fmt_ns(s.median), H.fmt_ns(s.p99), s.n]
  end
end

case System.get_env("BENCH_ONLY") do
  "lists" -> Bench.Components.lists()
  _ -> Bench.Components.run()
end
