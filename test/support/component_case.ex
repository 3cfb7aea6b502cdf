defmodule Wasmex.ComponentCase do
  @moduledoc """
  The case template of the component suites: `Wasmex.Case` (unique names, `Wasmex.TestHelpers`)
  plus `Wasmex.ComponentTestHelpers` (fixtures, servers, imports).

      defmodule Wasmex.Components.SomeTest do
        use Wasmex.ComponentCase, async: true

        test "starts", %{name: name} do
          assert is_pid(start_component!("component_types", name: name))
        end
      end
  """
  use ExUnit.CaseTemplate

  using do
    quote do
      import Wasmex.TestHelpers
      import Wasmex.ComponentTestHelpers
    end
  end

  setup context, do: Wasmex.Case.unique_name(context)
end
