defmodule Wasmex.Wat do
  @moduledoc ~S"""
  Converts WebAssembly text (core modules and components) to binary wasm.

  Component text in the legacy forms that Wasmex 0.15.1 (wat 1.255) accepted still parses, such
  as `(memory $inst "mem")` inside `canon lift` (today written `(memory (core memory $inst
  "mem"))`). The library sets `WAST_STRICT_COMPONENT_INDICES=0` for this when it loads, unless
  the variable is already set; `1` makes the parser strict.

      iex> {:ok, <<0, "asm", _::binary>>} = Wasmex.Wat.to_wasm("(module)")
  """

  @doc """
  Parses WAT text into wasm bytes. Runs on a dirty scheduler.

      iex> {:error, "Failed to parse WAT: " <> _} = Wasmex.Wat.to_wasm("(module")
  """
  @spec to_wasm(binary()) :: {:ok, binary()} | {:error, binary()}
  def to_wasm(wat) when is_binary(wat), do: Wasmex.Native.wat_to_wasm(wat)
end
