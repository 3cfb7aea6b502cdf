defmodule Mix.Wasmex.CompilerFlag do
  @moduledoc false
  # The `--compiler cranelift|winch` flag of `mix wasmex.compile` and `mix wasmex.run`.

  @doc """
  The engine a task compiles with: `nil` (the task's usual engine) for Cranelift, else a new
  engine with that compiler, metered when `fuel?`.

      iex> Mix.Wasmex.CompilerFlag.engine(nil, false)
      nil
      iex> %Wasmex.Engine{} = Mix.Wasmex.CompilerFlag.engine("winch", true)
  """
  @spec engine(String.t() | nil, boolean()) :: Wasmex.Engine.t() | nil
  def engine(flag, fuel?) when flag in [nil, "cranelift"] and is_boolean(fuel?), do: nil

  def engine("winch", fuel?) when is_boolean(fuel?) do
    config = Wasmex.EngineConfig.compiler(%Wasmex.EngineConfig{consume_fuel: fuel?}, :winch)

    case Wasmex.Engine.new(config) do
      {:ok, engine} -> engine
      {:error, reason} -> Mix.raise("cannot create a Winch engine: #{reason}")
    end
  end

  def engine(other, _fuel?),
    do: Mix.raise("--compiler must be cranelift or winch, got: #{inspect(other)}")
end
