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
      description: "WebAssembly for the BEAM: run Wasm modules and components with wasmtime",
      name: "Wasmex",
      docs: docs(),
      preferred_cli_env: [docs: :docs]
    ]
  end

  # Elixir 1.15+ reads the preferred environments here (1.14 reads
  # :preferred_cli_env above).
  def cli, do: [preferred_envs: [docs: :docs]]

  def application do
    [extra_applications: [:logger], mod: {Wasmex.Application, []}]
  end

  # :telemetry is optional (events are emitted when it is loaded). ExDoc is declared in the :docs
  # environment only: Mix resolves every declared dependency's source, even one `only:` another
  # environment, and that would need Hex (or WASMEX_DEPS_DIR) for `mix test` too.
  defp deps do
    docs = if Mix.env() == :docs, do: [dep(:ex_doc, "~> 0.36.1", only: :docs, runtime: false)]
    [dep(:telemetry, "~> 1.0", optional: true)] ++ (docs || [])
  end

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

  # The HTML docs (`mix docs`, which runs in the :docs environment).
  @guides [
    "guides/getting_started.md",
    "guides/rust_components.md",
    "guides/javascript_components.md",
    "guides/untrusted_code.md",
    "guides/many_live_instances.md",
    "guides/phoenix_chat.md"
  ]

  defp docs do
    # Guides listed above come first, in that order; any other guide after them.
    guides = Enum.filter(@guides, &File.exists?/1)
    guides = guides ++ (Enum.sort(Path.wildcard("guides/*.md")) -- guides)

    [
      main: "readme",
      extras: ["README.md"] ++ guides ++ ["CHANGELOG.md"],
      groups_for_extras: [Guides: ~r{^guides/}],
      # The Discovery modules' types are those of the hidden Wasmex.Components.Wit.
      skip_undefined_reference_warnings_on: [
        "Wasmex.Components.GuestResource.Discovery",
        "Wasmex.Components.HostResource.Discovery"
      ],
      groups_for_modules: [
        "Core modules": [
          Wasmex,
          Wasmex.Engine,
          Wasmex.EngineConfig,
          Wasmex.Store,
          Wasmex.StoreLimits,
          Wasmex.StoreOrCaller,
          Wasmex.Module,
          Wasmex.Instance,
          Wasmex.Memory,
          Wasmex.Wat,
          Wasmex.Utils
        ],
        Components: [
          Wasmex.Components,
          Wasmex.Components.Store,
          Wasmex.Components.Component,
          Wasmex.Components.Instance,
          Wasmex.Components.ComponentServer,
          Wasmex.Components.FieldConverter
        ],
        "Component resources": [
          Wasmex.Components.GuestResource,
          Wasmex.Components.GuestResource.Discovery,
          Wasmex.Components.HostResource,
          Wasmex.Components.HostResource.Discovery
        ],
        WASI: [~r/^Wasmex\.Wasi\./, Wasmex.Pipe],
        "Commands and pools": [
          Wasmex.Command,
          Wasmex.Command.Result,
          Wasmex.Pool,
          Wasmex.Components.Pool
        ],
        "Caching and telemetry": [~r/^Wasmex\.(Cache|Telemetry)/]
      ]
    ]
  end
end
