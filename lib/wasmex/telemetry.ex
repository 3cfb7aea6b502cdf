defmodule Wasmex.Telemetry do
  @moduledoc ~S"""
  `:telemetry` events: what guests do, for Phoenix LiveDashboard, Prometheus or OpenTelemetry.

  `:telemetry` is an optional dependency: add `{:telemetry, "~> 1.0"}` to your deps (Phoenix
  apps have it) and Wasmex emits the events below; without it, nothing is emitted and nothing is
  paid. Whether `:telemetry` is there is decided once, when Wasmex is compiled.

  With no handler attached, Wasmex builds no event: a call then costs one `:persistent_term`
  read more. For that, Wasmex notes which of its events have handlers: once a second (a
  process of the `:wasmex` application looks) and at `refresh/0`. A handler attached to a
  Wasmex event sees it within a second; call `refresh/0` after attaching for at once (tests).

  Durations are in `:native` time units (`System.convert_time_unit/3`), as `:telemetry.span/3`
  gives them. Every span's events share a `:telemetry_span_context`.

  ## Calls: `[:wasmex, :call, :start | :stop | :exception]`

  A call of a core export (`Wasmex.Instance.call/5`, so also `Wasmex.call_function/4` and pool
  calls) or of a component export (`Wasmex.Components.Instance.call/4`, so also
  `Wasmex.Components.call_function/4`).

    * measurements: `:start` has `:monotonic_time` and `:system_time`; `:stop` and
      `:exception` have `:duration` and `:monotonic_time`, and `:fuel_consumed` when the store
      counts fuel (a core call given a store, not a caller);
    * metadata: `:function` (the export's name, or a component's path list), `:kind`
      (`:module` or `:component`), `:instance`; `:stop` adds `:result` (`:ok` or `:error`) and,
      for errors, `:error` (the reason: a trap text, `:timeout`, ...). `:exception` has `:kind`,
      `:reason` and `:stacktrace` of what was raised, as in `:telemetry.span/3`.

  ## Compiling: `[:wasmex, :compile, :start | :stop | :exception]`

  `Wasmex.Module.compile/2` and `Wasmex.Components.Component.new/2` (so every server start).

    * measurements: as for calls, without fuel;
    * metadata: `:kind` (`:module` or `:component`), `:bytes` (the input's size), `:cache_dir`
      (the application's compiled-code cache directory or `nil`, see `Wasmex.Cache`); `:stop`
      adds `:result` and `:error`, and `:name` (a module's name section) on success.

  ## Instantiating: `[:wasmex, :instantiate, :start | :stop | :exception]`

  `Wasmex.Instance.new/5` and `Wasmex.Components.Instance.new/4`.

    * measurements: as for calls, without fuel;
    * metadata: `:kind` (`:module` or `:component`); `:stop` adds `:result` and `:error`.

  ## Pools: `[:wasmex, :pool, :checkout]` and `[:wasmex, :pool, :replace]`

  `:checkout` is emitted when a call of `Wasmex.Pool` or `Wasmex.Components.Pool` is given to a
  member of this node: measurements `:queued` (callers already at that member), metadata `:pool`
  and `:member` (its index). `:replace` is emitted when a member built a new instance after a
  call that left its instance unusable (a trap, a timeout; or every call in a `fresh` pool):
  measurements `:duration` (of the rebuild), metadata `:pool` and `:member`.

  ## Example

      iex> handler = fn event, measurements, metadata, pid -> send(pid, {event, measurements, metadata}) end
      iex> :telemetry.attach("doc-handler", [:wasmex, :call, :stop], handler, self())
      iex> Wasmex.Telemetry.refresh()
      :ok
      iex> {:ok, pid} = Wasmex.start_link(%{bytes: ~S[(module (func (export "f") (result i32) i32.const 1))]})
      iex> {:ok, [1]} = Wasmex.call_function(pid, :f, [])
      iex> receive do
      ...>   {[:wasmex, :call, :stop], %{duration: d}, %{function: "f"}} -> is_integer(d)
      ...> after
      ...>   1_000 -> :no_event
      ...> end
      true
      iex> :telemetry.detach("doc-handler")
      :ok
  """

  @enabled Code.ensure_loaded?(:telemetry)

  # The events of each gate (`attached?/1`).
  @gates %{
    call: [[:wasmex, :call, :start], [:wasmex, :call, :stop], [:wasmex, :call, :exception]],
    compile: [
      [:wasmex, :compile, :start],
      [:wasmex, :compile, :stop],
      [:wasmex, :compile, :exception]
    ],
    instantiate: [
      [:wasmex, :instantiate, :start],
      [:wasmex, :instantiate, :stop],
      [:wasmex, :instantiate, :exception]
    ],
    pool: [[:wasmex, :pool, :checkout], [:wasmex, :pool, :replace]]
  }

  @typedoc "The spans Wasmex emits."
  @type span :: :call | :compile | :instantiate

  @doc """
  Whether `:telemetry` was there when Wasmex was compiled (so events are emitted).

      iex> Wasmex.Telemetry.enabled?()
      true
  """
  @spec enabled?() :: boolean()
  def enabled?, do: @enabled

  @doc """
  Notes at once which Wasmex events have handlers (Wasmex otherwise looks once a second).
  Call it after `:telemetry.attach/4` when the next event must not be missed.

      iex> Wasmex.Telemetry.refresh()
      :ok
  """
  @spec refresh() :: :ok
  def refresh do
    for {gate, events} <- @gates do
      attached = @enabled and Enum.any?(events, &handled?/1)

      if attached?(gate) != attached, do: :persistent_term.put(gate_key(gate), attached)
    end

    :ok
  end

  @doc false
  # Whether a handler was attached to an event of `gate` (`:call`, `:compile`, `:instantiate`
  # or `:pool`) at the last `refresh/0`: one `:persistent_term` read.
  # (An atom key: a `:persistent_term` read with a tuple key costs half as much again.)
  @spec attached?(span() | :pool) :: boolean()
  for {gate, _} <- @gates do
    def attached?(unquote(gate)),
      do: :persistent_term.get(unquote(:"#{__MODULE__}.#{gate}?"), false)
  end

  defp gate_key(gate), do: :"#{__MODULE__}.#{gate}?"

  @doc false
  # Runs `fun` as the span `[:wasmex, span, ...]` with `metadata`. With `fuel_store` (a store or
  # caller of a fuel-counting engine) `:stop` reports `:fuel_consumed`. Callers check
  # `attached?/1` first when the cost of building the metadata matters.
  @spec span(span(), map(), (() -> result), Wasmex.StoreOrCaller.t() | nil) :: result
        when result: var
  def span(span, metadata, fun, fuel_store \\ nil)

  if @enabled do
    for span <- [:call, :compile, :instantiate] do
      names = {[:wasmex, span, :start], [:wasmex, span, :stop], [:wasmex, span, :exception]}

      def span(unquote(span), metadata, fun, fuel_store) do
        if attached?(unquote(span)),
          do: run(unquote(Macro.escape(names)), metadata, fun, fuel_store),
          else: fun.()
      end
    end

    @doc false
    # Emits the pool event `[:wasmex, :pool, name]` when its handlers may be attached.
    @spec pool_event(atom(), map(), map()) :: :ok
    def pool_event(name, measurements, metadata) do
      if attached?(:pool), do: :telemetry.execute([:wasmex, :pool, name], measurements, metadata)
      :ok
    end

    defp handled?(name) do
      :ets.member(:telemetry_handler_table, name)
    rescue
      # :telemetry is loaded but not started.
      ArgumentError -> false
    end

    defp run({start, stop, exception}, metadata, fun, fuel_store) do
      metadata = Map.put(metadata, :telemetry_span_context, make_ref())
      fuel = fuel(fuel_store)
      started = System.monotonic_time()

      :telemetry.execute(
        start,
        %{monotonic_time: started, system_time: System.system_time()},
        metadata
      )

      try do
        fun.()
      catch
        kind, reason ->
          stopped = System.monotonic_time()
          info = %{kind: kind, reason: reason, stacktrace: __STACKTRACE__}
          measurements = %{duration: stopped - started, monotonic_time: stopped}
          :telemetry.execute(exception, measurements, Map.merge(metadata, info))
          :erlang.raise(kind, reason, __STACKTRACE__)
      else
        result ->
          stopped = System.monotonic_time()
          measurements = %{duration: stopped - started, monotonic_time: stopped}
          measurements = add_fuel(measurements, fuel, fuel_store)
          :telemetry.execute(stop, measurements, stop_metadata(metadata, result))
          result
      end
    end

    defp stop_metadata(metadata, {:ok, %Wasmex.Module{} = module}),
      do: Map.merge(metadata, %{result: :ok, name: Wasmex.Module.name(module)})

    defp stop_metadata(metadata, {:error, reason}),
      do: Map.merge(metadata, %{result: :error, error: reason})

    defp stop_metadata(metadata, _ok), do: Map.put(metadata, :result, :ok)

    defp fuel(nil), do: nil

    defp fuel(store) do
      case Wasmex.StoreOrCaller.get_fuel(store) do
        {:ok, fuel} -> fuel
        _ -> nil
      end
    end

    defp add_fuel(measurements, before, store) when is_integer(before) do
      case fuel(store) do
        now when is_integer(now) -> Map.put(measurements, :fuel_consumed, before - now)
        nil -> measurements
      end
    end

    defp add_fuel(measurements, _before, _store), do: measurements
  else
    def span(_span, _metadata, fun, _fuel_store), do: fun.()

    @doc false
    @spec pool_event(atom(), map(), map()) :: :ok
    def pool_event(_name, _measurements, _metadata), do: :ok

    defp handled?(_name), do: false
  end
end
