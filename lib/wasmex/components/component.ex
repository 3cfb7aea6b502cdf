defmodule Wasmex.Components.Component do
  @moduledoc ~S"""
  A compiled WebAssembly component: compile once, instantiate many times.

      iex> {:ok, store} = Wasmex.Components.Store.new()
      iex> {:ok, %Wasmex.Components.Component{}} = Wasmex.Components.Component.new(store, "(component)")
  """

  alias Wasmex.Components.Store

  use Wasmex.Handle, inspect: false

  @doc """
  Compiles component bytes (or component WAT text) with the store's engine. Runs on a dirty
  scheduler. A WIT package in its binary form (types only, nothing to run) raises
  `ErlangError` with `:"Only components are supported"`, as in Wasmex 0.15.1.

  Options:

    * `:timeout` - milliseconds or `:infinity` (the default); large inputs wait for a compile
      permit, both as in `Wasmex.Module.compile/3`;
    * `:list_u8` - how a function result of type `list<u8>` comes back from calls into
      instances of this component: `:list` (the default, as in Wasmex 0.15.1) a list of
      integers, or `:binary` one binary, copied out of guest memory at once. Only a function's
      own result is affected; a `list<u8>` nested in a record, tuple, option or variant is
      always a list of integers. Arguments of type `list<u8>` take a binary or a list either way.

      iex> {:ok, store} = Wasmex.Components.Store.new()
      iex> {:error, "Unable to decode WASM: " <> _} = Wasmex.Components.Component.new(store, "junk")
      iex> {:ok, _} = Wasmex.Components.Component.new(store, "(component)", list_u8: :binary)
      iex> {:ok, _} = Wasmex.Components.Component.new(store, "(component)", timeout: 5_000)
  """
  @spec new(Store.t(), binary(), keyword()) :: {:ok, t()} | {:error, binary() | :timeout}
  def new(%Store{resource: store}, bytes, opts \\ []) when is_binary(bytes) do
    opts = Keyword.validate!(opts, timeout: :infinity, list_u8: :list)

    binary_lists =
      case opts[:list_u8] do
        :list ->
          false

        :binary ->
          true

        other ->
          raise ArgumentError, "option :list_u8 must be :list or :binary, got: #{inspect(other)}"
      end

    dir = Wasmex.Cache.dir()
    metadata = %{kind: :component, bytes: byte_size(bytes), cache_dir: dir}
    compile = fn -> Wasmex.Native.component_new(store, bytes, dir, binary_lists) end

    Wasmex.Telemetry.span(:compile, metadata, fn ->
      with {:ok, resource} <- Wasmex.Compile.run(compile, opts[:timeout]) do
        {:ok, wrap(resource)}
      end
    end)
  end
end
