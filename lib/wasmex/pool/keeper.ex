defmodule Wasmex.Pool.Keeper do
  @moduledoc false
  # The process registered under a pool's name. It puts the pool's `Wasmex.Pool.Info` where
  # callers read it, erases it when the pool stops, joins the pool's `:pg` group with
  # `distributed: true`, answers other nodes asking for the pool's load, and with `watch: true`
  # starts the `Wasmex.Watch` that reloads the pool when its `:path` file changes. Calls never
  # go through it.

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
    if info.watch, do: {:ok, _watch} = watch(info)
    {:ok, %{info: info}}
  end

  @impl true
  # What the less-loaded choice across nodes compares: callers per member.
  def handle_call(:load, _from, state) do
    s = Info.stats(state.info)
    {:reply, (s.busy + s.waiting) / s.size, state}
  end

  @impl true
  # Exit signals of the linked watcher (this process traps exits) and other messages.
  def handle_info(_message, state), do: {:noreply, state}

  defp watch(%{name: name, watch: path}) do
    reload = fn -> Wasmex.Pool.Supervisor.reload(name, path: path) end
    Wasmex.Watch.start_link(path, reload, "Wasmex pool #{inspect(name)}")
  end

  @impl true
  # The pool stops (its members have stopped first). After a crash the info stays: the members
  # still use it, and the restarted keeper finds it.
  def terminate(reason, state) do
    if reason in [:normal, :shutdown] or match?({:shutdown, _}, reason),
      do: Info.erase(state.info.name)
  end
end
