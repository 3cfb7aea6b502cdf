defmodule Wasmex.Features.TelemetryTest do
  # `:telemetry` events (lib/wasmex/telemetry.ex and the modules that emit them). Handlers are
  # global: not async, so only this file's calls emit while its handlers are attached.
  use Wasmex.ComponentCase, async: false

  import Wasmex.PoolTestHelpers, only: [start_pool!: 1]

  alias Wasmex.Components.{Component, Instance}

  @events for span <- [:call, :compile, :instantiate],
              phase <- [:start, :stop, :exception],
              do: [:wasmex, span, phase]
  @events @events ++ [[:wasmex, :pool, :checkout], [:wasmex, :pool, :replace]]

  @sum ~S[(module (func (export "sum") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
                  (func (export "boom") unreachable))]

  @doc false
  def handle(event, measurements, metadata, test), do: send(test, {event, measurements, metadata})

  setup do
    id = "telemetry-test-#{System.unique_integer([:positive])}"
    :ok = :telemetry.attach_many(id, @events, &__MODULE__.handle/4, self())
    :ok = Wasmex.Telemetry.refresh()

    on_exit(fn ->
      :telemetry.detach(id)
      Wasmex.Telemetry.refresh()
    end)

    :ok
  end

  describe "[:wasmex, :call, ...]" do
    test "a core call: start and stop with the function, duration and result" do
      {:ok, pid} = Wasmex.start_link(%{bytes: @sum})
      assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2])

      assert_received {[:wasmex, :call, :start], %{monotonic_time: _, system_time: _},
                       %{function: "sum", kind: :module, telemetry_span_context: ctx}}

      assert_received {[:wasmex, :call, :stop], %{duration: duration},
                       %{function: "sum", result: :ok, telemetry_span_context: ^ctx} = meta}

      assert is_integer(duration) and duration >= 0
      assert %Wasmex.Instance{} = meta.instance
    end

    test "a trap: stop with result :error and the reason" do
      {:ok, pid} = Wasmex.start_link(%{bytes: @sum})
      assert {:error, text} = Wasmex.call_function(pid, :boom, [])

      assert_received {[:wasmex, :call, :stop], _,
                       %{function: "boom", result: :error, error: ^text}}
    end

    test "fuel consumed, when the store counts fuel" do
      store = fuel_store!()
      :ok = Wasmex.StoreOrCaller.set_fuel(store, 1_000)
      {^store, _, instance} = instantiate!(@sum, %{}, store: store)
      assert {:ok, [3]} = Wasmex.Instance.call(store, instance, "sum", [1, 2])
      {:ok, left} = Wasmex.StoreOrCaller.get_fuel(store)
      assert_received {[:wasmex, :call, :stop], %{fuel_consumed: used}, %{function: "sum"}}
      assert used > 0 and used == 1_000 - left

      {plain, _, instance} = instantiate!(@sum)
      assert {:ok, [3]} = Wasmex.Instance.call(plain, instance, "sum", [1, 2])
      assert_received {[:wasmex, :call, :stop], measurements, %{function: "sum"}}
      refute Map.has_key?(measurements, :fuel_consumed)
    end

    test "a component call: the function's path" do
      pid = start_component!("component_types")
      assert {:ok, "hi"} = Wasmex.Components.call_function(pid, "echo-string", ["hi"])

      assert_received {[:wasmex, :call, :stop], %{duration: _},
                       %{function: ["echo-string"], kind: :component, result: :ok}}
    end
  end

  describe "[:wasmex, :compile, ...] and [:wasmex, :instantiate, ...]" do
    test "a module: its size, name and the cache directory" do
      wat = "(module $named)"
      instantiate!(wat)
      size = byte_size(wat)

      assert_received {[:wasmex, :compile, :start], _, %{kind: :module, bytes: ^size}}

      assert_received {[:wasmex, :compile, :stop], %{duration: _},
                       %{kind: :module, name: "named", result: :ok, cache_dir: nil}}

      assert_received {[:wasmex, :instantiate, :stop], %{duration: _},
                       %{kind: :module, result: :ok}}
    end

    test "a component, and errors" do
      {:ok, store} = Wasmex.Components.Store.new()
      {:ok, component} = Component.new(store, "(component)")
      {:ok, _} = Instance.new(store, component, %{})
      assert_received {[:wasmex, :compile, :stop], _, %{kind: :component, result: :ok}}
      assert_received {[:wasmex, :instantiate, :stop], _, %{kind: :component, result: :ok}}

      {:error, reason} = Component.new(store, "junk")
      assert_received {[:wasmex, :compile, :stop], _, %{result: :error, error: ^reason}}
    end
  end

  describe "[:wasmex, :pool, ...]" do
    test "checkout for every call, replace when a member rebuilds after a trap" do
      pool = start_pool!([])
      assert {:ok, [3]} = Wasmex.Pool.call_function(pool, "sum", [1, 2])
      assert_received {[:wasmex, :pool, :checkout], %{queued: 0}, %{pool: ^pool, member: 1}}

      assert {:error, _} = Wasmex.Pool.call_function(pool, "boom", [])
      assert_receive {[:wasmex, :pool, :replace], %{duration: d}, %{pool: ^pool, member: 1}}, 2000
      assert is_integer(d) and d >= 0
    end
  end

  test "without the :telemetry application running, calls still work and emit nothing" do
    Application.stop(:telemetry)
    :ok = Wasmex.Telemetry.refresh()
    on_exit(fn -> {:ok, _} = Application.ensure_all_started(:telemetry) end)

    {:ok, pid} = Wasmex.start_link(%{bytes: @sum})
    assert {:ok, [3]} = Wasmex.call_function(pid, :sum, [1, 2])
    refute_received {[:wasmex | _], _, _}
  end
end
