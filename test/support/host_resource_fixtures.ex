defmodule Wasmex.HostResourceFixtures do
  @moduledoc false
  # Modules using `Wasmex.Components.HostResource`, shared by the macro suite
  # (test/wasmex/components/host_resource/codegen_test.exs) and the runtime suite
  # (test/wasmex/components/host_resource_test.exs). The loggers' callbacks run in the server
  # process and cannot close over a test's pid: they report to the pid stored under
  # `test_pid_key/0` (only host_resource_test.exs stores one).

  @logging "wasmex:host-resources/logging@0.1.0"
  @test_pid_key {__MODULE__, :test_pid}

  @doc "The `:persistent_term` key under which a test stores the pid the loggers report to."
  def test_pid_key, do: @test_pid_key

  @doc "Sends `message` to the pid stored under `test_pid_key/0`, if any."
  def notify(message) do
    case :persistent_term.get(@test_pid_key, nil) do
      nil -> :ok
      pid -> send(pid, message)
    end
  end

  @doc "The import map a logger module using HostResource must generate, built by hand."
  def logger_imports(module) do
    %{
      @logging => %{
        "logger" => {:resource, &module.drop/1},
        "[constructor]logger" => {:fn, &module.new/1},
        "[method]logger.log" => {:fn, &module.log/2},
        "[method]logger.count" => {:fn, &module.count/1},
        "[static]logger.make-default" => {:fn, &module.make_default/0}
      }
    }
  end

  defmodule PrefixLogger do
    @moduledoc false
    # The logger callbacks of the simple loggers: the term is the prefix itself.
    defmacro __using__(default: default) do
      quote do
        def new(prefix), do: prefix
        def log(prefix, msg), do: prefix <> msg
        def count(_prefix), do: 0
        def make_default, do: unquote(default)
      end
    end
  end

  defmodule DirLogger do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit_path: "wasm/component_host_resources/wit",
      resource: "logger"

    alias Wasmex.HostResourceFixtures, as: T

    def new(prefix) do
      T.notify({:new, prefix})
      %{prefix: prefix, count: :counters.new(1, [])}
    end

    def log(logger, msg) do
      :counters.add(logger.count, 1, 1)
      logger.prefix <> msg
    end

    def count(logger), do: :counters.get(logger.count, 1)
    def make_default, do: new("default: ")

    def drop(logger) do
      T.notify({:dropped, logger.prefix})
      :ok
    end

    def external_resources, do: @external_resource
  end

  defmodule FileLogger do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit_path: "wasm/component_host_resources/wit/host.wit",
      resource: "logger"

    use Wasmex.HostResourceFixtures.PrefixLogger, default: "file default: "

    def external_resources, do: @external_resource
  end

  defmodule SourceLogger do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit: File.read!("wasm/component_host_resources/wit/host.wit"),
      resource: "logger"

    use Wasmex.HostResourceFixtures.PrefixLogger, default: "source default: "

    def external_resources, do: @external_resource
  end

  defmodule RaisingLogger do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit_path: "wasm/component_host_resources/wit",
      resource: "logger"

    use Wasmex.HostResourceFixtures.PrefixLogger, default: "default: "
    def drop(_prefix), do: raise("drop failed")
  end

  defmodule ShortInterface do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit: Wasmex.WitFixtures.two_imported_interfaces(),
      resource: "r",
      interface: "j"

    def f(_r, x), do: x
  end

  defmodule FullInterface do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit: Wasmex.WitFixtures.two_imported_interfaces(),
      resource: "r",
      interface: "a:b/i"

    def new, do: :r
  end

  defmodule PickedWorld do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit: """
      package a:b;
      interface i { resource r { constructor(); } }
      world w { }
      world v { import i; }
      """,
      resource: "r",
      world: "v"

    def new, do: :r
  end

  defmodule AsyncCallbacks do
    @moduledoc false
    use Wasmex.Components.HostResource,
      wit: """
      package a:b;
      interface i { resource r { m: async func(x: u32) -> u32; s: static async func(); } }
      world w { import i; }
      """,
      resource: "r"

    def m(_r, x), do: x
    def s, do: :ok
  end
end
