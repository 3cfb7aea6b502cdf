defmodule Wasmex.Features.WasiExitCodeTest do
  # A WASI exit is kept typed in the store (`Native.store_exit_code/1`), so `Wasmex.Command`
  # never reads it from an error text; the texts themselves are unchanged.
  use ExUnit.Case, async: true

  alias Wasmex.{Instance, Module, Native, Store}
  alias Wasmex.Wasi.WasiOptions

  @exits """
  (module
    (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
    (memory (export "memory") 1)
    (func (export "exit") (param i32) local.get 0 call $proc_exit)
    (func (export "trap") unreachable)
    (func (export "ok") (result i32) i32.const 1))
  """

  @exits_at_start """
  (module
    (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
    (memory (export "memory") 1)
    (func $start i32.const 9 call $proc_exit)
    (start $start))
  """

  defp instance!(wat) do
    {:ok, store} = Store.new_wasi(%WasiOptions{})
    {:ok, module} = Module.compile(store, wat)
    {:ok, instance} = Instance.new(store, module, %{})
    {store, instance}
  end

  test "an exit code is nil until a call exits, then the code, with the error text unchanged" do
    {store, instance} = instance!(@exits)
    assert Native.store_exit_code(store.resource) == {:ok, nil}
    assert {:ok, [1]} = Instance.call(store, instance, "ok", [])
    assert Native.store_exit_code(store.resource) == {:ok, nil}

    assert {:error, "Error during function excecution: " <> text} =
             Instance.call(store, instance, "exit", [7])

    assert text =~ "Exited with i32 exit status 7"
    assert Native.store_exit_code(store.resource) == {:ok, 7}
  end

  test "a trap is no exit" do
    {store, instance} = instance!(@exits)
    assert {:error, _} = Instance.call(store, instance, "trap", [])
    assert Native.store_exit_code(store.resource) == {:ok, nil}
  end

  test "an exit in a start function is kept too" do
    {:ok, store} = Store.new_wasi(%WasiOptions{})
    {:ok, module} = Module.compile(store, @exits_at_start)
    assert {:error, text} = Instance.new(store, module, %{})
    assert text =~ "Exited with i32 exit status 9"
    assert Native.store_exit_code(store.resource) == {:ok, 9}
  end

  test "Wasmex.Command reads the typed code" do
    assert {:ok, %Wasmex.Command.Result{exit_code: 42}} =
             Wasmex.Command.run(
               "(module (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $e (param i32))) (memory (export \"memory\") 1) (func (export \"_start\") i32.const 42 call $e))",
               []
             )
  end
end
