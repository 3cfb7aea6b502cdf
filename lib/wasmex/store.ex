defmodule Wasmex.Store do
  @moduledoc ~S"""
  Builds stores: the mutable world that instances, memories and globals live in.

  A store runs one operation at a time. It is normally owned by one process (a `Wasmex` server);
  when that process dies, the store and everything in it are freed. Stores return
  `%Wasmex.StoreOrCaller{}` handles.

      iex> {:ok, %Wasmex.StoreOrCaller{}} = Wasmex.Store.new()
  """

  alias Wasmex.{Engine, StoreLimits, StoreOrCaller}
  alias Wasmex.Wasi.WasiOptions

  @doc """
  Creates a store without WASI. `nil` limits keep wasmtime's defaults; a `nil` engine means the
  shared `Wasmex.Engine.default/0`.

      iex> {:ok, _store} = Wasmex.Store.new(%Wasmex.StoreLimits{memory_size: 65_536})
  """
  @spec new(StoreLimits.t() | nil, Engine.t() | nil) ::
          {:ok, StoreOrCaller.t()} | {:error, binary()}
  def new(limits \\ nil, engine \\ nil) do
    with {:ok, resource} <- Wasmex.Native.store_new(limits, Engine.resource!(engine)) do
      {:ok, StoreOrCaller.wrap(resource)}
    end
  end

  @doc """
  Creates a store with a WASI Preview 1 context built from `options`.

      iex> {:ok, _store} = Wasmex.Store.new_wasi(%Wasmex.Wasi.WasiOptions{args: ["prog", "hello"]})
  """
  @spec new_wasi(WasiOptions.t(), StoreLimits.t() | nil, Engine.t() | nil) ::
          {:ok, StoreOrCaller.t()} | {:error, binary()}
  def new_wasi(%WasiOptions{} = options, limits \\ nil, engine \\ nil) do
    options = WasiOptions.normalize(options)

    normal = &Wasmex.Native.store_new_wasi_normal/3
    io = &Wasmex.Native.store_new_wasi/3

    with {:ok, resource} <- Wasmex.Utils.wasi_store(options, limits, engine, normal, io) do
      {:ok, StoreOrCaller.wrap(resource)}
    end
  end
end
