defmodule Wasmex.ComponentsTest do
  use Wasmex.ComponentCase, async: true

  alias Wasmex.Components
  alias Wasmex.Components.{Instance, Store}

  @moduletag timeout: 60_000
  @moduletag :capture_log

  defp types_server(_context), do: %{pid: start_component!("component_types")}

  defp call(pid, name, args), do: Components.call_function(pid, name, args)

  # A trap replaces the instance: the counter starts again at 1.
  defp assert_trap_resets_counter(pid) do
    assert {:ok, 1} = call(pid, "counter-inc", [])
    assert {:error, _} = call(pid, "trap", [])
    assert {:ok, 1} = call(pid, "counter-inc", [])
  end

  describe "start_link/1" do
    test "starts from :bytes (a keyword list)" do
      assert {:ok, pid} = Components.start_link(bytes: component_bytes("component_types"))
      assert is_pid(pid)
      assert {:ok, 3} = call(pid, "add", [1, 2])
    end

    test "starts from :path" do
      assert {:ok, pid} = Components.start_link(path: component_path("component_types"))
      assert {:ok, 7} = call(pid, "add", [3, 4])
    end

    test "accepts a map of options" do
      assert {:ok, pid} = Components.start_link(%{bytes: component_bytes("component_types")})
      assert {:ok, 10} = call(pid, "add", [4, 6])
    end

    test ":bytes wins over :path" do
      assert {:ok, pid} =
               Components.start_link(
                 bytes: component_bytes("component_types"),
                 path: component_path("component_wasi")
               )

      assert {:ok, 5} = call(pid, "add", [2, 3])
      assert {:error, "exported function `run` not found."} = call(pid, "run", [])
    end

    test "accepts component WAT text as :bytes" do
      assert {:ok, pid} = Components.start_link(bytes: "(component)")
      assert {:error, "exported function `x` not found."} = call(pid, "x", [])
    end

    test "raises ArgumentError without :bytes or :path", %{name: name} do
      assert_raise ArgumentError, "Either :bytes or :path must be provided", fn ->
        Components.start_link(name: name)
      end
    end

    test "a :path that does not exist raises File.Error" do
      assert_raise File.Error, fn ->
        Components.start_link(path: Path.join(tmp_dir!(), "missing.wasm"))
      end
    end

    test "an invalid :wasi value raises ArgumentError" do
      assert_raise ArgumentError, ~r/option :wasi must be a %Wasmex.Wasi.WasiP2Options\{\}/, fn ->
        Components.start_link(bytes: "(component)", wasi: true)
      end
    end

    test "bytes that are not a component give {:error, _} and the caller survives" do
      {result, alive?} = in_bystander(fn -> Components.start_link(bytes: "junk") end)
      assert {:error, "Unable to decode WASM: " <> _} = result
      assert alive?
    end

    test "a core module is rejected with {:error, _}" do
      assert {:ok, core} = Wasmex.Wat.to_wasm("(module)")

      assert {:error, "Unable to decode WASM: " <> message} = Components.start_link(bytes: core)
      assert message =~ "component parser"
    end

    test "missing imports fail instantiation with {:error, _}, not an exit" do
      {result, alive?} =
        in_bystander(fn ->
          Components.start_link(bytes: component_bytes("component_imports"), imports: %{})
        end)

      assert {:error, message} = result
      assert message =~ "component imports"
      assert message =~ "matching implementation was not found in the linker"
      assert alive?
    end

    test "import keys must be strings" do
      imports = %{:"host-add" => {:fn, fn a, b -> a + b end}}

      assert {:error, "the keys of imports must be strings"} =
               Components.start_link(
                 bytes: component_bytes("component_imports"),
                 imports: importer_imports() |> Map.delete("host-add") |> Map.merge(imports)
               )
    end

    test "import entries with another tag are ignored (so the import is missing)" do
      assert {:error, message} =
               Components.start_link(
                 bytes: component_bytes("component_imports"),
                 imports: importer_imports(%{"host-add" => {:not_fn, fn a, b -> a + b end}})
               )

      assert message =~ "component imports function `host-add`"
    end

    test "registers the :name", %{name: name} do
      assert {:ok, pid} = Components.start_link(bytes: "(component)", name: name)
      assert Process.whereis(name) == pid

      assert {:error, "exported function `f` not found."} =
               Components.call_function(name, "f", [])
    end

    test "links the server to the caller" do
      pid = start_component!("component_types")
      assert {:links, links} = Process.info(self(), :links)
      assert pid in links
    end

    test "uses a given :store and ignores :wasi and :store_limits then" do
      assert {:ok, store} = Store.new()

      assert {:ok, pid} =
               Components.start_link(
                 bytes: component_bytes("component_wasi"),
                 store: store,
                 wasi: %Wasmex.Wasi.WasiP2Options{args: ["ignored"]},
                 store_limits: %Wasmex.StoreLimits{memory_size: 1}
               )

      assert {:ok, "args=;env=;stdin=;file=none"} = call(pid, "run", [])
      assert %Instance{store_resource: resource} = Components.instance(pid)
      assert resource == store.resource
    end

    test ":store_limits too small for the component's memory fail instantiation" do
      assert {:error, message} =
               Components.start_link(
                 bytes: component_bytes("component_types"),
                 store_limits: %Wasmex.StoreLimits{memory_size: 1_000}
               )

      assert message =~ "exceeds memory limits"
    end

    test "ignores unknown options such as :engine_config" do
      assert {:ok, pid} =
               Components.start_link(
                 bytes: component_bytes("component_types"),
                 engine_config: %Wasmex.EngineConfig{}
               )

      assert {:ok, 2} = call(pid, "add", [1, 1])
    end
  end

  describe "call_function/4" do
    setup :types_server

    test "calls a root export by string and by atom", %{pid: pid} do
      assert {:ok, 3} = call(pid, "add", [1, 2])
      assert {:ok, 9} = call(pid, :"echo-u8", [9])
    end

    test "a function without results gives {:ok, []}", %{pid: pid} do
      assert {:ok, []} = call(pid, "no-result", [])
    end

    test "u32 addition wraps in the guest", %{pid: pid} do
      assert {:ok, 0} = call(pid, "add", [4_294_967_295, 1])
    end

    test "calls an interface export by tuple path", %{pid: pid} do
      assert {:ok, 42} = call(pid, {"wasmex:test/math@0.1.0", "add"}, [40, 2])
    end

    test "calls an interface export by list path (strings and atoms)", %{pid: pid} do
      assert {:ok, 5} = call(pid, ["wasmex:test/math@0.1.0", "add"], [2, 3])
      assert {:ok, 5} = call(pid, ["wasmex:test/math@0.1.0", :add], [2, 3])
      assert {:ok, 5} = call(pid, {:"wasmex:test/math@0.1.0", :add}, [2, 3])
    end

    test "a missing root export", %{pid: pid} do
      assert {:error, "exported function `f` not found."} = call(pid, "f", [])
      assert {:error, "exported function `f` not found."} = call(pid, :f, [])
    end

    test "a missing segment in a path names the segment and its position", %{pid: pid} do
      assert {:error,
              "exported function `[wasmex:test/math@0.1.0, b]` not found. Could not find `b` at position 1"} =
               call(pid, ["wasmex:test/math@0.1.0", "b"], [])

      assert {:error, "exported function `[a, b]` not found. Could not find `a` at position 0"} =
               call(pid, ["a", "b"], [])

      assert {:error, "exported function `[add, x]` not found. Could not find `x` at position 1"} =
               call(pid, {"add", "x"}, [])
    end

    test "an interface (not a function) is not callable", %{pid: pid} do
      assert {:error, "exported function `wasmex:test/math@0.1.0` not found."} =
               call(pid, "wasmex:test/math@0.1.0", [])

      assert {:error, "exported function `wasmex:test/math@0.1.0` not found."} =
               call(pid, {"wasmex:test/math@0.1.0"}, [])
    end

    test "an empty path gives the 0.15.1 error text", %{pid: pid} do
      assert {:error, "exported function `` not found."} = call(pid, [], [])
    end

    test "too few arguments", %{pid: pid} do
      assert {:error, "number of params does not match. expected 2, got 1"} =
               call(pid, "add", [1])

      assert {:error, "number of params does not match. expected 2, got 1"} =
               call(pid, {"wasmex:test/math@0.1.0", "add"}, [1])
    end

    test "too many arguments", %{pid: pid} do
      assert {:error, "number of params does not match. expected 2, got 3"} =
               call(pid, "add", [1, 2, 3])

      assert {:error, "number of params does not match. expected 0, got 1"} =
               call(pid, "no-result", [7])
    end

    test "errors name the argument position", %{pid: pid} do
      assert {:error, "Could not convert Binary to U32 (argument 2)"} = call(pid, "add", [1, "2"])
    end

    test "argument errors leave the instance and its state intact", %{pid: pid} do
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert {:error, _} = call(pid, "add", [1, :two])
      assert {:error, _} = call(pid, "missing", [])
      assert {:ok, 2} = call(pid, "counter-inc", [])
    end

    test "params must be a list", %{pid: pid} do
      assert_raise FunctionClauseError, fn -> Components.call_function(pid, "add", {1, 2}) end
    end

    test "an invalid timeout raises ArgumentError", %{pid: pid} do
      assert_raise ArgumentError, ~r/timeout must be a non-negative integer or :infinity/, fn ->
        Components.call_function(pid, "add", [1, 2], :soon)
      end
    end

    test ":infinity as timeout", %{pid: pid} do
      assert {:ok, 3} = Components.call_function(pid, "add", [1, 2], :infinity)
    end

    test "the 100 KB string round trip", %{pid: pid} do
      big = String.duplicate("abcdefghij", 10_000)
      assert {:ok, 100_000} = call(pid, "string-length", [big])
      assert {:ok, ^big} = call(pid, "echo-string", [big])
    end

    test "string-length counts UTF-8 bytes", %{pid: pid} do
      assert {:ok, 6} = call(pid, "string-length", ["añΩ!"])
    end

    test "concurrent callers are served one at a time and all get answers", %{pid: pid} do
      results =
        1..20
        |> Enum.map(fn i -> Task.async(fn -> call(pid, "add", [i, i]) end) end)
        |> Task.await_many(10_000)

      assert results == Enum.map(1..20, &{:ok, 2 * &1})
      assert {:ok, 1} = call(pid, "counter-inc", [])
    end
  end

  describe "timeouts and recovery" do
    setup :types_server

    for {name, timeout, bound} <- [
          {"spin with timeout 100 returns {:error, :timeout} within ~150 ms", 100, 150},
          {"timeout 0 gives {:error, :timeout} at once", 0, 100}
        ] do
      test name, %{pid: pid} do
        {ms, result} =
          timed_ms(fn -> Components.call_function(pid, "spin", [], unquote(timeout)) end)

        assert result == {:error, :timeout}
        assert ms < unquote(bound)
        assert {:ok, 3} = call(pid, "add", [1, 2])
      end
    end

    test "a spinning call does not block other processes", %{pid: pid} do
      task = Task.async(fn -> Components.call_function(pid, "spin", [], 300) end)
      {ms, value} = timed_ms(fn -> Enum.sum(1..100_000) end)
      assert value == 5_000_050_000
      assert ms < 200
      assert {:error, :timeout} = Task.await(task, 2_000)
    end

    test "counter state lives in the instance and is reset after a trap", %{pid: pid} do
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert {:ok, 2} = call(pid, "counter-inc", [])
      assert {:error, message} = call(pid, "trap", [])
      assert message =~ "unreachable"
      assert Process.alive?(pid)
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert {:ok, 2} = call(pid, "counter-inc", [])
    end

    test "the instance is replaced after a timeout too", %{pid: pid} do
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert {:error, :timeout} = Components.call_function(pid, "spin", [], 50)
      assert {:ok, 1} = call(pid, "counter-inc", [])
    end

    test "repeated traps and timeouts keep the server usable", %{pid: pid} do
      for _ <- 1..5 do
        assert {:error, _} = call(pid, "trap", [])
        assert {:error, :timeout} = Components.call_function(pid, "spin", [], 20)
        assert {:ok, 1} = call(pid, "counter-inc", [])
      end
    end

    test "an import failure replaces the instance (state resets)" do
      imports =
        importer_imports(%{
          "host-add" => {:fn, fn a, b -> if a == 0, do: raise("boom"), else: a + b end}
        })

      pid = start_component!("component_imports", imports: imports)
      assert {:error, _} = call(pid, "call-host-add", [0, 0])
      assert {:ok, 2} = call(pid, "call-host-add", [1, 1])
    end

    test "with a given :store the server recovers after a trap" do
      assert {:ok, store} = Store.new()

      pid = start_component!("component_types", store: store)

      assert_trap_resets_counter(pid)
    end

    test "with a given :store (limits and WASI) the replacement lives in a new store" do
      assert {:ok, store} =
               Store.new_wasi(
                 %Wasmex.Wasi.WasiP2Options{inherit_stdout: false, inherit_stderr: false},
                 %Wasmex.StoreLimits{memory_size: 200 * 65_536}
               )

      pid = start_component!("component_types", store: store)

      assert Components.instance(pid).store_resource == store.resource
      assert {:error, :timeout} = Components.call_function(pid, "spin", [], 20)
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert Components.instance(pid).store_resource != store.resource
      assert {:error, _} = call(pid, "trap", [])
      assert {:ok, 1} = call(pid, "counter-inc", [])
    end

    test "with a given fuel-metered :store the server recovers after a trap" do
      assert {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{consume_fuel: true})
      assert {:ok, store} = Store.new(nil, engine)

      assert :ok =
               Wasmex.StoreOrCaller.set_fuel(
                 %Wasmex.StoreOrCaller{resource: store.resource, reference: make_ref()},
                 10_000_000
               )

      pid = start_component!("component_types", store: store)

      assert_trap_resets_counter(pid)
    end
  end

  describe "instance/1" do
    setup :types_server

    test "returns the bare instance struct", %{pid: pid} do
      assert %Instance{store_resource: store, instance_resource: res, reference: ref} =
               Components.instance(pid)

      assert is_reference(store) and is_reference(res) and is_reference(ref)
    end

    test "is stable while the instance works", %{pid: pid} do
      instance = Components.instance(pid)
      assert {:ok, 1} = call(pid, "counter-inc", [])
      assert Components.instance(pid) == instance
    end

    test "changes after the server replaced a broken instance", %{pid: pid} do
      before = Components.instance(pid)
      assert {:error, _} = call(pid, "trap", [])
      after_trap = Components.instance(pid)
      assert %Instance{} = after_trap
      assert after_trap.instance_resource != before.instance_resource
      assert {:ok, 1} = call(pid, "counter-inc", [])
    end

    test "answers by registered name", %{name: name} do
      start_component!("component_types", name: name)
      assert %Instance{} = Components.instance(name)
    end
  end

  describe "child_spec/1" do
    test "uses :name as the id" do
      assert %{id: :my_component, start: {Components, :start_link, [opts]}} =
               Components.child_spec(name: :my_component, path: "x.wasm")

      assert opts == [name: :my_component, path: "x.wasm"]
    end

    test "defaults the id to the module" do
      assert %{id: Components, start: {Components, :start_link, [[path: "x.wasm"]]}} =
               Components.child_spec(path: "x.wasm")
    end

    test "a supervised server is restarted after being killed and answers", %{name: name} do
      sup = supervisor!([{Components, name: name, bytes: component_bytes("component_types")}])

      first = Process.whereis(name)
      assert is_pid(first)
      assert {:ok, 1} = call(name, "counter-inc", [])
      assert {:ok, 2} = call(name, "counter-inc", [])

      second = kill_and_await_restart(name, first)
      assert is_pid(second)
      assert {:ok, 1} = call(name, "counter-inc", [])
      assert [{^name, ^second, :worker, [Components]}] = Supervisor.which_children(sup)
    end

    test "two named servers under one supervisor keep separate instances" do
      [a, b] = [unique_name(), unique_name()]

      sup =
        supervisor!([
          {Components, name: a, bytes: component_bytes("component_types")},
          {Components, name: b, bytes: component_bytes("component_types")}
        ])

      assert length(Supervisor.which_children(sup)) == 2
      assert {:ok, 1} = call(a, "counter-inc", [])
      assert {:ok, 2} = call(a, "counter-inc", [])
      assert {:ok, 1} = call(b, "counter-inc", [])
    end
  end
end
