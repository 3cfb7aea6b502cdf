defmodule Wasmex.Pool.Client do
  @moduledoc false
  # The caller's side of a pool call. It reads the pool's `Wasmex.Pool.Info` (no message), picks
  # a member (`pick/3`) and calls it. One deadline covers waiting and running: the member answers
  # `{:error, :timeout}` for a call that reaches it too late. A pool on another node runs the
  # call there (`Wasmex.Pool.Cluster`). Nothing here exits: a member that is gone or goes down
  # answers `{:error, _}`.

  alias Wasmex.Deadline
  alias Wasmex.Pool.{Cluster, Info}

  @scan 4

  @doc false
  @spec call(atom(), term(), list(), timeout()) :: term()
  def call(pool, fun, params, timeout) do
    deadline = Deadline.deadline(timeout)

    case Info.get(pool) do
      nil -> Cluster.call(pool, fun, params, timeout, deadline)
      info -> local(info, fun, params, timeout, deadline, true)
    end
  end

  @doc false
  # Entry point of a call that another node sends here: served by the local pool only.
  @spec call_here(atom(), term(), list(), timeout()) :: term()
  def call_here(pool, fun, params, timeout) do
    case Info.get(pool) do
      nil -> {:error, :noproc}
      info -> local(info, fun, params, timeout, Deadline.deadline(timeout), false)
    end
  end

  defp local(info, fun, params, timeout, deadline, spill?) do
    {index, load} = pick(info, :erlang.system_info(:scheduler_id), self())

    cond do
      load == 0 ->
        call_member(info, index, fun, params, timeout, deadline)

      spill? and info.spill and Cluster.remote?(info.name) ->
        case Cluster.call(info.name, fun, params, timeout, deadline) do
          {:error, reason} when reason in [:noproc, :overloaded] ->
            local(info, fun, params, timeout, deadline, false)

          result ->
            result
        end

      load > info.max_queue ->
        {:error, :overloaded}

      true ->
        call_member(info, index, fun, params, timeout, deadline)
    end
  end

  # `{index, callers in flight}` of the member that `caller` (a pid), on `scheduler`, calls. Each
  # scheduler has a member of its own (scheduler `s` -> member `rem(s, size) + 1`), taken when
  # it is idle; a pool with more members than schedulers gives each scheduler `spread` of them
  # (`rem(s + schedulers * k, size) + 1`, `k` from a hash of the caller's pid), so that every
  # member has callers. When its member is busy, an idle member among the next three is taken;
  # when none is idle, the caller queues at its own member, until more than `max_queue` callers
  # are there: then the least loaded of the four.
  #
  # Why not the least loaded at once: callers that keep to their scheduler's member make a
  # member's queue long and each member's callers one group, and a member with a queue runs call
  # after call without sleeping. With 64 callers on a pool of 2 (2 cores) this made 1.09-1.48x
  # the calls of the least-loaded pick in the same runs (BENCHMARKS.md, "Session 6").
  @doc false
  @spec pick(Info.t(), pos_integer(), pid()) :: {pos_integer(), non_neg_integer()}
  def pick(info, scheduler, caller) do
    own = own(info, scheduler, caller)

    case Info.in_flight(info, own) do
      0 ->
        {own, 0}

      load ->
        case scan(info, own, min(info.size, @scan) - 1, {own, :infinity}) do
          {_, 0} = idle -> idle
          _ when load <= info.max_queue -> {own, load}
          {_, least} = other when least < load -> other
          _ -> {own, load}
        end
    end
  end

  defp own(%{spread: 1, size: size}, scheduler, _caller), do: rem(scheduler, size) + 1

  defp own(info, scheduler, caller) do
    k = :erlang.phash2(caller, info.spread)
    rem(scheduler + info.schedulers * k, info.size) + 1
  end

  defp scan(_info, _at, 0, best), do: best

  defp scan(info, at, left, {_, best_load} = best) do
    index = rem(at, info.size) + 1

    case Info.in_flight(info, index) do
      0 -> {index, 0}
      load when load < best_load -> scan(info, at + 1, left - 1, {index, load})
      _ -> scan(info, at + 1, left - 1, best)
    end
  end

  defp call_member(info, index, fun, params, timeout, deadline) do
    queued = Info.enter(info, index) - 1

    if Wasmex.Telemetry.attached?(:pool) do
      metadata = %{pool: info.name, member: index}
      Wasmex.Telemetry.pool_event(:checkout, %{queued: queued}, metadata)
    end

    GenServer.call(elem(info.members, index - 1), {:call, fun, params, deadline}, timeout)
  catch
    :exit, {:timeout, _} -> {:error, :timeout}
    :exit, {reason, _} -> {:error, {:member_down, Deadline.without_arguments(reason)}}
  end
end
