defmodule Wasmex.Pool.Keeper do
  @moduledoc false
  # The process registered under a pool's name. It puts the pool's `Wasmex.Pool.Info` where
  # callers read it, erases it when the pool stops, joins the pool's `:pg` group with
  # `distributed: true`, and answers other nodes asking for the pool's load. Calls never go
  # through it.

  use GenServer

  alias Wasmex.Pool.{Cluster, Info}

  @doc false
  def start_link({info, recipe}),
    do: GenServer.start_link(__MODULE__, {info, recipe}, name: info.name)

  @impl true
  def init({info, recipe}) do
    Process.flag(:trap_exit, true)
    info = Info.put_new(info, recipe)
    if info.distributed, do: Cluster.join(info.name, self())
    {:ok, info}
  end

  @impl true
  # What the less-loaded choice across nodes compares: callers per member.
  def handle_call(:load, _from, info) do
    s = Info.stats(info)
    {:reply, (s.busy + s.waiting) / s.size, info}
  end

  @impl true
  # The pool stops (its members have stopped first). After a crash the info stays: the members
  # still use it, and the restarted keeper finds it.
  def terminate(reason, info) do
    if reason in [:normal, :shutdown] or match?({:shutdown, _}, reason), do: Info.erase(info.name)
  end
end
