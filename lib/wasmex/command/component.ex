defmodule Wasmex.Command.Component do
  @moduledoc false
  # Runs a component's `wasi:cli/run` export as a WASI Preview 2 command in a fresh store.

  alias Wasmex.Command.{Failure, Options, Setup}
  alias Wasmex.Components.{Component, Instance}

  # Export lookup is semver-compatible: this finds `wasi:cli/run@0.2.x` for any x.
  @run ["wasi:cli/run@0.2.0", "run"]

  @doc false
  @spec prepare(binary(), Options.t()) :: {:ok, Component.t()} | {:error, term()}
  def prepare(bytes, opts), do: Setup.prepare(:component, bytes, opts)

  @doc false
  # Returns `{:exit, code}` or `{:error, reason}`.
  @spec run(binary() | Component.t(), Options.t(), map(), integer() | nil) ::
          {:exit, non_neg_integer()} | {:error, term()}
  def run(wasm, opts, io, deadline) do
    with {:ok, store} <- Setup.store(:component, opts, io),
         {:ok, component} <- Setup.load(:component, store, wasm),
         {:ok, instance} <- instantiate(store, component, deadline) do
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

  defp instantiate(store, component, deadline) do
    case Instance.new(store, component, %{}, Wasmex.Command.left(deadline)) do
      {:ok, instance} -> {:ok, instance}
      {:error, reason} -> Failure.classify(reason, store.resource, :instantiate)
    end
  end
end
