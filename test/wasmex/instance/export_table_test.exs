defmodule Wasmex.Instance.ExportTableTest do
  # Instances share their module's export table (native/wasmex/src/module.rs `ExportTable`) and
  # resolve functions when called: every kind of export must still be found, in every instance.
  use ExUnit.Case, async: true

  alias Wasmex.{Instance, Memory, Module, Store}

  @count 1000

  setup_all do
    funcs =
      for f <- 0..(@count - 1) do
        ~s|(func (export "f#{f}") (param i32) (result i32) local.get 0 i32.const #{f} i32.add)\n|
      end

    wat =
      IO.iodata_to_binary([
        "(module\n",
        Enum.take(funcs, 500),
        ~s|(memory (export "mem") 1)\n(global (export "g") (mut i32) (i32.const 7))\n|,
        Enum.drop(funcs, 500),
        ")"
      ])

    {:ok, store} = Store.new()
    {:ok, module} = Module.compile(store, wat)
    %{module: module}
  end

  defp instance!(module) do
    {:ok, store} = Store.new()
    {:ok, instance} = Instance.new(store, module, %{})
    {store, instance}
  end

  describe "new/3 of a module with #{@count} exported functions" do
    test "every function is callable, in each of several instances", %{module: module} do
      for _ <- 1..3 do
        {store, instance} = instance!(module)
        assert {:ok, [1]} = Instance.call(store, instance, "f0", [1])
        assert {:ok, [1000]} = Instance.call(store, instance, "f999", [1])
        assert {:ok, [501]} = Instance.call(store, instance, "f500", [1])
      end
    end

    test "memories and globals are found, and are not functions", %{module: module} do
      {store, instance} = instance!(module)
      assert Instance.function_export_exists(store, instance, "f999")
      refute Instance.function_export_exists(store, instance, "g")
      refute Instance.function_export_exists(store, instance, "mem")
      refute Instance.function_export_exists(store, instance, "f1000")
      assert {:ok, 7} = Instance.get_global_value(store, instance, "g")
      assert :ok = Instance.set_global_value(store, instance, "g", 9)
      assert {:ok, 9} = Instance.get_global_value(store, instance, "g")

      assert {:error, "exported global `f1` not found"} =
               Instance.get_global_value(store, instance, "f1")

      assert {:ok, memory} = Instance.memory(store, instance)
      assert Memory.size(store, memory) == 65_536
      assert {:error, "exported function `g` not found"} = Instance.call(store, instance, "g", [])
    end

    test "instances do not share state", %{module: module} do
      {s1, i1} = instance!(module)
      {s2, i2} = instance!(module)
      :ok = Instance.set_global_value(s1, i1, "g", 1)
      assert {:ok, 7} = Instance.get_global_value(s2, i2, "g")
    end
  end
end
