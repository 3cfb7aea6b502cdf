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

  Options: `:timeout` (milliseconds or `:infinity`, the default), and large inputs wait for a
  compile permit, both as in `Wasmex.Module.compile/3`.

      iex> {:ok, store} = Wasmex.Components.Store.new()
      iex> {:error, "Unable to decode WASM: " <> _} = Wasmex.Components.Component.new(store, "junk")
      iex> {:ok, _} = Wasmex.Components.Component.new(store, "(component)", timeout: 5_000)
  """
  @spec new(Store.t(), binary(), keyword()) :: {:ok, t()} | {:error, binary() | :timeout}
  def new(%Store{resource: store}, bytes, opts \\ []) when is_binary(bytes) do
    opts = Keyword.validate!(opts, timeout: :infinity)
    dir = Wasmex.Cache.dir()
    metadata = %{kind: :component, bytes: byte_size(bytes), cache_dir: dir}
    compile = fn -> Wasmex.Native.component_new(store, bytes, dir) end

    Wasmex.Telemetry.span(:compile, metadata, fn ->
      with {:ok, resource} <- Wasmex.Compile.run(compile, opts[:timeout]) do
        {:ok, wrap(resource)}
      end
    end)
  end
end
