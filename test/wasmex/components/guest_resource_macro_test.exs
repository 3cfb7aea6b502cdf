defmodule Wasmex.Components.GuestResourceMacroTest do
  use ExUnit.Case, async: true

  alias Wasmex.Components
  alias Wasmex.Components.GuestResource

  @moduletag :capture_log

  @component "test/fixtures/components/component_resources.wasm"
  @counters "wasmex:resources/counters@1.2.3"

  defmodule Accumulator do
    @moduledoc false
    use Wasmex.Components.GuestResource,
      wit: File.read!("wasm/component_resources/wit/resources.wit"),
      resource: "accumulator"
  end

  defmodule Label do
    @moduledoc false
    use Wasmex.Components.GuestResource,
      wit: File.read!("wasm/component_resources/wit/resources.wit"),
      resource: "label"
  end

  defmodule AsyncThing do
    @moduledoc false
    use Wasmex.Components.GuestResource,
      wit: """
      package a:b;
      interface i { resource r { m: async func(x: u32) -> u32; s: static async func(); } }
      world w { export i; }
      """,
      resource: "r"
  end

  defmodule PickedWorld do
    @moduledoc false
    use Wasmex.Components.GuestResource,
      wit: """
      package a:b;
      interface i { resource r { constructor(); f: func(); } }
      world w { export i; }
      world v { }
      """,
      resource: "r",
      world: "w"
  end

  defmodule CasedNames do
    @moduledoc false
    # WIT names have no `_`, so `-` -> `_` cannot make two of them equal; words differing only
    # in case stay different atoms.
    use Wasmex.Components.GuestResource,
      wit:
        "package a:b; interface i { resource r { get-URL: func(); get-url: func(); } } " <>
          "world w { export i; }",
      resource: "r"
  end

  defp start_server! do
    assert {:ok, pid} = Components.start_link(path: @component)
    pid
  end

  defp dropped(pid), do: Components.call_function(pid, [@counters, "dropped"], [])

  # Compiles `code` (a module using the macro) and returns the modules it defined.
  defp compile!(code), do: code |> Code.compile_string() |> Enum.map(&elem(&1, 0))

  defp functions(module), do: module.__info__(:functions) |> Enum.sort()

  describe "use Wasmex.Components.GuestResource" do
    test "generates new, drop and one function per method and static, each with opts" do
      assert functions(Accumulator) == [
               absorb: 2,
               absorb: 3,
               add: 2,
               add: 3,
               checked_copy: 1,
               checked_copy: 2,
               drop: 1,
               drop: 2,
               fail: 1,
               fail: 2,
               from_sum: 3,
               from_sum: 4,
               many: 2,
               many: 3,
               maybe_copy: 2,
               maybe_copy: 3,
               new: 2,
               new: 3,
               nothing: 1,
               nothing: 2,
               pair: 1,
               pair: 2,
               peek_other: 2,
               peek_other: 3,
               reset: 1,
               reset: 2,
               snapshot: 1,
               snapshot: 2,
               spin: 1,
               spin: 2,
               split: 2,
               split: 3,
               sum_all: 2,
               sum_all: 3,
               value: 1,
               value: 2
             ]
    end

    test "only the functions of the named resource" do
      assert functions(Label) == [drop: 1, drop: 2, new: 2, new: 3, text: 1, text: 2]
    end

    test "async methods and statics get functions, no new/2 without a constructor" do
      assert functions(AsyncThing) == [drop: 1, drop: 2, m: 2, m: 3, s: 1, s: 2]
    end

    test ":world picks one of several worlds" do
      assert functions(PickedWorld) == [drop: 1, drop: 2, f: 1, f: 2, new: 1, new: 2]
    end

    test "names differing only in case stay two functions" do
      assert functions(CasedNames) == [
               drop: 1,
               drop: 2,
               get_URL: 1,
               get_URL: 2,
               get_url: 1,
               get_url: 2
             ]
    end

    test "wit: is evaluated at compile time" do
      assert compile!("""
             defmodule #{inspect(__MODULE__)}.Concatenated do
               use Wasmex.Components.GuestResource,
                 wit: "package a:b; interface i { resource r { f: func(); } } " <> "world w { export i; }",
                 resource: "r"
             end
             """) == [__MODULE__.Concatenated]

      assert functions(__MODULE__.Concatenated) == [drop: 1, drop: 2, f: 1, f: 2]
    end

    test "wit: can be a module attribute" do
      assert compile!("""
             defmodule #{inspect(__MODULE__)}.FromAttribute do
               @wit File.read!("wasm/component_resources/wit/resources.wit")
               use Wasmex.Components.GuestResource, wit: @wit, resource: "label"
             end
             """) == [__MODULE__.FromAttribute]

      assert functions(__MODULE__.FromAttribute) == [
               drop: 1,
               drop: 2,
               new: 2,
               new: 3,
               text: 1,
               text: 2
             ]
    end

    test "an unknown resource is a compile error" do
      assert_raise CompileError, "nofile:2: exported resource `nope` not found", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.NotFound do
          use Wasmex.Components.GuestResource,
            wit: File.read!("wasm/component_resources/wit/resources.wit"),
            resource: "nope"
        end
        """)
      end
    end

    test "an imported resource is not found" do
      assert_raise CompileError, "nofile:2: exported resource `logger` not found", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.Imported do
          use Wasmex.Components.GuestResource,
            wit: File.read!("wasm/component_host_resources/wit/host.wit"),
            resource: "logger"
        end
        """)
      end
    end

    test "a parse error is a compile error" do
      assert_raise CompileError,
                   "nofile:2: Failed to parse WIT: expected `world`, `interface` or `use`, found an identifier (in `nofile`)",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.ParseError do
                       use Wasmex.Components.GuestResource, wit: "package a:b; oops", resource: "r"
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
                       use Wasmex.Components.GuestResource,
                         wit: "package a:b; interface i { resource r; } world w { export i; } world v { }",
                         resource: "r"
                     end
                     """)
                   end
    end

    test "two exported resources of the same name are a compile error" do
      assert_raise CompileError,
                   "nofile:2: Multiple resources are named `r`; pass the :interface option",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.Ambiguous do
                       use Wasmex.Components.GuestResource,
                         wit: "package a:b; interface i { resource r; } interface j { resource r; } " <>
                           "world w { export i; export j; }",
                         resource: "r"
                     end
                     """)
                   end
    end

    # The error above asks for :interface, but the macro only takes :wit, :resource and :world.
    test ":interface picks among resources of the same name" do
      assert compile!("""
             defmodule #{inspect(__MODULE__)}.PickedInterface do
               use Wasmex.Components.GuestResource,
                 wit: "package a:b; interface i { resource r { f: func(); } } " <>
                   "interface j { resource r { g: func(); } } world w { export i; export j; }",
                 resource: "r",
                 interface: "j"
             end
             """) == [__MODULE__.PickedInterface]

      assert functions(__MODULE__.PickedInterface) == [drop: 1, drop: 2, g: 1, g: 2]
    end

    test "a method named drop is a compile error" do
      assert_raise CompileError,
                   "nofile:2: resource function `[method]r.drop` cannot be named `drop`: " <>
                     "`drop` drops the resource",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.MethodDrop do
                       use Wasmex.Components.GuestResource,
                         wit: "package a:b; interface i { resource r { drop: func(); } } world w { export i; }",
                         resource: "r"
                     end
                     """)
                   end
    end

    test "a static function named new is a compile error" do
      assert_raise CompileError,
                   "nofile:2: resource function `[static]r.new` cannot be named `new`: " <>
                     "`new` calls the constructor",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.StaticNew do
                       use Wasmex.Components.GuestResource,
                         wit: "package a:b; interface i { resource r { new: static func(); } } world w { export i; }",
                         resource: "r"
                     end
                     """)
                   end
    end

    # `-` -> `_` is the only renaming and WIT names have no `_`, so the only reachable clash
    # is the constructor (`new`) with a function named `new`.
    test "a function named like the constructor is a clash" do
      assert_raise CompileError,
                   "nofile:2: `[constructor]r`, `[method]r.new` all become the Elixir function `new`",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.Clash do
                       use Wasmex.Components.GuestResource,
                         wit: "package a:b; interface i { resource r { constructor(); new: func(); } } world w { export i; }",
                         resource: "r"
                     end
                     """)
                   end
    end

    test "an unknown option raises" do
      assert_raise ArgumentError,
                   "unknown keys [:bogus] in [wit: \"package a:b; world w {}\", resource: \"r\", bogus: 1], " <>
                     "the allowed keys are: [:wit, :resource, :world, :interface]",
                   fn ->
                     compile!("""
                     defmodule #{inspect(__MODULE__)}.UnknownOption do
                       use Wasmex.Components.GuestResource, wit: "package a:b; world w {}", resource: "r", bogus: 1
                     end
                     """)
                   end
    end

    test ":wit must evaluate to text" do
      assert_raise ArgumentError, ":wit must be WIT source text, got: 1", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.WitNotText do
          use Wasmex.Components.GuestResource, wit: 1, resource: "r"
        end
        """)
      end

      assert_raise ArgumentError, ":wit must be WIT source text, got: nil", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.WitMissing do
          use Wasmex.Components.GuestResource, resource: "r"
        end
        """)
      end
    end

    test ":resource must be a string" do
      assert_raise ArgumentError, ":resource must be a string, got: :accumulator", fn ->
        compile!("""
        defmodule #{inspect(__MODULE__)}.ResourceAtom do
          use Wasmex.Components.GuestResource,
            wit: File.read!("wasm/component_resources/wit/resources.wit"),
            resource: :accumulator
        end
        """)
      end
    end
  end

  describe "generated new/3" do
    test "calls the constructor on a server" do
      pid = start_server!()
      assert {:ok, %GuestResource{} = acc} = Accumulator.new(pid, 10)
      assert Accumulator.value(acc) == {:ok, 10}
    end

    test "calls the constructor on an instance" do
      pid = start_server!()
      instance = Components.instance(pid)
      assert {:ok, %GuestResource{} = acc} = Accumulator.new(instance, 3, timeout: 1000)
      assert Accumulator.add(acc, 4) == {:ok, 7}
    end

    test "each resource type has its own constructor" do
      pid = start_server!()
      assert {:ok, label} = Label.new(pid, "hello")
      assert Label.text(label) == {:ok, "hello"}
    end

    test "rejects unknown options" do
      pid = start_server!()

      assert_raise ArgumentError,
                   "unknown keys [:bogus] in [bogus: 1], the allowed keys are: [:timeout]",
                   fn -> Accumulator.new(pid, 1, bogus: 1) end
    end
  end

  describe "generated methods" do
    setup do
      pid = start_server!()
      {:ok, acc} = Accumulator.new(pid, 10)
      %{pid: pid, acc: acc}
    end

    test "add/3 and value/2", %{acc: acc} do
      assert Accumulator.add(acc, 5) == {:ok, 15}
      assert Accumulator.add(acc, 1, timeout: 1000) == {:ok, 16}
      assert Accumulator.value(acc) == {:ok, 16}
      assert Accumulator.value(acc, timeout: 1000) == {:ok, 16}
    end

    test "split/3 returns a new handle", %{acc: acc} do
      assert {:ok, %GuestResource{} = other} = Accumulator.split(acc, 7)
      assert Accumulator.value(other) == {:ok, 7}
      assert Accumulator.value(acc) == {:ok, 10}
    end

    test "a method without results returns :ok", %{acc: acc} do
      assert Accumulator.reset(acc) == :ok
      assert Accumulator.value(acc) == {:ok, 0}
    end

    test "pair/2 returns a tuple", %{acc: acc} do
      assert Accumulator.pair(acc) == {:ok, {10, 20}}
    end

    test "maybe_copy/3 and checked_copy/2", %{acc: acc} do
      assert Accumulator.maybe_copy(acc, false) == {:ok, :none}
      assert {:ok, {:some, copy}} = Accumulator.maybe_copy(acc, true)
      assert Accumulator.value(copy) == {:ok, 10}
      assert {:ok, {:ok, even}} = Accumulator.checked_copy(acc)
      assert Accumulator.value(even) == {:ok, 10}
      assert {:ok, 11} = Accumulator.add(acc, 1)
      assert Accumulator.checked_copy(acc) == {:ok, {:error, "odd"}}
    end

    test "peek_other/3 borrows and absorb/3 moves", %{pid: pid, acc: acc} do
      {:ok, other} = Accumulator.new(pid, 4)
      assert Accumulator.peek_other(acc, other) == {:ok, 4}
      assert Accumulator.value(other) == {:ok, 4}
      assert Accumulator.absorb(acc, other) == {:ok, 14}
      assert dropped(pid) == {:ok, 1}

      assert Accumulator.value(other) ==
               {:error, "Guest resource has already been dropped or moved"}

      # `acc` stays referenced until here: a garbage collected handle would be dropped too
      assert Accumulator.value(acc) == {:ok, 14}
    end

    test "the timeout: option reaches the call", %{pid: pid, acc: acc} do
      assert Accumulator.spin(acc, timeout: 50) == {:error, :timeout}

      # The server replaces its broken instance on its next call; old handles stay dead.
      assert {:ok, fresh} = Accumulator.new(pid, 2)
      assert Accumulator.value(fresh) == {:ok, 2}

      assert Accumulator.sum_all(pid, [acc]) ==
               {:error, "Guest resource belongs to another store at \"list[0]\" (argument 1)"}
    end

    # The moduledoc of Wasmex.Components.GuestResource: "After a `Wasmex.Components` server
    # replaced its instance (after a trap or a timeout), the old handles give
    # `{:error, "Guest resource belongs to another store"}`". A method called on an old handle
    # instead answers the trap error of the broken instance.
    test "a method on a handle of a replaced instance says so", %{pid: pid, acc: acc} do
      assert Accumulator.spin(acc, timeout: 50) == {:error, :timeout}
      assert {:ok, _fresh} = Accumulator.new(pid, 2)
      assert Accumulator.value(acc) == {:error, Wasmex.Components.unusable_error()}
    end

    test "rejects unknown options", %{acc: acc} do
      assert_raise ArgumentError,
                   "unknown keys [:bogus] in [bogus: 1], the allowed keys are: [:timeout]",
                   fn -> Accumulator.add(acc, 1, bogus: 1) end
    end
  end

  describe "generated static functions" do
    test "from_sum/4 returns a new handle" do
      pid = start_server!()
      assert {:ok, %GuestResource{} = acc} = Accumulator.from_sum(pid, 2, 3)
      assert Accumulator.value(acc) == {:ok, 5}
    end

    test "sum_all/3 borrows a list of handles" do
      pid = start_server!()
      {:ok, a} = Accumulator.new(pid, 10)
      {:ok, b} = Accumulator.new(pid, 5)
      assert Accumulator.sum_all(pid, [a, b]) == {:ok, 15}
      assert Accumulator.sum_all(pid, [a, b], timeout: 1000) == {:ok, 15}
      assert Accumulator.sum_all(pid, []) == {:ok, 0}
      assert Accumulator.value(a) == {:ok, 10}
    end

    test "nothing/2 returns :ok" do
      pid = start_server!()
      assert Accumulator.nothing(pid) == :ok
      assert Accumulator.nothing(pid, timeout: 1000) == :ok
    end
  end

  describe "generated drop/2" do
    test "runs the guest's destructor once" do
      pid = start_server!()
      {:ok, acc} = Accumulator.new(pid, 1)
      assert dropped(pid) == {:ok, 0}
      assert Accumulator.drop(acc) == :ok
      assert dropped(pid) == {:ok, 1}
      assert Accumulator.drop(acc, timeout: 1000) == :ok
      assert dropped(pid) == {:ok, 1}

      assert Accumulator.value(acc) ==
               {:error, "Guest resource has already been dropped or moved"}
    end

    test "rejects unknown options" do
      pid = start_server!()
      {:ok, acc} = Accumulator.new(pid, 1)

      assert_raise ArgumentError,
                   "unknown keys [:bogus] in [bogus: 1], the allowed keys are: [:timeout]",
                   fn -> Accumulator.drop(acc, bogus: 1) end
    end
  end
end
