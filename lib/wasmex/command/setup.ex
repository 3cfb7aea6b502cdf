defmodule Wasmex.Command.Setup do
  @moduledoc false
  # The stores and code of a command run, for both kinds of wasm: `:core` (a module, WASI
  # Preview 1, `Wasmex.Store`) and `:component` (WASI Preview 2, `Wasmex.Components.Store`).
  # The runners (`Wasmex.Command.Core`, `Wasmex.Command.Component`) take a live instance from
  # `instance/5`; `Wasmex.Command.Invoke`, which checks its arguments against the compiled code
  # before instantiating, takes `store/3` and `load/3`. What happens after that is theirs.

  alias Wasmex.Command.{Failure, Options, Stdio}
  alias Wasmex.{Components, Module, StoreOrCaller}
  alias Wasmex.Components.Component
  alias Wasmex.Wasi.{WasiOptions, WasiP2Options}

  @type kind :: :core | :component
  @type code :: Module.t() | Component.t()

  # A component run inherits no stdio of the BEAM; its stdio are the run's pipes.
  @no_inherit [inherit_stdin: false, inherit_stdout: false, inherit_stderr: false]

  @doc false
  # `bytes` compiled once, in a plain store on the options' engine, for many runs.
  @spec prepare(kind(), binary(), Options.t()) ::
          {:ok, code()} | {:error, {:compile | :setup, binary()}}
  def prepare(kind, bytes, opts) do
    with {:ok, store} <- Failure.setup(store_module(kind).new(nil, opts.engine)),
         do: load(kind, store, bytes)
  end

  @doc false
  # The fresh WASI store of a run on `io` (its pipes), with the run's limits, engine and fuel.
  @spec store(kind(), Options.t(), Stdio.t()) :: {:ok, struct()} | {:error, {:setup, binary()}}
  def store(kind, opts, io) do
    wasi = wasi(kind, opts, io)

    with {:ok, store} <-
           Failure.setup(store_module(kind).new_wasi(wasi, opts.store_limits, opts.engine)),
         :ok <- set_fuel!(store, opts.fuel),
         do: {:ok, store}
  end

  @doc false
  # A run's fresh store (`store/3`), `wasm` compiled for it and instantiated without imports,
  # within `deadline`: `{:ok, store, instance}`, or the outcome of a failed instantiation.
  @spec instance(kind(), binary() | code(), Options.t(), Stdio.t(), integer() | nil) ::
          {:ok, struct(), struct()} | {:exit, non_neg_integer()} | {:error, term()}
  def instance(kind, wasm, opts, io, deadline) do
    with {:ok, store, code} <- store_and_code(kind, wasm, opts, io) do
      case instantiate(kind, store, code, Wasmex.Command.left(deadline)) do
        {:ok, instance} ->
          {:ok, store, instance}

        # A start function may exit, trap or run out of fuel before the run's entry point.
        {:error, reason} ->
          Failure.classify(reason, store.resource, :instantiate)
      end
    end
  end

  # A prepared core module or component on the default engine, without fuel or preopens, runs
  # in a store of the run engine (the default engine's pooling twin, which reuses memory slots)
  # while it has a free slot, else in a default store, as `store/3` makes it
  # (`store_new_wasi_run`, `component_store_new_wasi_run`).
  defp store_and_code(
         kind,
         %code_type{resource: code},
         %{engine: nil, fuel: nil, preopen: []} = opts,
         io
       )
       when {kind, code_type} in [{:core, Module}, {:component, Component}] do
    options = WasiOptions.normalize_common(wasi(kind, opts, io))

    with {:ok, {store, code}} <- Failure.setup(run_store(kind, options, opts.store_limits, code)),
         do: {:ok, wrap_store(kind, store), code_type.wrap(code)}
  end

  defp store_and_code(kind, wasm, opts, io) do
    with {:ok, store} <- store(kind, opts, io),
         {:ok, code} <- load(kind, store, wasm),
         do: {:ok, store, code}
  end

  @doc false
  # `wasm` compiled for `store`'s engine; code compiled already is used as it is.
  @spec load(kind(), struct(), binary() | code()) ::
          {:ok, code()} | {:error, {:compile, binary()}}
  def load(:core, _store, %Module{} = module), do: {:ok, module}
  def load(:core, store, bytes), do: Failure.compiled(Module.compile(store, bytes))
  def load(:component, _store, %Component{} = component), do: {:ok, component}
  def load(:component, store, bytes), do: Failure.compiled(Component.new(store, bytes))

  defp instantiate(:core, store, module, timeout),
    do: Wasmex.Instance.new(store, module, %{}, [], timeout)

  defp instantiate(:component, store, component, timeout),
    do: Components.Instance.new(store, component, %{}, timeout)

  defp store_module(:core), do: Wasmex.Store
  defp store_module(:component), do: Components.Store

  defp wrap_store(:core, store), do: StoreOrCaller.wrap(store)
  defp wrap_store(:component, store), do: Components.Store.wrap(store)

  defp run_store(:core, options, limits, module),
    do: Wasmex.Native.store_new_wasi_run(options, limits, module)

  defp run_store(:component, options, limits, component),
    do: Wasmex.Native.component_store_new_wasi_run(options, limits, component)

  defp wasi(:core, opts, io), do: Stdio.wasi(WasiOptions, opts, io)
  defp wasi(:component, opts, io), do: Stdio.wasi(WasiP2Options, opts, io, @no_inherit)

  # A store whose engine does not meter fuel is a programmer error when fuel is given.
  defp set_fuel!(_store, nil), do: :ok

  defp set_fuel!(store, fuel) do
    case StoreOrCaller.set_fuel(%StoreOrCaller{resource: store.resource, reference: nil}, fuel) do
      :ok ->
        :ok

      {:error, text} ->
        raise ArgumentError,
              "the :fuel option needs an engine with consume_fuel: true (#{text}), got fuel: #{fuel}"
    end
  end
end
