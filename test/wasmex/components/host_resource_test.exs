defmodule Wasmex.Components.HostResourceTest do
  use Wasmex.Case, async: true

  alias Wasmex.Components
  alias Wasmex.Components.HostResource
  alias Wasmex.HostResourceFixtures

  alias Wasmex.HostResourceFixtures.{
    DirLogger,
    FileLogger,
    RaisingLogger,
    ShortInterface,
    SourceLogger
  }

  @moduletag :capture_log

  @component "test/fixtures/components/component_host_resources.wasm"
  @logging "wasmex:host-resources/logging@0.1.0"

  # Where the loggers' callbacks send their messages (see Wasmex.HostResourceFixtures).
  @test_pid_key HostResourceFixtures.test_pid_key()

  # The freestanding functions of `logging` that take or give loggers.
  defp logging_functions(module) do
    %{
      @logging => %{
        "consume-logger" => {:fn, fn logger -> "consumed " <> prefix_of(logger) end},
        "peek-logger" => {:fn, fn logger -> "peek " <> prefix_of(logger) end},
        "maybe-logger" =>
          {:fn,
           fn
             {:some, prefix} -> {:some, module.new(prefix)}
             :none -> :none
           end}
      }
    }
  end

  defp prefix_of(%{prefix: prefix}), do: prefix
  defp prefix_of(prefix) when is_binary(prefix), do: prefix

  defp start_server!(module) do
    imports = HostResource.merge_imports([module, logging_functions(module)])
    assert {:ok, pid} = Components.start_link(path: @component, imports: imports)
    pid
  end

  describe "drop/1" do
    test "returns :ok by default" do
      assert FileLogger.drop("any term") == :ok
      assert SourceLogger.drop(%{}) == :ok
    end

    test "can be overridden" do
      :persistent_term.put(@test_pid_key, self())
      assert DirLogger.drop(%{prefix: "p"}) == :ok
      assert_received {:dropped, "p"}
      assert_raise RuntimeError, "drop failed", fn -> RaisingLogger.drop("x") end
    end
  end

  describe "imports/0 with Wasmex.Components" do
    setup do
      :persistent_term.put(@test_pid_key, self())
      on_exit(fn -> :persistent_term.erase(@test_pid_key) end)
      %{pid: start_server!(DirLogger)}
    end

    test "the guest constructs, calls and drops a logger", %{pid: pid} do
      assert Components.call_function(pid, "use-logger", ["a: ", "hi"]) == {:ok, "a: hi"}
      assert_received {:new, "a: "}
      assert_received {:dropped, "a: "}
    end

    test "methods get the constructor's term", %{pid: pid} do
      assert Components.call_function(pid, "count-logs", ["b: ", "hi"]) == {:ok, 2}
      assert_received {:new, "b: "}
      assert_received {:dropped, "b: "}
    end

    test "a static function's result becomes a guest handle", %{pid: pid} do
      assert Components.call_function(pid, "default-log", ["hi"]) == {:ok, "default: hi"}
      assert_received {:new, "default: "}
      assert_received {:dropped, "default: "}
    end

    test "an own<logger> import gets the term and drop/1 is not called", %{pid: pid} do
      assert Components.call_function(pid, "give-logger", ["c: "]) == {:ok, "consumed c: "}
      assert_received {:new, "c: "}
      refute_received {:dropped, _}
    end

    test "a borrow<logger> import gets the term and the guest keeps it", %{pid: pid} do
      assert Components.call_function(pid, "lend-logger", ["d: ", "x"]) == {:ok, "peek d: |d: x"}
      assert_received {:dropped, "d: "}
    end

    test "an option<logger> result becomes a guest handle", %{pid: pid} do
      assert Components.call_function(pid, "maybe-log", [{:some, "e: "}, "x"]) ==
               {:ok, {:some, "e: x"}}

      assert_received {:dropped, "e: "}
      assert Components.call_function(pid, "maybe-log", [:none, "x"]) == {:ok, :none}
      refute_received {:dropped, _}
    end

    test "drop/1 runs when the guest drops the handle, not before", %{pid: pid} do
      assert Components.call_function(pid, "keep-logger", ["k: "]) == {:ok, []}
      assert_received {:new, "k: "}
      refute_received {:dropped, _}
      assert Components.call_function(pid, "drop-kept", []) == {:ok, []}
      assert_received {:dropped, "k: "}
    end
  end

  describe "imports/0 with the default drop/1" do
    test "the guest's calls work" do
      pid = start_server!(FileLogger)
      assert Components.call_function(pid, "use-logger", ["f: ", "hi"]) == {:ok, "f: hi"}
      assert Components.call_function(pid, "default-log", ["hi"]) == {:ok, "file default: hi"}
    end

    test "a drop/1 that raises fails the call that dropped the handle" do
      pid = start_server!(RaisingLogger)

      assert {:error, "Error executing function: " <> message} =
               Components.call_function(pid, "use-logger", ["r: ", "hi"])

      assert String.ends_with?(message, ": the elixir callback threw an exception")
      # Giving the logger away does not drop it.
      assert Components.call_function(pid, "give-logger", ["g: "]) == {:ok, "consumed g: "}
    end
  end

  describe "merge_imports/1" do
    test "no sources give no imports" do
      assert HostResource.merge_imports([]) == %{}
    end

    test "merges the functions of one interface" do
      a = {:fn, &Function.identity/1}
      b = {:fn, &is_nil/1}

      assert HostResource.merge_imports([
               %{"my:pkg/api" => %{"a" => a}},
               %{"my:pkg/api" => %{"b" => b}, "root" => a}
             ]) == %{"my:pkg/api" => %{"a" => a, "b" => b}, "root" => a}
    end

    test "a later source wins on the same name" do
      a = {:fn, &Function.identity/1}
      b = {:fn, &is_nil/1}

      assert HostResource.merge_imports([
               %{"my:pkg/api" => %{"f" => a, "g" => a}, "root" => a},
               %{"my:pkg/api" => %{"f" => b}, "root" => b}
             ]) == %{"my:pkg/api" => %{"f" => b, "g" => a}, "root" => b}
    end

    test "only two levels are merged: a later non-map replaces a map and vice versa" do
      a = {:fn, &Function.identity/1}

      assert HostResource.merge_imports([%{"x" => %{"f" => a}}, %{"x" => a}]) == %{"x" => a}

      assert HostResource.merge_imports([%{"x" => a}, %{"x" => %{"f" => a}}]) == %{
               "x" => %{"f" => a}
             }
    end

    test "mixes modules and maps" do
      extra = {:fn, &Function.identity/1}

      assert HostResource.merge_imports([DirLogger, %{@logging => %{"peek-logger" => extra}}]) ==
               %{@logging => Map.put(DirLogger.imports()[@logging], "peek-logger", extra)}

      assert HostResource.merge_imports([DirLogger, ShortInterface]) ==
               Map.merge(DirLogger.imports(), ShortInterface.imports())
    end

    test "a later module replaces the callbacks of an earlier one" do
      assert HostResource.merge_imports([DirLogger, FileLogger]) == FileLogger.imports()
    end

    test "an element that is neither a module nor a map raises" do
      assert_raise ArgumentError,
                   "merge_imports/1 takes modules using HostResource and import maps, got: 1",
                   fn -> HostResource.merge_imports([DirLogger, 1]) end

      assert_raise ArgumentError,
                   "merge_imports/1 takes modules using HostResource and import maps, got: \"x\"",
                   fn -> HostResource.merge_imports(["x"]) end
    end

    # An atom is taken for a module and `imports/0` called on it, which raises
    # UndefinedFunctionError instead of the ArgumentError other invalid elements give.
    test "a module not using HostResource raises ArgumentError" do
      assert_raise ArgumentError,
                   "merge_imports/1 takes modules using HostResource and import maps, got: String",
                   fn -> HostResource.merge_imports([String]) end
    end
  end
end
