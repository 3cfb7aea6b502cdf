defmodule Wasmex.Components.StoreTest do
  use Wasmex.ComponentCase, async: true

  alias Wasmex.{Engine, EngineConfig, StoreLimits, StoreOrCaller}
  alias Wasmex.Components.{Component, Instance, Store}
  alias Wasmex.Wasi.{PreopenOptions, WasiP2Options}

  @moduletag :capture_log

  # Compiles and instantiates a fixture in `store`.
  defp instantiate(store, name, imports \\ %{}) do
    assert {:ok, component} = Component.new(store, component_bytes(name))
    Instance.new(store, component, imports)
  end

  defp quiet_wasi(fields \\ []) do
    struct!(
      %WasiP2Options{inherit_stdin: false, inherit_stdout: false, inherit_stderr: false},
      fields
    )
  end

  describe "new/2" do
    test "with no arguments builds a store struct of references" do
      assert {:ok, %Store{} = handle} = Store.new()
      assert_handle(handle)
    end

    test "each call gives a distinct store" do
      assert {:ok, a} = Store.new()
      assert {:ok, b} = Store.new()
      assert a.resource != b.resource
      assert a.reference != b.reference
    end

    test "accepts nil limits and a nil engine" do
      assert {:ok, %Store{} = store} = Store.new(nil, nil)
      assert {:ok, %Instance{}} = instantiate(store, "component_types")
    end

    test "accepts limits that fit the component" do
      assert {:ok, store} = Store.new(%StoreLimits{memory_size: 100 * 65_536})
      assert {:ok, instance} = instantiate(store, "component_types")
      assert {:ok, 3} = Instance.call(instance, "add", [1, 2])
    end

    test "a memory limit below the component's minimum fails instantiation" do
      assert {:ok, store} = Store.new(%StoreLimits{memory_size: 1_000})

      assert {:error, "memory minimum size of " <> rest} = instantiate(store, "component_types")

      assert rest =~ "exceeds memory limits"
    end

    test "accepts an explicit engine" do
      assert {:ok, engine} = Engine.new(%EngineConfig{})
      assert {:ok, store} = Store.new(nil, engine)
      assert {:ok, instance} = instantiate(store, "component_types")
      assert {:ok, 9} = Instance.call(instance, "add", [4, 5])
    end

    test "an engine with fuel: a new store has no fuel, so instantiation runs out" do
      assert {:ok, engine} = Engine.new(%EngineConfig{consume_fuel: true})
      assert {:ok, store} = Store.new(nil, engine)

      assert {:error, message} = instantiate(store, "component_types")
      assert message =~ "all fuel consumed"
    end

    test "an engine with fuel: fuel set through StoreOrCaller bounds a spinning guest" do
      assert {:ok, engine} = Engine.new(%EngineConfig{consume_fuel: true})
      assert {:ok, store} = Store.new(nil, engine)
      fuel_handle = %StoreOrCaller{resource: store.resource, reference: make_ref()}
      assert :ok = StoreOrCaller.set_fuel(fuel_handle, 10_000_000)

      assert {:ok, instance} = instantiate(store, "component_types")
      assert {:ok, 3} = Instance.call(instance, "add", [1, 2])

      {ms, result} = timed_ms(fn -> Instance.call(instance, "spin", [], 10_000) end)
      assert {:error, message} = result
      assert message =~ "all fuel consumed by WebAssembly"
      assert ms < 5_000
    end

    test "a store without fuel reports it through StoreOrCaller" do
      assert {:ok, store} = Store.new()

      assert {:error, "Could not get fuel: fuel is not configured in this store"} =
               StoreOrCaller.get_fuel(%StoreOrCaller{
                 resource: store.resource,
                 reference: make_ref()
               })
    end

    test "a store without WASI still runs a component that uses WASI, with empty stdio" do
      assert {:ok, store} = Store.new()
      assert {:ok, instance} = instantiate(store, "component_wasi")
      assert {:ok, "args=;env=;stdin=;file=none"} = Instance.call(instance, "run", [])
    end

    test "rejects an engine that is not a %Wasmex.Engine{} with ArgumentError" do
      assert_raise ArgumentError, fn -> Store.new(nil, :not_an_engine) end
    end

    test "rejects limits that are not a %Wasmex.StoreLimits{}" do
      assert_raise ArgumentError, fn -> Store.new(:bad) end
    end
  end

  describe "new_wasi/3" do
    test "with no arguments builds a store" do
      assert {:ok, %Store{resource: resource}} = Store.new_wasi()
      assert is_reference(resource)
    end

    test "passes args and env (converted to strings) to the guest" do
      assert {:ok, store} = Store.new_wasi(quiet_wasi(args: [:prog, 1], env: %{A: 1, b: "two"}))
      assert {:ok, instance} = instantiate(store, "component_wasi")

      assert {:ok, "args=prog,1;env=A=1,b=two;stdin=;file=none"} =
               Instance.call(instance, "run", [])
    end

    test "accepts limits and an engine" do
      assert {:ok, store} =
               Store.new_wasi(
                 quiet_wasi(),
                 %StoreLimits{memory_size: 100 * 65_536},
                 Engine.default()
               )

      assert {:ok, instance} = instantiate(store, "component_wasi")
      assert {:ok, "args=;env=;stdin=;file=none"} = Instance.call(instance, "run", [])
    end

    test "memory limits apply to WASI stores too" do
      assert {:ok, store} = Store.new_wasi(quiet_wasi(), %StoreLimits{memory_size: 1_000})
      assert {:error, message} = instantiate(store, "component_wasi")
      assert message =~ "exceeds memory limits"
    end

    test "a preopen that does not exist is an error" do
      missing = Path.join(tmp_dir!(), "missing")

      assert {:error, message} =
               Store.new_wasi(quiet_wasi(preopen: [%PreopenOptions{path: missing}]))

      assert message =~ "Could not preopen `#{missing}`"
    end

    test "a preopen that is a file is an error" do
      file = Path.join(tmp_dir!(), "file.txt")
      File.write!(file, "x")

      assert {:error, message} =
               Store.new_wasi(quiet_wasi(preopen: [%PreopenOptions{path: file}]))

      assert message =~ "Not a directory"
    end

    test "only a %WasiP2Options{} is accepted" do
      assert_raise FunctionClauseError, fn -> Store.new_wasi(%{}) end
      assert_raise FunctionClauseError, fn -> Store.new_wasi(%Wasmex.Wasi.WasiOptions{}) end
    end

    test "preopen entries that are not %PreopenOptions{} raise ArgumentError" do
      assert_raise ArgumentError,
                   ~r/preopen entries must be %Wasmex.Wasi.PreopenOptions\{\}/,
                   fn ->
                     Store.new_wasi(quiet_wasi(preopen: [System.tmp_dir!()]))
                   end
    end

    test "allow_http: true builds a store that links wasi:http" do
      assert {:ok, store} = Store.new_wasi(quiet_wasi(allow_http: true))
      assert {:ok, %Instance{}} = instantiate(store, "component_http")
    end

    test "without allow_http, wasi:http is linked but refuses requests" do
      assert {:ok, store} = Store.new_wasi(quiet_wasi())
      assert {:ok, %Instance{} = instance} = instantiate(store, "component_http")

      assert {:ok, {:error, "ErrorCode::HttpProtocolError"}} =
               Instance.call(instance, "fetch", ["http://127.0.0.1:1/"])
    end
  end

  describe "WasiP2Options" do
    test "defaults" do
      options = %WasiP2Options{}
      assert options.inherit_stdin
      assert options.inherit_stdout
      assert options.inherit_stderr
      refute options.allow_http
      assert options.args == []
      assert options.env == %{}
      assert options.preopen == []
      assert options.stdin == nil
      assert options.stdout == nil
      assert options.stderr == nil
    end
  end
end
