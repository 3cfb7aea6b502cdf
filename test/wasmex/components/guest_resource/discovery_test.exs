defmodule Wasmex.Components.GuestResource.DiscoveryTest do
  use Wasmex.Case, async: true

  alias Wasmex.Components.GuestResource.Discovery
  alias Wasmex.WitFixtures

  import Wasmex.WitFixtures,
    only: [
      accumulator_info: 0,
      guest_fn: 5,
      guest_info: 3,
      guest_info: 4,
      label_info: 0,
      parse_error: 1,
      two_worlds_error: 1
    ]

  @resources_wit File.read!("wasm/component_resources/wit/resources.wit")
  @host_wit File.read!("wasm/component_host_resources/wit/host.wit")
  @counters "wasmex:resources/counters@1.2.3"

  @two_interfaces WitFixtures.two_interfaces(:export)

  describe "from_wit/2" do
    test "a resource without functions has an empty function list" do
      wit = "package a:b; interface i { resource r; } world w { export i; }"

      assert Discovery.from_wit(wit) ==
               {:ok,
                [
                  guest_info("r", "i", "a:b/i")
                ]}
    end

    test "an inline exported interface is named by its export name" do
      wit = "package a:b; world w { export foo: interface { resource r { f: func(); } } }"

      assert Discovery.from_wit(wit) ==
               {:ok,
                [
                  guest_info("r", "foo", "foo", [guest_fn("f", "f", :method, 0, false)])
                ]}
    end

    test "async methods and statics get the async kinds" do
      assert {:ok, [%{name: "r", functions: functions}]} =
               Discovery.from_wit(WitFixtures.async_resource(:export))

      assert functions == [
               guest_fn("m", "m", :async_method, 1, true),
               guest_fn("s", "s", :async_static, 0, false)
             ]
    end

    test "several worlds need :world" do
      wit = WitFixtures.two_worlds(:export)

      assert Discovery.from_wit(wit) ==
               {:error, two_worlds_error("wit")}

      assert {:ok, [%{name: "r", interface_path: ["a:b/i"]}]} =
               Discovery.from_wit(wit, world: "w")

      assert Discovery.from_wit(wit, world: "v") == {:ok, []}
    end

    test "an unknown world is an error" do
      assert Discovery.from_wit(@resources_wit, world: "nope") ==
               {:error,
                "Failed to select world: World `nope` not found in package " <>
                  "`wasmex:resources@1.2.3` (in `wit`)"}
    end
  end

  describe "get_resource_from_wit/3" do
    test "finds a resource by name" do
      for {name, info} <- [{"accumulator", accumulator_info()}, {"label", label_info()}] do
        assert Discovery.get_resource_from_wit(@resources_wit, name) == {:ok, info}
      end
    end

    for {name, wit, resource} <- [
          {"an unknown resource is :not_found", @resources_wit, "nope"},
          {"an imported resource is not an exported one", @host_wit, "logger"}
        ] do
      test name do
        assert Discovery.get_resource_from_wit(unquote(wit), unquote(resource)) ==
                 {:error, :not_found}
      end
    end

    test ":interface picks by the interface's name or its export name" do
      for {interface, expected} <- [
            {"counters", {:ok, label_info()}},
            {@counters, {:ok, label_info()}},
            {"other", {:error, :not_found}},
            {"wasmex:resources/counters", {:error, :not_found}}
          ] do
        assert Discovery.get_resource_from_wit(@resources_wit, "label", interface: interface) ==
                 expected
      end
    end

    test "two exported resources of the same name need :interface" do
      assert Discovery.get_resource_from_wit(@two_interfaces, "r") ==
               {:error, "Multiple resources are named `r`; pass the :interface option"}

      assert Discovery.get_resource_from_wit(@two_interfaces, "r", interface: "j") ==
               {:ok, guest_info("r", "j", "a:b/j", [guest_fn("f", "f", :method, 0, false)])}

      assert Discovery.get_resource_from_wit(@two_interfaces, "r", interface: "a:b/i") ==
               {:ok,
                guest_info("r", "i", "a:b/i", [
                  guest_fn("constructor", "constructor", :constructor, 0, true)
                ])}
    end

    test "passes :world and :path on to from_wit/2" do
      wit = "package a:b; interface i { resource r; } world w {} world v { export i; }"

      assert Discovery.get_resource_from_wit(wit, "r", path: "two.wit") ==
               {:error, two_worlds_error("two.wit")}

      assert Discovery.get_resource_from_wit(wit, "r", world: "v") ==
               {:ok, guest_info("r", "i", "a:b/i")}

      assert Discovery.get_resource_from_wit(wit, "r", world: "w") == {:error, :not_found}
    end

    test "a parse error is returned as is" do
      assert Discovery.get_resource_from_wit("package a:b; oops", "r") ==
               {:error, parse_error("wit")}
    end
  end
end
