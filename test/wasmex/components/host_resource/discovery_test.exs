defmodule Wasmex.Components.HostResource.DiscoveryTest do
  use Wasmex.Case, async: true

  alias Wasmex.Components.HostResource.Discovery
  alias Wasmex.WitFixtures

  import Wasmex.WitFixtures,
    only: [
      host_fn: 6,
      host_info: 3,
      host_info: 4,
      logger_info: 0,
      parse_error: 1,
      two_worlds_error: 1,
      missing_path_error: 1
    ]

  @host_dir "wasm/component_host_resources/wit"
  @host_file "wasm/component_host_resources/wit/host.wit"
  @host_wit File.read!(@host_file)
  @resources_wit File.read!("wasm/component_resources/wit/resources.wit")
  @logging "wasmex:host-resources/logging@0.1.0"

  @two_interfaces WitFixtures.two_interfaces(:import)

  defp i_info,
    do:
      host_info("r", "i", "a:b/i", [
        host_fn("[constructor]r", "constructor", "constructor", :constructor, 0, true)
      ])

  defp j_info, do: r_with_f("j", "a:b/j")

  # A resource `r` with one method `f: func()`, in `interface` (imported as `interface_name`).
  defp r_with_f(interface, interface_name),
    do:
      host_info("r", interface, interface_name, [
        host_fn("[method]r.f", "f", "f", :method, 0, false)
      ])

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
    test "resources in WIT order, one without functions included" do
      wit = """
      package a:b;
      interface i { resource r; resource s { f: func(x: borrow<r>, y: r) -> s; } }
      world w { import i; }
      """

      assert Discovery.from_wit(wit) ==
               {:ok,
                [
                  host_info("r", "i", "a:b/i"),
                  host_info("s", "i", "a:b/i", [
                    host_fn("[method]s.f", "f", "f", :method, 2, true)
                  ])
                ]}
    end

    test "an inline imported interface is named by its import name" do
      wit = "package a:b; world w { import foo: interface { resource r { f: func(); } } }"

      assert Discovery.from_wit(wit) == {:ok, [r_with_f("foo", "foo")]}
    end

    test "async methods and statics get the async kinds" do
      assert {:ok, [%{name: "r", functions: functions}]} =
               Discovery.from_wit(WitFixtures.async_resource(:import))

      assert functions == [
               host_fn("[method]r.m", "m", "m", :async_method, 1, true),
               host_fn("[static]r.s", "s", "s", :async_static, 0, false)
             ]
    end

    test "several worlds need :world" do
      wit = WitFixtures.two_worlds(:import)

      assert Discovery.from_wit(wit) ==
               {:error, two_worlds_error("wit")}

      assert Discovery.from_wit(wit, world: "w") == {:ok, [r_with_f("i", "a:b/i")]}

      assert Discovery.from_wit(wit, world: "v") == {:ok, []}
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
                  host_info("r", "api", "b:dep/api@2.0.0", [
                    host_fn("[constructor]r", "constructor", "constructor", :constructor, 1, true)
                  ])
                ]}
    end

    test "a missing path is an error naming it" do
      path = "test/fixtures/components/missing.wit"

      assert Discovery.from_path(path) ==
               {:error, missing_path_error(path)}
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
               {:error, two_worlds_error(path)}

      assert Discovery.from_path(path, world: "w") ==
               {:ok, [host_info("r", "i", "a:b/i")]}
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
      for {interface, expected} <- [
            {"j", {:ok, j_info()}},
            {"a:b/j", {:ok, j_info()}},
            {"i", {:ok, i_info()}},
            {"a:b/i", {:ok, i_info()}},
            {"k", {:error, :not_found}}
          ] do
        assert Discovery.get_resource_from_wit(@two_interfaces, "r", interface: interface) ==
                 expected
      end
    end

    test "passes :world on" do
      wit = "package a:b; interface i { resource r; } world w {} world v { import i; }"

      assert Discovery.get_resource_from_wit(wit, "r", world: "v") ==
               {:ok, host_info("r", "i", "a:b/i")}

      assert Discovery.get_resource_from_wit(wit, "r", world: "w") == {:error, :not_found}
    end

    test "a parse error is returned as is" do
      assert Discovery.get_resource_from_wit("package a:b; oops", "r", path: "x.wit") ==
               {:error, parse_error("x.wit")}
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
      for {interface, expected} <- [
            {"logging", {:ok, logger_info()}},
            {@logging, {:ok, logger_info()}},
            {"other", {:error, :not_found}}
          ] do
        assert Discovery.get_resource_from_path(@host_dir, "logger", interface: interface) ==
                 expected
      end
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
               {:error, missing_path_error(path)}
    end
  end
end
