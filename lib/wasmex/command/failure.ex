defmodule Wasmex.Command.Failure do
  @moduledoc false
  # Turns the error of a command's entry point (or of its instantiation) into the outcome
  # `Wasmex.Command.run/2` documents: a WASI exit is an exit code, not an error; exhausted fuel
  # and traps are distinct errors.

  alias Wasmex.StoreOrCaller

  @doc false
  # A made store, or the `:setup` error.
  @spec setup({:ok, term()} | {:error, binary()}) :: {:ok, term()} | {:error, {:setup, binary()}}
  def setup({:ok, store}), do: {:ok, store}
  def setup({:error, text}), do: {:error, {:setup, text}}

  @doc false
  # Compiled code, or the `:compile` error.
  @spec compiled({:ok, term()} | {:error, binary()}) ::
          {:ok, term()} | {:error, {:compile, binary()}}
  def compiled({:ok, code}), do: {:ok, code}
  def compiled({:error, text}), do: {:error, {:compile, text}}

  @doc false
  @spec classify(term(), reference(), :instantiate | :trap) ::
          {:exit, non_neg_integer()} | {:error, term()}
  def classify(:timeout, _store, _stage), do: {:error, :timeout}

  def classify(text, store, stage) when is_binary(text) do
    case exit_status(text) do
      {:ok, code} ->
        {:exit, code}

      :error ->
        # Typed: a metered store whose fuel is 0 after a failure ran out of fuel.
        if fuel_left(store) == {:ok, 0},
          do: {:error, :fuel_exhausted},
          else: {:error, {stage, text}}
    end
  end

  def classify(other, _store, stage), do: {:error, {stage, other}}

  defp fuel_left(store),
    do: StoreOrCaller.get_fuel(%StoreOrCaller{resource: store, reference: make_ref()})

  # The one place that reads an error text. The NIF reports a WASI exit (P1 `proc_exit`, P2
  # `wasi:cli/exit`) only as the text of wasmtime's `I32Exit` error, "Exited with i32 exit status
  # N", at the end of the call's error message (after an optional wasm backtrace); it has no
  # typed form today. Traps carry "(wasm trap: ...)" right after the prefix, so they never match.
  @exit ~r/\AError (?:during function excecution|executing function): (?:error while executing at wasm backtrace:\n.*: )?Exited with i32 exit status (\d+)\z/s

  defp exit_status(text) do
    case Regex.run(@exit, text, capture: :all_but_first) do
      [code] -> {:ok, String.to_integer(code)}
      nil -> :error
    end
  end
end
