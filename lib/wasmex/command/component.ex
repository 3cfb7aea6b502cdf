defmodule Wasmex.Command.Component do
  @moduledoc false
  # Runs a component's `wasi:cli/run` export as a WASI Preview 2 command in a fresh store.

  alias Wasmex.Command.{Failure, Options, Stdio}
  alias Wasmex.Components.{Component, Instance, Store}
  alias Wasmex.StoreOrCaller
  alias Wasmex.Wasi.WasiP2Options

  # Export lookup is semver-compatible: this finds `wasi:cli/run@0.2.x` for any x.
  @run ["wasi:cli/run@0.2.0", "run"]

  @doc false
  @spec prepare(binary(), Options.t()) :: {:ok, Component.t()} | {:error, term()}
  def prepare(bytes, opts) do
    with {:ok, store} <- Failure.setup(Store.new(nil, opts.engine)),
         do: Failure.compiled(Component.new(store, bytes))
  end

  @doc false
  # Returns `{:exit, code}` or `{:error, reason}`.
  @spec run(binary() | Component.t(), Options.t(), map(), integer() | nil) ::
          {:exit, non_neg_integer()} | {:error, term()}
  def run(wasm, opts, io, deadline) do
    no_inherit = [inherit_stdin: false, inherit_stdout: false, inherit_stderr: false]
    wasi = Stdio.wasi(WasiP2Options, opts, io, no_inherit)

    with {:ok, store} <- Failure.setup(Store.new_wasi(wasi, opts.store_limits, opts.engine)),
         :ok <- fuel(store, opts.fuel),
         {:ok, component} <- component(store, wasm),
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

  defp fuel(_store, nil), do: :ok

  defp fuel(%Store{resource: resource}, fuel),
    do: Wasmex.Command.Core.set_fuel!(%StoreOrCaller{resource: resource, reference: nil}, fuel)

  defp component(_store, %Component{} = component), do: {:ok, component}
  defp component(store, bytes), do: Failure.compiled(Component.new(store, bytes))

  defp instantiate(store, component, deadline) do
    case Instance.new(store, component, %{}, Wasmex.Command.left(deadline)) do
      {:ok, instance} -> {:ok, instance}
      {:error, reason} -> Failure.classify(reason, store.resource, :instantiate)
    end
  end
end
