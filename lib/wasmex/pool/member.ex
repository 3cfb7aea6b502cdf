defmodule Wasmex.Pool.Member do
  @moduledoc false
  # One member of a pool: a process that owns a store with its instance and runs the calls sent
  # to it, one at a time, like a `Wasmex` server; the Elixir imports of its calls run here.
  #
  # Its figures live in the pool's atomics (`Wasmex.Pool.Info`): callers in flight (callers
  # add themselves, the member takes each call off once answered), calls served, members
  # replaced.
  #
  # A call that comes in after its deadline is answered `{:error, :timeout}` without running: a
  # caller that gave up never has its call run later. A call that leaves the instance unusable
  # (`:replace` from the pool kind) is answered first, then the member builds a new instance.
  # With `fresh: true` every instance serves one call; the member builds the next one right
  # after answering (it counts as busy meanwhile, so callers go to members that are ready).
  # Reload: the pool's current recipe is read on every call (a `:persistent_term` lookup); a
  # member whose instance is of an older recipe builds one of the new recipe before the call.

  use GenServer

  require Logger

  alias Wasmex.Pool.Info

  @doc false
  def start_link({pool, index}) do
    GenServer.start_link(__MODULE__, {pool, index}, name: Info.member_name(pool, index))
  end

  @impl true
  def init({pool, index}) do
    info = Info.get!(pool)
    Info.reset(info, index)
    # Before the instance is built: callers queue here meanwhile, as they do by name.
    Info.member_started(pool, index, self())
    recipe = Info.recipe!(pool)
    state = %{pool: pool, index: index, info: info, recipe: recipe, member: nil}

    case build(info, recipe) do
      {:ok, member} -> {:ok, %{state | member: member}}
      {:error, reason} -> {:stop, reason}
    end
  end

  @impl true
  def handle_call({:call, fun, params, deadline}, from, state) do
    case Wasmex.Deadline.remaining(deadline) do
      :expired ->
        Info.leave(state.info, state.index)
        {:reply, {:error, :timeout}, state}

      ms ->
        state = current(state)
        {result, status} = run(state, fun, params, ms)
        Info.served(state.info, state.index)

        cond do
          state.info.fresh ->
            # The instance served its one call: the next one is built now, before this member
            # counts as idle again, so that calls meet a ready instance.
            GenServer.reply(from, result)
            started = System.monotonic_time()
            served = state.member
            state = rebuilt(%{state | member: nil}, state.recipe)
            # The served store is garbage now. When it holds a slot of the run engine's pool
            # (`Wasmex.Pool.Core.build_fresh/1`), collecting it at once gives the slot back
            # before the next call, not at some later collection.
            if served[:collect], do: :erlang.garbage_collect()
            replaced(state, System.monotonic_time() - started)
            Info.leave(state.info, state.index)
            {:noreply, state}

          status == :replace ->
            Info.replaced(state.info, state.index)
            GenServer.reply(from, result)
            started = System.monotonic_time()
            state = rebuilt(state, state.recipe)
            replaced(state, System.monotonic_time() - started)
            Info.leave(state.info, state.index)
            {:noreply, state}

          true ->
            Info.leave(state.info, state.index)
            {:reply, result, state}
        end
    end
  end

  @impl true
  # Sent after a reload: an idle member builds its new instance before calls need it.
  def handle_cast(:refresh, state), do: {:noreply, current(state)}

  # With `fresh: true` a failed build leaves no instance; the next call builds its own.
  defp run(%{member: nil} = state, fun, params, ms) do
    case build(state.info, state.recipe) do
      {:ok, member} -> run(%{state | member: member}, fun, params, ms)
      {:error, _} = error -> {error, :keep}
    end
  end

  defp run(%{member: member} = state, fun, params, ms) do
    result = state.info.kind.run(member, fun, params, ms)
    # With `log_output: true`: the guest's lines, named by member, function and pool.
    if member.output, do: Wasmex.GuestOutput.log(member.output, fun, wasm_pool: state.pool)
    result
  end

  # The state for the pool's current recipe.
  defp current(state) do
    case Info.recipe!(state.pool) do
      %{id: id} when id == state.recipe.id -> state
      recipe -> rebuilt(state, recipe)
    end
  end

  defp replaced(state, duration) do
    metadata = %{pool: state.info.name, member: state.index}
    Wasmex.Telemetry.pool_event(:replace, %{duration: duration}, metadata)
    state
  end

  # A new member: for one call with `fresh: true` (see `Wasmex.Pool.Kind`).
  defp build(%{fresh: true, kind: kind}, recipe), do: kind.build_fresh(recipe)
  defp build(%{kind: kind}, recipe), do: kind.build(recipe)

  defp rebuilt(state, recipe) do
    case build(state.info, recipe) do
      {:ok, member} ->
        %{state | recipe: recipe, member: member}

      {:error, reason} ->
        # The old instance (none with `fresh: true`) serves meanwhile; the next call tries again.
        Logger.warning(
          "Wasmex pool #{inspect(state.pool)}: a new instance failed: #{inspect(reason)}"
        )

        state
    end
  end
end
