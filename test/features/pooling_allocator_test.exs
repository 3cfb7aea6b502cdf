defmodule Wasmex.Features.PoolingAllocatorTest do
  # `Wasmex.EngineConfig.pooling/2`: engines that allocate instances from wasmtime's pooling
  # allocator, and what a full pool answers.
  use ExUnit.Case, async: true

  alias Wasmex.{Engine, EngineConfig, Instance, Module, Store}

  @wat """
  (module
    (memory (export "memory") 1)
    (data (i32.const 0) "pooled")
    (func (export "sum") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  """

  defp engine!(opts) do
    {:ok, engine} = Engine.new(EngineConfig.pooling(%EngineConfig{}, opts))
    engine
  end

  defp instance(engine, module) do
    {:ok, store} = Store.new(nil, engine)

    with {:ok, instance} <- Instance.new(store, module, %{}) do
      {:ok, {store, instance}}
    end
  end

  describe "pooling/2" do
    test "sizes default from :instances, then from :core_instances" do
      assert %{instances: 1000, core_instances: 1000, memories: 1000, tables: 1000} =
               EngineConfig.pooling(%EngineConfig{}, []).pooling

      assert %{
               instances: 5,
               core_instances: 20,
               memories: 20,
               tables: 3,
               max_memory_size: nil,
               keep_resident: 0
             } =
               EngineConfig.pooling(%EngineConfig{}, instances: 5, core_instances: 20, tables: 3).pooling

      assert %EngineConfig{pooling: nil} =
               %EngineConfig{} |> EngineConfig.pooling(instances: 2) |> EngineConfig.pooling(nil)

      assert %EngineConfig{pooling: nil} = %EngineConfig{}
    end

    test "options are checked" do
      assert_raise ArgumentError, "option :instances must be a positive integer, got: 0", fn ->
        EngineConfig.pooling(%EngineConfig{}, instances: 0)
      end

      assert_raise ArgumentError, ~s(option :memories must be a positive integer, got: "1"), fn ->
        EngineConfig.pooling(%EngineConfig{}, memories: "1")
      end

      assert_raise ArgumentError,
                   "option :keep_resident must be a non-negative integer or nil, got: -1",
                   fn -> EngineConfig.pooling(%EngineConfig{}, keep_resident: -1) end

      assert_raise ArgumentError, ~r/unknown keys \[:slots\]/, fn ->
        EngineConfig.pooling(%EngineConfig{}, slots: 1)
      end
    end
  end

  describe "a pooled engine" do
    test "runs core modules, with their data, in fresh stores that reuse the slots" do
      engine = engine!(instances: 4)
      {:ok, store} = Store.new(nil, engine)
      {:ok, module} = Module.compile(store, @wat)

      # A slot comes back a moment after its store is garbage collected.
      for _ <- 1..20 do
        assert eventually(fn ->
                 :erlang.garbage_collect()
                 match?({:ok, _}, instance(engine, module))
               end)

        :erlang.garbage_collect()
        assert eventually(fn -> check_fresh_instance(engine, module) end)
      end
    end

    test "with :keep_resident, a reused slot's memory and table start as the module says" do
      # The first 64 KiB of each memory and table are zeroed with memset when their store is
      # freed; the rest is handed back to the OS. A run writes on both sides of that line and
      # into its table; every later store in the reused slot must see none of it.
      wat = ~S"""
      (module
        (memory (export "memory") 4)
        (table 2 funcref)
        (data (i32.const 16) "image")
        (func $f)
        (elem declare func $f)
        (func (export "dirty")
          (i32.store (i32.const 16) (i32.const 0x41414141))
          (i32.store (i32.const 1000) (i32.const 7))
          (i32.store (i32.const 200000) (i32.const 9))
          (table.set (i32.const 1) (ref.func $f)))
        (func (export "probe") (result i32)
          (i32.add
            (i32.add (i32.load (i32.const 1000)) (i32.load (i32.const 200000)))
            (ref.is_null (table.get (i32.const 1))))))
      """

      engine = engine!(instances: 1, keep_resident: 65_536)
      {:ok, store} = Store.new(nil, engine)
      {:ok, module} = Module.compile(store, wat)

      for _ <- 1..5 do
        {:ok, {s, i}} = eventually_instance(engine, module)
        # nothing written yet: 0 + 0 + 1 (the table slot is null)
        assert {:ok, [1]} = Instance.call(s, i, "probe", [])
        {:ok, memory} = Instance.memory(s, i)
        assert Wasmex.Memory.read_binary(s, memory, 16, 5) == "image"
        assert {:ok, []} = Instance.call(s, i, "dirty", [])
        assert {:ok, [16]} = Instance.call(s, i, "probe", [])
      end
    end

    test "a full pool is an error naming the options; freed slots serve again" do
      engine = engine!(instances: 2)
      {:ok, store} = Store.new(nil, engine)
      {:ok, module} = Module.compile(store, @wat)
      parent = self()

      holder =
        spawn(fn ->
          held = for _ <- 1..2, do: instance(engine, module)
          send(parent, {:held, Enum.map(held, &elem(&1, 0))})
          # `held` stays referenced until the process is killed, so its stores keep their slots.
          receive do
            :never -> held
          end
        end)

      assert_receive {:held, [:ok, :ok]}, 5_000
      assert {:error, reason} = instance(engine, module)
      assert reason =~ "maximum concurrent limit of 2"
      assert reason =~ "pooling allocator is full"
      assert reason =~ "Wasmex.EngineConfig.pooling/2"

      Process.exit(holder, :kill)
      assert eventually(fn -> match?({:ok, _}, instance(engine, module)) end)
    end

    test "runs components, and refuses one past its :instances" do
      engine = engine!(instances: 1, core_instances: 50)
      {:ok, store} = Wasmex.Components.Store.new(nil, engine)
      {:ok, component} = Wasmex.Components.Component.new(store, "(component)")
      {:ok, _} = Wasmex.Components.Instance.new(store, component, %{})
      {:ok, other} = Wasmex.Components.Store.new(nil, engine)

      assert {:error, reason} = Wasmex.Components.Instance.new(other, component, %{})
      assert reason =~ "maximum concurrent limit of 1 for component instances"
      assert reason =~ "`instances`"
    end
  end

  # Whether a fresh instance runs and sees its data; `false` while the pool is full.
  defp check_fresh_instance(engine, module) do
    case instance(engine, module) do
      {:ok, {s, i}} ->
        assert {:ok, [3]} = Instance.call(s, i, "sum", [1, 2])
        {:ok, memory} = Instance.memory(s, i)
        assert Wasmex.Memory.read_binary(s, memory, 0, 6) == "pooled"

      {:error, reason} ->
        assert reason =~ "pooling allocator is full"
        false
    end
  end

  # An instance in a fresh store of `engine`, once a slot is free again (each store is freed by
  # a garbage collection of this process, a moment later).
  defp eventually_instance(engine, module, tries \\ 100) do
    :erlang.garbage_collect()

    case instance(engine, module) do
      {:ok, _} = ok ->
        ok

      {:error, reason} when tries > 0 ->
        assert reason =~ "pooling allocator is full"
        Process.sleep(10)
        eventually_instance(engine, module, tries - 1)
    end
  end

  # Store resources are freed when their owner's heap is, a moment after it dies.
  defp eventually(fun, tries \\ 100) do
    cond do
      fun.() ->
        true

      tries == 0 ->
        false

      true ->
        Process.sleep(10)
        eventually(fun, tries - 1)
    end
  end
end
