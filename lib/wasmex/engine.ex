defmodule Wasmex.Engine do
  @moduledoc ~S"""
  An engine compiles modules and holds the settings they run with (`Wasmex.EngineConfig`).

  Engines are immutable and may be shared by any number of stores and processes. Modules only run
  in stores of the engine that compiled them.

      iex> {:ok, engine} = Wasmex.Engine.new(%Wasmex.EngineConfig{consume_fuel: true})
      iex> {:ok, _store} = Wasmex.Store.new(nil, engine)
  """

  use Wasmex.Handle

  @doc """
  Creates an engine with the given settings.

      iex> {:ok, %Wasmex.Engine{}} = Wasmex.Engine.new(%Wasmex.EngineConfig{})
  """
  @spec new(Wasmex.EngineConfig.t()) :: {:ok, t()} | {:error, binary()}
  def new(%Wasmex.EngineConfig{} = config) do
    case Wasmex.Native.engine_new(config) do
      {:ok, resource} -> {:ok, wrap(resource)}
      {:error, _} = error -> error
    end
  end

  @doc """
  The shared default engine (default settings). Unlike Wasmex 0.15.1, every call returns the same
  engine, so modules compiled with it can be linked and deserialized across stores.

      iex> %Wasmex.Engine{} = Wasmex.Engine.default()
  """
  @spec default() :: t()
  def default do
    case Wasmex.Native.engine_default() do
      {:ok, resource} -> wrap(resource)
      {:error, reason} -> raise RuntimeError, "could not create the default engine: #{reason}"
    end
  end

  @doc """
  Compiles a module (wasm bytes or WAT text) ahead of time. The result can be loaded with
  `Wasmex.Module.unsafe_deserialize/2` using an engine with the same settings.

      iex> {:ok, bin} = Wasmex.Engine.precompile_module(Wasmex.Engine.default(), "(module)")
      iex> is_binary(bin)
      true
  """
  @spec precompile_module(t(), binary()) :: {:ok, binary()} | {:error, binary()}
  def precompile_module(%__MODULE__{resource: resource}, bytes) when is_binary(bytes) do
    Wasmex.Native.engine_precompile_module(resource, bytes)
  end

  @doc false
  # The NIF resource of an optional engine argument (`nil`: the shared default engine).
  @spec resource!(t() | nil) :: reference() | nil
  def resource!(nil), do: nil
  def resource!(%__MODULE__{resource: resource}), do: resource

  def resource!(other),
    do: raise(ArgumentError, "engine must be a %Wasmex.Engine{} or nil, got: #{inspect(other)}")
end
