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
    case exit_code(store) do
      {:ok, code} when is_integer(code) and code >= 0 ->
        {:exit, code}

      _ ->
        # Typed: a metered store whose fuel is 0 after a failure ran out of fuel.
        if fuel_left(store) == {:ok, 0},
          do: {:error, :fuel_exhausted},
          else: {:error, {stage, text}}
    end
  end

  def classify(other, _store, stage), do: {:error, {stage, other}}

  defp fuel_left(store),
    do: StoreOrCaller.get_fuel(%StoreOrCaller{resource: store, reference: make_ref()})

  # Typed: the NIF keeps the code of a WASI exit (P1 `proc_exit`, P2 `wasi:cli/exit`) that ended
  # a call or an instantiation in the store's data. A command runs in a fresh store, so a code
  # there is this run's. (A negative code, from a P1 status past `i32::MAX`, stays an error, as in
  # the text-reading version before it.)
  defp exit_code(store), do: Wasmex.Native.store_exit_code(store)
end
