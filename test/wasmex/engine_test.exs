defmodule Wasmex.EngineTest do
  use Wasmex.Case, async: true

  alias Wasmex.{Engine, EngineConfig, Instance, Module, Store, StoreOrCaller}

  @answer ~S"""
  (module (func (export "answer") (result i32) i32.const 42))
  """

  @memory64 ~S[(module (memory (export "mem") i64 1))]

  describe "new/1" do
    test "builds an engine from the default config" do
      assert {:ok, %Engine{} = handle} = Engine.new(%EngineConfig{})
      assert_handle(handle)
    end

    test "builds an engine with every setting changed" do
      config = %EngineConfig{
        consume_fuel: true,
        cranelift_opt_level: :speed_and_size,
        wasm_backtrace_details: true,
        memory64: true,
        wasm_component_model: false,
        debug_info: true
      }

      assert {:ok, engine} = Engine.new(config)
      store = store!(nil, engine)
      {_store, _module, instance} = instantiate!(@answer, %{}, store: store)

      assert {:error, "Error during function excecution" <> _ = reason} =
               call(store, instance, "answer", [])

      assert reason =~ "all fuel consumed by WebAssembly"
      assert :ok = StoreOrCaller.set_fuel(store, 100)
      assert {:ok, [42]} = call(store, instance, "answer", [])
    end

    test "every optimization level runs code the same" do
      for level <- [:none, :speed, :speed_and_size] do
        assert {:ok, engine} = Engine.new(%EngineConfig{cranelift_opt_level: level})
        {store, _module, instance} = instantiate!(@answer, %{}, store: store!(nil, engine))
        assert {:ok, [42]} = call(store, instance, "answer", [])
      end
    end

    test "an unknown optimization level set directly in the struct is an error" do
      assert {:error, reason} = Engine.new(%EngineConfig{cranelift_opt_level: :fast})
      assert is_binary(reason)
    end

    test "consume_fuel makes stores start with 0 fuel" do
      assert {:ok, engine} = Engine.new(%EngineConfig{consume_fuel: true})
      assert {:ok, 0} = StoreOrCaller.get_fuel(store!(nil, engine))
    end

    test "without consume_fuel stores have no fuel" do
      assert {:ok, engine} = Engine.new(%EngineConfig{})

      assert {:error, "Could not get fuel: fuel is not configured in this store"} =
               StoreOrCaller.get_fuel(store!(nil, engine))
    end

    test "memory64 gates 64-bit memories" do
      assert {:ok, off} = Engine.new(%EngineConfig{memory64: false})

      assert {:error, "Could not compile module: " <> reason} =
               Module.compile(store!(nil, off), @memory64)

      assert reason =~ "memory64"

      assert {:ok, on} = Engine.new(%EngineConfig{memory64: true})
      module = compile!(store!(nil, on), @memory64)

      assert %{"mem" => {:memory, %{memory64: true, minimum: 1, shared: false}}} =
               Module.exports(module)
    end

    test "modules compiled by one engine cannot be instantiated in a store of another" do
      assert {:ok, e1} = Engine.new(%EngineConfig{})
      assert {:ok, e2} = Engine.new(%EngineConfig{})
      module = compile!(store!(nil, e1), @answer)
      assert {:error, reason} = Instance.new(store!(nil, e2), module, %{})
      assert is_binary(reason)
    end

    test "rejects anything but an EngineConfig struct" do
      assert_raise FunctionClauseError, fn -> Engine.new(%{consume_fuel: true}) end
    end
  end

  describe "default/0" do
    test "returns an engine" do
      assert %Engine{resource: resource} = Engine.default()
      assert is_reference(resource)
    end

    test "can back a store" do
      {store, _module, instance} =
        instantiate!(@answer, %{}, store: store!(nil, Engine.default()))

      assert {:ok, [42]} = call(store, instance, "answer", [])
    end

    test "stores built without an engine share it, so modules move between them" do
      module = compile!(store!(), @answer)
      other = store!(nil, Engine.default())
      assert {:ok, instance} = Instance.new(other, module, %{})
      assert {:ok, [42]} = call(other, instance, "answer", [])
    end

    test "does not consume fuel" do
      assert {:error, "Could not get fuel: fuel is not configured in this store"} =
               StoreOrCaller.get_fuel(store!(nil, Engine.default()))
    end

    test "is configured like new(%EngineConfig{}): precompiled modules move both ways" do
      assert {:ok, configured} = Engine.new(%EngineConfig{})

      assert {:ok, from_default} = Engine.precompile_module(Engine.default(), @answer)
      assert {:ok, _} = Module.unsafe_deserialize(from_default, configured)

      assert {:ok, from_configured} = Engine.precompile_module(configured, @answer)
      assert {:ok, _} = Module.unsafe_deserialize(from_configured, Engine.default())
    end

    test "is configured like new(%EngineConfig{}): memory64 is off" do
      assert {:error, "Could not compile module: " <> _} = Module.compile(store!(), @memory64)
    end
  end

  describe "precompile_module/2" do
    test "precompiles WAT text into a loadable artifact" do
      assert {:ok, engine} = Engine.new(%EngineConfig{})
      assert {:ok, bin} = Engine.precompile_module(engine, @answer)
      assert is_binary(bin) and byte_size(bin) > 0

      assert {:ok, module} = Module.unsafe_deserialize(bin, engine)
      store = store!(nil, engine)
      assert {:ok, instance} = Instance.new(store, module, %{})
      assert {:ok, [42]} = call(store, instance, "answer", [])
    end

    test "precompiles wasm bytes" do
      {:ok, wasm} = Wasmex.Wat.to_wasm(@answer)
      engine = Engine.default()
      assert {:ok, bin} = Engine.precompile_module(engine, wasm)
      assert {:ok, module} = Module.unsafe_deserialize(bin, engine)
      assert Module.exports(module) == %{"answer" => {:fn, [], [:i32]}}
    end

    test "keeps the engine's settings (fuel)" do
      assert {:ok, fuel_engine} = Engine.new(%EngineConfig{consume_fuel: true})
      assert {:ok, bin} = Engine.precompile_module(fuel_engine, @answer)
      assert {:ok, _} = Module.unsafe_deserialize(bin, fuel_engine)

      assert {:error, "Could not deserialize module: " <> _} =
               Module.unsafe_deserialize(bin, Engine.default())
    end

    test "invalid WAT is an error" do
      assert {:error, reason} = Engine.precompile_module(Engine.default(), "(module")
      assert is_binary(reason)
    end

    test "invalid wasm bytes are an error" do
      assert {:error, reason} =
               Engine.precompile_module(Engine.default(), <<0, "asm", 1, 0, 0, 0, 99>>)

      assert is_binary(reason)
    end

    test "a module that does not validate is an error" do
      assert {:error, reason} =
               Engine.precompile_module(Engine.default(), "(module (func (result i32)))")

      assert reason =~ "type mismatch"
    end
  end

  test "stores made from the same engine are independent" do
    assert {:ok, engine} = Engine.new(%EngineConfig{consume_fuel: true})
    {:ok, a} = Store.new(nil, engine)
    {:ok, b} = Store.new(nil, engine)
    assert :ok = StoreOrCaller.set_fuel(a, 10)
    assert {:ok, 10} = StoreOrCaller.get_fuel(a)
    assert {:ok, 0} = StoreOrCaller.get_fuel(b)
  end
end
