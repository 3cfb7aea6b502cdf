defmodule Wasmex.Command.Core do
  @moduledoc false
  # Runs a core module's `_start` as a WASI Preview 1 command in a fresh store.

  alias Wasmex.Command.{Failure, Options, Setup}
  alias Wasmex.{Instance, Module}

  @doc false
  @spec prepare(binary(), Options.t()) :: {:ok, Module.t()} | {:error, term()}
  def prepare(bytes, opts), do: Setup.prepare(:core, bytes, opts)

  @doc false
  # Returns `{:exit, code}` or `{:error, reason}`.
  @spec run(binary() | Module.t(), Options.t(), map(), integer() | nil) ::
          {:exit, non_neg_integer()} | {:error, term()}
  def run(wasm, opts, io, deadline) do
    with {:ok, store} <- Setup.store(:core, opts, io),
         {:ok, module} <- Setup.load(:core, store, wasm),
         {:ok, instance} <- instantiate(store, module, deadline),
         :ok <- command!(store, instance) do
      case Instance.call(store, instance, "_start", [], Wasmex.Command.left(deadline)) do
        {:ok, _} -> {:exit, 0}
        {:error, reason} -> Failure.classify(reason, store.resource, :trap)
      end
    end
  end

  defp instantiate(store, module, deadline) do
    case Instance.new(store, module, %{}, [], Wasmex.Command.left(deadline)) do
      {:ok, instance} ->
        {:ok, instance}

      # A start function may exit, trap or run out of fuel before `_start`.
      {:error, reason} ->
        Failure.classify(reason, store.resource, :instantiate)
    end
  end

  defp command!(store, instance) do
    if Instance.function_export_exists(store, instance, "_start"),
      do: :ok,
      else: {:error, {:not_a_command, "the module does not export a `_start` function"}}
  end
end
