defmodule Wasmex.Components.GuestResource.DiscoveryTest do
  use ExUnit.Case, async: true

  alias Wasmex.Components.GuestResource.Discovery

  @resources_wit File.read!("wasm/component_resources/wit/resources.wit")
  @host_wit File.read!("wasm/component_host_resources/wit/host.wit")
  @counters "wasmex:resources/counters@1.2.3"

  # Two exported interfaces that both define a resource `r`.
  @two_interfaces """
  package a:b;
  interface i { resource r { constructor(); } }
  interface j { resource r { f: func(); } }
  world w { export i; export j; }
  """

  defp f(wit_name, elixir_name, kind, arity, has_return) do
    %{
      wit_name: wit_name,
      elixir_name: elixir_name,
      kind: kind,
      arity: arity,
      has_return: has_return
    }
  end

  defp accumulator_info do
    %{
      name: "accumulator",
      interface: "counters",
      interface_path: [@counters],
      constructor_path: [@counters, "accumulator"],
      functions: [
        f("constructor", :new, :constructor, 1, true),
        f("add", :add, :method, 1, true),
        f("value", :value, :method, 0, true),
        f("peek-other", :peek_other, :method, 1, true),
        f("absorb", :absorb, :method, 1, true),
        f("split", :split, :method, 1, true),
        f("maybe-copy", :maybe_copy, :method, 1, true),
        f("many", :many, :method, 1, true),
        f("checked-copy", :checked_copy, :method, 0, true),
        f("snapshot", :snapshot, :method, 0, true),
        f("reset", :reset, :method, 0, false),
        f("pair", :pair, :method, 0, true),
        f("spin", :spin, :method, 0, false),
        f("fail", :fail, :method, 0, false),
        f("from-sum", :from_sum, :static, 2, true),
        f("sum-all", :sum_all, :static, 1, true),
        f("nothing", :nothing, :static, 0, false)
      ]
    }
  end

  defp label_info do
    %{
      name: "label",
      interface: "counters",
      interface_path: [@counters],
      constructor_path: [@counters, "label"],
      functions: [
        f("constructor", :new, :constructor, 1, true),
        f("text", :text, :method, 0, true)
      ]
    }
  end

  describe "from_wit/2" do
    test "lists the resources of the exported interfaces, in WIT order" do
      assert Discovery.from_wit(@resources_wit) == {:ok, [accumulator_info(), label_info()]}
    end

    test "leaves out imported interfaces" do
      assert Discovery.from_wit(@host_wit) == {:ok, []}
    end

    test "a world without exports has no resources" do
      assert Discovery.from_wit("package my:pkg; world w {}") == {:ok, []}
    end

    test "a resource without functions has an empty function list" do
      wit = "package a:b; interface i { resource r; } world w { export i; }"

      assert Discovery.from_wit(wit) ==
               {:ok,
                [
                  %{
                    name: "r",
                    interface: "i",
                    interface_path: ["a:b/i"],
                    constructor_path: ["a:b/i", "r"],
                    functions: []
                  }
                ]}
    end

    test "an inline exported interface is named by its export name" do
      wit = "package a:b; world w { export foo: interface { resource r { f: func(); } } }"

      assert Discovery.from_wit(wit) ==
               {:ok,
                [
                  %{
                    name: "r",
                    interface: "foo",
                    interface_path: ["foo"],
                    constructor_path: ["foo", "r"],
                    functions: [f("f", :f, :method, 0, false)]
                  }
                ]}
    end

    test "async methods and statics get the async kinds" do
      wit = """
      package a:b;
      interface i { resource r { m: async func(x: u32) -> u32; s: static async func(); } }
      world w { export i; }
      """

      assert {:ok, [%{name: "r", functions: functions}]} = Discovery.from_wit(wit)

      assert functions == [
               f("m", :m, :async_method, 1, true),
               f("s", :s, :async_static, 0, false)
             ]
    end

    test "several worlds need :world" do
      wit = """
      package a:b;
      interface i { resource r { f: func(); } }
      world w { export i; }
      world v { }
      """

      assert Discovery.from_wit(wit) ==
               {:error,
                "Failed to select world: There are multiple worlds in `a:b`; " <>
                  "one must be explicitly chosen:\n  a:b/w\n  a:b/v (in `wit`)"}

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

    test "a parse error names the source given as :path" do
      assert Discovery.from_wit("package a:b; oops") ==
               {:error,
                "Failed to parse WIT: expected `world`, `interface` or `use`, found an identifier (in `wit`)"}

      assert Discovery.from_wit("package a:b; oops", path: "my.wit") ==
               {:error,
                "Failed to parse WIT: expected `world`, `interface` or `use`, found an identifier (in `my.wit`)"}
    end

    test "unknown options raise" do
      assert_raise ArgumentError,
                   "unknown keys [:interface] in [interface: \"i\"], the allowed keys are: [:path, :world]",
                   fn -> Discovery.from_wit(@resources_wit, interface: "i") end
    end
  end

  describe "get_resource_from_wit/3" do
    test "finds a resource by name" do
      assert Discovery.get_resource_from_wit(@resources_wit, "accumulator") ==
               {:ok, accumulator_info()}

      assert Discovery.get_resource_from_wit(@resources_wit, "label") == {:ok, label_info()}
    end

    test "an unknown resource is :not_found" do
      assert Discovery.get_resource_from_wit(@resources_wit, "nope") == {:error, :not_found}
    end

    test "an imported resource is not an exported one" do
      assert Discovery.get_resource_from_wit(@host_wit, "logger") == {:error, :not_found}
    end

    test ":interface picks by the interface's name or its export name" do
      assert Discovery.get_resource_from_wit(@resources_wit, "label", interface: "counters") ==
               {:ok, label_info()}

      assert Discovery.get_resource_from_wit(@resources_wit, "label", interface: @counters) ==
               {:ok, label_info()}

      assert Discovery.get_resource_from_wit(@resources_wit, "label", interface: "other") ==
               {:error, :not_found}

      assert Discovery.get_resource_from_wit(@resources_wit, "label",
               interface: "wasmex:resources/counters"
             ) == {:error, :not_found}
    end

    test "two exported resources of the same name need :interface" do
      assert Discovery.get_resource_from_wit(@two_interfaces, "r") ==
               {:error, "Multiple resources are named `r`; pass the :interface option"}

      assert Discovery.get_resource_from_wit(@two_interfaces, "r", interface: "j") ==
               {:ok,
                %{
                  name: "r",
                  interface: "j",
                  interface_path: ["a:b/j"],
                  constructor_path: ["a:b/j", "r"],
                  functions: [f("f", :f, :method, 0, false)]
                }}

      assert Discovery.get_resource_from_wit(@two_interfaces, "r", interface: "a:b/i") ==
               {:ok,
                %{
                  name: "r",
                  interface: "i",
                  interface_path: ["a:b/i"],
                  constructor_path: ["a:b/i", "r"],
                  functions: [f("constructor", :new, :constructor, 0, true)]
                }}
    end

    test "passes :world and :path on to from_wit/2" do
      wit = "package a:b; interface i { resource r; } world w {} world v { export i; }"

      assert Discovery.get_resource_from_wit(wit, "r", path: "two.wit") ==
               {:error,
                "Failed to select world: There are multiple worlds in `a:b`; " <>
                  "one must be explicitly chosen:\n  a:b/w\n  a:b/v (in `two.wit`)"}

      assert Discovery.get_resource_from_wit(wit, "r", world: "v") ==
               {:ok,
                %{
                  name: "r",
                  interface: "i",
                  interface_path: ["a:b/i"],
                  constructor_path: ["a:b/i", "r"],
                  functions: []
                }}

      assert Discovery.get_resource_from_wit(wit, "r", world: "w") == {:error, :not_found}
    end

    test "a parse error is returned as is" do
      assert Discovery.get_resource_from_wit("package a:b; oops", "r") ==
               {:error,
                "Failed to parse WIT: expected `world`, `interface` or `use`, found an identifier (in `wit`)"}
    end
  end
end
