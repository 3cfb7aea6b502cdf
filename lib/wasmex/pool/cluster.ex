defmodule Wasmex.Pool.Cluster do
  @moduledoc false
  # Pools across nodes, on distributed Erlang and `:pg` only. A pool started with
  # `distributed: true` joins the group named after it in the `Wasmex.Pool.Scope` scope; the
  # scope is one `:pg` process per node, started on first use (`:pg.start/1`) and kept for the
  # node's life, since nodes that only call need it as well.
  #
  # A call sent to another node runs there through `:erpc` (imports run on that node, values and
  # errors cross intact). The node is chosen by load: of two members picked at random, the one
  # whose pool answers the lower `(busy + waiting) / size`. A pool that answers `:overloaded`
  # never ran the call, so the next node is tried; a node that goes down during a call answers
  # `{:error, {:nodedown, node}}` and is not retried, since the call may have run.

  alias Wasmex.Pool.Client

  @scope Wasmex.Pool.Scope
  @probe_ms 500
  @sync_ms 200

  @doc false
  @spec join(atom(), pid()) :: :ok
  def join(pool, pid) do
    _ = ensure_scope()
    :pg.join(@scope, pool, pid)
  end

  @doc false
  # Whether a pool of that name runs on another connected node.
  @spec remote?(atom()) :: boolean()
  def remote?(pool), do: remote_members(pool) != []

  @doc false
  @spec call(atom(), term(), list(), timeout(), integer() | nil) :: term()
  def call(pool, fun, params, timeout, deadline) do
    case remote_members(pool) do
      [] ->
        {:error, :noproc}

      members ->
        members
        |> by_load(deadline)
        |> try_nodes(pool, fun, params, left(deadline, timeout))
    end
  end

  defp try_nodes([], _pool, _fun, _params, _timeout), do: {:error, :overloaded}

  defp try_nodes([node | rest], pool, fun, params, timeout) do
    case erpc(node, pool, fun, params, timeout) do
      {:error, reason} when reason in [:overloaded, :noproc] and rest != [] ->
        try_nodes(rest, pool, fun, params, timeout)

      result ->
        result
    end
  end

  defp erpc(node, pool, fun, params, timeout),
    do: remote(node, Client, :call_here, [pool, fun, params], timeout)

  @doc false
  # `:erpc.call/5` of `module.fun(args ++ [timeout])` on `node`, every failure an error value:
  # the remote call raises (`error({:exception, reason, stack})` from `:erpc`), exits
  # (`exit({:exception, reason})`) or throws; the reasons lose the arguments of their stacktraces.
  @spec remote(node(), module(), atom(), list(), timeout()) :: term()
  def remote(node, module, fun, args, timeout) do
    :erpc.call(node, module, fun, args ++ [timeout], erpc_timeout(timeout))
  catch
    :error, {:erpc, :noconnection} -> {:error, {:nodedown, node}}
    :error, {:erpc, :timeout} -> {:error, :timeout}
    :error, {:erpc, reason} -> remote_exit(node, {:erpc, reason})
    :error, {:exception, reason, _stack} -> remote_exit(node, reason)
    :exit, {:exception, reason} -> remote_exit(node, reason)
    :exit, reason -> remote_exit(node, reason)
    :throw, value -> remote_exit(node, {:nocatch, value})
  end

  defp remote_exit(node, reason),
    do: {:error, {:remote_exit, node, Wasmex.Deadline.without_arguments(reason)}}

  # The remote call answers its own timeout; this one only bounds a lost answer.
  defp erpc_timeout(:infinity), do: :infinity
  defp erpc_timeout(ms), do: ms + 100

  # Nodes in the order to try: the less loaded of two random members first.
  defp by_load([pid], _deadline), do: [node(pid)]

  defp by_load(members, deadline) do
    [a, b | _] = shuffled = Enum.shuffle(members)
    probe_ms = min(@probe_ms, remaining(deadline))
    reqs = for pid <- [a, b], do: {pid, :gen_server.send_request(pid, :load)}

    {first, second} =
      case for({pid, req} <- reqs, do: {load(req, probe_ms), pid}) |> Enum.sort() do
        [{_, x}, {_, y}] -> {x, y}
      end

    Enum.map([first, second | shuffled -- [a, b]], &node/1)
  end

  defp load(req, ms) do
    case :gen_server.wait_response(req, ms) do
      {:reply, load} -> load
      _ -> :infinity
    end
  end

  # What is left of the caller's time, for the node that runs the call.
  defp left(nil, timeout), do: timeout
  defp left(deadline, _timeout), do: max(deadline - System.monotonic_time(:millisecond), 0)

  defp remaining(nil), do: @probe_ms
  defp remaining(deadline), do: max(deadline - System.monotonic_time(:millisecond), 0)

  # A node that is not distributed has no other nodes: nothing to start or wait for.
  defp remote_members(pool) do
    if Node.alive?(), do: connected_members(pool), else: []
  end

  defp connected_members(pool) do
    case ensure_scope() do
      :running -> members(pool)
      # A scope that just started learns the other nodes' groups in a moment.
      :started -> wait_members(pool, @sync_ms)
    end
  end

  defp members(pool), do: for(pid <- :pg.get_members(@scope, pool), node(pid) != node(), do: pid)

  defp wait_members(pool, ms) do
    case members(pool) do
      [] when ms > 0 ->
        Process.sleep(10)
        wait_members(pool, ms - 10)

      members ->
        members
    end
  end

  defp ensure_scope do
    if Process.whereis(@scope) do
      :running
    else
      case :pg.start(@scope) do
        {:ok, _} -> :started
        {:error, {:already_started, _}} -> :running
      end
    end
  end
end
