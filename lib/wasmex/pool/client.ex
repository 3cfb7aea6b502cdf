defmodule Wasmex.Pool.Client do
  @moduledoc false
  # The caller's side of a pool call. It reads the pool's `Wasmex.Pool.Info` (no message), picks
  # a member: the first idle one from a starting point that differs per scheduler, else the one
  # with the fewest callers queued of up to four, and calls it. One deadline covers waiting and
  # running: the member answers `{:error, :timeout}` for a call that reaches it too late. A pool
  # on another node runs the call there (`Wasmex.Pool.Cluster`). Nothing here exits: a member
  # that is gone or goes down answers `{:error, _}`.

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
    {index, load} = pick(info)

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

  # The first idle member from a starting point that differs per scheduler, else the least
  # loaded of the first four: `{index, callers in flight}`.
  defp pick(info) do
    start = rem(:erlang.system_info(:scheduler_id), info.size)
    scan(info, start, min(info.size, @scan), {start + 1, :infinity})
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
