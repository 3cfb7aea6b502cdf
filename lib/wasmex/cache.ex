defmodule Wasmex.Cache do
  @moduledoc ~S"""
  The compiled-code cache on disk: compiling a large component takes seconds of Cranelift, and
  loading it from the cache takes milliseconds.

  Off by default. Turn it on for the whole application:

      config :wasmex, cache_dir: "/var/cache/my_app/wasmex"

  or for one engine, with `Wasmex.EngineConfig.cache_dir/2` (an engine's own directory wins
  over the application's). The application environment is read whenever something is compiled,
  so `Application.put_env(:wasmex, :cache_dir, dir)` at runtime takes effect for the next compile
  (bytes already compiled in this VM come from the in-memory cache and are not written again).
  The `mix wasmex.*` tasks turn the cache on (in `default_dir/0` unless configured), and
  `mix wasmex.compile FILE...` fills it, for a release build step.

  Each file holds wasmtime's serialized module or component, named by a SHA-256 digest of the
  input bytes, the engine's settings (its compiler, Cranelift or Winch, among them), the wasmtime
  version and the target. Before a file is
  deserialized its header is checked (the key, the payload's length and its SHA-256 digest; the
  digests are taken over 4 MiB chunks on every core); a file that fails the check, was
  truncated, was copied over another's name or was written by another wasmtime is never loaded:
  the bytes are compiled again and the file rewritten. The payload is hashed as it is copied
  into a sealed in-memory file that wasmtime maps as it is, so the code that runs is the code
  that was checked, whatever happens to the cache file afterwards. Writers write a temporary
  file and rename it, so nodes and VMs can share one directory; a temporary file left by a
  writer that crashed is removed once it is ten minutes old (before each write, and at the
  first lookup in the directory in a VM).

  Deserializing runs the machine code in the file: the directory must be writable only by those
  you trust to run code on the machine. A module or component loaded from the cache holds one
  file descriptor (its in-memory file) while it lives.

      iex> dir = Path.join(System.tmp_dir!(), "wasmex-cache-doc")
      iex> {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{cache_dir: dir})
      iex> {:ok, store} = Wasmex.Store.new(nil, engine)
      iex> {:ok, _module} = Wasmex.Module.compile(store, "(module $cached_doc)")
      iex> File.ls!(dir) |> Enum.any?(&String.ends_with?(&1, ".cwasm"))
      true
  """

  @doc """
  The application's cache directory (`config :wasmex, cache_dir: ...`), or `nil` when the cache
  is off. Read at each compile.

      iex> Wasmex.Cache.dir() == Application.get_env(:wasmex, :cache_dir)
      true
  """
  @spec dir() :: Path.t() | nil
  def dir do
    case Application.get_env(:wasmex, :cache_dir) do
      nil ->
        nil

      dir when is_binary(dir) ->
        dir

      other ->
        raise ArgumentError,
              "config :wasmex, :cache_dir must be a path (a binary) or nil, got: #{inspect(other)}"
    end
  end

  @doc """
  The directory the `mix wasmex.*` tasks use when none is configured: the user's cache
  directory (`:filename.basedir(:user_cache, "wasmex")`, `~/.cache/wasmex` on Linux).

      iex> Wasmex.Cache.default_dir() |> Path.basename()
      "wasmex"
  """
  @spec default_dir() :: Path.t()
  def default_dir, do: :filename.basedir(:user_cache, "wasmex") |> to_string()

  @doc """
  Turns the cache on for this VM unless it is configured: sets the application's `:cache_dir`
  to `dir` (default `default_dir/0`). Returns the directory in use. The `mix wasmex.*` tasks
  call it.

      # in a task, after Mix.Task.run("app.config"):
      dir = Wasmex.Cache.enable()
      Mix.shell().info("compiled code cached in \#{dir}")
  """
  @spec enable(Path.t()) :: Path.t()
  def enable(dir \\ default_dir()) when is_binary(dir) do
    case dir() do
      nil ->
        Application.put_env(:wasmex, :cache_dir, dir)
        dir

      configured ->
        configured
    end
  end
end
