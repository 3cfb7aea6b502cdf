defmodule Wasmex.Command.Component do
  @moduledoc false
  # Runs a component's `wasi:cli/run` export as a WASI Preview 2 command in a fresh store.

  @behaviour Wasmex.Command.Runner

  alias Wasmex.Command.{Failure, Setup}
  alias Wasmex.Components.Instance

  # Export lookup is semver-compatible: this finds `wasi:cli/run@0.2.x` for any x.
  @run ["wasi:cli/run@0.2.0", "run"]

  @impl true
  def prepare(bytes, opts), do: Setup.prepare(:component, bytes, opts)

  @impl true
  def run(wasm, opts, io, deadline) do
    with {:ok, _store, instance} <- Setup.instance(:component, wasm, opts, io, deadline) do
      case Instance.call(instance, @run, [], Wasmex.Command.left(deadline)) do
        {:ok, :ok} -> {:exit, 0}
        {:ok, _err} -> {:exit, 1}
        {:error, reason} -> failed(instance, reason)
      end
    end
  end

  # A call that did not break the instance never entered the guest: the export is missing or
  # has another type.
  defp failed(instance, reason) when is_binary(reason) do
    if Instance.poisoned?(instance),
      do: Failure.classify(reason, instance.store_resource, :trap),
      else: {:error, {:not_a_command, reason}}
  end

  defp failed(instance, reason), do: Failure.classify(reason, instance.store_resource, :trap)
end
