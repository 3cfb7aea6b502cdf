defmodule Wasmex.Components.DiscoveryContractTest do
  # What GuestResource.Discovery and HostResource.Discovery share, checked once for both:
  # from_wit/2 lists the resources of its own direction (GuestResource: exports, HostResource:
  # imports) and none of the other, its parse errors name the source given as :path, and its
  # options are checked.
  # (Moved from both Discovery suites; the rest of each stays in its own suite.)
  use Wasmex.Case, async: true

  import Wasmex.WitFixtures,
    only: [accumulator_info: 0, label_info: 0, logger_info: 0, parse_error: 1]

  alias Wasmex.Components.{GuestResource, HostResource}

  @resources_wit File.read!("wasm/component_resources/wit/resources.wit")
  @host_wit File.read!("wasm/component_host_resources/wit/host.wit")

  # {module, its direction, a WIT of that direction, its resources, a WIT of the other}
  for {discovery, own, wit, resources, other_wit} <- [
        {GuestResource.Discovery, "export", @resources_wit,
         quote(do: [accumulator_info(), label_info()]), @host_wit},
        {HostResource.Discovery, "import", @host_wit, quote(do: [logger_info()]), @resources_wit}
      ] do
    other = if own == "export", do: "import", else: "export"

    describe "#{inspect(discovery)}.from_wit/2" do
      test "lists the resources of the #{own}ed interfaces, in WIT order" do
        assert unquote(discovery).from_wit(unquote(wit)) == {:ok, unquote(resources)}
      end

      test "leaves out #{other}ed interfaces" do
        assert unquote(discovery).from_wit(unquote(other_wit)) == {:ok, []}
      end

      test "a world without #{own}s has no resources" do
        assert unquote(discovery).from_wit("package my:pkg; world w {}") == {:ok, []}
      end

      test "a parse error names the source given as :path" do
        assert unquote(discovery).from_wit("package a:b; oops") == {:error, parse_error("wit")}

        assert unquote(discovery).from_wit("package a:b; oops", path: "my.wit") ==
                 {:error, parse_error("my.wit")}
      end

      test "unknown options raise" do
        assert_raise ArgumentError,
                     "unknown keys [:interface] in [interface: \"i\"], the allowed keys are: [:path, :world]",
                     fn -> unquote(discovery).from_wit(unquote(wit), interface: "i") end
      end
    end
  end
end
