defmodule Wasmex.StoreOrCallerTest do
  use Wasmex.Case, async: true

  alias Wasmex.{Instance, Module, StoreOrCaller}

  @fuel_wat ~S"""
  (module
    (import "env" "callback" (func $callback))
    (func $spin (export "spin") (param $n i32)
      (block $done
        (loop $again
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $again))))
    (func (export "forever") (loop $l (br $l)))
    (func (export "answer") (result i32) i32.const 42)
    (func (export "callback_then_spin") (param $n i32)
      call $callback
      local.get $n
      call $spin))
  """

  # A module whose start function sets the global `g` to 1.
  @start_wat ~S"""
  (module
    (global $g (export "g") (mut i32) (i32.const 0))
    (func $start (global.set $g (i32.const 1)))
    (start $start))
  """

  defp fuel_instance!(callback \\ fn _ctx -> nil end) do
    store = fuel_store!()
    imports = %{env: %{callback: {:fn, [], [], callback}}}
    {store, _module, instance} = instantiate!(@fuel_wat, imports, store: store)
    {store, instance}
  end

  # An instance whose import sets the running call's fuel to `fuel` through its caller.
  defp fuel_setting_instance!(fuel) do
    fuel_instance!(fn %{caller: caller} ->
      :ok = StoreOrCaller.set_fuel(caller, fuel)
      nil
    end)
  end

  # Runs a call on a store with `fuel` whose import sends its caller out; returns that caller,
  # which has outlived its import by the time the call returns.
  defp escaped_caller!(fuel) do
    test = self()

    report = fn %{caller: caller} ->
      send(test, {:caller, caller})
      nil
    end

    {store, instance} = fuel_instance!(report)
    assert :ok = StoreOrCaller.set_fuel(store, fuel)
    assert {:ok, []} = call(store, instance, "callback_then_spin", [0])
    assert_received {:caller, %StoreOrCaller{} = caller}
    caller
  end

  describe "get_fuel/1" do
    test "a store without fuel accounting answers an error" do
      assert {:error, "Could not get fuel: fuel is not configured in this store"} =
               StoreOrCaller.get_fuel(store!())
    end

    test "a new fuel store starts with 0" do
      assert {:ok, 0} = StoreOrCaller.get_fuel(fuel_store!())
    end

    test "reports what set_fuel/2 set" do
      store = fuel_store!()
      assert :ok = StoreOrCaller.set_fuel(store, 12_345)
      assert {:ok, 12_345} = StoreOrCaller.get_fuel(store)
    end

    test "running code consumes fuel, at least one unit per loop iteration" do
      {store, instance} = fuel_instance!()
      assert :ok = StoreOrCaller.set_fuel(store, 1_000_000)
      assert {:ok, []} = call(store, instance, "spin", [1_000])
      assert {:ok, left} = StoreOrCaller.get_fuel(store)
      assert left < 1_000_000 - 1_000
      assert left > 0
    end

    test "works through the caller inside an import" do
      test = self()

      {store, instance} =
        fuel_instance!(fn %{caller: caller} ->
          send(test, {:fuel, StoreOrCaller.get_fuel(caller)})
          nil
        end)

      assert :ok = StoreOrCaller.set_fuel(store, 10_000)
      assert {:ok, []} = call(store, instance, "callback_then_spin", [0])
      assert_received {:fuel, {:ok, fuel}}
      assert fuel > 0 and fuel < 10_000
    end

    test "through a caller that outlived its import answers an error" do
      caller = escaped_caller!(10_000)
      assert {:error, "Caller is no longer valid"} = StoreOrCaller.get_fuel(caller)
      assert {:error, "Caller is no longer valid"} = StoreOrCaller.set_fuel(caller, 5)
    end
  end

  describe "set_fuel/2" do
    test "a store without fuel accounting answers an error" do
      assert {:error, "Could not set fuel: fuel is not configured in this store"} =
               StoreOrCaller.set_fuel(store!(), 100)
    end

    test "returns :ok" do
      assert :ok = StoreOrCaller.set_fuel(fuel_store!(), 100)
    end

    test "rejects a negative amount" do
      assert_raise FunctionClauseError, fn -> StoreOrCaller.set_fuel(fuel_store!(), -1) end
    end

    test "with no fuel a call traps" do
      {store, instance} = fuel_instance!()
      assert {:error, reason} = call(store, instance, "answer", [])
      assert reason =~ "Error during function excecution ("
      assert reason =~ "all fuel consumed by WebAssembly"
    end

    test "a loop runs out of fuel and traps; the store works again after refuelling" do
      {store, instance} = fuel_instance!()
      assert :ok = StoreOrCaller.set_fuel(store, 10_000)
      assert {:error, reason} = call(store, instance, "forever", [])
      assert reason =~ "all fuel consumed by WebAssembly"
      assert {:ok, 0} = StoreOrCaller.get_fuel(store)

      assert :ok = StoreOrCaller.set_fuel(store, 100)
      assert {:ok, [42]} = call(store, instance, "answer", [])
    end

    test "a bounded loop finishes with enough fuel and traps without" do
      {store, instance} = fuel_instance!()
      assert :ok = StoreOrCaller.set_fuel(store, 100)
      assert {:error, reason} = call(store, instance, "spin", [10_000])
      assert reason =~ "all fuel consumed by WebAssembly"

      assert :ok = StoreOrCaller.set_fuel(store, 1_000_000)
      assert {:ok, []} = call(store, instance, "spin", [10_000])
    end

    test "an import can refuel the running call through its caller" do
      {store, instance} = fuel_setting_instance!(1_000_000)

      assert :ok = StoreOrCaller.set_fuel(store, 100)
      assert {:ok, []} = call(store, instance, "callback_then_spin", [10_000])
      assert {:ok, left} = StoreOrCaller.get_fuel(store)
      assert left < 1_000_000 and left > 0
    end

    test "an import can drain the running call's fuel through its caller" do
      {store, instance} = fuel_setting_instance!(0)

      assert :ok = StoreOrCaller.set_fuel(store, 1_000_000)
      assert {:error, reason} = call(store, instance, "callback_then_spin", [10_000])
      assert reason =~ "all fuel consumed by WebAssembly"
    end

    test "instantiation runs the start function on fuel" do
      store = fuel_store!()
      module = compile!(store, @start_wat)

      assert {:error, reason} = Instance.new(store, module, %{})
      assert reason =~ "all fuel consumed by WebAssembly"

      assert :ok = StoreOrCaller.set_fuel(store, 1_000)
      assert {:ok, instance} = Instance.new(store, module, %{})
      assert {:ok, 1} = Instance.get_global_value(store, instance, "g")
      assert {:ok, left} = StoreOrCaller.get_fuel(store)
      assert left < 1_000
      assert %Module{} = module
    end
  end

  test "Inspect shows #Wasmex.StoreOrCaller<...> for a caller too" do
    caller = escaped_caller!(1_000)
    assert inspect(caller) =~ ~r/^#Wasmex\.StoreOrCaller<#Reference<[\d.]+>>$/
  end
end
