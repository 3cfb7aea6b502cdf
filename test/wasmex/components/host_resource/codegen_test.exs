defmodule Wasmex.Components.HostResource.CodegenTest do
  # What `use Wasmex.Components.HostResource` generates. Its option checks and compile errors are
  # in resource_macro_options_test.exs, its runtime behaviour in host_resource_test.exs.
  use Wasmex.MacroCase, async: true

  alias Wasmex.HostResourceFixtures

  alias Wasmex.HostResourceFixtures.{
    AsyncCallbacks,
    DirLogger,
    FileLogger,
    FullInterface,
    PickedWorld,
    ShortInterface,
    SourceLogger
  }

  # The imports of a module for resource `r` of `interface`: its destructor and `functions`.
  defp r_imports(module, interface, functions),
    do: %{interface => Map.put(functions, "r", {:resource, &module.drop/1})}

  describe "use Wasmex.Components.HostResource" do
    test "imports/0 maps the canonical names to the callbacks" do
      assert DirLogger.imports() == HostResourceFixtures.logger_imports(DirLogger)
    end

    test "wit_path: a file and wit: source give the same imports" do
      assert FileLogger.imports() == HostResourceFixtures.logger_imports(FileLogger)
      assert SourceLogger.imports() == HostResourceFixtures.logger_imports(SourceLogger)
    end

    test "the WIT files read are external resources" do
      file = Path.expand("wasm/component_host_resources/wit/host.wit")
      assert DirLogger.external_resources() == [file]
      assert FileLogger.external_resources() == [file]
      assert SourceLogger.external_resources() == []
    end

    test ":interface picks by the interface's short name or its import name" do
      assert ShortInterface.imports() ==
               r_imports(ShortInterface, "a:b/j", %{"[method]r.f" => {:fn, &ShortInterface.f/2}})

      assert FullInterface.imports() ==
               r_imports(FullInterface, "a:b/i", %{
                 "[constructor]r" => {:fn, &FullInterface.new/0}
               })
    end

    test ":world picks one of several worlds" do
      assert PickedWorld.imports() ==
               r_imports(PickedWorld, "a:b/i", %{"[constructor]r" => {:fn, &PickedWorld.new/0}})
    end

    test "async methods take the resource first, like methods" do
      assert AsyncCallbacks.imports() ==
               r_imports(AsyncCallbacks, "a:b/i", %{
                 "[method]r.m" => {:fn, &AsyncCallbacks.m/2},
                 "[static]r.s" => {:fn, &AsyncCallbacks.s/0}
               })
    end

    test "wit: can be a module attribute", %{module: module} do
      define!(module, ~S"""
      @wit File.read!("wasm/component_host_resources/wit/host.wit")
      use Wasmex.Components.HostResource, wit: @wit, resource: "logger"

      def new(prefix), do: prefix
      def log(prefix, msg), do: prefix <> msg
      def count(_prefix), do: 0
      def make_default, do: "default: "
      """)

      assert module.imports() == HostResourceFixtures.logger_imports(module)
    end
  end
end
