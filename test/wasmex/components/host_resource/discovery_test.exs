defmodule Wasmex.Components.HostResource.DiscoveryTest do
  use ExUnit.Case, async: true

  import Wasmex.TestHelpers, only: [tmp_dir!: 1]

  alias Wasmex.Components.HostResource.Discovery

  @host_dir "wasm/component_host_resources/wit"
  @host_file "wasm/component_host_resources/wit/host.wit"
  @host_wit File.read!(@host_file)
  @resources_wit File.read!("wasm/component_resources/wit/resources.wit")
  @logging "wasmex:host-resources/logging@0.1.0"

  # Two imported interfaces that both define a resource `r`.
  @two_interfaces """
  package a:b;
  interface i { resource r { constructor(); } }
  interface j { resource r { f: func(); } }
  world w { import i; import j; }
  """

  defp f(canonical_name, wit_name, elixir_name, kind, arity, has_return) do
    %{
      canonical_name: canonical_name,
      wit_name: wit_name,
      elixir_name: elixir_name,
      kind: kind,
      arity: arity,
      has_return: has_return
    }
  end

  defp logger_info do
    %{
      name: "logger",
      interface: "logging",
      interface_path: [@logging],
      functions: [
        f("[constructor]logger", "constructor", :new, :constructor, 1, true),
        f("[method]logger.log", "log", :log, :method, 1, true),
        f("[method]logger.count", "count", :count, :method, 0, true),
        f("[static]logger.make-default", "make-default", :make_default, :static, 0, true)
      ]
    }
  end

  defp i_info do
    %{
      name: "r",
      interface: "i",
      interface_path: ["a:b/i"],
      functions: [f("[constructor]r", "constructor", :new, :constructor, 0, true)]
    }
  end

  defp j_info do
    %{
      name: "r",
      interface: "j",
      interface_path: ["a:b/j"],
      functions: [f("[method]r.f", "f", :f, :method, 0, false)]
    }
  end

  defp write_deps_package!(dir) do
    File.mkdir_p!(Path.join(dir, "deps"))

    File.write!(
      Path.join(dir, "main.wit"),
      "package a:main;\nworld w { import b:dep/api@2.0.0; }\n"
    )

    File.write!(
      Path.join(dir, "deps/dep.wit"),
      "package b:dep@2.0.0;\ninterface api { resource r { constructor(x: u8); } }\n"
    )
  end

  describe "from_wit/2" do
    test "lists the resources of the imported interfaces" do
      assert Discovery.from_wit(@host_wit) == {:ok, [logger_info()]}
    end

    test "leaves out exported interfaces" do
      assert Discovery.from_wit(@resources_wit) == {:ok, []}
    end

    test "a world without imports has no resources" do
      assert Discovery.from_wit("package my:pkg; world w {}") == {:ok, []}
    end

    test "resources in WIT order, one without functions included" do
      wit = """
      package a:b;
      interface i { resource r; resource s { f: func(x: borrow<r>, y: r) -> s; } }
      world w { import i; }
      """

      assert Discovery.from_wit(wit) ==
               {:ok,
                [
                  %{name: "r", interface: "i", interface_path: ["a:b/i"], functions: []},
                  %{
                    name: "s",
                    interface: "i",
                    interface_path: ["a:b/i"],
                    functions: [f("[method]s.f", "f", :f, :method, 2, true)]
                  }
                ]}
    end

    test "an inline imported interface is named by its import name" do
      wit = "package a:b; world w { import foo: interface { resource r { f: func(); } } }"

      assert Discovery.from_wit(wit) ==
               {:ok,
                [
                  %{
                    name: "r",
                    interface: "foo",
                    interface_path: ["foo"],
                    functions: [f("[method]r.f", "f", :f, :method, 0, false)]
                  }
                ]}
    end

    test "async methods and statics get the async kinds" do
      wit = """
      package a:b;
      interface i { resource r { m: async func(x: u32) -> u32; s: static async func(); } }
      world w { import i; }
      """

      assert {:ok, [%{name: "r", functions: functions}]} = Discovery.from_wit(wit)

      assert functions == [
               f("[method]r.m", "m", :m, :async_method, 1, true),
               f("[static]r.s", "s", :s, :async_static, 0, false)
             ]
    end

    test "several worlds need :world" do
      wit = """
      package a:b;
      interface i { resource r { f: func(); } }
      world w { import i; }
      world v { }
      """

      assert Discovery.from_wit(wit) ==
               {:error,
                "Failed to select world: There are multiple worlds in `a:b`; " <>
                  "one must be explicitly chosen:\n  a:b/w\n  a:b/v (in `wit`)"}

      assert Discovery.from_wit(wit, world: "w") ==
               {:ok,
                [
                  %{
                    name: "r",
                    interface: "i",
                    interface_path: ["a:b/i"],
                    functions: [f("[method]r.f", "f", :f, :method, 0, false)]
                  }
                ]}

      assert Discovery.from_wit(wit, world: "v") == {:ok, []}
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
                   fn -> Discovery.from_wit(@host_wit, interface: "i") end
    end
  end

  describe "from_path/2" do
    test "reads a WIT file" do
      assert Discovery.from_path(@host_file) == {:ok, [logger_info()]}
    end

    test "reads a WIT directory" do
      assert Discovery.from_path(@host_dir) == {:ok, [logger_info()]}
    end

    test "takes a charlist path" do
      assert Discovery.from_path(String.to_charlist(@host_dir)) == {:ok, [logger_info()]}
    end

    test "a directory resolves its deps/ folder" do
      dir = tmp_dir!("wasmex_host_discovery")
      write_deps_package!(dir)

      assert Discovery.from_path(dir) ==
               {:ok,
                [
                  %{
                    name: "r",
                    interface: "api",
                    interface_path: ["b:dep/api@2.0.0"],
                    functions: [f("[constructor]r", "constructor", :new, :constructor, 1, true)]
                  }
                ]}
    end

    test "a missing path is an error naming it" do
      path = "test/fixtures/components/missing.wit"

      assert Discovery.from_path(path) ==
               {:error,
                "Failed to parse WIT: failed to read path for WIT [#{Path.expand(path)}]: " <>
                  "No such file or directory (os error 2) (in `#{path}`)"}
    end

    test "a parse error names the file" do
      dir = tmp_dir!("wasmex_host_discovery")
      path = Path.join(dir, "bad.wit")
      File.write!(path, "package a:b;\ninterface i {\n  oops\n}\n")

      assert Discovery.from_path(path) ==
               {:error, "Failed to parse WIT: expected ':', found '}' (in `#{path}`)"}
    end

    test "several worlds need :world" do
      dir = tmp_dir!("wasmex_host_discovery")
      path = Path.join(dir, "two.wit")

      File.write!(path, """
      package a:b;
      interface i { resource r; }
      world w { import i; }
      world v { }
      """)

      assert Discovery.from_path(path) ==
               {:error,
                "Failed to select world: There are multiple worlds in `a:b`; " <>
                  "one must be explicitly chosen:\n  a:b/w\n  a:b/v (in `#{path}`)"}

      assert Discovery.from_path(path, world: "w") ==
               {:ok, [%{name: "r", interface: "i", interface_path: ["a:b/i"], functions: []}]}
    end

    test "only takes :world" do
      assert_raise ArgumentError,
                   "unknown keys [:path] in [path: \"x\"], the allowed keys are: [:world]",
                   fn -> Discovery.from_path(@host_dir, path: "x") end
    end
  end

  describe "get_resource_from_wit/3" do
    test "finds a resource by name" do
      assert Discovery.get_resource_from_wit(@host_wit, "logger") == {:ok, logger_info()}
    end

    test "an unknown resource is :not_found" do
      assert Discovery.get_resource_from_wit(@host_wit, "nope") == {:error, :not_found}
    end

    test "an exported resource is not an imported one" do
      assert Discovery.get_resource_from_wit(@resources_wit, "accumulator") ==
               {:error, :not_found}
    end

    test "two imported resources of the same name need :interface" do
      assert Discovery.get_resource_from_wit(@two_interfaces, "r") ==
               {:error, "Multiple imported resources are named `r`; pass the :interface option"}
    end

    test ":interface takes the interface's short name or its import name" do
      assert Discovery.get_resource_from_wit(@two_interfaces, "r", interface: "j") ==
               {:ok, j_info()}

      assert Discovery.get_resource_from_wit(@two_interfaces, "r", interface: "a:b/j") ==
               {:ok, j_info()}

      assert Discovery.get_resource_from_wit(@two_interfaces, "r", interface: "i") ==
               {:ok, i_info()}

      assert Discovery.get_resource_from_wit(@two_interfaces, "r", interface: "a:b/i") ==
               {:ok, i_info()}

      assert Discovery.get_resource_from_wit(@two_interfaces, "r", interface: "k") ==
               {:error, :not_found}
    end

    test "passes :world on" do
      wit = "package a:b; interface i { resource r; } world w {} world v { import i; }"

      assert Discovery.get_resource_from_wit(wit, "r", world: "v") ==
               {:ok, %{name: "r", interface: "i", interface_path: ["a:b/i"], functions: []}}

      assert Discovery.get_resource_from_wit(wit, "r", world: "w") == {:error, :not_found}
    end

    test "a parse error is returned as is" do
      assert Discovery.get_resource_from_wit("package a:b; oops", "r", path: "x.wit") ==
               {:error,
                "Failed to parse WIT: expected `world`, `interface` or `use`, found an identifier (in `x.wit`)"}
    end
  end

  describe "get_resource_from_path/3" do
    test "finds a resource in a file or a directory" do
      assert Discovery.get_resource_from_path(@host_file, "logger") == {:ok, logger_info()}
      assert Discovery.get_resource_from_path(@host_dir, "logger") == {:ok, logger_info()}
    end

    test "an unknown resource is :not_found" do
      assert Discovery.get_resource_from_path(@host_dir, "nope") == {:error, :not_found}
    end

    test ":interface picks by short name or import name" do
      assert Discovery.get_resource_from_path(@host_dir, "logger", interface: "logging") ==
               {:ok, logger_info()}

      assert Discovery.get_resource_from_path(@host_dir, "logger", interface: @logging) ==
               {:ok, logger_info()}

      assert Discovery.get_resource_from_path(@host_dir, "logger", interface: "other") ==
               {:error, :not_found}
    end

    test "two imported resources of the same name need :interface" do
      dir = tmp_dir!("wasmex_host_discovery")
      path = Path.join(dir, "two.wit")
      File.write!(path, @two_interfaces)

      assert Discovery.get_resource_from_path(path, "r") ==
               {:error, "Multiple imported resources are named `r`; pass the :interface option"}

      assert Discovery.get_resource_from_path(path, "r", interface: "j") == {:ok, j_info()}
      assert Discovery.get_resource_from_path(path, "r", interface: "a:b/i") == {:ok, i_info()}
    end

    test "a resource from a deps/ package" do
      dir = tmp_dir!("wasmex_host_discovery")
      write_deps_package!(dir)

      assert {:ok, %{name: "r", interface_path: ["b:dep/api@2.0.0"]}} =
               Discovery.get_resource_from_path(dir, "r", interface: "b:dep/api@2.0.0")
    end

    test "a missing path is an error" do
      path = "nope/dir"

      assert Discovery.get_resource_from_path(path, "logger") ==
               {:error,
                "Failed to parse WIT: failed to read path for WIT [#{Path.expand(path)}]: " <>
                  "No such file or directory (os error 2) (in `#{path}`)"}
    end
  end
end
