defmodule Wasmex.Components.ComponentTest do
  use Wasmex.ComponentCase, async: true

  alias Wasmex.{Engine, EngineConfig}
  alias Wasmex.Components.{Component, Instance, Store}

  @fixtures ~w(component_types component_imports component_wasi component_http)

  setup do
    {:ok, store} = Store.new()
    %{store: store}
  end

  describe "new/2" do
    test "compiles every committed fixture", %{store: store} do
      for name <- @fixtures do
        assert {:ok, %Component{} = handle} = Component.new(store, component_bytes(name))
        assert_handle(handle)
      end
    end

    test "compiles component WAT text", %{store: store} do
      assert {:ok, %Component{}} = Component.new(store, "(component)")
    end

    test "compiles bytes converted from component WAT", %{store: store} do
      assert {:ok, bytes} = Wasmex.Wat.to_wasm("(component)")
      assert <<0, "asm", _::binary>> = bytes
      assert {:ok, %Component{}} = Component.new(store, bytes)
    end

    test "garbage gives {:error, \"Unable to decode WASM: ...\"}", %{store: store} do
      assert {:error, "Unable to decode WASM: " <> _} = Component.new(store, "junk")
      assert {:error, "Unable to decode WASM: " <> _} = Component.new(store, <<0, 1, 2, 3>>)
      assert {:error, "Unable to decode WASM: " <> _} = Component.new(store, "")
    end

    test "a WIT package (types only) raises :\"Only components are supported\"", %{store: store} do
      # test/fixtures/components/wit_package.wasm is wasm/component_resources/wit encoded by
      # `wasm-tools component wit wasm/component_resources/wit --wasm`.
      bytes = File.read!("test/fixtures/components/wit_package.wasm")

      error = assert_raise ErlangError, fn -> Component.new(store, bytes) end
      assert error.original == :"Only components are supported"

      Process.flag(:trap_exit, true)

      assert Wasmex.Components.start_link(bytes: bytes) ==
               {:error, "Only components are supported"}
    end

    test "a truncated component is an error", %{store: store} do
      bytes = component_bytes("component_types")
      half = binary_part(bytes, 0, div(byte_size(bytes), 2))
      assert {:error, "Unable to decode WASM: " <> _} = Component.new(store, half)
    end

    test "a core module is rejected", %{store: store} do
      assert {:ok, core} = Wasmex.Wat.to_wasm("(module)")

      assert {:error, "Unable to decode WASM: " <> message} = Component.new(store, core)
      assert message =~ "attempted to parse a wasm module with a component parser"
    end

    test "the bytes must be a binary", %{store: store} do
      assert_raise FunctionClauseError, fn -> Component.new(store, ~c"(component)") end
    end

    test "one compiled component instantiates many times, each with its own state",
         %{store: store} do
      assert {:ok, component} = Component.new(store, component_bytes("component_types"))
      assert {:ok, a} = Instance.new(store, component, %{})
      assert {:ok, b} = Instance.new(store, component, %{})

      assert {:ok, 1} = Instance.call(a, "counter-inc", [])
      assert {:ok, 2} = Instance.call(a, "counter-inc", [])
      assert {:ok, 1} = Instance.call(b, "counter-inc", [])
    end

    test "a component compiled with the default engine works in another default-engine store",
         %{store: store} do
      assert {:ok, component} = Component.new(store, component_bytes("component_types"))
      assert {:ok, other} = Store.new()
      assert {:ok, instance} = Instance.new(other, component, %{})
      assert {:ok, 7} = Instance.call(instance, "add", [3, 4])
    end

    test "compiling the same bytes twice gives working components", %{store: store} do
      bytes = component_bytes("component_types")
      assert {:ok, first} = Component.new(store, bytes)
      assert {:ok, second} = Component.new(store, bytes)
      assert first.reference != second.reference

      for component <- [first, second] do
        assert {:ok, instance} = Instance.new(store, component, %{})
        assert {:ok, 2} = Instance.call(instance, "add", [1, 1])
      end
    end

    test "a component of one engine cannot be instantiated in a store of another engine" do
      assert {:ok, engine} = Engine.new(%EngineConfig{})
      assert {:ok, engine_store} = Store.new(nil, engine)
      assert {:ok, default_store} = Store.new()

      assert {:ok, component} = Component.new(engine_store, component_bytes("component_types"))

      assert {:error, "cross-`Engine` instantiation is not currently supported"} =
               Instance.new(default_store, component, %{})
    end

    test "concurrent compilations of the same bytes all succeed", %{store: store} do
      bytes = component_bytes("component_imports")

      results =
        1..8
        |> Enum.map(fn _ -> Task.async(fn -> Component.new(store, bytes) end) end)
        |> Task.await_many(30_000)

      assert Enum.all?(results, &match?({:ok, %Component{}}, &1))
    end
  end
end
