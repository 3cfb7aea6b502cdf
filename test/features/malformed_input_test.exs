defmodule Wasmex.Features.MalformedInputTest do
  # Improper lists, names that are not UTF-8 and other malformed terms are `{:error, _}` answers,
  # never a crashed server or a NIF panic (issue 8 item 2).
  use ExUnit.Case, async: true

  import Wasmex.TestHelpers
  import Wasmex.ComponentTestHelpers

  @bad_name <<0xFF, 0xFE, ?f>>

  @core ~S"""
  (module
    (import "env" "two" (func $two (result i32 i32)))
    (global (export "g") (mut i32) (i32.const 1))
    (func (export "f") (param i32) (result i32) local.get 0)
    (func (export "pair") (result i32) (call $two) (i32.add)))
  """

  defp core!(two) do
    {:ok, pid} =
      Wasmex.start_link(%{
        bytes: @core,
        imports: %{"env" => %{"two" => {:fn, [], [:i32, :i32], two}}}
      })

    pid
  end

  test "core: a function name that is not UTF-8 is not found, and the server lives" do
    pid = core!(fn _ -> [1, 2] end)
    assert {:error, "exported function `" <> _} = Wasmex.call_function(pid, @bad_name, [1])
    assert Wasmex.function_exists(pid, @bad_name) == false
    assert Wasmex.call_function(pid, "f", [3]) == {:ok, [3]}
  end

  test "core: improper params and improper import results are errors" do
    pid = core!(fn _ -> [1 | 2] end)
    assert {:error, "params must be a list"} = Wasmex.call_function(pid, "f", [1 | 2])
    assert {:error, _} = Wasmex.call_function(pid, "pair", [])
    assert Process.alive?(pid)
    assert Wasmex.call_function(pid, "f", [4]) == {:ok, [4]}
  end

  test "core: globals with names that are not UTF-8 are not found" do
    {store, _module, instance} =
      instantiate!(@core, %{"env" => %{"two" => {:fn, [], [:i32, :i32], fn _ -> [1, 2] end}}})

    assert {:error, "exported global `" <> _} =
             Wasmex.Instance.get_global_value(store, instance, @bad_name)

    assert {:error, "exported global `" <> _} =
             Wasmex.Instance.set_global_value(store, instance, @bad_name, 1)
  end

  test "core: an improper list of import types is an error, not a panic" do
    {:ok, store} = Wasmex.Store.new()
    {:ok, module} = Wasmex.Module.compile(store, @core)
    imports = %{"env" => %{"two" => {:fn, [], [:i32 | :i32], fn _ -> [1, 2] end}}}
    assert {:error, "not_an_atom: " <> _} = Wasmex.Instance.new(store, module, imports)
  end

  test "WASI options holding an improper list raise ArgumentError; the NIFs answer an error" do
    p1 = %Wasmex.Wasi.WasiOptions{args: ["a" | "b"]}
    p2 = %Wasmex.Wasi.WasiP2Options{preopen: [1 | 2]}
    assert_raise ArgumentError, ~r/args must be a list/, fn -> Wasmex.Store.new_wasi(p1) end

    assert_raise ArgumentError, ~r/preopen must be a list/, fn ->
      Wasmex.Components.Store.new_wasi(p2)
    end

    assert Wasmex.Native.store_new_wasi(p1, nil, nil) == {:error, "invalid WASI options"}
    assert Wasmex.Native.store_new_wasi_p2(p2, nil, nil) == {:error, "invalid WASI options"}
  end

  test "components: improper lists anywhere in the arguments are errors and the server lives" do
    pid = start_component!("component_types")
    call = &Wasmex.Components.call_function(pid, &1, &2)

    assert {:error, "params must be a list"} = call.("echo-u32", [1 | 2])

    assert {:error, "Could not convert List to List" <> _} =
             call.("echo-list-string", [["a" | "b"]])

    assert {:error, _} = call.("echo-char", [[?a | ?b]])

    assert {:error, "Could not convert List to List" <> _} =
             call.("make-points", [1]) |> then(fn _ -> call.("echo-list-u8", [[1 | 2]]) end)

    assert {:error, "exported function " <> _} = call.(@bad_name, [])
    assert {:error, "exported function " <> _} = call.({"math", @bad_name}, [])
    assert Process.alive?(pid)
    assert call.("echo-u32", [5]) == {:ok, 5}
  end

  test "guest resources: improper argument lists are errors, through a server and an instance" do
    accumulator = ["wasmex:resources/counters@1.2.3", "accumulator"]
    pid = start_component!("component_resources")
    alias Wasmex.Components.GuestResource

    assert {:error, "params must be a list"} = GuestResource.new(pid, accumulator, [1 | 2])
    assert {:ok, acc} = GuestResource.new(pid, accumulator, [1])
    assert {:error, "params must be a list"} = GuestResource.call(acc, :method, :add, [5 | 6])
    assert {:error, _} = GuestResource.call(acc, :method, @bad_name, [5])
    assert {:ok, 6} = GuestResource.call(acc, :method, :add, [5])
    assert Process.alive?(pid)
  end
end
