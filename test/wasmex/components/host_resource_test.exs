defmodule Wasmex.Components.HostResourceTest do
  use ExUnit.Case, async: true

  alias Wasmex.Components
  alias Wasmex.Components.HostResource

  @moduletag :capture_log

  @component "test/fixtures/components/component_host_resources.wasm"
  @logging "wasmex:host-resources/logging@0.1.0"

  # Where the callbacks below send their messages (they run in the server process and cannot
  # close over the test's pid).
  @test_pid_key {__MODULE__, :test_pid}

  defp notify(message) do
    case :persistent_term.get(@test_pid_key, nil) do
      nil -> :ok
      pid -> send(pid, message)
    end
  end

  @doc false
  def notify_test(message), do: notify(message)

  defmodule DirLogger do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit_path: "wasm/component_host_resources/wit",
      resource: "logger"

    alias Wasmex.Components.HostResourceTest, as: T

    def new(prefix) do
      T.notify_test({:new, prefix})
      %{prefix: prefix, count: :counters.new(1, [])}
    end

    def log(logger, msg) do
      :counters.add(logger.count, 1, 1)
      logger.prefix <> msg
    end

    def count(logger), do: :counters.get(logger.count, 1)
    def make_default, do: new("default: ")

    def drop(logger) do
      T.notify_test({:dropped, logger.prefix})
      :ok
    end

    def external_resources, do: @external_resource
  end

  defmodule FileLogger do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit_path: "wasm/component_host_resources/wit/host.wit",
      resource: "logger"

    def new(prefix), do: prefix
    def log(prefix, msg), do: prefix <> msg
    def count(_prefix), do: 0
    def make_default, do: "file default: "

    def external_resources, do: @external_resource
  end

  defmodule SourceLogger do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit: File.read!("wasm/component_host_resources/wit/host.wit"),
      resource: "logger"

    def new(prefix), do: prefix
    def log(prefix, msg), do: prefix <> msg
    def count(_prefix), do: 0
    def make_default, do: "source default: "

    def external_resources, do: @external_resource
  end

  defmodule RaisingLogger do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit_path: "wasm/component_host_resources/wit",
      resource: "logger"

    def new(prefix), do: prefix
    def log(prefix, msg), do: prefix <> msg
    def count(_prefix), do: 0
    def make_default, do: "default: "
    def drop(_prefix), do: raise("drop failed")
  end

  @two_interfaces """
  package a:b;
  interface i { resource r { constructor(); } }
  interface j { resource r { f: func(x: u32) -> u32; } }
  world w { import i; import j; }
  """

  defmodule ShortInterface do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit: """
      package a:b;
      interface i { resource r { constructor(); } }
      interface j { resource r { f: func(x: u32) -> u32; } }
      world w { import i; import j; }
      """,
      resource: "r",
      interface: "j"

    def f(_r, x), do: x
  end

  defmodule FullInterface do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit: """
      package a:b;
      interface i { resource r { constructor(); } }
      interface j { resource r { f: func(x: u32) -> u32; } }
      world w { import i; import j; }
      """,
      resource: "r",
      interface: "a:b/i"

    def new, do: :r
  end

  defmodule PickedWorld do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit: """
      package a:b;
      interface i { resource r { constructor(); } }
      world w { }
      world v { import i; }
      """,
      resource: "r",
      world: "v"

    def new, do: :r
  end

  defmodule AsyncCallbacks do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit: """
      package a:b;
      interface i { resource r { m: async func(x: u32) -> u32; s: static async func(); } }
      world w { import i; }
      """,
      resource: "r"

    def m(_r, x), do: x
    def s, do: :ok
  end

  defp compile!(code), do: code |> Code.compile_string() |> Enum.map(&elem(&1, 0))

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

  defp logger_imports(module) do
    %{
      @logging => %{
        "logger" => {:resource, &module.drop/1},
        "[constructor]logger" => {:fn, &module.new/1},
        "[method]logger.log" => {:fn, &module.log/2},
        "[method]logger.count" => {:fn, &module.count/1},
        "[static]logger.make-default" => {:fn, &module.make_default/0}
      }
    }
  end

  describe "use Wasmex.Components.HostResource" do
    test "imports/0 maps the canonical names to the callbacks" do
      assert DirLogger.imports() == %{
               "wasmex:host-resources/logging@0.1.0" => %{
                 "logger" => {:resource, &DirLogger.drop/1},
                 "[constructor]logger" => {:fn, &DirLogger.new/1},
                 "[method]logger.log" => {:fn, &DirLogger.log/2},
                 "[method]logger.count" => {:fn, &DirLogger.count/1},
                 "[static]logger.make-default" => {:fn, &DirLogger.make_default/0}
               }
             }
    end

    test "wit_path: a file and wit: source give the same imports" do
      assert FileLogger.imports() == logger_imports(FileLogger)
      assert SourceLogger.imports() == logger_imports(SourceLogger)
    end

    test "the WIT files read are external resources" do
      file = Path.expand("wasm/component_host_resources/wit/host.wit")
      assert DirLogger.external_resources() == [file]
      assert FileLogger.external_resources() == [file]
      assert SourceLogger.external_resources() == []
    end

    test ":interface picks by the interface's short name or its import name" do
      assert ShortInterface.imports() == %{
               "a:b/j" => %{
                 "r" => {:resource, &ShortInterface.drop/1},
                 "[method]r.f" => {:fn, &ShortInterface.f/2}
               }
             }

      assert FullInterface.imports() == %{
               "a:b/i" => %{
                 "r" => {:resource, &FullInterface.drop/1},
                 "[constructor]r" => {:fn, &FullInterface.new/0}
               }
             }
    end

    test ":world picks one of several worlds" do
      assert PickedWorld.imports() == %{
               "a:b/i" => %{
                 "r" => {:resource, &PickedWorld.drop/1},
                 "[constructor]r" => {:fn, &PickedWorld.new/0}
               }
             }
    end

    test "async methods take the resource first, like methods" do
      assert AsyncCallbacks.imports() == %{
               "a:b/i" => %{
                 "r" => {:resource, &AsyncCallbacks.drop/1},
                 "[method]r.m" => {:fn, &AsyncCallbacks.m/2},
                 "[static]r.s" => {:fn, &AsyncCallbacks.s/0}
               }
             }
    end

    test "missing callbacks are a compile error listing them" do
      assert_raise CompileError,
                   "nofile:1: Missing host resource callbacks: log/2, count/1, make_default/0",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.MissingSome do
                       use Wasmex.Components.HostResource,
                         wit_path: "wasm/component_host_resources/wit",
                         resource: "logger"

                       def new(prefix), do: prefix
                     end
                     """)
                   end
    end

    test "a callback of the wrong arity or a private one is missing" do
      assert_raise CompileError,
                   "nofile:1: Missing host resource callbacks: new/1, log/2, count/1, make_default/0",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.WrongArity do
                       use Wasmex.Components.HostResource,
                         wit_path: "wasm/component_host_resources/wit/host.wit",
                         resource: "logger"

                       def new, do: :logger
                       def log(_logger), do: ""
                       def count(_logger, _extra), do: 0
                       defp make_default, do: :logger
                       def unused, do: make_default()
                     end
                     """)
                   end
    end

    test "missing async callbacks count self" do
      assert_raise CompileError, "nofile:1: Missing host resource callbacks: m/2, s/0", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.MissingAsync do
          use Wasmex.Components.HostResource,
            wit: "package a:b; interface i { resource r { m: async func(x: u32); s: static async func(); } } world w { import i; }",
            resource: "r"
        end
        """)
      end
    end

    test "both :wit and :wit_path raise" do
      assert_raise ArgumentError,
                   "use Wasmex.Components.HostResource takes :wit or :wit_path, not both",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.Both do
                       use Wasmex.Components.HostResource,
                         wit: "package a:b; world w {}",
                         wit_path: "wasm/component_host_resources/wit",
                         resource: "logger"
                     end
                     """)
                   end
    end

    test "neither :wit nor :wit_path raises" do
      assert_raise ArgumentError,
                   "use Wasmex.Components.HostResource needs :wit or :wit_path",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.Neither do
                       use Wasmex.Components.HostResource, resource: "logger"
                     end
                     """)
                   end
    end

    test "an unknown resource is a compile error" do
      assert_raise CompileError, "nofile:2: imported resource `nope` not found", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.NotFound do
          use Wasmex.Components.HostResource,
            wit_path: "wasm/component_host_resources/wit",
            resource: "nope"
        end
        """)
      end
    end

    test "an exported resource is not an imported one" do
      assert_raise CompileError, "nofile:2: imported resource `accumulator` not found", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.Exported do
          use Wasmex.Components.HostResource,
            wit_path: "wasm/component_resources/wit/resources.wit",
            resource: "accumulator"
        end
        """)
      end
    end

    test "a missing wit_path is a compile error" do
      path = Path.expand("wasm/missing/host.wit")

      assert_raise CompileError,
                   "nofile:2: Failed to parse WIT: failed to read path for WIT [#{path}]: " <>
                     "No such file or directory (os error 2) (in `#{path}`)",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.MissingPath do
                       use Wasmex.Components.HostResource,
                         wit_path: "wasm/missing/host.wit",
                         resource: "logger"
                     end
                     """)
                   end
    end

    test "a parse error in wit: is a compile error" do
      assert_raise CompileError,
                   "nofile:2: Failed to parse WIT: expected `world`, `interface` or `use`, found an identifier (in `nofile`)",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.ParseError do
                       use Wasmex.Components.HostResource, wit: "package a:b; oops", resource: "r"
                     end
                     """)
                   end
    end

    test "two imported resources of the same name need :interface" do
      assert_raise CompileError,
                   "nofile:2: Multiple imported resources are named `r`; pass the :interface option",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.Ambiguous do
                       use Wasmex.Components.HostResource, wit: #{inspect(@two_interfaces)}, resource: "r"
                     end
                     """)
                   end
    end

    test "several worlds without :world are a compile error" do
      assert_raise CompileError,
                   "nofile:2: Failed to select world: There are multiple worlds in `a:b`; " <>
                     "one must be explicitly chosen:\n  a:b/w\n  a:b/v (in `nofile`)",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.TwoWorlds do
                       use Wasmex.Components.HostResource,
                         wit: "package a:b; interface i { resource r; } world w { } world v { import i; }",
                         resource: "r"
                     end
                     """)
                   end
    end

    test "a resource function named drop or imports is a compile error" do
      assert_raise CompileError,
                   "nofile:2: resource function `[method]r.drop` cannot be named `drop`: `drop/1` is the destructor",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.NamedDrop do
                       use Wasmex.Components.HostResource,
                         wit: "package a:b; interface i { resource r { drop: func(); } } world w { import i; }",
                         resource: "r"
                     end
                     """)
                   end

      assert_raise CompileError,
                   "nofile:2: resource function `[static]r.imports` cannot be named `imports`: `imports/0` is generated",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.NamedImports do
                       use Wasmex.Components.HostResource,
                         wit: "package a:b; interface i { resource r { imports: static func(); } } world w { import i; }",
                         resource: "r"
                     end
                     """)
                   end
    end

    test "a function named like the constructor is a clash" do
      assert_raise CompileError,
                   "nofile:2: `[constructor]r`, `[method]r.new` all become the Elixir function `new`",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.Clash do
                       use Wasmex.Components.HostResource,
                         wit: "package a:b; interface i { resource r { constructor(); new: func(); } } world w { import i; }",
                         resource: "r"
                     end
                     """)
                   end
    end

    test "an unknown option raises" do
      assert_raise ArgumentError,
                   "unknown keys [:bogus] in [wit: \"package a:b; world w {}\", resource: \"r\", bogus: 1], " <>
                     "the allowed keys are: [:wit, :wit_path, :resource, :world, :interface]",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.UnknownOption do
                       use Wasmex.Components.HostResource, wit: "package a:b; world w {}", resource: "r", bogus: 1
                     end
                     """)
                   end
    end

    test "option types are checked" do
      assert_raise ArgumentError, ":wit must be WIT source text, got: 1", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.WitNotText do
          use Wasmex.Components.HostResource, wit: 1, resource: "r"
        end
        """)
      end

      assert_raise ArgumentError, ":wit_path must be a path, got: :path", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.PathNotText do
          use Wasmex.Components.HostResource, wit_path: :path, resource: "r"
        end
        """)
      end

      assert_raise ArgumentError, ":resource must be a string, got: nil", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.NoResource do
          use Wasmex.Components.HostResource, wit_path: "wasm/component_host_resources/wit"
        end
        """)
      end
    end

    test "wit: can be a module attribute" do
      assert compile!("""
             defmodule #{inspect(__MODULE__)}.FromAttribute do
               @wit File.read!("wasm/component_host_resources/wit/host.wit")
               use Wasmex.Components.HostResource, wit: @wit, resource: "logger"

               def new(prefix), do: prefix
               def log(prefix, msg), do: prefix <> msg
               def count(_prefix), do: 0
               def make_default, do: "default: "
             end
             """) == [__MODULE__.FromAttribute]

      module = __MODULE__.FromAttribute
      assert module.imports() == logger_imports(module)
    end
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
