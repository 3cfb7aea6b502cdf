# The :wasmex_native compiler is defined in this project, but Mix needs it
# before the Elixir compiler has run, so load it from source up front. This also
# works when wasmex is a path or git dependency of another application.
unless Code.ensure_loaded?(Mix.Tasks.Compile.WasmexNative) do
  Code.require_file("lib/mix/tasks/compile.wasmex_native.ex", __DIR__)
end

defmodule Wasmex.MixProject do
  use Mix.Project

  @version "0.1.0"

  def project do
    [
      app: :wasmex,
      version: @version,
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      compilers: [:wasmex_native] ++ Mix.compilers(),
      elixirc_paths: elixirc_paths(Mix.env()),
      deps: deps(),
      description: "WebAssembly for the BEAM: run Wasm modules and components with wasmtime"
    ]
  end

  def application do
    [extra_applications: [:logger], mod: {Wasmex.Application, []}]
  end

  defp deps do
    [dep(:telemetry, "~> 1.0", optional: true)]
  end

  # Hex packages for users; on machines without Hex access, path dependencies on a folder of
  # package sources: `$WASMEX_DEPS_DIR`, else `../shared/hex` beside this project when it exists
  # (the Makefile and .ci/run set the variable themselves).
  defp dep(name, requirement, opts) do
    case deps_dir() do
      nil -> {name, requirement, opts}
      dir -> {name, [path: Path.join(dir, Atom.to_string(name))] ++ opts}
    end
  end

  defp deps_dir do
    sibling = Path.expand("../shared/hex", __DIR__)

    cond do
      dir = System.get_env("WASMEX_DEPS_DIR") -> dir
      File.dir?(sibling) -> sibling
      true -> nil
    end
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
