defmodule Wasmex.WatTest do
  use Wasmex.Case, async: true

  alias Wasmex.{Instance, Module, Wat}

  describe "to_wasm/1" do
    test "converts a core module to wasm bytes" do
      assert {:ok, <<0, "asm", 1, 0, 0, 0, _::binary>>} = Wat.to_wasm("(module)")
    end

    test "the bytes compile and run" do
      assert {:ok, wasm} =
               Wat.to_wasm(~S[(module (func (export "f") (param i32) (result i32) local.get 0))])

      store = store!()
      assert {:ok, module} = Module.compile(store, wasm)
      assert {:ok, instance} = Instance.new(store, module, %{})
      assert {:ok, [5]} = call(store, instance, "f", [5])
    end

    test "keeps the module name" do
      assert {:ok, wasm} = Wat.to_wasm("(module $named)")
      assert Module.name(compile!(store!(), wasm)) == "named"
    end

    test "converts a component" do
      assert {:ok, <<0, "asm", 0x0D, 0, 1, 0, _::binary>>} = Wat.to_wasm("(component)")
    end

    test "malformed text is a 'Failed to parse WAT' error" do
      assert {:error, "Failed to parse WAT: " <> detail} = Wat.to_wasm("(module")
      assert detail =~ "expected `)`"
    end

    test "unknown instructions are a 'Failed to parse WAT' error" do
      assert {:error, "Failed to parse WAT: " <> detail} =
               Wat.to_wasm("(module (func i32.frobnicate))")

      assert detail =~ "frobnicate"
    end

    test "text that is not WAT is an error" do
      assert {:error, "Failed to parse WAT: " <> _} = Wat.to_wasm("hello")
    end

    test "rejects a non-binary" do
      assert_raise FunctionClauseError, fn -> Wat.to_wasm(~c"(module)") end
    end
  end
end
