defmodule Mix.Tasks.Wasmex.Compile do
  @shortdoc "Compiles WebAssembly files into the compiled-code cache"

  @moduledoc ~S"""
  Compiles core modules and components (`.wasm` or `.wat`) and stores the compiled code in the
  cache directory (see `Wasmex.Cache`), so the application that later compiles the same bytes
  with the same engine settings loads them in milliseconds instead of compiling:

      mix wasmex.compile [--cache-dir DIR] [--fuel] [--compiler winch] FILE...

  The directory is `--cache-dir DIR`, else the application's `config :wasmex, cache_dir: ...`,
  else `Wasmex.Cache.default_dir/0`. Use it as a release build step, with the directory your
  release configures:

      $ mix wasmex.compile --cache-dir rel/wasmex_cache priv/wasm/chat_room.wasm
      priv/wasm/chat_room.wasm: component, 12.1 MB, 8213 ms

  Options:

    * `--cache-dir DIR` - the cache directory to fill;
    * `--fuel` - compile for a fuel-metered engine (`%Wasmex.EngineConfig{consume_fuel: true}`,
      as `mix wasmex.run --fuel` uses) instead of the default engine;
    * `--compiler winch` - compile with Winch (`Wasmex.EngineConfig.compiler/2`), for an
      application whose engine does (`--compiler cranelift` is the default).

  Code is cached per engine configuration: an application whose engine has other settings
  compiles again (and fills the cache itself).
  """

  use Mix.Task

  alias Wasmex.Components.Component

  @switches [cache_dir: :string, fuel: :boolean, compiler: :string]

  @impl Mix.Task
  def run(argv) do
    {opts, files} = OptionParser.parse!(argv, strict: @switches)

    if files == [],
      do:
        Mix.raise(
          "usage: mix wasmex.compile [--cache-dir DIR] [--fuel] [--compiler winch] FILE..."
        )

    Mix.Task.run("app.config")
    if dir = opts[:cache_dir], do: Application.put_env(:wasmex, :cache_dir, Path.expand(dir))
    dir = Wasmex.Cache.enable()
    fuel? = opts[:fuel] == true
    engine = Mix.Wasmex.CompilerFlag.engine(opts[:compiler], fuel?) || engine!(fuel?)
    Enum.each(files, &compile!(&1, engine))
    Mix.shell().info("compiled code cached in #{dir}")
  end

  defp engine!(false), do: Wasmex.Engine.default()

  defp engine!(true) do
    {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{consume_fuel: true})
    engine
  end

  defp compile!(file, engine) do
    bytes =
      case File.read(file) do
        {:ok, bytes} -> bytes
        {:error, reason} -> Mix.raise("cannot read #{file}: #{:file.format_error(reason)}")
      end

    started = System.monotonic_time(:millisecond)
    {kind, result} = compile(bytes, engine)
    ms = System.monotonic_time(:millisecond) - started

    case result do
      {:ok, _} -> Mix.shell().info("#{file}: #{kind}, #{size(bytes)}, #{ms} ms")
      {:error, reason} -> Mix.raise("cannot compile #{file}: #{reason}")
    end
  end

  defp compile(bytes, engine) do
    if Wasmex.Command.component?(bytes) do
      {:ok, store} = Wasmex.Components.Store.new(nil, engine)
      {"component", Component.new(store, bytes)}
    else
      {:ok, store} = Wasmex.Store.new(nil, engine)
      {"module", Wasmex.Module.compile(store, bytes)}
    end
  end

  defp size(bytes) when byte_size(bytes) >= 1_000_000,
    do: "#{Float.round(byte_size(bytes) / 1_000_000, 1)} MB"

  defp size(bytes), do: "#{byte_size(bytes)} bytes"
end
