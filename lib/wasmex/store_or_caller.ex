defmodule Wasmex.StoreOrCaller do
  @moduledoc ~S"""
  A handle to a store, or to the caller of an import while that import runs.

  Every store-related function (`Wasmex.Memory`, `Wasmex.Instance`, fuel, ...) takes one. Inside an
  import written in Elixir, pass `context.caller`: it reaches the store of the suspended call.
  A caller is only valid while its import runs; later uses answer
  `{:error, "Caller is no longer valid"}`.

      iex> {:ok, store} = Wasmex.Store.new()
      iex> Wasmex.StoreOrCaller.get_fuel(store)
      {:error, "Could not get fuel: fuel is not configured in this store"}
  """

  use Wasmex.Handle, nullable: true

  @doc """
  Sets the fuel of a store (its engine must have `consume_fuel: true`).

      iex> {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{consume_fuel: true})
      iex> {:ok, store} = Wasmex.Store.new(nil, engine)
      iex> Wasmex.StoreOrCaller.set_fuel(store, 100)
      :ok
  """
  @spec set_fuel(t(), non_neg_integer()) :: :ok | {:error, binary()}
  def set_fuel(%__MODULE__{resource: resource}, fuel) when is_integer(fuel) and fuel >= 0 do
    case Wasmex.Native.store_set_fuel(resource, fuel) do
      {:ok, _} -> :ok
      {:error, _} = error -> error
    end
  end

  @doc """
  Reads the fuel left in a store.

      iex> {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{consume_fuel: true})
      iex> {:ok, store} = Wasmex.Store.new(nil, engine)
      iex> Wasmex.StoreOrCaller.get_fuel(store)
      {:ok, 0}
  """
  @spec get_fuel(t()) :: {:ok, non_neg_integer()} | {:error, binary()}
  def get_fuel(%__MODULE__{resource: resource}), do: Wasmex.Native.store_get_fuel(resource)
end
