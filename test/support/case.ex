defmodule Wasmex.Case do
  @moduledoc """
  The case template of the core suites (`Store`, `Module`, `Instance`, `Memory`, the `Wasmex`
  server, WASI P1): imports `Wasmex.TestHelpers` and gives every test a unique registered name.

      defmodule Wasmex.SomeTest do
        use Wasmex.Case, async: true

        test "registers under a name", %{name: name} do
          pid = start_wasmex!(%{bytes: "(module)", name: name})
          assert Process.whereis(name) == pid
        end
      end

  The name is built from the test module and the test's own name (finch's `FinchCase` habit),
  so two async suites never race for the same atom.
  """
  use ExUnit.CaseTemplate

  using do
    quote do
      import Wasmex.TestHelpers
    end
  end

  setup context, do: Wasmex.Case.unique_name(context)

  @doc "A setup step: puts `name_for(context)` into the context as `:name`."
  @spec unique_name(map()) :: %{name: atom()}
  def unique_name(context), do: %{name: name_for(context)}

  @doc """
  The unique registered name of a test: `Module.concat(context.module, context.test)`, or the
  module with a hash of the test's name where that would pass the atom length limit.

      iex> Wasmex.Case.name_for(%{module: MyTest, test: :"test f/1 works"})
      :"Elixir.MyTest.test f/1 works"
  """
  @spec name_for(%{module: module(), test: atom()}) :: atom()
  def name_for(%{module: module, test: test}) do
    if String.length("Elixir.#{inspect(module)}.#{test}") <= 255,
      do: Module.concat(module, test),
      else: Module.concat(module, "test_#{:erlang.phash2(test)}")
  end
end
