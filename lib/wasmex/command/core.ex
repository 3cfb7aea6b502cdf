defmodule Wasmex.Command.Core do
  @moduledoc false
  # Runs a core module's `_start` as a WASI Preview 1 command in a fresh store.

  @behaviour Wasmex.Command.Runner

  alias Wasmex.Command.{Failure, Setup}
  alias Wasmex.Instance

  @impl true
  def prepare(bytes, opts), do: Setup.prepare(:core, bytes, opts)

  @impl true
  def run(wasm, opts, io, deadline) do
    with {:ok, store, instance} <- Setup.instance(:core, wasm, opts, io, deadline),
         :ok <- command!(store, instance) do
      case Instance.call(store, instance, "_start", [], Wasmex.Command.left(deadline)) do
        {:ok, _} -> {:exit, 0}
        {:error, reason} -> Failure.classify(reason, store.resource, :trap)
      end
    end
  end

  defp command!(store, instance) do
    if Instance.function_export_exists(store, instance, "_start"),
      do: :ok,
      else: {:error, {:not_a_command, "the module does not export a `_start` function"}}
  end
end
