defmodule Wasmex.StoreTest do
  use Wasmex.Case, async: true

  alias Wasmex.{Engine, EngineConfig, Instance, Memory, Module, Store, StoreLimits, StoreOrCaller}
  alias Wasmex.Wasi.{PreopenOptions, WasiOptions}

  @page 65_536

  @grow ~S"""
  (module
    (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
    (func (export "pages") (result i32) memory.size))
  """

  # A module importing one WASI function.
  @yield_wat ~S"""
  (module
    (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
    (memory (export "memory") 1)
    (func (export "yield") (result i32) call $yield))
  """

  describe "new/2" do
    test "with no arguments builds a store" do
      assert {:ok, %StoreOrCaller{} = handle} = Store.new()
      assert_handle(handle)
    end

    test "accepts nil limits and a nil engine" do
      assert {:ok, %StoreOrCaller{}} = Store.new(nil, nil)
    end

    test "accepts an explicit engine" do
      assert {:ok, engine} = Engine.new(%EngineConfig{consume_fuel: true})
      assert {:ok, store} = Store.new(nil, engine)
      assert {:ok, 0} = StoreOrCaller.get_fuel(store)
    end

    test "rejects an engine that is not a %Wasmex.Engine{}" do
      assert_raise ArgumentError, fn -> Store.new(nil, :not_an_engine) end
    end

    test "each store is a separate world" do
      {store, module, instance} =
        instantiate!(~S[(module (global (export "g") (mut i32) (i32.const 1)))])

      other = store!()
      assert {:ok, other_instance} = Instance.new(other, module, %{})
      assert :ok = Instance.set_global_value(other, other_instance, "g", 2)
      assert {:ok, 2} = Instance.get_global_value(other, other_instance, "g")
      assert {:ok, 1} = Instance.get_global_value(store, instance, "g")

      # an instance only lives in the store that created it
      assert {:error, reason} = Instance.get_global_value(other, instance, "g")
      assert is_binary(reason)
    end

    test "memory_size limits the initial size of a memory" do
      store = store!(%StoreLimits{memory_size: @page})
      module = compile!(store, ~S[(module (memory (export "memory") 2))])

      assert {:error, "memory minimum size of 2 pages exceeds memory limits"} =
               Instance.new(store, module, %{})
    end

    test "memory_size makes the guest's memory.grow fail with -1" do
      store = store!(%StoreLimits{memory_size: 2 * @page})
      {store, _module, instance} = instantiate!(@grow, %{}, store: store)

      assert {:ok, [1]} = call(store, instance, "grow", [1])
      assert {:ok, [-1]} = call(store, instance, "grow", [1])
      assert {:ok, [2]} = call(store, instance, "pages", [])
    end

    test "memory_size makes Memory.grow fail with an error" do
      store = store!(%StoreLimits{memory_size: 2 * @page})
      {store, _module, instance} = instantiate!(@grow, %{}, store: store)
      memory = memory!(store, instance)

      assert 1 = Memory.grow(store, memory, 1)

      assert {:error, "Failed to grow the memory: failed to grow memory by `1`."} =
               Memory.grow(store, memory, 1)

      assert Memory.size(store, memory) == 2 * @page
    end

    test "a huge guest memory.grow without limits fails cleanly" do
      {store, _module, instance} = instantiate!(@grow)
      assert {:ok, [-1]} = call(store, instance, "grow", [65_536])
      assert {:ok, [1]} = call(store, instance, "pages", [])
    end

    test "table_elements limits tables" do
      store = store!(%StoreLimits{table_elements: 10})
      module = compile!(store, "(module (table 20 funcref))")

      assert {:error, "table minimum size of 20 elements exceeds table limits"} =
               Instance.new(store, module, %{})

      small = compile!(store, "(module (table 10 funcref))")
      assert {:ok, _} = Instance.new(store, small, %{})
    end

    test "instances limits the number of instances" do
      store = store!(%StoreLimits{instances: 1})
      module = compile!(store, "(module)")
      assert {:ok, _} = Instance.new(store, module, %{})
      assert {:error, reason} = Instance.new(store, module, %{})
      assert reason =~ "instance count too high"
    end

    for {limit, wat, message} <- [
          {:memories, "(module (memory 1) (memory 1))", "memory count too high"},
          {:tables, "(module (table 1 funcref) (table 1 funcref))", "table count too high"}
        ] do
      test "#{limit} limits the number of #{limit}" do
        store = store!(struct!(StoreLimits, [{unquote(limit), 1}]))
        module = compile!(store, unquote(wat))
        assert {:error, reason} = Instance.new(store, module, %{})
        assert reason =~ unquote(message)
      end
    end

    test "a failed instantiation leaves the store usable" do
      store = store!(%StoreLimits{memory_size: @page})
      too_big = compile!(store, ~S[(module (memory 2))])
      assert {:error, _} = Instance.new(store, too_big, %{})

      {store, _module, instance} =
        instantiate!(~S[(module (func (export "f") (result i32) i32.const 5))], %{}, store: store)

      assert {:ok, [5]} = call(store, instance, "f", [])
    end
  end

  describe "new_wasi/3" do
    test "builds a store from default options" do
      assert {:ok, %StoreOrCaller{}} = Store.new_wasi(%WasiOptions{})
    end

    test "accepts limits and an engine" do
      assert {:ok, engine} = Engine.new(%EngineConfig{consume_fuel: true})

      assert {:ok, store} =
               Store.new_wasi(%WasiOptions{args: ["a"]}, %StoreLimits{memory_size: @page}, engine)

      assert {:ok, 0} = StoreOrCaller.get_fuel(store)
    end

    test "limits apply to WASI programs: the fixture needs 17 pages" do
      assert {:ok, store} = Store.new_wasi(%WasiOptions{}, %StoreLimits{memory_size: 16 * @page})

      module = compile!(store, File.read!(fixture_path("wasi_p1_hello.wasm")))

      assert {:error, "memory minimum size of 17 pages exceeds memory limits"} =
               Instance.new(store, module, %{})
    end

    test "a preopened directory that does not exist is an error" do
      missing =
        Path.join(System.tmp_dir!(), "wasmex_missing_#{System.unique_integer([:positive])}")

      assert {:error, reason} =
               Store.new_wasi(%WasiOptions{preopen: [%PreopenOptions{path: missing}]})

      assert is_binary(reason)
    end

    test "rejects anything but WasiOptions" do
      assert_raise FunctionClauseError, fn -> Store.new_wasi(%{args: []}) end
    end

    test "the store links WASI, a plain store does not" do
      assert {:ok, wasi_store} = Store.new_wasi(%WasiOptions{})
      {wasi_store, module, instance} = instantiate!(@yield_wat, %{}, store: wasi_store)
      assert {:ok, [0]} = call(wasi_store, instance, "yield", [])

      assert {:error,
              "unknown import: `wasi_snapshot_preview1::sched_yield` has not been defined"} =
               Instance.new(store!(), module, %{})
    end
  end

  test "a module can be compiled with one store and instantiated in another of the same engine" do
    module = compile!(store!(), ~S[(module (func (export "f") (result i32) i32.const 9))])
    store = store!()
    assert {:ok, instance} = Instance.new(store, module, %{})
    assert {:ok, [9]} = call(store, instance, "f", [])
    assert %Module{} = module
  end
end
