defmodule Wasmex.Command.Core do
  @moduledoc false
  # Runs a core module's `_start` as a WASI Preview 1 command in a fresh store.

  alias Wasmex.Command.{Failure, Options, Stdio}
  alias Wasmex.{Instance, Module, Store, StoreOrCaller}
  alias Wasmex.Wasi.WasiOptions

  @doc false
  @spec prepare(binary(), Options.t()) :: {:ok, Module.t()} | {:error, term()}
  def prepare(bytes, opts) do
    with {:ok, store} <- Failure.setup(Store.new(nil, opts.engine)),
         do: Failure.compiled(Module.compile(store, bytes))
  end

  @doc false
  # Returns `{:exit, code}` or `{:error, reason}`.
  @spec run(binary() | Module.t(), Options.t(), map(), integer() | nil) ::
          {:exit, non_neg_integer()} | {:error, term()}
  def run(wasm, opts, io, deadline) do
    wasi = Stdio.wasi(WasiOptions, opts, io)

    with {:ok, store} <- Failure.setup(Store.new_wasi(wasi, opts.store_limits, opts.engine)),
         :ok <- set_fuel!(store, opts.fuel),
         {:ok, module} <- module(store, wasm),
         {:ok, instance} <- instantiate(store, module, deadline),
         :ok <- command!(store, instance) do
      case Instance.call(store, instance, "_start", [], Wasmex.Command.left(deadline)) do
        {:ok, _} -> {:exit, 0}
        {:error, reason} -> Failure.classify(reason, store.resource, :trap)
      end
    end
  end

  @doc false
  # Gives the store its fuel; a store whose engine does not meter fuel is a programmer error.
  @spec set_fuel!(StoreOrCaller.t(), non_neg_integer() | nil) :: :ok
  def set_fuel!(_store, nil), do: :ok

  def set_fuel!(store, fuel) do
    case StoreOrCaller.set_fuel(store, fuel) do
      :ok ->
        :ok

      {:error, text} ->
        raise ArgumentError,
              "the :fuel option needs an engine with consume_fuel: true (#{text}), got fuel: #{fuel}"
    end
  end

  defp module(_store, %Module{} = module), do: {:ok, module}
  defp module(store, bytes), do: Failure.compiled(Module.compile(store, bytes))

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
