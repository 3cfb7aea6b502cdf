defmodule Wasmex.Components.Store do
  @moduledoc ~S"""
  Builds stores for components: plain, or with a WASI Preview 2 context.

      iex> {:ok, %Wasmex.Components.Store{}} = Wasmex.Components.Store.new()
  """

  alias Wasmex.{Engine, StoreLimits}
  alias Wasmex.Wasi.WasiP2Options

  use Wasmex.Handle, inspect: false

  @doc """
  Creates a component store without WASI configuration. A guest that uses WASI anyway gets an empty
  context (no stdio, files or network).

      iex> {:ok, _store} = Wasmex.Components.Store.new(%Wasmex.StoreLimits{memory_size: 1_000_000})
  """
  @spec new(StoreLimits.t() | nil, Engine.t() | nil) :: {:ok, t()} | {:error, binary()}
  def new(limits \\ nil, engine \\ nil) do
    with {:ok, resource} <- Wasmex.Native.store_new(limits, Engine.resource!(engine)) do
      {:ok, wrap(resource)}
    end
  end

  @doc """
  Creates a component store with a WASI Preview 2 context.

      iex> {:ok, _store} = Wasmex.Components.Store.new_wasi(%Wasmex.Wasi.WasiP2Options{args: ["x"]})
  """
  @spec new_wasi(WasiP2Options.t(), StoreLimits.t() | nil, Engine.t() | nil) ::
          {:ok, t()} | {:error, binary()}
  def new_wasi(%WasiP2Options{} = options \\ %WasiP2Options{}, limits \\ nil, engine \\ nil) do
    options = WasiP2Options.normalize(options)

    normal = &Wasmex.Native.store_new_wasi_p2_normal/3
    io = &Wasmex.Native.store_new_wasi_p2/3

    with {:ok, resource} <- Wasmex.Utils.wasi_store(options, limits, engine, normal, io) do
      {:ok, wrap(resource)}
    end
  end

  @doc false
  # A fresh, empty store made like `store` (same engine, limits and WASI options).
  @spec renew(t()) :: {:ok, t()} | {:error, binary()}
  def renew(%__MODULE__{resource: resource}) do
    with {:ok, fresh} <- Wasmex.Native.store_renew(resource), do: {:ok, wrap(fresh)}
  end
end
