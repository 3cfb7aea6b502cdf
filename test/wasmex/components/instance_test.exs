defmodule Wasmex.Components.InstanceTest do
  use Wasmex.ComponentCase, async: true

  alias Wasmex.Components.{Component, Instance, Store}

  @moduletag :capture_log

  defp instance!(name, imports \\ %{}, store \\ nil) do
    store = store || elem(Store.new(), 1)
    assert {:ok, component} = Component.new(store, component_bytes(name))
    assert {:ok, %Instance{} = instance} = Instance.new(store, component, imports)
    {store, component, instance}
  end

  defp types_instance(_context) do
    {store, component, instance} = instance!("component_types")
    %{store: store, component: component, instance: instance}
  end

  describe "new/4" do
    test "returns an instance struct of references" do
      {store, _component, instance} = instance!("component_types")
      assert %Instance{store_resource: sr, instance_resource: ir, reference: ref} = instance
      assert sr == store.resource
      assert is_reference(ir)
      assert is_reference(ref)
    end

    test "instantiates the empty component" do
      {:ok, store} = Store.new()
      {:ok, component} = Component.new(store, "(component)")
      assert {:ok, %Instance{}} = Instance.new(store, component, %{})
    end

    test "imports must be a map" do
      {:ok, store} = Store.new()
      {:ok, component} = Component.new(store, "(component)")
      assert_raise FunctionClauseError, fn -> Instance.new(store, component, []) end
    end

    test "missing imports are an error naming the import" do
      {:ok, store} = Store.new()
      {:ok, component} = Component.new(store, component_bytes("component_imports"))

      assert {:error, message} =
               Instance.new(store, component, Map.delete(importer_imports(), "host-fail"))

      assert message =~ "component imports function `host-fail`"
    end

    test "an interface import with a missing function is an error" do
      {:ok, store} = Store.new()
      {:ok, component} = Component.new(store, component_bytes("component_imports"))
      imports = Map.put(importer_imports(), "wasmex:test/host@0.1.0", %{})

      assert {:error, message} = Instance.new(store, component, imports)
      assert message =~ "component imports instance `wasmex:test/host@0.1.0`"
      assert message =~ "greet"
    end

    test "accepts a timeout" do
      {:ok, store} = Store.new()
      {:ok, component} = Component.new(store, component_bytes("component_types"))
      assert {:ok, instance} = Instance.new(store, component, %{}, 5_000)
      assert {:ok, 2} = Instance.call(instance, "add", [1, 1])
      assert {:ok, _} = Instance.new(store, component, %{}, :infinity)
    end

    test "an invalid timeout raises ArgumentError" do
      {:ok, store} = Store.new()
      {:ok, component} = Component.new(store, "(component)")

      assert_raise ArgumentError, fn -> Instance.new(store, component, %{}, :soon) end
    end
  end

  describe "call/4" do
    setup :types_instance

    test "calls root and interface exports", %{instance: instance} do
      assert {:ok, 3} = Instance.call(instance, "add", [1, 2])
      assert {:ok, 3} = Instance.call(instance, :add, [1, 2])
      assert {:ok, 30} = Instance.call(instance, {"wasmex:test/math@0.1.0", "add"}, [10, 20])
      assert {:ok, 30} = Instance.call(instance, ["wasmex:test/math@0.1.0", "add"], [10, 20])
      assert {:ok, []} = Instance.call(instance, "no-result", [])
    end

    test "a missing export", %{instance: instance} do
      assert {:error, "exported function `nope` not found."} = Instance.call(instance, "nope", [])

      assert {:error,
              "exported function `[wasmex:test/math@0.1.0, sub]` not found. Could not find `sub` at position 1"} =
               Instance.call(instance, {"wasmex:test/math@0.1.0", "sub"}, [])
    end

    # Arguments of 512 KiB or more (or lists of 64Ki elements or more) take the dirty-scheduler
    # path (component_call_dirty, then exec_continue_dirty / exec_resume_dirty).
    test "large arguments: the same results on the dirty-scheduler path", %{instance: instance} do
      bytes = :crypto.strong_rand_bytes(1024 * 1024)
      expected = :binary.bin_to_list(bytes)
      assert {:ok, ^expected} = Instance.call(instance, "echo-list-u8", [bytes])
      assert {:ok, ^expected} = Instance.call(instance, "echo-list-u8", [expected])

      text = String.duplicate("é", 300_000)
      assert {:ok, ^text} = Instance.call(instance, "echo-string", [text])
      assert {:ok, 600_000} = Instance.call(instance, "string-length", [text])

      assert {:error, "300 is out of range for U8 at \"list[70000]\" (argument 1)"} =
               Instance.call(instance, "echo-list-u8", [List.duplicate(1, 70_000) ++ [300]])

      # the instance serves small calls as before
      assert {:ok, 3} = Instance.call(instance, "add", [1, 2])
    end

    test "large arguments: imports on the dirty-scheduler path" do
      imports = %{
        "host-add" => {:fn, fn a, b -> a + b end},
        "host-fail" => {:fn, fn -> {:ok, 1} end},
        "wasmex:test/host@0.1.0" => %{"greet" => {:fn, fn name -> byte_size(name) end}}
      }

      {_store, _component, instance} = instance!("component_imports", imports)
      name = String.duplicate("n", 600_000)

      # the import returns a number where a string is expected: only this call fails
      assert {:error, message} = Instance.call(instance, "call-greet", [name])
      assert message =~ "Could not convert Integer to String"

      imports = put_in(imports, ["wasmex:test/host@0.1.0", "greet"], {:fn, &("hi " <> &1)})
      {_store, _component, instance} = instance!("component_imports", imports)
      assert {:ok, "hi " <> ^name} = Instance.call(instance, "call-greet", [name])
    end

    test "guest state lives in the instance", %{instance: instance} do
      assert {:ok, 1} = Instance.call(instance, "counter-inc", [])
      assert {:ok, 2} = Instance.call(instance, "counter-inc", [])
      assert {:ok, 3} = Instance.call(instance, "counter-inc", [])
    end

    test "a timeout stops a spinning guest", %{instance: instance} do
      {ms, result} = timed_ms(fn -> Instance.call(instance, "spin", [], 50) end)
      assert result == {:error, :timeout}
      assert ms < 500
    end

    test "a trap is an error, and the trapped store cannot be entered again", %{
      store: store,
      component: component,
      instance: instance
    } do
      assert {:error, message} = Instance.call(instance, "trap", [])
      assert message =~ "Error executing function"
      assert message =~ "wasm `unreachable` instruction executed"

      assert {:error, message} = Instance.call(instance, "add", [1, 2])
      assert message == Wasmex.Components.unusable_error()

      # wasmtime poisons the whole store: no new instance can be made in it either.
      assert {:error, ^message} = Instance.new(store, component, %{})

      # A fresh store works.
      {_store, _component, fresh} = instance!("component_types")
      assert {:ok, 3} = Instance.call(fresh, "add", [1, 2])
    end

    test "an instance used with another store's handle is rejected", %{store: store} do
      {_other_store, _component, other} = instance!("component_types")

      assert {:error, "the instance belongs to another store"} =
               Instance.call(%{other | store_resource: store.resource}, "add", [1, 2])
    end

    test "two instances in one store have separate state" do
      {:ok, store} = Store.new()
      {_, component, a} = instance!("component_types", %{}, store)
      assert {:ok, b} = Instance.new(store, component, %{})
      assert {:ok, 1} = Instance.call(a, "counter-inc", [])
      assert {:ok, 2} = Instance.call(a, "counter-inc", [])
      assert {:ok, 1} = Instance.call(b, "counter-inc", [])
    end

    test "argument errors", %{instance: instance} do
      assert {:error, "number of params does not match. expected 2, got 0"} =
               Instance.call(instance, "add", [])

      assert {:error, "Could not convert Atom to U32 (argument 1)"} =
               Instance.call(instance, "add", [:one, 2])
    end

    test "args must be a list", %{instance: instance} do
      assert_raise FunctionClauseError, fn -> Instance.call(instance, "add", {1, 2}) end
    end

    test "imports run in the calling process" do
      imports = reporting_host_add(fn a, b -> a * b end)
      {_store, _component, instance} = instance!("component_imports", imports)
      assert {:ok, 42} = Instance.call(instance, "call-host-add", [6, 7])
      assert_received {:host_add, pid, 6, 7}
      assert pid == self()
    end

    test "interface imports and result-typed imports" do
      imports =
        importer_imports(%{
          "host-fail" => {:fn, fn -> :error end},
          "wasmex:test/host@0.1.0" => %{"greet" => {:fn, &String.upcase/1}}
        })

      {_store, _component, instance} = instance!("component_imports", imports)
      assert {:ok, "SHOUT"} = Instance.call(instance, "call-greet", ["shout"])

      assert {:error, message} = Instance.call(instance, "call-host-fail", [])
      assert message =~ "invalid return value"
    end

    test "a WASI interface can be replaced" do
      imports =
        importer_imports(%{
          "wasi:random/random@0.2.12" => %{
            "get-random-u64" => {:fn, fn -> 18_446_744_073_709_551_615 end}
          }
        })

      {_store, _component, instance} = instance!("component_imports", imports)
      assert {:ok, 18_446_744_073_709_551_615} = Instance.call(instance, "random-u64", [])
    end

    test "a replacement at a version the component does not import is not used" do
      imports =
        importer_imports(%{
          "wasi:random/random@0.2.3" => %{"get-random-u64" => {:fn, fn -> 42 end}}
        })

      {_store, _component, instance} = instance!("component_imports", imports)
      assert {:ok, a} = Instance.call(instance, "random-u64", [])
      assert {:ok, b} = Instance.call(instance, "random-u64", [])
      refute a == 42 and b == 42
    end
  end

  describe "call_function/5" do
    setup :types_instance

    test "replies to the from tuple and returns :ok", %{instance: instance} do
      ref = make_ref()
      assert :ok = Instance.call_function(instance, "add", [5, 6], {self(), ref})
      assert_receive {^ref, {:ok, 11}}, 5_000
    end

    test "errors are replied too", %{instance: instance} do
      ref = make_ref()
      assert :ok = Instance.call_function(instance, "missing", [], {self(), ref})
      assert_receive {^ref, {:error, "exported function `missing` not found."}}, 5_000
    end

    test "with a timeout", %{instance: instance} do
      ref = make_ref()
      assert :ok = Instance.call_function(instance, "spin", [], {self(), ref}, 30)
      assert_receive {^ref, {:error, :timeout}}, 5_000
    end
  end

  describe "normalize_path/1" do
    test "turns names and paths into lists of strings" do
      assert Instance.normalize_path("add") == ["add"]
      assert Instance.normalize_path(:add) == ["add"]
      assert Instance.normalize_path(["a", :b]) == ["a", "b"]

      assert Instance.normalize_path({"wasmex:test/math@0.1.0", :add}) == [
               "wasmex:test/math@0.1.0",
               "add"
             ]

      assert Instance.normalize_path([]) == []
    end
  end
end
