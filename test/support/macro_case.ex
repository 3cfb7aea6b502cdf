defmodule Wasmex.MacroCase do
  @moduledoc ~S'''
  The case template of the `use` macro suites (`GuestResource`, `HostResource`): compiles
  module source at test time and checks the errors the macros raise.

      defmodule Wasmex.Components.SomeMacroTest do
        use Wasmex.MacroCase, async: true

        test "an unknown resource is a compile error", %{module: module} do
          assert_compile_error(CompileError, "nofile:2: exported resource `nope` not found", """
          defmodule #{inspect(module)} do
            use Wasmex.Components.GuestResource, wit: "...", resource: "nope"
          end
          """)
        end
      end

  Every test gets `module`, a module name no other test uses, so sources compiled by async
  tests never redefine each other's modules.
  '''
  use ExUnit.CaseTemplate

  import ExUnit.Assertions

  using do
    quote do
      import Wasmex.MacroCase
    end
  end

  setup context do
    %{module: unique_module(context.module)}
  end

  @doc "Compiles `code` (module source) and returns the modules it defined, in order."
  @spec compile!(String.t()) :: [module()]
  def compile!(code), do: code |> Code.compile_string() |> Enum.map(&elem(&1, 0))

  @doc """
  Compiles a module named `module` with `body` (module source without `defmodule`), asserts it
  defined exactly that module, and returns it.
  """
  @spec define!(module(), String.t()) :: module()
  def define!(module, body) do
    assert compile!("defmodule #{inspect(module)} do\n#{body}\nend\n") == [module]
    module
  end

  @doc """
  Asserts that compiling `code` raises `exception` with `message` (a string, matched exactly, or
  a regex). Returns the exception.
  """
  @spec assert_compile_error(module(), String.t() | Regex.t(), String.t()) :: Exception.t()
  def assert_compile_error(exception, message, code) do
    assert_raise exception, message, fn -> compile!(code) end
  end

  @doc "A module name below `parent` that no other call returns."
  @spec unique_module(module()) :: module()
  def unique_module(parent),
    do: Module.concat(parent, "M#{System.unique_integer([:positive])}")
end
