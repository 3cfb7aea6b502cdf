defmodule Wasmex.Wat do
  @moduledoc ~S"""
  Converts WebAssembly text (core modules and components) to binary wasm.

      iex> {:ok, <<0, "asm", _::binary>>} = Wasmex.Wat.to_wasm("(module)")
  """

  @doc """
  Parses WAT text into wasm bytes. Runs on a dirty scheduler.

      iex> {:error, "Failed to parse WAT: " <> _} = Wasmex.Wat.to_wasm("(module")
  """
  @spec to_wasm(binary()) :: {:ok, binary()} | {:error, binary()}
  def to_wasm(wat) when is_binary(wat), do: Wasmex.Native.wat_to_wasm(wat)
end
