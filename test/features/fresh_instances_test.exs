defmodule Wasmex.Features.FreshInstancesTest do
  # Many fresh stores with one instance each, the way `Wasmex.Command.run/2` and `fresh: true`
  # pool members make them: on-demand engines hand a dropped store's fiber stack to the next
  # store (`native/wasmex/src/stacks.rs`), and an instantiation without Elixir imports or links
  # goes through the module's prepared instantiation (`module.rs`, `instance.rs`). Neither may
  # let one instance see another's state, nor change what instantiating answers.
  use ExUnit.Case, async: true

  alias Wasmex.{Engine, EngineConfig, Instance, Module, Store}
  alias Wasmex.Wasi.WasiOptions

  # A global and a memory cell that each call bumps, and a recursion that uses the fiber stack.
  @wat """
  (module
    (memory (export "memory") 1)
    (global $g (mut i32) (i32.const 0))
    (func (export "bump") (result i32)
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
      (i32.add (global.get $g) (i32.load (i32.const 0))))
    (func $down (export "down") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0))
        (then (i32.const 0))
        (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
    (func $spin (export "spin") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0))
        (then (loop $l (br $l)) (i32.const 0))
        (else (i32.add (i32.const 1) (call $spin (i32.sub (local.get 0) (i32.const 1))))))))
  """

  defp fresh(module, store \\ Store.new()) do
    {:ok, store} = store
    {:ok, instance} = Instance.new(store, module, %{})
    {store, instance}
  end

  defp module! do
    {:ok, store} = Store.new()
    {:ok, module} = Module.compile(store, @wat)
    module
  end

  # Twenty fresh stores in a row, each recursing 10,000 frames deep on its (reused) stack.
  defp assert_deep_calls(module) do
    for _ <- 1..20 do
      {store, instance} = fresh(module)
      assert {:ok, [10_000]} = Instance.call(store, instance, "down", [10_000])
    end
  end

  test "every fresh instance starts from the module's initial state" do
    module = module!()

    for _ <- 1..200 do
      {store, instance} = fresh(module)
      assert {:ok, [2]} = Instance.call(store, instance, "bump", [])
      assert {:ok, [4]} = Instance.call(store, instance, "bump", [])
    end
  end

  test "a store after one whose guest exhausted its stack runs deep calls" do
    module = module!()
    {store, instance} = fresh(module)
    assert {:error, text} = Instance.call(store, instance, "down", [100_000_000])
    assert text =~ "call stack exhausted"

    assert_deep_calls(module)
  end

  test "stores after one whose call was stopped deep in its stack run deep calls" do
    module = module!()

    for _ <- 1..5 do
      # Stopped while suspended 2,000 frames down: its fiber unwinds before the stack is reused.
      {store, instance} = fresh(module)
      assert {:error, :timeout} = Instance.call(store, instance, "spin", [2_000], 20)
    end

    :erlang.garbage_collect()

    assert_deep_calls(module)
  end

  test "stores live at once each run on their own stack" do
    module = module!()
    parent = self()

    tasks =
      for i <- 1..40 do
        Task.async(fn ->
          {store, instance} = fresh(module)
          send(parent, {:ready, self()})
          receive do: (:go -> :ok)
          Instance.call(store, instance, "down", [1_000 + i])
        end)
      end

    for _ <- tasks, do: assert_receive({:ready, _}, 5_000)
    Enum.each(tasks, &send(&1.pid, :go))
    results = Enum.map(tasks, &Task.await(&1, 10_000))
    assert results == for(i <- 1..40, do: {:ok, [1_000 + i]})
  end

  test "WASI stores instantiate a WASI command, and a store made fresh for it sees no old output" do
    {:ok, store} = Store.new_wasi(%WasiOptions{})
    {:ok, module} = Module.compile(store, File.read!("test/fixtures/json_command.wasm"))

    for n <- 1..5 do
      {:ok, result} = Wasmex.Command.run(module, stdin: ~s({"n":#{n}}))
      assert result.stdout == ~s({"ok":true,"bytes":7,"args":[],"request":{"n":#{n}}})
    end
  end

  test "without Elixir imports, unknown imports are still named" do
    {:ok, store} = Store.new()
    {:ok, module} = Module.compile(store, ~S[(module (import "env" "f" (func)))])

    assert {:error, "unknown import: `env::f` has not been defined"} =
             Instance.new(store, module, %{})

    {:ok, wasi_store} = Store.new_wasi(%WasiOptions{})

    assert {:error, "unknown import: `env::f` has not been defined"} =
             Instance.new(wasi_store, module, %{})
  end

  test "a module in a store of another engine is refused as before" do
    module = module!()
    {:ok, engine} = Engine.new(%EngineConfig{})
    {:ok, other} = Store.new(nil, engine)

    assert {:error, "cross-`Engine` instantiation is not currently supported"} =
             Instance.new(other, module, %{})

    {:ok, wasi_other} = Store.new_wasi(%WasiOptions{}, nil, engine)

    assert {:error, "cross-`Engine` instantiation is not currently supported"} =
             Instance.new(wasi_other, module, %{})
  end
end
