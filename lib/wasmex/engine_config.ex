defmodule Wasmex.EngineConfig do
  @moduledoc ~S"""
  Settings for a `Wasmex.Engine`: how modules are compiled and what they may use.

  Epoch interruption is always on: it is how Wasmex bounds each time slice and stops guests at
  their deadline.

      iex> config = %Wasmex.EngineConfig{} |> Wasmex.EngineConfig.consume_fuel(true)
      iex> config.consume_fuel
      true
  """

  @type opt_level :: :none | :speed | :speed_and_size

  @type t :: %__MODULE__{
          consume_fuel: boolean(),
          cranelift_opt_level: opt_level(),
          wasm_backtrace_details: boolean(),
          memory64: boolean(),
          wasm_component_model: boolean(),
          debug_info: boolean(),
          cache_dir: Path.t() | nil
        }

  defstruct consume_fuel: false,
            cranelift_opt_level: :none,
            wasm_backtrace_details: false,
            memory64: false,
            wasm_component_model: true,
            debug_info: false,
            cache_dir: nil

  @doc """
  Makes the engine count fuel: stores then start with 0 fuel and a guest that runs out traps.

      iex> Wasmex.EngineConfig.consume_fuel(%Wasmex.EngineConfig{}, true).consume_fuel
      true
  """
  @spec consume_fuel(t(), boolean()) :: t()
  def consume_fuel(%__MODULE__{} = config, enabled) when is_boolean(enabled),
    do: %{config | consume_fuel: enabled}

  @doc """
  Sets Cranelift's optimization level: `:none`, `:speed` or `:speed_and_size`.

      iex> Wasmex.EngineConfig.cranelift_opt_level(%Wasmex.EngineConfig{}, :speed).cranelift_opt_level
      :speed
  """
  @spec cranelift_opt_level(t(), opt_level()) :: t()
  def cranelift_opt_level(%__MODULE__{} = config, level)
      when level in [:none, :speed, :speed_and_size],
      do: %{config | cranelift_opt_level: level}

  @doc """
  Adds source file and line (from DWARF in the module) to trap messages.

      iex> Wasmex.EngineConfig.wasm_backtrace_details(%Wasmex.EngineConfig{}, true).wasm_backtrace_details
      true
  """
  @spec wasm_backtrace_details(t(), boolean()) :: t()
  def wasm_backtrace_details(%__MODULE__{} = config, enabled) when is_boolean(enabled),
    do: %{config | wasm_backtrace_details: enabled}

  @doc """
  Enables the memory64 proposal (64-bit linear memories).

      iex> Wasmex.EngineConfig.memory64(%Wasmex.EngineConfig{}, true).memory64
      true
  """
  @spec memory64(t(), boolean()) :: t()
  def memory64(%__MODULE__{} = config, enabled) when is_boolean(enabled),
    do: %{config | memory64: enabled}

  @doc """
  Caches this engine's compiled modules and components in the directory `dir` (see
  `Wasmex.Cache`); `nil` (the default) uses the application's `config :wasmex, cache_dir: ...`.

      iex> Wasmex.EngineConfig.cache_dir(%Wasmex.EngineConfig{}, "/tmp/wasmex-cache").cache_dir
      "/tmp/wasmex-cache"
  """
  @spec cache_dir(t(), Path.t() | nil) :: t()
  def cache_dir(%__MODULE__{} = config, dir) when is_binary(dir) or is_nil(dir),
    do: %{config | cache_dir: dir}
end
