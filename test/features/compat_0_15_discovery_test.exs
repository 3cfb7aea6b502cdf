defmodule Wasmex.Features.Compat015DiscoveryTest do
  # The Discovery modules as Wasmex 0.15.1 documented them (issue 8 item 8): `elixir_name` is a
  # string ("constructor" for a constructor), resource names may be atoms, and the `use` macros
  # keep the names of the functions they generate.
  use Wasmex.MacroCase, async: true

  alias Wasmex.Components.{GuestResource, HostResource}

  # One resource, exported (`export`, interface `api`) or imported (`import`, interface `host`).
  wit = fn direction, interface ->
    """
    package my:pkg;
    interface #{interface} {
      resource kebab-thing {
        constructor(n: u32);
        get-value: func() -> u32;
        make-one: static func() -> kebab-thing;
      }
    }
    world w { #{direction} #{interface}; }
    """
  end

  @guest_wit wit.("export", "api")
  @host_wit wit.("import", "host")

  @names [{"constructor", :constructor}, {"get_value", :method}, {"make_one", :static}]

  defp names(info), do: Enum.map(info.functions, &{&1.elixir_name, &1.kind})

  for {discovery, wit} <- [
        {GuestResource.Discovery, @guest_wit},
        {HostResource.Discovery, @host_wit}
      ] do
    describe inspect(discovery) do
      test "elixir_name is the WIT name with `-` as `_`, and \"constructor\" for a constructor" do
        assert {:ok, [info]} = unquote(discovery).from_wit(unquote(wit))
        assert names(info) == @names
      end

      test "get_resource_from_wit/3 takes the name as a string or an atom" do
        discovery = unquote(discovery)
        assert {:ok, info} = discovery.get_resource_from_wit(unquote(wit), "kebab-thing")
        assert discovery.get_resource_from_wit(unquote(wit), :"kebab-thing") == {:ok, info}
        assert discovery.get_resource_from_wit(unquote(wit), :nope) == {:error, :not_found}
      end
    end
  end

  test "HostResource.Discovery.get_resource_from_path/3 takes a string or an atom" do
    path = "wasm/component_host_resources/wit/host.wit"
    assert {:ok, by_string} = HostResource.Discovery.get_resource_from_path(path, "logger")
    assert HostResource.Discovery.get_resource_from_path(path, :logger) == {:ok, by_string}
    assert HostResource.Discovery.get_resource_from_path(path, :nope) == {:error, :not_found}
  end

  describe "the use macros" do
    test "GuestResource generates new/3, get_value/2 and make_one/2", %{module: module} do
      define!(module, """
      use Wasmex.Components.GuestResource, wit: #{inspect(@guest_wit)}, resource: "kebab-thing"
      """)

      for fun <- [new: 3, get_value: 2, make_one: 2, drop: 2],
          do: assert(fun in module.__info__(:functions), inspect(fun))
    end

    test "HostResource expects new/1, get_value/1 and make_one/0", %{module: module} do
      define!(module, """
      use Wasmex.Components.HostResource, wit: #{inspect(@host_wit)}, resource: "kebab-thing"
      def new(n), do: n
      def get_value(n), do: n
      def make_one, do: 1
      """)

      funs = module.imports()["my:pkg/host"]
      assert funs["[constructor]kebab-thing"] == {:fn, Function.capture(module, :new, 1)}

      assert funs["[method]kebab-thing.get-value"] ==
               {:fn, Function.capture(module, :get_value, 1)}

      assert funs["[static]kebab-thing.make-one"] == {:fn, Function.capture(module, :make_one, 0)}
    end
  end
end
