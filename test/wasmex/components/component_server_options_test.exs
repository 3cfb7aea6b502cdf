defmodule Wasmex.Components.ComponentServerOptionsTest do
  # `use Wasmex.Components.ComponentServer` checks its options like the two resource macros:
  # unknown keys raise ArgumentError (Keyword.validate!/2), and failures to read the WIT or the
  # component are CompileErrors with the file and line of the `use`.
  use ExUnit.Case, async: true

  @types_wit Wasmex.TestHelpers.fixture_path("components/types.wit")
  @two_worlds Wasmex.TestHelpers.fixture_path("components/two_worlds.wit")

  # Compiles a module that uses ComponentServer with `options` (source text) on its line 3.
  defp use_server(options) do
    name = "Wasmex.Components.ComponentServerOptionsTest.Gen#{System.unique_integer([:positive])}"
    source = "defmodule #{name} do\n\n  use Wasmex.Components.ComponentServer, #{options}\nend\n"
    [{module, _}] = Code.compile_string(source, "generated.ex")
    module
  end

  # Asserts that `use_server(options)` raises `exception`; returns the exception.
  defp use_error(exception, options), do: assert_raise(exception, fn -> use_server(options) end)

  test "an unknown option raises ArgumentError naming it" do
    error = use_error(ArgumentError, ~s(wit: #{inspect(@types_wit)}, wrold: "types"))

    assert Exception.message(error) =~ "unknown keys [:wrold]"
  end

  test "a WIT failure is a CompileError with the file and line of the use" do
    error = use_error(CompileError, ~s(wit: #{inspect(@two_worlds)}, world: "third"))

    assert error.file =~ "generated.ex"
    assert error.line == 3
    assert Exception.message(error) =~ "#{@two_worlds}: "
    assert Exception.message(error) =~ "Failed to select world: "
  end

  test "the defaults: imports %{} and convert_field_names true" do
    module = use_server(~s(wit: #{inspect(@types_wit)}, world: "types"))
    path = Wasmex.TestHelpers.fixture_path("components/component_types.wasm")
    {:ok, pid} = module.start_link(path: path)
    record = %{first_name: "Ada", age_years: 1, tags: [], maybe_points: :none}
    assert {:ok, %{first_name: "Ada"}} = module.echo_kebab_record(pid, record)
  end
end
