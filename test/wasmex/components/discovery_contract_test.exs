defmodule Wasmex.Components.DiscoveryContractTest do
  # What GuestResource.Discovery and HostResource.Discovery share, checked once for both:
  # from_wit/2's parse errors name the source given as :path, and its options are checked.
  # (Moved from both Discovery suites; the rest of each stays in its own suite.)
  use Wasmex.Case, async: true

  import Wasmex.WitFixtures, only: [parse_error: 1]

  alias Wasmex.Components.{GuestResource, HostResource}

  @resources_wit File.read!("wasm/component_resources/wit/resources.wit")
  @host_wit File.read!("wasm/component_host_resources/wit/host.wit")

  for {discovery, wit} <- [
        {GuestResource.Discovery, @resources_wit},
        {HostResource.Discovery, @host_wit}
      ] do
    describe "#{inspect(discovery)}.from_wit/2" do
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
