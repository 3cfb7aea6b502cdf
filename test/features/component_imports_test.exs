defmodule Wasmex.Features.ComponentImportsTest do
  # Elixir functions as a component's imports (root and interface imports, WASI overrides),
  # called back while a `Wasmex.Components` call runs.
  use Wasmex.ComponentCase, async: true

  alias Wasmex.Components

  @moduletag timeout: 60_000
  @moduletag :capture_log

  defp call(pid, name, args), do: Components.call_function(pid, name, args)

  describe "imports" do
    test "a root import" do
      pid = start_component!("component_imports", imports: importer_imports())
      assert {:ok, 5} = call(pid, "call-host-add", [2, 3])
    end

    test "root import arguments arrive converted and the callback runs in the server" do
      imports = reporting_host_add(fn a, b -> a * 100 + b end)
      pid = start_component!("component_imports", imports: imports)
      assert {:ok, 4_000_002} = call(pid, "call-host-add", [40_000, 2])
      assert_received {:host_add, ^pid, 40_000, 2}
    end

    test "an interface import" do
      pid = start_component!("component_imports", imports: importer_imports())
      assert {:ok, "Hello, Ada!"} = call(pid, "call-greet", ["Ada"])
      assert {:ok, "Hello, Ωmega!"} = call(pid, "call-greet", ["Ωmega"])
    end

    test "an import returning result<u32, string>: error and ok" do
      pid = start_component!("component_imports", imports: importer_imports())
      assert {:ok, {:error, "host failure"}} = call(pid, "call-host-fail", [])

      pid =
        start_component!("component_imports",
          imports: importer_imports(%{"host-fail" => {:fn, fn -> {:ok, 7} end}})
        )

      assert {:ok, {:ok, 7}} = call(pid, "call-host-fail", [])
    end

    test "a raising import gives {:error, _}; the server stays alive and works" do
      imports =
        importer_imports(%{
          "host-add" =>
            {:fn,
             fn a, b ->
               if a == 0, do: raise("boom"), else: a + b
             end}
        })

      pid = start_component!("component_imports", imports: imports)
      assert {:error, message} = call(pid, "call-host-add", [0, 1])
      assert message =~ "the elixir callback threw an exception"
      assert Process.alive?(pid)
      assert {:ok, 3} = call(pid, "call-host-add", [1, 2])
      assert {:ok, "Hello, x!"} = call(pid, "call-greet", ["x"])
    end

    test "an import that exits or throws gives {:error, _} and the server survives" do
      for fun <- [fn -> exit(:bye) end, fn -> throw(:bye) end] do
        pid =
          start_component!("component_imports",
            imports: importer_imports(%{"host-fail" => {:fn, fun}})
          )

        assert {:error, message} = call(pid, "call-host-fail", [])
        assert message =~ "the elixir callback threw an exception"
        assert Process.alive?(pid)
        assert {:ok, 3} = call(pid, "call-host-add", [1, 2])
      end
    end

    test "an import with the wrong arity gives {:error, _}" do
      pid =
        start_component!("component_imports",
          imports: importer_imports(%{"host-add" => {:fn, fn a -> a end}})
        )

      assert {:error, message} = call(pid, "call-host-add", [1, 2])
      assert message =~ "the elixir callback threw an exception"
      assert Process.alive?(pid)
    end

    test "an import returning the wrong type gives {:error, _}" do
      imports =
        importer_imports(%{
          "host-add" => {:fn, fn _a, _b -> -1 end},
          "host-fail" => {:fn, fn -> :bad end},
          "wasmex:test/host@0.1.0" => %{"greet" => {:fn, fn _ -> 42 end}}
        })

      pid = start_component!("component_imports", imports: imports)

      assert {:error, message} = call(pid, "call-host-add", [1, 2])
      assert message =~ "invalid return value: -1 is out of range for U32"

      assert {:error, message} = call(pid, "call-greet", ["x"])
      assert message =~ "invalid return value: Could not convert Integer to String"

      assert {:error, message} = call(pid, "call-host-fail", [])

      assert message =~
               "invalid return value: Invalid atom: bad, expected ':ok' or ':error' as result"

      assert Process.alive?(pid)
    end

    test "a wrong nested return value names the path" do
      pid =
        start_component!("component_imports",
          imports: importer_imports(%{"host-fail" => {:fn, fn -> {:ok, -1} end}})
        )

      assert {:error, message} = call(pid, "call-host-fail", [])
      assert message =~ ~s{invalid return value: -1 is out of range for U32 at "result(ok)"}
    end

    test "wasi:random is WASI's by default" do
      pid = start_component!("component_imports", imports: importer_imports())
      assert {:ok, a} = call(pid, "random-u64", [])
      assert {:ok, b} = call(pid, "random-u64", [])
      assert is_integer(a) and a >= 0 and a < 18_446_744_073_709_551_616
      assert a != b
    end

    test "overriding a WASI interface at the version the component imports" do
      imports =
        importer_imports(%{
          "wasi:random/random@0.2.12" => %{"get-random-u64" => {:fn, fn -> 42 end}}
        })

      pid = start_component!("component_imports", imports: imports)
      assert {:ok, 42} = call(pid, "random-u64", [])
      assert {:ok, 42} = call(pid, "random-u64", [])
    end

    test "a slow import past the timeout gives {:error, :timeout}; the server answers later" do
      imports =
        importer_imports(%{
          "host-add" =>
            {:fn,
             fn a, b ->
               Process.sleep(300)
               a + b
             end}
        })

      pid = start_component!("component_imports", imports: imports)

      {ms, result} =
        timed_ms(fn -> Components.call_function(pid, "call-host-add", [1, 2], 100) end)

      assert result == {:error, :timeout}
      assert ms < 250
      assert {:ok, "Hello, y!"} = Components.call_function(pid, "call-greet", ["y"], 5_000)
      refute_received {_, {:ok, 3}}
    end
  end
end
